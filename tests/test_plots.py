"""Tests of maxent.plots: every figure renders from the library's tables, with the expected axes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from maxent import plots  # noqa: E402
from maxent.geometry.clustering import (  # noqa: E402
    embedding,
    hierarchical_clustering,
    overlap_distribution,
    tap_states,
)
from maxent.geometry.landscape import entropy_landscape  # noqa: E402
from maxent.geometry.liquid import liquidity  # noqa: E402
from maxent.model.ising import IsingModel  # noqa: E402

X_GRID = np.linspace(-2.0, 2.0, 17)


def _render(fig):
    assert isinstance(fig, Figure)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=40)
    assert buf.getvalue()[:4] == b"\x89PNG"


@pytest.fixture(scope="module")
def model():
    return IsingModel.random_sk(10, beta=0.5, h_std=0.2, random_state=0)


@pytest.fixture(scope="module")
def samples(model):
    return model.sample(200, random_state=1)


@pytest.fixture(scope="module")
def landscape(model, samples):
    return entropy_landscape(model, samples[0], x=X_GRID)


def _data_lines(ax):
    return [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 1]


def test_plot_landscape_both_sweeps_and_bound(landscape):
    fig = plots.plot_landscape(landscape)
    _render(fig)
    (ax,) = fig.axes
    assert ax.get_xlabel() == "distance $d$" and ax.get_ylabel() == "entropy density $s$"
    labels = [ln.get_label() for ln in _data_lines(ax)]
    assert labels == ["down", "up", "independent bound $s_{ub}(d)$"]
    down = _data_lines(ax)[0]
    # drawn in sweep order: x decreasing, so d increasing along the down branch
    np.testing.assert_allclose(down.get_xdata(), landscape[landscape.sweep == "down"]["d"])
    assert down.get_linestyle() == "-" and _data_lines(ax)[1].get_linestyle() == "--"


def test_plot_landscape_facets_blocks_and_colours_references(model, samples, landscape):
    other = entropy_landscape(model, samples[1], x=X_GRID, sweep="down")
    df = pd.concat(
        [
            landscape.assign(block="W1", reference="low"),
            other.assign(block="W1", reference="high"),
            landscape.assign(block="W2", reference="low"),
        ],
        ignore_index=True,
    )
    fig = plots.plot_landscape(df)
    _render(fig)
    assert len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["W1", "W2"]
    labels = [ln.get_label() for ln in _data_lines(fig.axes[0])]
    assert labels == ["low, down", "low, up", "high, down", "independent bound $s_{ub}(d)$"]
    c = [ln.get_color() for ln in _data_lines(fig.axes[0])]
    assert c[0] == c[1] != c[2]  # one colour per reference


def test_plot_landscape_marks_unconverged_points(landscape):
    df = landscape.copy()
    df.loc[3, "converged"] = False
    fig = plots.plot_landscape(df)
    marks = [ln for ln in fig.axes[0].get_lines() if ln.get_marker() == "x"]
    assert len(marks) == 1 and len(marks[0].get_xdata()) == 1


def test_plot_distance_vs_x(landscape):
    fig = plots.plot_distance_vs_x(landscape)
    _render(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "tilt $x$" and ax.get_ylabel() == "distance $d$"
    assert len(_data_lines(ax)) == 2  # the two sweeps, no bound


def test_plot_tap_free_energies(model):
    res = tap_states(model, n_starts=8, random_state=0)
    for arg in (res, res.table):
        fig = plots.plot_tap_free_energies(arg)
        _render(fig)
        ax = fig.axes[0]
        assert ax.get_xlabel() == "TAP free energy density $f$" and ax.get_ylabel() == "starts"
        heights = [p.get_height() for p in ax.patches]
        assert sum(heights) == pytest.approx(8)  # weighted by basin size
    table = pd.DataFrame(
        {"free_energy_density": [-1.0, -0.9, -0.8], "converged": [True, True, False], "count": [3, 1, 1]}
    )
    fig = plots.plot_tap_free_energies(table, weights=None)
    assert fig.axes[0].get_ylabel() == "states"
    assert fig.axes[0].get_legend() is not None  # converged / not converged
    with pytest.raises(ValueError, match="lacks columns"):
        plots.plot_tap_free_energies(pd.DataFrame({"f": [1.0]}))


def test_plot_overlap_distribution_inputs(samples, model):
    pairs = overlap_distribution(samples)
    hist = overlap_distribution(samples, bins="exact")
    for arg in (pairs, hist, pairs["q"].to_numpy()):
        fig = plots.plot_overlap_distribution(arg)
        _render(fig)
        ax = fig.axes[0]
        assert ax.get_xlabel() == "overlap $q$" and ax.get_ylabel() == "$P(q)$"
    # a histogram table is drawn as one step curve with the given densities
    fig = plots.plot_overlap_distribution(hist)
    (st,) = fig.axes[0].patches
    np.testing.assert_allclose(st.get_data().values, hist["density"])
    model_q = overlap_distribution(model.sample(100, random_state=2))
    fig = plots.plot_overlap_distribution({"data": pairs, "model": model_q})
    legend = fig.axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["data", "model"]
    with pytest.raises(ValueError, match="hue"):
        plots.plot_overlap_distribution(pairs, hue="set")


def test_plot_dendrogram():
    rng = np.random.default_rng(0)
    centers = rng.choice([-1, 1], size=(2, 40))
    X = np.repeat(centers, 10, axis=0) * np.where(rng.random((20, 40)) < 0.1, -1, 1)
    res = hierarchical_clustering(X, n_clusters=2)
    fig = plots.plot_dendrogram(res)
    _render(fig)
    ax_d, ax_h = fig.axes[:2]
    assert ax_d.get_ylabel() == "distance $d$" and "2 clusters" in ax_d.get_title()
    img = ax_h.get_images()[0].get_array()
    assert img.shape == (20, 20)
    np.testing.assert_allclose(np.diag(img), 1.0)
    assert len(fig.axes) == 3  # + colour bar
    with pytest.raises(ValueError, match="max_leaves"):
        plots.plot_dendrogram(res, max_leaves=10)
    with pytest.raises(TypeError):
        plots.plot_dendrogram(X)


def test_plot_embedding(samples, model):
    energy = model.energy(samples[:30])
    df = embedding(samples[:30], {"energy": energy, "group": np.arange(30) % 2}, method="pca")
    fig = plots.plot_embedding(df)  # first colour column: energy, continuous -> colour bar
    _render(fig)
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "energy"
    fig = plots.plot_embedding(df, color="group")  # categorical -> legend
    assert fig.axes[0].get_legend() is not None
    assert fig.axes[0].get_xlabel() == "dimension 1"
    with pytest.raises(ValueError, match="color column"):
        plots.plot_embedding(df, color="accuracy")


def test_plot_liquidity_profile(model, samples):
    m2 = IsingModel.random_sk(10, beta=0.1, h_std=0.2, random_state=3)
    models = {"W1": model, "W2": m2, "full": model}
    data = {"W1": samples, "W2": m2.sample(200, random_state=4), "full": samples}
    df = liquidity(models, data, x=X_GRID)
    fig = plots.plot_liquidity(df)
    _render(fig)
    assert len(fig.axes) == 5
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == ["W1", "W2", "full"]
    assert fig.axes[0].get_ylabel() == "mean $|J_{ij}|$"
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), df["mean_abs_J"])
    assert len(fig.axes[-1].get_lines()) == 2  # Bethe and independent
    # two settings as hue; all-NaN columns (no landscape) drop their panel
    both = pd.concat(
        [df.assign(setting="deep"), liquidity(models, data, landscape=False).assign(setting="shallow")],
        ignore_index=True,
    )
    fig = plots.plot_liquidity(both, hue="setting")
    assert len(fig.axes[0].get_lines()) == 2 and len(fig.axes) == 5
    fig = plots.plot_liquidity(df.assign(landscape_area=np.nan))
    assert len(fig.axes) == 4
    with pytest.raises(ValueError, match="lacks columns"):
        plots.plot_liquidity(df.drop(columns="mean_abs_J"))


def test_plot_accuracy_inputs():
    rng = np.random.default_rng(0)
    acc = {"P=500": rng.normal(0.85, 0.01, 50), "P=60000": rng.normal(0.9, 0.01, 50)}
    fig = plots.plot_accuracy(acc)
    _render(fig)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "test accuracy" and ax.get_ylabel() == "density"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(texts) == 2 and texts[0].startswith("P=500 (mean 0.8")
    tidy = pd.DataFrame(
        {"setting": np.repeat(["a", "b"], 50), "accuracy": np.r_[acc["P=500"], acc["P=60000"]]}
    )
    assert plots.plot_accuracy(tidy).axes[0].get_legend() is not None
    assert plots.plot_accuracy(acc["P=500"]).axes[0].get_legend() is None
    with pytest.raises(ValueError, match="NaN"):
        plots.plot_accuracy(np.array([0.9, np.nan]))
    with pytest.raises(ValueError, match="no accuracies"):
        plots.plot_accuracy(np.array([]))


def test_plots_refuse_bad_tables():
    with pytest.raises(TypeError, match="DataFrame"):
        plots.plot_landscape(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="lacks columns"):
        plots.plot_landscape(pd.DataFrame({"d": [0.1], "entropy": [0.5]}))
    with pytest.raises(ValueError, match="empty"):
        plots.plot_distance_vs_x(pd.DataFrame(columns=["x", "sweep", "d", "converged"]))


def test_overlap_bins_follow_the_lattice_of_attainable_values():
    assert plots._lattice_spacing(np.array([-1.0, -0.5, 0.5, 0.5, 1.0])) == pytest.approx(0.5)
    assert plots._lattice_spacing(np.random.default_rng(0).random(50)) is None
    assert plots._lattice_spacing(np.array([0.25])) is None

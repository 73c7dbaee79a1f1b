"""Trained-ensemble sensitivity (per-block dilution and sign flips) and the figures.

Oracles: the unperturbed rows reproduce maxent.data.nets.binary_accuracy; the Monte Carlo averages over
perturbation draws match an exact enumeration of all perturbation patterns of a small block;
contrasts equal differences of the summary means.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from maxent.companion.sensitivity import (
    block_contrasts,
    mean_network_binarization,
    per_network_sensitivity,
    plot_block_contrasts,
    plot_finite_size,
    plot_overlap_depth,
    plot_rate_functions,
    plot_scgf,
    plot_trained_sensitivity,
    summarize_sensitivity,
    trained_sensitivity,
)
from maxent.companion.sensitivity.simulate import finite_size_table
from maxent.data.datasets import Dataset
from maxent.data.nets import binary_accuracy, forward, spins_to_weights
from maxent.data.samples import WeightSamples

WIDTHS = (4, 3, 3, 3)


def _dataset(n_features: int, n_classes: int, seed: int = 0, P: int = 40) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((2 * P, n_features)).astype(np.float32)
    y = rng.integers(0, n_classes, 2 * P)
    return Dataset(X[:P], y[:P], X[P:], y[P:], n_classes, {"name": "synthetic"})


def _samples(widths=WIDTHS, M=12, draws=2, seed=0, dataset=None) -> WeightSamples:
    rng = np.random.default_rng(seed)
    N = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(M, N))
    acc = (
        np.full(M, np.nan)
        if dataset is None
        else binary_accuracy(spins, widths, dataset.X_test, dataset.y_test)
    )
    return WeightSamples(spins, widths, acc, np.full(M, np.nan), np.repeat(np.arange(M // draws), draws))


@pytest.fixture(scope="module")
def setup():
    ds = _dataset(WIDTHS[0], WIDTHS[-1])
    smp = _samples(dataset=ds)
    per = per_network_sensitivity(smp, ds, levels=(0.8, 0.4), n_draws=3, seed=1)
    return ds, smp, per


def test_unperturbed_rows_reproduce_binary_accuracy(setup):
    ds, smp, per = setup
    base = per[per["rho"] == 1.0]
    for (_block, _pert), g in base.groupby(["block", "perturbation"]):
        wide = g.pivot(index="sample", columns="metric", values="value")
        np.testing.assert_allclose(wide["accuracy"], smp.accuracy)
        np.testing.assert_allclose(wide["agreement"], 1.0)
        np.testing.assert_allclose(wide["overlap"], 1.0, atol=1e-6)
    assert len(per) == smp.n_samples * 3 * 2 * 3 * 3  # samples x blocks x perturbations x levels x metrics


def _exact_expectation(W0: np.ndarray, X: torch.Tensor, kind: str, level: float) -> float:
    """E[agreement] over all 2^n perturbation patterns of a one-layer net (weights W0, (C, n_in))."""
    base = (torch.from_numpy(W0[None].astype(np.float32)) @ X.T).argmax(dim=1)
    n = W0.size
    total = 0.0
    for bits in itertools.product([0, 1], repeat=n):  # 2^n patterns (n = 6 here)
        b = np.array(bits).reshape(W0.shape)
        k = b.sum()
        if kind == "flip":
            prob, W = level**k * (1 - level) ** (n - k), np.where(b == 1, -W0, W0)
        else:
            prob, W = level ** (n - k) * (1 - level) ** k, np.where(b == 1, 0, W0)  # b = 1: dropped
        pred = (torch.from_numpy(W[None].astype(np.float32)) @ X.T).argmax(dim=1)
        total += prob * float((pred == base).double().mean())
    return total


@pytest.mark.parametrize(("kind", "rho"), [("flip", 0.6), ("dilution", 0.6)])
def test_monte_carlo_average_matches_exact_enumeration(kind, rho):
    widths = (3, 2)
    ds = _dataset(3, 2, seed=2, P=25)
    smp = _samples(widths, M=2, draws=1, seed=3, dataset=ds)
    n_draws = 3000
    per = per_network_sensitivity(smp, ds, levels=(rho,), perturbations=(kind,), n_draws=n_draws, seed=4)
    got = per[(per["rho"] == rho) & (per["metric"] == "agreement")].sort_values("sample")["value"].to_numpy()
    level = (1 - rho) / 2 if kind == "flip" else rho**2
    X = torch.tensor(ds.X_test)
    for i in range(smp.n_samples):
        exact = _exact_expectation(smp.weights(i)[0].astype(np.float64), X, kind, level)
        # agreement of one draw has sd <= 1/2: 4 standard errors
        assert got[i] == pytest.approx(exact, abs=4 * 0.5 / np.sqrt(n_draws))


def test_summary_and_contrasts(setup):
    _ds, smp, per = setup
    summ = summarize_sensitivity(per, n_boot=50, seed=0)
    assert set(summ["n_runs"]) == {smp.n_runs} and smp.n_runs == 6
    const = summ[summ["rho"] == 1.0]
    const = const[const["metric"] != "accuracy"]
    np.testing.assert_allclose(const["ci_high"] - const["ci_low"], 0.0, atol=1e-7)  # float32 cosines
    means = summ.set_index(["block", "perturbation", "rho", "metric"])["value"]
    con = block_contrasts(per, reference="W2", n_boot=50, seed=0)
    assert set(con["block"]) == {"W1", "W3"}
    for row in con.itertuples():
        d = (
            means[("W2", row.perturbation, row.rho, "agreement")]
            - means[(row.block, row.perturbation, row.rho, "agreement")]
        )
        assert row.difference == pytest.approx(d, abs=1e-12)
        assert row.excludes_zero == (row.ci_low > 0 or row.ci_high < 0)


def test_trained_sensitivity_is_the_stage(setup):
    ds, smp, per = setup
    df = trained_sensitivity(smp, ds, levels=(0.8, 0.4), n_draws=3, seed=1, n_boot=50)
    pd.testing.assert_frame_equal(df, summarize_sensitivity(per, n_boot=50, seed=1))
    assert {"block", "perturbation", "rho", "strength", "metric", "value", "ci_low", "ci_high"} <= set(
        df.columns
    )


@settings(max_examples=20, deadline=None)
@given(st.one_of(st.floats(-2, 0), st.floats(1.0001, 5), st.just(float("nan"))))
def test_bad_levels(rho):
    ds = _dataset(WIDTHS[0], WIDTHS[-1])
    with pytest.raises(ValueError, match="weight correlations rho"):
        per_network_sensitivity(_samples(M=2, draws=1), ds, levels=(0.5, rho))


def test_bad_arguments():
    ds = _dataset(WIDTHS[0], WIDTHS[-1])
    smp = _samples(M=2, draws=1)
    with pytest.raises(ValueError, match="unknown perturbation 'binarization'"):
        per_network_sensitivity(smp, ds, perturbations=("binarization",))
    with pytest.raises(ValueError, match="unknown or no blocks"):
        per_network_sensitivity(smp, ds, blocks=("W7",))
    with pytest.raises(ValueError, match="do not fit the dataset"):
        per_network_sensitivity(smp, _dataset(5, 3))
    with pytest.raises(ValueError, match="n_draws"):
        per_network_sensitivity(smp, ds, n_draws=0)
    with pytest.raises(ValueError, match="lacks columns"):
        summarize_sensitivity(pd.DataFrame({"value": [1.0]}))
    per = per_network_sensitivity(smp, ds, blocks=("W1",), n_draws=1)
    with pytest.raises(ValueError, match="duplicate"):
        summarize_sensitivity(pd.concat([per, per]))
    with pytest.raises(ValueError, match="reference block"):
        block_contrasts(per_network_sensitivity(smp, ds, blocks=("W1",), n_draws=1), reference="W2")


def test_mean_network_binarization():
    ds = _dataset(WIDTHS[0], WIDTHS[-1])
    smp = _samples(M=4, draws=1)
    # binary means: binarization is the identity
    df = mean_network_binarization(smp.spins.astype(float), WIDTHS, ds)
    np.testing.assert_allclose(df["agreement"], 1.0)
    np.testing.assert_allclose(df.loc[df["block"] != "all", "rho"], 1.0)
    # continuous means: the block's weight correlation with its sign and the forward pass
    mu = np.tanh(np.random.default_rng(0).standard_normal((4, smp.n_spins)))
    df = mean_network_binarization(mu, WIDTHS, ds)
    W1 = spins_to_weights(mu, WIDTHS)[0].reshape(4, -1)
    rho = np.abs(W1).sum(1) / np.sqrt(W1.shape[1] * (W1**2).sum(1))
    np.testing.assert_allclose(df[df["block"] == "W1"]["rho"], rho)
    logits = forward(
        [torch.tensor(W, dtype=torch.float32) for W in spins_to_weights(mu, WIDTHS)], torch.tensor(ds.X_test)
    )
    acc = (logits.argmax(2) == torch.tensor(ds.y_test)).double().mean(1).numpy()
    np.testing.assert_allclose(df[df["block"] == "W1"]["accuracy_mean_network"], acc)
    assert set(df["block"]) == {"W1", "W2", "W3", "all"}
    with pytest.raises(ValueError, match="mean weights"):
        mean_network_binarization(mu * 3, WIDTHS, ds)


def test_figures(setup):
    _ds, _smp, per = setup
    summ = summarize_sensitivity(per, n_boot=20)
    figs = [
        plot_trained_sensitivity(summ, "agreement"),
        plot_block_contrasts(block_contrasts(per, n_boot=20)),
    ]
    fs = finite_size_table(
        "sign", "dilution", 0.5, widths=(20, 40), depth=2, n_networks=2, n_inputs=4, random_state=0
    )
    figs += [plot_overlap_depth(fs), plot_finite_size(fs)]
    rate = pd.DataFrame(
        {
            "activation": "sign",
            "perturbation": "dilution",
            "q": [0.1, 0.2],
            "rate_sim": [0.1, 0.2],
            "rate_theory": [0.1, 0.2],
            "width": 50,
        }
    )
    figs += [plot_rate_functions(rate)]
    sc = rate.rename(columns={"q": "theta", "rate_sim": "lambda_sim", "rate_theory": "lambda_theory"})
    figs += [plot_scgf(sc)]
    for fig in figs:
        assert isinstance(fig, Figure)
        assert any(ax.get_visible() and (ax.lines or ax.collections) for ax in fig.axes)
    with pytest.raises(ValueError, match="lacks columns"):
        plot_overlap_depth(summ)
    with pytest.raises(ValueError, match="no rows of metric"):
        plot_trained_sensitivity(summ, "loss")


def test_shuffled_null_keeps_magnetizations_and_runs():
    from maxent.companion.sensitivity import shuffled_null

    smp = _samples(M=12, draws=2, seed=5)
    null = shuffled_null(smp, random_state=0)
    np.testing.assert_array_equal(np.sort(null.spins, axis=0), np.sort(smp.spins, axis=0))
    np.testing.assert_array_equal(null.run, smp.run)
    assert not np.array_equal(null.spins, smp.spins)
    assert np.isnan(null.accuracy).all() and null.meta["null"] == "column_shuffle"


def test_chunking_does_not_change_the_result(setup):
    ds, smp, per = setup
    small = per_network_sensitivity(
        smp, ds, levels=(0.8, 0.4), n_draws=3, seed=1, max_floats=1
    )  # 1 network/chunk
    pd.testing.assert_frame_equal(small, per)

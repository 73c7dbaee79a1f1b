"""Correlated synapses, bridge to the core: trained networks vs their fitted Ising models (#17).

Small self-contained ensembles (widths 4-3-2: blocks of 12 and 6 spins, exact model sampling);
nothing is read from results/.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from matplotlib.figure import Figure

from maxent.companion.correlated import (
    SOURCES,
    binary_synapses,
    coupling_share,
    covariance_statistics,
    network_activities,
    plot_depth,
    plot_pair_structure,
    plot_trained_dimension,
    plot_width_errors,
    statistics_from_covariance,
    synapse_pair_structure,
    trained_dimension,
    weight_sources,
)
from maxent.data.datasets import Dataset
from maxent.data.nets import forward
from maxent.data.samples import WeightSamples
from maxent.model.ising import IsingModel

WIDTHS = (4, 3, 2)
EXACT = {"method": "exact"}


@pytest.fixture(scope="module")
def setting():
    rng = np.random.default_rng(0)
    runs = np.repeat(np.arange(30), 2)  # two draws per training run
    base = np.where(rng.random((30, 18)) < 0.7, 1, -1)
    spins = np.repeat(base, 2, axis=0) * np.where(rng.random((60, 18)) < 0.9, 1, -1)
    samples = WeightSamples(
        spins.astype(np.int8), WIDTHS, np.full(60, 0.8), np.full(60, 0.8), runs, {"config": {"slope": 0.1}}
    )
    models = {
        "W1": IsingModel.random_sk(12, beta=0.8, h_std=0.5, random_state=1),
        "W2": IsingModel.random_sk(6, beta=0.8, h_std=0.5, random_state=2),
    }
    X = rng.normal(size=(80, 4)) @ np.diag([2.0, 1.0, 0.5, 0.2])
    data = Dataset(X[:50], rng.integers(0, 2, 50), X[50:], rng.integers(0, 2, 30), n_classes=2)
    return samples, models, data


def test_activities_follow_the_core_forward_convention(setting):
    samples, _, data = setting
    acts = network_activities(samples.spins, WIDTHS, data.X_test, slope=0.1)
    assert [a.shape for a in acts] == [(60, 30, 4), (60, 30, 3), (60, 30, 2)]
    W = [
        torch.tensor(w, dtype=torch.float32)
        for w in (samples.spins[:, :12].reshape(60, 3, 4), samples.spins[:, 12:].reshape(60, 2, 3))
    ]
    logits = forward(W, torch.tensor(data.X_test), slope=0.1).numpy()
    np.testing.assert_allclose(acts[-1], logits, rtol=1e-5, atol=1e-5)
    z1 = np.einsum("soi,pi->spo", samples.spins[:, :12].reshape(60, 3, 4).astype(float), data.X_test)
    np.testing.assert_allclose(acts[1], np.where(z1 > 0, z1, 0.1 * z1) / 2.0, rtol=1e-5, atol=1e-6)


def test_trained_dimension_table(setting):
    samples, models, data = setting
    df = trained_dimension(samples, models, data, n_boot=50, seed=3, sampler=EXACT, n_model_samples=40)
    assert set(df["source"]) == set(SOURCES)
    assert len(df) == len(SOURCES) * 3 * 2
    assert set(df["role"]) == {"input", "hidden", "output"}
    # trained networks: resampled by run (30 runs of 2 draws); model draws are independent
    assert set(df.loc[df["source"] == "trained", "n_runs"]) == {30}
    assert set(df.loc[df["source"] != "trained", "n_runs"]) == {40}
    # the value is the mean over networks of the per-network statistics, computed independently
    acts = network_activities(samples.spins, WIDTHS, data.X_test)
    direct = covariance_statistics(acts[1])["D_over_N"].mean()
    row = df[(df["source"] == "trained") & (df["layer"] == 1) & (df["statistic"] == "D_over_N")]
    assert row["value"].item() == pytest.approx(direct, rel=1e-9)
    assert (row["ci_low"] < row["value"]).all() and (row["value"] < row["ci_high"]).all()
    # layer 0 is the data itself: the same for every source, with a zero-width interval
    inp = df[(df["layer"] == 0) & (df["statistic"] == "D_over_N")]
    X = np.asarray(data.X_test, dtype=np.float64)
    assert np.allclose(inp["value"], covariance_statistics(X)["D_over_N"])
    assert np.allclose(inp["ci_high"] - inp["ci_low"], 0.0)
    assert abs(inp["value"].iloc[0] - statistics_from_covariance(np.cov(X, rowvar=False))["D_over_N"]) < 0.15
    # reproducible with the same seed
    again = trained_dimension(samples, models, data, n_boot=50, seed=3, sampler=EXACT, n_model_samples=40)
    pd.testing.assert_frame_equal(df, again)


def test_model_sources_carry_the_model_statistics(setting):
    samples, models, _ = setting
    n = 6000
    src = weight_sources(samples, models, n_model_samples=n, sampler=EXACT, random_state=0)
    ising, indep, rand = src["ising"][0], src["independent"][0], src["random"][0]
    assert ising.shape == indep.shape == rand.shape == (n, 18)
    tol = 5 / np.sqrt(n)
    for name, sl in samples.blocks.items():
        m, C = models[name].moments()
        block = ising[:, sl].astype(float)
        np.testing.assert_allclose(block.mean(0), m, atol=tol)
        np.testing.assert_allclose(block.T @ block / n, C, atol=tol)
        # J = 0 counterpart: the same magnetizations, no connected correlations
        ib = indep[:, sl].astype(float)
        np.testing.assert_allclose(ib.mean(0), block.mean(0), atol=tol)
        off = ~np.eye(ib.shape[1], dtype=bool)
        assert np.abs(np.corrcoef(ib, rowvar=False)[off]).max() < tol
    assert np.abs(rand.mean(0)).max() < tol
    fields = weight_sources(
        samples, models, n_model_samples=n, sampler=EXACT, independent="fields", random_state=0
    )
    np.testing.assert_allclose(fields["independent"][0][:, :12].mean(0), np.tanh(models["W1"].h), atol=tol)


def test_bad_inputs_are_refused(setting):
    samples, models, data = setting
    with pytest.raises(ValueError, match="lack the block"):
        trained_dimension(samples, {"W1": models["W1"]}, data, sampler=EXACT)
    with pytest.raises(ValueError, match="spins but block"):
        trained_dimension(samples, {"W1": models["W2"], "W2": models["W2"]}, data, sampler=EXACT)
    with pytest.raises(TypeError, match="IsingModel"):
        weight_sources(samples, {"W1": models["W1"], "W2": "not a model"})
    wide = Dataset(np.ones((10, 5)), np.zeros(10, int), np.ones((10, 5)), np.zeros(10, int), n_classes=2)
    with pytest.raises(ValueError, match="features"):
        trained_dimension(samples, models, wide, sampler=EXACT)
    with pytest.raises(ValueError, match="split"):
        trained_dimension(samples, models, data, split="validation", sampler=EXACT)
    with pytest.raises(ValueError, match="independent"):
        weight_sources(samples, models, independent="zero")
    with pytest.raises(ValueError, match="non-finite"):
        network_activities(samples.spins, WIDTHS, np.full((5, 4), np.nan))


def test_pair_structure_recovers_known_correlations():
    """Binary synapses generated with rho_pre = 0.3, rho_post = 0.1 (the inferred structures)
    come back per pair class; the 'none' class is uncorrelated."""
    M = 4000
    W1 = binary_synapses(3, 4, rho_pre=0.3, rho_post=0.1, size=M, random_state=0).reshape(M, -1)
    W2 = binary_synapses(2, 3, rho_pre=0.0, rho_post=0.4, size=M, random_state=1).reshape(M, -1)
    src = {"synthetic": (np.concatenate([W1, W2], axis=1), np.arange(M))}
    tab = synapse_pair_structure(src, WIDTHS).set_index(["block", "pair"])
    tol = 4 / np.sqrt(M)
    assert tab.loc[("W1", "pre"), "mean_corr"] == pytest.approx(0.3, abs=tol)
    assert tab.loc[("W1", "post"), "mean_corr"] == pytest.approx(0.1, abs=tol)
    assert tab.loc[("W1", "none"), "mean_corr"] == pytest.approx(0.0, abs=tol)
    assert tab.loc[("W2", "post"), "mean_corr"] == pytest.approx(0.4, abs=tol)
    assert tab.loc[("W2", "pre"), "mean_corr"] == pytest.approx(0.0, abs=tol)
    # pair counts: W1 has 3 rows of 4 (3 * 6 post pairs), 4 columns of 3 (4 * 3 pre pairs)
    assert tab.loc[("W1", "post"), "n_pairs"] == 18 and tab.loc[("W1", "pre"), "n_pairs"] == 12
    assert tab.loc[("W1", "none"), "n_pairs"] == 66 - 18 - 12


def test_figures(setting):
    samples, models, data = setting
    df = trained_dimension(samples, models, data, n_boot=20, sampler=EXACT, n_model_samples=20)
    assert isinstance(plot_trained_dimension(df), Figure)
    src = weight_sources(samples, models, n_model_samples=20, sampler=EXACT, random_state=0)
    assert isinstance(plot_pair_structure(synapse_pair_structure(src, WIDTHS)), Figure)
    depth = pd.DataFrame(
        {
            "synapses": ["a"] * 4,
            "method": ["theory", "theory", "simulation", "simulation"],
            "layer": [0, 1, 0, 1],
            "D_over_N": [0.5, 0.4, 0.5, 0.41],
            "N_offdiag_corr2": [1.0, 2.0, 1.0, 2.1],
        }
    )
    fig = plot_depth(depth)
    assert len(fig.axes) == 2
    width = pd.DataFrame(
        {
            "N": [16, 16, 64, 64],
            "synapses": ["a"] * 4,
            "statistic": ["D_over_N"] * 4,
            "layer": [1, 2, 1, 2],
            "error": [0.04, -0.03, 0.01, 0.012],
            "sem": [0.01] * 4,
        }
    )
    assert isinstance(plot_width_errors(width), Figure)
    with pytest.raises(ValueError, match="lacks columns"):
        plot_trained_dimension(df.drop(columns="ci_low"))
    with pytest.raises(TypeError, match="DataFrame"):
        plot_depth([1, 2, 3])


def test_coupling_share_limits(setting):
    """share = 0 when the Ising draws are the independent ones, 1 when they are the trained
    networks themselves; the gap is D_independent - D_trained with a bootstrap interval."""
    samples, models, data = setting
    src = weight_sources(samples, models, n_model_samples=50, sampler=EXACT, random_state=0)
    same_as_indep = dict(src, ising=src["independent"])
    tab = coupling_share(samples, models, data, n_boot=50, sources=same_as_indep)
    assert list(tab["layer"]) == [1, 2]
    np.testing.assert_allclose(tab["explained"], 0.0, atol=1e-12)
    np.testing.assert_allclose(tab["share"], 0.0, atol=1e-12)
    same_as_trained = dict(src, ising=src["trained"])
    tab1 = coupling_share(samples, models, data, n_boot=50, sources=same_as_trained)
    np.testing.assert_allclose(tab1["share"], 1.0, rtol=1e-12)
    acts = network_activities(src["independent"][0], WIDTHS, data.X_test)
    direct = covariance_statistics(acts[1])["D_over_N"].mean()
    acts_t = network_activities(samples.spins, WIDTHS, data.X_test)
    gap = direct - covariance_statistics(acts_t[1])["D_over_N"].mean()
    assert tab.loc[0, "gap"] == pytest.approx(gap, rel=1e-9)
    assert (tab["gap_ci_low"] <= tab["gap_ci_high"]).all()
    with pytest.raises(ValueError, match="sources lack"):
        coupling_share(samples, models, data, sources={"trained": src["trained"]})

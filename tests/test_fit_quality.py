"""Fit-quality checks: the true model passes them on its own samples, a wrong one fails them."""

from __future__ import annotations

import io

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from maxent import IsingModel
from maxent._threads import limit_threads
from maxent.fit._likelihood import mean_pseudo_log_likelihood
from maxent.fit.quality import (
    _energy_pll,
    _overlap_edges,
    _var_connected,
    fit_quality,
    plot_fit_quality,
    quality_summary,
)

matplotlib.use("Agg")  # headless; no figure exists yet, so switching is safe

COLUMNS = ["statistic", "index", "data", "model", "se", "bin_lo", "bin_hi"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small operations stall on thread barriers on a busy shared CPU: one torch/BLAS thread."""
    with limit_threads(1):
        yield


@pytest.fixture(scope="module")
def problem():
    truth = IsingModel.random_sk(12, beta=1.0, h_std=0.2, random_state=1)
    X = truth.sample(5000, random_state=2)
    X_test = truth.sample(5000, random_state=3)
    independent = IsingModel(np.arctanh(X.mean(axis=0)), np.zeros((12, 12)))
    q_true = fit_quality(truth, X, X_test=X_test, random_state=0)
    q_ind = fit_quality(independent, X, X_test=X_test, random_state=0)
    return truth, X, X_test, q_true, q_ind


def test_tidy_table(problem):
    truth, X, _, q, _ = problem
    assert list(q.columns) == COLUMNS
    counts = q["statistic"].value_counts()
    assert counts["m"] == 12 and counts["C_connected"] == 66 and counts["T_three_point"] == 220
    assert counts["log_likelihood"] == 2
    assert set(q.loc[q["statistic"] == "log_likelihood", "index"]) == {"train", "test"}
    assert q.attrs["sampler"] == "exact" and q.attrs["n_model_samples"] == 10000
    assert q.loc[q["statistic"] == "C_connected", "index"].iloc[0] == "0,1"
    for stat in ("energy", "overlap"):
        h = q[q["statistic"] == stat]
        assert h["data"].sum() == pytest.approx(1.0) and h["model"].sum() == pytest.approx(1.0)
        assert np.all(h["bin_lo"].to_numpy() < h["bin_hi"].to_numpy())
    scatter = q[q["statistic"].isin(["m", "C_connected", "T_three_point"])]
    assert scatter["bin_lo"].isna().all() and (scatter["se"] > 0).all()
    # data column = statistics of X itself
    c = q[q["statistic"] == "C_connected"]["data"].to_numpy()
    Xf = X.astype(float)
    cov = np.cov(Xf, rowvar=False, bias=True)
    np.testing.assert_allclose(c, cov[np.triu_indices(12, 1)], atol=1e-12)
    # exact log-likelihood rows: model value is -entropy, data value the mean log P
    ll = q[(q["statistic"] == "log_likelihood") & (q["index"] == "train")].iloc[0]
    assert ll["model"] == pytest.approx(-truth.entropy())
    assert ll["data"] == pytest.approx(np.mean(truth.log_prob(X)))


def test_true_model_consistent_wrong_model_not(problem):
    *_, q_true, q_ind = problem
    s_true = quality_summary(q_true).set_index("statistic")
    s_ind = quality_summary(q_ind).set_index("statistic")
    # the true model differs from its own samples by sampling noise only
    for stat in ("m", "C_connected", "T_three_point", "energy", "overlap"):
        assert s_true.loc[stat, "rmse_ratio"] < 1.5, stat
    assert s_true.loc["C_connected", "pearson_r"] > 0.99
    # the independent model (J = 0, right magnetizations) misses the correlations entirely
    assert s_ind.loc["m", "rmse_ratio"] < 1.5
    assert s_ind.loc["C_connected", "rmse_ratio"] > 10 * s_true.loc["C_connected", "rmse_ratio"]
    assert s_ind.loc["overlap", "js_distance"] > 5 * s_true.loc["overlap", "js_distance"]
    assert s_ind.loc["energy", "js_distance"] > 2 * s_true.loc["energy", "js_distance"]
    # model's own expected log-likelihood agrees with the data for the true model
    ll = s_true.loc["log_likelihood_test"]
    se = q_true.query("statistic == 'log_likelihood' and index == 'test'")["se"].iloc[0]
    assert abs(ll["data_value"] - ll["model_value"]) < 4 * se


def test_held_out_likelihood_prefers_true_model(problem):
    *_, q_true, q_ind = problem
    pick = "statistic == 'log_likelihood' and index == 'test'"
    t, i = q_true.query(pick).iloc[0], q_ind.query(pick).iloc[0]
    assert t["data"] > i["data"] + 10 * max(t["se"], i["se"])


def test_figure_renders(problem):
    *_, q_true, _ = problem
    fig = plot_fit_quality(q_true, title="true model")
    assert len(fig.axes) == 6
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    assert buf.getbuffer().nbytes > 1000
    plt.close(fig)


def test_large_model_uses_gibbs_and_pseudo_likelihood():
    model = IsingModel.random_sk(25, beta=0.5, random_state=4)
    X = model.sample(600, method="gibbs", n_chains=50, burn=100, thin=2, random_state=5)
    q = fit_quality(model, X, X_test=X[:100], n_model_samples=600, n_triplets=50, burn=100, random_state=0)
    assert q.attrs["sampler"] == "gibbs"
    assert "log_likelihood" not in set(q["statistic"])
    pll = q[q["statistic"] == "pseudo_log_likelihood"]
    assert list(pll["index"]) == ["train", "test"]
    assert (pll["data"] < 0).all() and np.isfinite(pll["se"]).all()
    assert (q["statistic"] == "T_three_point").sum() == 50
    s = quality_summary(q).set_index("statistic")
    assert s.loc["C_connected", "rmse_ratio"] < 2.0  # correlated MCMC samples: se is a lower bound
    plt.close(plot_fit_quality(q))


def test_reproducible_with_seed(problem):
    truth, X, *_ = problem
    a = fit_quality(truth, X[:500], n_model_samples=500, random_state=11)
    b = fit_quality(truth, X[:500], n_model_samples=500, random_state=11)
    np.testing.assert_array_equal(a["model"].to_numpy(), b["model"].to_numpy())


def test_chains_start_at_data_rows_for_a_broken_model():
    # Ordered ferromagnet (N J = 3, Curie-Weiss beta = 3) tilted by a field: the valley around +1
    # holds ~99% of the exact mass, the mirrored valley around -1 the rest, and single-spin chains
    # practically never cross between them (barrier ~10 in log-probability). Chains from random
    # states fall into the wrong valley about 40% of the time; chains from data rows populate
    # the valleys as the data do.
    n = 12
    J = np.full((n, n), 0.25)
    np.fill_diagonal(J, 0.0)
    model = IsingModel(np.full(n, 0.2), J)
    m_exact, _ = model.moments()
    X = model.sample(4000, random_state=1)  # exact samples: the data of a perfect fit
    p_minor = np.mean(X.sum(axis=1) < 0)
    assert 0.002 < p_minor < 0.03  # both valleys are present in the data
    kw = dict(sampler="gibbs", n_model_samples=4000, n_chains=256, burn=200, n_triplets=50)
    q_data = fit_quality(model, X, random_state=0, **kw)
    q_rand = fit_quality(model, X, chain_start="random", random_state=0, **kw)
    assert q_data.attrs["chain_start"] == "data" and q_rand.attrs["chain_start"] == "random"
    m_data = q_data.loc[q_data["statistic"] == "m", "model"].to_numpy()
    m_rand = q_rand.loc[q_rand["statistic"] == "m", "model"].to_numpy()
    # Model magnetizations against the exact ones. With data starts the error is dominated by the
    # number of chains that start in the minor valley (binomial): sd ~ 2 m sqrt(p (1 - p) / C),
    # about 0.011 here; allow 5 of those (measured over 18 seeds: at most 3.7).
    tol = 5 * 2 * np.sqrt(p_minor * (1 - p_minor) / 256)
    assert np.max(np.abs(m_data - m_exact)) < tol
    assert np.min(np.abs(m_rand - m_exact)) > 0.3 > 5 * tol
    # the quality table: consistent with data starts, many times the noise with random starts
    s_data = quality_summary(q_data).set_index("statistic")
    s_rand = quality_summary(q_rand).set_index("statistic")
    # MCMC samples are correlated (se is a lower bound): measured 0.5-6.3 with data starts, 42-49
    # with random starts
    assert s_data.loc["m", "rmse_ratio"] < 10 < s_rand.loc["m", "rmse_ratio"]
    for stat in ("m", "C_connected", "energy"):
        key = "js_distance" if stat == "energy" else "rmse_ratio"
        assert s_rand.loc[stat, key] > 4 * s_data.loc[stat, key], stat


def test_chain_start_exact_sampler_and_bad_value(problem):
    truth, X, *_ = problem
    q = fit_quality(truth, X[:200], n_model_samples=200, n_triplets=10, random_state=0)
    assert q.attrs["sampler"] == "exact" and q.attrs["chain_start"] is None
    with pytest.raises(ValueError, match="chain_start"):
        fit_quality(truth, X, chain_start="zeros")
    # more chains than data rows: rows are drawn with replacement
    q = fit_quality(
        truth, X[:20], sampler="metropolis", n_model_samples=400, n_chains=64, burn=5, n_triplets=10
    )
    assert q.attrs["chain_start"] == "data" and q.attrs["n_model_samples"] == 400


def test_connected_variance_formula_is_exact():
    # For ±1 spins Var(ds_i ds_j) = 1 - m_i^2 - m_j^2 - 3 m_i^2 m_j^2 + 4 m_i m_j C_ij - c_ij^2,
    # exactly, for the empirical distribution of any sample (with its own m and C)
    rng = np.random.default_rng(0)
    X = np.where(rng.random((400, 6)) < rng.random(6), 1.0, -1.0)
    X[:, 1] = X[:, 0] * np.where(rng.random(400) < 0.8, 1, -1)
    m, C = X.mean(axis=0), X.T @ X / 400
    iu = np.triu_indices(6, 1)
    D = X - m
    empirical = (D[:, iu[0]] * D[:, iu[1]]).var(axis=0)
    np.testing.assert_allclose(_var_connected(m, C, iu), empirical, atol=1e-12)


def test_energy_and_pseudo_likelihood_agree_with_reference():
    model = IsingModel.random_sk(30, beta=1.0, h_std=0.3, random_state=7)
    X = model.sample(300, method="gibbs", n_chains=30, burn=20, random_state=8).astype(np.float64)
    energy, pll = _energy_pll(model, X, chunk=64)  # several chunks
    np.testing.assert_allclose(energy, model.energy(X), rtol=1e-12, atol=1e-10)
    assert pll.mean() == pytest.approx(mean_pseudo_log_likelihood(model.h, model.J, X), rel=1e-12)


def test_overlap_bins_separate_possible_values():
    for n, bins in ((7, 40), (100, 10), (675, 40)):
        edges = _overlap_edges(n, bins)
        values = -1 + 2 * np.arange(n + 1) / n
        assert edges[0] < -1 and edges[-1] > 1 and len(edges) - 1 <= max(bins, n + 1)
        # no possible overlap value lies on (or within rounding of) an edge
        assert np.min(np.abs(values[:, None] - edges[None, :])) > 0.4 / n


def test_bad_input(problem):
    truth, X, *_ = problem
    with pytest.raises(ValueError, match="12 spins per sample, expected 10"):
        fit_quality(IsingModel.random_sk(10, random_state=0), X)
    bad = X.copy().astype(float)
    bad[0, 0] = 0.5
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        fit_quality(truth, bad)
    with pytest.raises(ValueError, match="sampler"):
        fit_quality(truth, X, sampler="wolff")
    with pytest.raises(TypeError, match="IsingModel"):
        fit_quality((truth.h, truth.J), X)
    with pytest.raises(ValueError, match="at least 2 samples"):
        fit_quality(truth, X[:1])
    with pytest.raises(TypeError, match="fit_quality"):
        quality_summary(X)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fit_quality"):
        quality_summary(pd.DataFrame({"a": [1]}))

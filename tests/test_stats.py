"""The statistics layer: nulls, run-level bootstrap and claims, against planted truths."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxent.model.ising import IsingModel
from maxent.stats import claims as C
from maxent.stats.bootstrap import (
    basic_interval,
    resample_runs,
    run_bootstrap,
    run_groups,
    subsample_runs,
)
from maxent.stats.nulls import column_shuffle, independent_samples


# ----------------------------------------------------------------------------- nulls
@settings(max_examples=40, deadline=None)
@given(
    M=st.integers(2, 30),
    N=st.integers(1, 12),
    seed=st.integers(0, 2**16),
    draws=st.sampled_from([1, 2, 3]),
)
def test_column_shuffle_keeps_every_column_and_moves_whole_runs(M, N, seed, draws):
    rng = np.random.default_rng(seed)
    X = rng.choice(np.array([-1, 1], dtype=np.int8), size=(M * draws, N))
    runs = np.repeat(rng.permutation(M), draws)
    Y = column_shuffle(X, groups=runs, random_state=seed)
    assert Y.dtype == np.int8 and Y.shape == X.shape
    np.testing.assert_array_equal(np.sort(Y, axis=0), np.sort(X, axis=0))  # same column multisets
    # the draws of one run move together: within a run, column i comes from one source run
    for i in range(N):
        for r in np.unique(runs):
            rows = np.flatnonzero(runs == r)
            sources = [np.flatnonzero(runs == q) for q in np.unique(runs)]
            assert any(np.array_equal(Y[rows, i], X[src, i]) for src in sources)


def test_column_shuffle_destroys_correlations_keeps_magnetizations():
    rng = np.random.default_rng(0)
    z = rng.choice([-1, 1], size=(4000, 1))
    X = np.hstack([z, z, -z, rng.choice([-1, 1], size=(4000, 1))]).astype(np.int8)
    Y = column_shuffle(X, random_state=1)
    np.testing.assert_array_equal(X.mean(0), Y.mean(0))
    r = np.corrcoef(Y.T.astype(float))[np.triu_indices(4, 1)]
    assert np.abs(r).max() < 5 / np.sqrt(4000)  # from |r| = 1 to the noise floor


def test_nulls_refuse_bad_input():
    with pytest.raises(ValueError, match="±1|-1"):
        column_shuffle(np.array([[0, 1], [1, 1]]))
    with pytest.raises(ValueError, match="groups"):
        column_shuffle(np.ones((3, 2)), groups=np.arange(4))
    with pytest.raises(ValueError, match="magnetizations"):
        independent_samples(np.array([1.5]), 3)
    with pytest.raises(ValueError, match="n_samples"):
        independent_samples(np.zeros(2), 0)


def test_independent_samples_match_their_magnetizations():
    m = np.array([-0.8, 0.0, 0.5, 1.0])
    X = independent_samples(m, 20000, random_state=2)
    np.testing.assert_allclose(X.mean(0), m, atol=4 / np.sqrt(20000))


# ----------------------------------------------------------------------------- bootstrap
def test_resampling_is_by_run_never_by_draw():
    runs = np.repeat(np.arange(7), 3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = resample_runs(runs, rng)
        assert len(idx) == len(runs)
        # every resampled run arrives with all of its draws
        assert np.all(np.unique(runs[idx], return_counts=True)[1] % 3 == 0)
    sub = subsample_runs(runs, 0.5, rng)
    kept = np.unique(runs[sub])
    np.testing.assert_array_equal(np.sort(sub), np.flatnonzero(np.isin(runs, kept)))
    assert [len(g) for g in run_groups(runs)] == [3] * 7


def _clustered_means(rng, n_runs, draws, rho=0.8):
    """Samples whose draws share a run-level latent: mean 0 exactly, strong within-run correlation."""
    latent = rng.normal(size=n_runs)
    x = np.sqrt(rho) * np.repeat(latent, draws) + np.sqrt(1 - rho) * rng.normal(size=n_runs * draws)
    return x, np.repeat(np.arange(n_runs), draws)


def test_run_bootstrap_interval_covers_the_truth_at_its_nominal_rate():
    """95% intervals of a mean over clustered draws: run-level bootstrap covers 0 ~95% of the time;
    resampling draws as if independent (the mistake the run-level bootstrap exists to avoid)
    under-covers badly. Binomial error over 300 trials: sd 1.3%."""
    rng = np.random.default_rng(1)
    trials, hit_runs, hit_rows = 300, 0, 0
    for _ in range(trials):
        x, runs = _clustered_means(rng, 40, 5)
        res = run_bootstrap(lambda rows, x=x: x[rows].mean(), runs, n_boot=199, random_state=rng)
        hit_runs += res.ci_low <= 0.0 <= res.ci_high
        naive = np.array([x[rng.integers(0, x.size, x.size)].mean() for _ in range(199)])
        lo, hi = basic_interval(x.mean(), naive, 0.95)
        hit_rows += lo <= 0.0 <= hi
    assert 0.91 <= hit_runs / trials <= 0.985
    assert hit_rows / trials < 0.75


def test_bootstrap_refuses_bad_parameters():
    with pytest.raises(ValueError, match="n_boot"):
        run_bootstrap(lambda r: 0.0, np.arange(5), n_boot=1)
    with pytest.raises(ValueError, match="level"):
        basic_interval(0.0, np.zeros(5), level=1.5)
    with pytest.raises(ValueError, match="fraction"):
        subsample_runs(np.arange(5), 0.0, np.random.default_rng(0))


# ----------------------------------------------------------------------------- claims: planted truth
def _sk(n, beta, seed):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0, beta / np.sqrt(n), (n, n)), 1)
    return IsingModel(rng.normal(0, 0.3, n), J + J.T)


@pytest.fixture(scope="module")
def planted():
    """Three blocks of 300 / 225 / 150 spins drawn by Gibbs MCMC from known models: the outer
    blocks coupled (SK, beta = 0.6), the central one nearly free (beta = 0.05)."""
    models = {"W1": _sk(300, 0.6, 1), "W2": _sk(225, 0.05, 2), "W3": _sk(150, 0.6, 3)}
    return {
        b: m.sample(600, "gibbs", n_chains=100, burn=300, thin=5, random_state=i)
        for i, (b, m) in enumerate(models.items())
    }


def _pair_ranking(Xs, n, shuffle=False):
    cs = C.ClaimSettings(n_boot=19)
    per, rows = {}, {}
    for b, X in Xs.items():
        X = X[:n]
        if shuffle:
            X = column_shuffle(X, random_state=11)
        r, r2 = C.pair_claims("s", b, X, np.arange(n), cs, boot_seed=7, null_seed=8, n_null=99)
        rows[b] = r
        per[b] = (r2["value"], r2["boot"], r2["null"])
    return rows, C.ranking_row("s", "least_correlated_block", "x", per, n, cs)


def test_planted_ranking_is_significant_with_enough_runs(planted):
    rows, rank = _pair_ranking(planted, 600)
    assert rank["block"] == "W2" and rank["verdict"] == "significant"
    assert rows["W1"][0]["verdict"] == rows["W3"][0]["verdict"] == "significant"
    assert rows["W2"][0]["verdict"].startswith("not resolvable")
    assert rank["ci_low"] > rank["null_value"]


def test_planted_ranking_is_not_resolvable_with_few_runs(planted):
    _, rank = _pair_ranking(planted, 40)
    assert rank["verdict"] == "not resolvable with 40 runs"
    assert np.isfinite(rank["runs_needed"]) and rank["runs_needed"] > 40


def test_shuffled_planted_data_support_no_claim(planted):
    rows, rank = _pair_ranking(planted, 600, shuffle=True)
    assert rank["verdict"].startswith("not resolvable")
    for b in rows:
        assert all(r["verdict"].startswith("not resolvable") for r in rows[b])


def test_entropy_gap_claims_on_a_planted_block_and_its_null():
    """A small coupled block: the common-penalty fit's entropy gap and held-out gain beat the
    shuffled null; on the shuffled copy they do not."""
    model = _sk(30, 1.0, 5)
    X = model.sample(800, "gibbs", n_chains=80, burn=300, thin=5, random_state=4)
    runs = np.arange(800)
    train, test = runs < 600, runs >= 600
    cs = C.ClaimSettings(alpha=0.3, n_boot=19, n_null=19, curve=(0.5, 1.0))
    for shuffle in (False, True):
        Z = column_shuffle(X, random_state=3) if shuffle else X
        rep = C.gap_replicates(Z[train], runs[train], Z[test], cs, boot_seed=1, null_seed=2)
        rows = {r["claim"]: r for r in C.gap_claims("s", "W1", rep, runs[train], runs[test], cs, seed=3)}
        gap, gain = rows["constrained_beyond_magnetizations"], rows["generalizes_beyond_independent"]
        if shuffle:
            assert gap["verdict"].startswith("not resolvable")
            assert gain["verdict"].startswith("not resolvable")
        else:
            assert gap["verdict"] == "significant" and gap["value"] > gap["null_value"]
            assert gain["verdict"] == "significant" and gain["ci_low"] > 0
        assert rows["overfitting"]["verdict"] == "descriptive"
        curve = pd.DataFrame(C.curve_rows("s", "W1", rep["curve"]), columns=C.CURVE_COLUMNS)
        assert set(curve["fraction"]) == {0.5, 1.0} and curve["n_runs"].max() == 600


def test_constant_spins_are_left_out_of_the_gap_exactly():
    """Frozen spins (|m| = 1) add nothing to either entropy: the gap per spin of the block is the
    gap of the free spins scaled by their share."""
    model = _sk(12, 0.8, 6)
    X = model.sample(300, "gibbs", n_chains=30, burn=200, thin=3, random_state=6)
    Xc = np.hstack([X, np.ones((300, 12), dtype=np.int8)])
    cs = C.ClaimSettings(n_boot=2, n_null=2, curve=(1.0,))
    a = C.gap_replicates(X, np.arange(300), None, cs, boot_seed=0, null_seed=0)
    b = C.gap_replicates(Xc, np.arange(300), None, cs, boot_seed=0, null_seed=0)
    assert b["gap"] == pytest.approx(a["gap"] / 2, rel=1e-10)


def _curie_weiss_samples(n, J0, M, seed):
    J = np.full((n, n), J0 / n)
    np.fill_diagonal(J, 0.0)
    return IsingModel(np.full(n, 0.02), J).sample(
        M, "gibbs", n_chains=40, burn=200, thin=5, random_state=seed
    )


def test_planted_first_order_jump_is_significant_and_its_null_is_not():
    """A ferromagnetic block (Curie-Weiss, J0 = 2 > 1) has a hysteretic landscape around a sample
    of one of its two states; the column-shuffled copy (no couplings) does not."""
    from maxent.fit.pseudolikelihood import PseudoLikelihood
    from maxent.geometry.landscape import choose_references, entropy_landscape

    X = _curie_weiss_samples(30, 2.0, 300, 0)
    runs = np.arange(300)

    def fit(Z):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return PseudoLikelihood(alpha=0.01, alpha_h=0.01).fit(Z).model_

    x = np.round(np.arange(-2.0, 2.0001, 0.2), 10)
    cs = C.ClaimSettings(n_boot_landscape=4, n_null_landscape=19)
    verdicts = {}
    for shuffle in (False, True):
        Z = column_shuffle(X, random_state=1) if shuffle else X
        model = fit(Z)
        ref = choose_references(model, Z)["medium"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = C.hysteresis_area(entropy_landscape(model, ref, x=x, sweep="both"))
        rep = C.jump_replicates(fit, Z, runs, ref, "medium", x, cs, seed=3)
        verdicts[shuffle] = C.jump_claim("s", "W1", "medium", value, rep, 300, cs)
    assert verdicts[False]["verdict"] == "significant" and verdicts[False]["value"] > 0.01
    assert verdicts[True]["verdict"].startswith("not resolvable")


def test_hysteresis_area_of_known_sweeps():
    x = np.array([0.0, 1.0, 2.0])
    df = pd.DataFrame(
        {
            "sweep": ["down"] * 3 + ["up"] * 3,
            "x": np.r_[x[::-1], x],
            "d": [0.1, 0.1, 0.5, 0.5, 0.3, 0.1],  # down at x = 2, 1, 0; up at x = 0, 1, 2
            "converged": True,
        }
    )
    # |d_down - d_up| = 0, 0.2, 0 at x = 0, 1, 2 -> trapezoid area 0.2
    assert C.hysteresis_area(df) == pytest.approx(0.2)
    df.loc[4, "converged"] = False  # the up point at x = 1 did not converge: left out
    assert C.hysteresis_area(df) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="landscape"):
        C.hysteresis_area(df.drop(columns="d"))


def test_tap_claim_separates_a_two_state_model_from_its_null():
    from maxent.fit.pseudolikelihood import PseudoLikelihood

    """The zero-field Curie-Weiss model (J0 = 2) has two symmetric TAP states, each the end of
    about half the random starts; models fitted to its shuffled samples have one."""
    X = _curie_weiss_samples(30, 2.0, 300, 1)
    cs = C.ClaimSettings(n_starts=64)
    J = np.full((30, 30), 2.0 / 30)
    np.fill_diagonal(J, 0.0)
    model = IsingModel(np.zeros(30), J)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nulls = [
            PseudoLikelihood(alpha=0.01, alpha_h=0.01).fit(column_shuffle(X, random_state=k)).model_
            for k in range(2)
        ]
    row = C.tap_claim("s", "W1", model, nulls, 300, cs, seed=0)
    assert row["verdict"] == "significant" and 0.2 < row["value"] < 0.8  # two symmetric states
    assert row["ci_low"] <= row["value"] <= row["ci_high"]


def test_runs_needed_scaling():
    # an effect of one standard error needs (z_0.95 + z_0.8)^2 ~ 6.18 times the runs
    assert C.runs_needed(100, 1.0, 1.0, 0.05, 0.8) == 619
    assert np.isnan(C.runs_needed(100, -1.0, 1.0, 0.05, 0.8))


def test_a_claim_with_a_biased_bootstrap_is_not_stated():
    cs = C.ClaimSettings()
    null = np.linspace(0.0, 1.0, 39)  # value 2 beats every null: p = 1/40
    fair = C.claim_row("s", "W1", "c", "stat", 2.0, 1.5 + 0.1 * np.sin(np.arange(50)), null, 100, cs)
    assert fair["ci_reliable"] and fair["verdict"] == "significant"
    assert fair["ci_low"] <= 2.0 <= fair["ci_high"]
    # replicates of the excess centred 20 sd away from the data's excess (1.5): the interval is
    # flagged, and without a trustworthy interval the claim is not stated despite p = 1/40
    biased = C.claim_row("s", "W1", "c", "stat", 2.0, -0.5 + 0.1 * np.sin(np.arange(50)), null, 100, cs)
    assert biased["p_value"] == pytest.approx(1 / 40)
    assert not biased["ci_reliable"] and biased["verdict"] == "not resolvable with 100 runs"
    assert np.isnan(biased["runs_needed"])
    assert not C.bootstrap_reliable(1.0, np.array([np.nan, 1.0]))

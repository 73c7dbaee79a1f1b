"""MeanField (naive mean field and TAP inversions).

Oracles: the TAP and nMF equations themselves (checked with the fitted parameters, independently
of how they were solved), the order of the small-coupling expansion (TAP is exact to second
order in J, nMF to first), and the truth of SK-like models (rmse bounds measured and documented
in maxent/fit/mean_field.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone

from maxent import IsingModel, Moments
from maxent._threads import limit_threads
from maxent.fit.mean_field import MeanField, mean_field_inverse, mean_field_start, oas_shrinkage


def rmse_upper(A, B):
    iu = np.triu_indices(A.shape[0], 1)
    return float(np.sqrt(np.mean((A[iu] - B[iu]) ** 2)))


@pytest.fixture(scope="module")
def sk20():
    out = {}
    with limit_threads(1):
        for beta in (0.5, 1.5):
            truth = IsingModel.random_sk(20, beta=beta, h_std=0.1, random_state=1000)
            out[beta] = (truth, truth.sample(20_000, random_state=0))
    return out


def test_nmf_and_tap_equations_hold_for_the_fitted_parameters():
    truth = IsingModel.random_sk(10, beta=0.6, h_std=0.4, random_state=3)
    mom = Moments(*truth.moments())
    m = mom.m
    P = np.linalg.inv(mom.connected())
    off = ~np.eye(10, dtype=bool)
    nmf = MeanField("nmf").fit(mom)
    # nMF: J_ij = -(c^-1)_ij and m is a fixed point of m = tanh(h + J m)
    np.testing.assert_allclose(nmf.J_[off], -P[off], atol=1e-10)
    np.testing.assert_allclose(np.tanh(nmf.h_ + nmf.J_ @ m), m, atol=1e-12)
    tap = MeanField("tap").fit(mom)
    assert tap.n_negative_discriminant_ == 0
    J = tap.J_
    # TAP: (c^-1)_ij = -J_ij - 2 J_ij^2 m_i m_j, and m solves the TAP equations with the Onsager term
    np.testing.assert_allclose(P[off], (-J - 2 * J**2 * np.outer(m, m))[off], atol=1e-10)
    onsager = m * ((J**2) @ (1 - m**2))
    np.testing.assert_allclose(np.tanh(tap.h_ + J @ m - onsager), m, atol=1e-12)
    # the root is the one continuous with nMF: for every pair, closer to nMF than the other root
    mm = np.outer(m, m)[off]
    other = (-1 - np.sqrt(1 + 8 * nmf.J_[off] * mm)) / (4 * mm)
    assert np.all(np.abs(J[off] - nmf.J_[off]) < np.abs(other - nmf.J_[off]))


def test_tap_is_second_order_exact_and_beats_nmf_at_weak_coupling():
    # exact moments of a weakly coupled model: nMF errors are O(J^2), TAP errors O(J^3)
    errors = {}
    for eps in (0.08, 0.04):
        truth = IsingModel.random_sk(8, beta=eps * np.sqrt(8), h_std=0.5, random_state=2)
        mom = Moments(*truth.moments())
        errors[eps] = [np.max(np.abs(MeanField(k).fit(mom).J_ - truth.J)) for k in ("nmf", "tap")]
    (nmf1, tap1), (nmf2, tap2) = errors[0.08], errors[0.04]
    assert tap1 < 0.3 * nmf1 and tap2 < 0.3 * nmf2
    assert 3.0 < nmf1 / nmf2 < 6.0, errors  # halving J divides the nMF error by ~4
    assert 6.0 < tap1 / tap2 < 12.0, errors  # and the TAP error by ~8


def test_negative_discriminant_is_clipped_and_reported():
    # m = (0.9, 0.9) with a small negative connected correlation: 1 + 8 A m_i m_j < 0
    m = np.array([0.9, 0.9])
    c01 = -0.05
    C = np.array([[1.0, c01 + 0.81], [c01 + 0.81, 1.0]])
    mom = Moments(m, C)
    with pytest.warns(RuntimeWarning, match="1 pair"):
        est = MeanField("tap").fit(mom)
    assert est.n_negative_discriminant_ == 1
    assert est.J_[0, 1] == pytest.approx(-1 / (4 * 0.81))
    assert np.all(np.isfinite(est.h_))
    assert est.history_["n_negative_discriminant"].iloc[0] == 1


@pytest.mark.parametrize("beta, bound_nmf, bound_tap", [(0.5, 0.0115, 0.0115), (1.5, 0.6, 0.4)])
def test_sk20_rmse_bounds(sk20, beta, bound_nmf, bound_tap):
    truth, X = sk20[beta]
    r_nmf = rmse_upper(MeanField("nmf").fit(X).J_, truth.J)
    r_tap = rmse_upper(MeanField("tap").fit(X).J_, truth.J)
    assert r_nmf < bound_nmf and r_tap < bound_tap
    if beta == 1.5:
        # strong coupling: mean field is biased far beyond the sampling noise (~0.01 here)
        assert r_nmf > 0.2 and r_tap > 0.2


def test_n100_gibbs_samples_rmse():
    pytest.importorskip("maxent.model.sampling")
    truth = IsingModel.random_sk(100, beta=0.5, h_std=0.1, random_state=7)
    with limit_threads(1):
        X = truth.sample(10_000, method="gibbs", n_chains=1000, burn=100, thin=1, random_state=0)
    r_nmf = rmse_upper(MeanField("nmf").fit(X).J_, truth.J)
    r_tap = rmse_upper(MeanField("tap").fit(X).J_, truth.J)
    # measured 0.0126 / 0.0126 at M = 1e4 (the sampling-noise scale ~ 1/sqrt(M * (1-m^2)^2))
    assert r_nmf < 0.015 and r_tap < 0.015


def test_shrinkage_regularizes_singular_correlations():
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], size=(15, 30))  # M < N: c is singular
    with pytest.raises(ValueError, match="singular .* shrinkage > 0"):
        MeanField().fit(X)
    est = MeanField(shrinkage=0.5).fit(X)
    assert np.all(np.isfinite(est.J_)) and np.all(np.isfinite(est.h_))
    # shrinkage pulls the couplings towards zero
    Y = rng.choice([-1, 1], size=(3000, 10))
    norms = [np.linalg.norm(MeanField(shrinkage=a).fit(Y).J_) for a in (0.0, 0.3, 0.9)]
    assert norms[0] > norms[1] > norms[2]


def test_constant_spins_refused_by_name():
    rng = np.random.default_rng(1)
    X = rng.choice([-1, 1], size=(100, 6))
    X[:, 4] = -1
    with pytest.raises(ValueError, match=r"spins \[4\] are constant"):
        MeanField().fit(X)
    with pytest.raises(ValueError, match=r"spins \[4\] are constant"):
        mean_field_inverse(Moments.from_samples(X))
    # the robust start used by iterative solvers does not raise and stays finite, for every
    # method, also on singular correlations (M < N)
    mom = Moments.from_samples(X)
    few = Moments.from_samples(rng.choice([-1, 1], size=(5, 12)))
    for method in ("nmf", "tap", "bethe"):
        for mo in (mom, few):
            for shrinkage in (0.0, 0.2, "auto"):
                h0, J0 = mean_field_start(mo.m, mo.C, shrinkage, n_samples=mo.n_samples, method=method)
                assert np.all(np.isfinite(h0)) and np.all(np.isfinite(J0))
                assert np.abs(J0).max() <= 2.0 and np.array_equal(J0, J0.T)


def test_moments_input_equals_samples_input_and_sklearn_api(sk20):
    _, X = sk20[0.5]
    a = MeanField("tap", shrinkage=0.1).fit(X)
    b = MeanField("tap", shrinkage=0.1).fit(Moments.from_samples(X))
    np.testing.assert_array_equal(a.J_, b.J_)
    np.testing.assert_array_equal(a.h_, b.h_)
    assert a.get_params() == {"method": "tap", "shrinkage": 0.1}
    c = clone(a).set_params(method="nmf")
    assert c.method == "nmf" and not hasattr(c, "J_")
    assert a.converged_ and a.n_iter_ == 0
    assert {"iteration", "err_m", "err_C"} <= set(a.history_.columns)


@pytest.mark.parametrize("M", [20, 200, 5000])
def test_oas_shrinkage_equals_sklearn_oas_on_standardized_samples(M):
    from sklearn.covariance import oas

    truth = IsingModel.random_sk(12, beta=0.6, h_std=0.3, random_state=5)
    with limit_threads(1):
        X = truth.sample(M, random_state=M).astype(np.float64)
    mom = Moments.from_samples(X)
    c = mom.connected()
    Z = (X - mom.m) / np.sqrt(np.diag(c))
    a = oas_shrinkage(c, M)
    assert a == pytest.approx(oas(Z)[1], rel=1e-10)
    # more samples, less shrinkage; the fit records what it used
    est = MeanField(shrinkage="auto").fit(X)
    assert est.history_["shrinkage"].iloc[0] == pytest.approx(a)


def test_auto_shrinkage_fits_singular_data_and_beats_no_shrinkage_when_scarce():
    truth = IsingModel.random_sk(20, beta=0.5, h_std=0.1, random_state=7)
    with limit_threads(1):
        X = truth.sample(40, random_state=3)  # M = 2N: c is noisy, its inverse wild
        Y = truth.sample(15, random_state=4)  # M < N: c is singular
    errs = {a: rmse_upper(MeanField(shrinkage=a).fit(X).J_, truth.J) for a in (0.0, "auto")}
    assert errs["auto"] < 0.5 * errs[0.0]
    assert np.all(np.isfinite(MeanField(shrinkage="auto").fit(Y).J_))
    with pytest.raises(ValueError, match="n_samples"):
        MeanField(shrinkage="auto").fit(Moments(*truth.moments()))  # sample count unknown
    with pytest.raises(ValueError, match="n_samples"):
        oas_shrinkage(np.eye(3), 0)


@pytest.mark.parametrize(
    "kw, match",
    [({"method": "plm"}, "method"), ({"shrinkage": 1.0}, "shrinkage"), ({"shrinkage": "oas"}, "auto")],
)
def test_bad_hyperparameters(kw, match):
    X = np.array([[1, -1], [-1, 1], [1, 1]])
    with pytest.raises(ValueError, match=match):
        MeanField(**kw).fit(X)


def random_tree_model(n, seed):
    rng = np.random.default_rng(seed)
    J = np.zeros((n, n))
    for i in range(1, n):
        j = rng.integers(i)
        J[i, j] = J[j, i] = rng.choice([-1, 1]) * rng.uniform(0.3, 1.2)
    return IsingModel(rng.normal(0, 0.5, n), J)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bethe_inversion_is_exact_on_trees(seed):
    truth = random_tree_model(12, seed)
    mom = Moments(*truth.moments())
    est = MeanField("bethe").fit(mom)
    np.testing.assert_allclose(est.J_, truth.J, atol=1e-10)
    np.testing.assert_allclose(est.h_, truth.h, atol=1e-10)
    # nMF and TAP are not exact on trees with strong couplings
    assert np.max(np.abs(MeanField("tap").fit(mom).J_ - truth.J)) > 0.1


def test_bethe_inversion_beats_tap_on_dense_weak_couplings():
    # exact moments of SK-like truths: the error is the approximation's alone
    for seed in range(3):
        truth = IsingModel.random_sk(14, beta=0.5, h_std=0.3, random_state=seed)
        mom = Moments(*truth.moments())
        err = {k: rmse_upper(MeanField(k).fit(mom).J_, truth.J) for k in ("nmf", "tap", "bethe")}
        assert err["bethe"] < err["tap"] < err["nmf"]


def test_bethe_inversion_reports_pairs_without_a_real_coupling():
    # a strongly magnetized, strongly anti-correlated pair: no real Bethe coupling
    m = np.array([0.9, 0.9, 0.0])
    c = np.array([[0.19, -0.185, 0.0], [-0.185, 0.19, 0.0], [0.0, 0.0, 1.0]])
    mom = Moments(m, c + np.outer(m, m))
    with pytest.warns(RuntimeWarning, match="BETHE inversion: 1 pair"):
        est = MeanField("bethe").fit(mom)
    assert est.n_negative_discriminant_ == 1
    assert np.all(np.isfinite(est.J_)) and np.all(np.isfinite(est.h_))

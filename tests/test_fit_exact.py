"""ExactBoltzmann: the maximum-likelihood oracle.

Oracles: exact moments of the fitted model (independent enumeration through IsingModel), the
Fisher information of the true model (the ML estimate from M samples has covariance F^-1 / M,
so M * dtheta^T F dtheta follows a chi-square law with P = N + N(N-1)/2 degrees of freedom),
and exact recovery of a model from its own exact moments.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from maxent import IsingModel, Moments
from maxent.fit.exact import ExactBoltzmann, exact_boltzmann
from maxent.model.enumerate import ExactMoments, enumerate_states


def features(n: int) -> np.ndarray:
    """phi(s) = (s_i, s_i s_j for i < j) for every state, (2^n, P)."""
    S = np.concatenate(list(enumerate_states(n)))
    iu = np.triu_indices(n, 1)
    return np.concatenate([S, S[:, iu[0]] * S[:, iu[1]]], axis=1), S


def params(model: IsingModel) -> np.ndarray:
    return np.concatenate([model.h, model.J[np.triu_indices(model.n_spins, 1)]])


@pytest.fixture(scope="module")
def problem():
    n, M = 12, 20_000
    truth = IsingModel.random_sk(n, beta=0.7, h_std=0.3, random_state=5)
    X = truth.sample(M, random_state=6)
    return truth, X


def test_fitted_moments_equal_data_moments(problem):
    truth, X = problem
    est = ExactBoltzmann().fit(X)
    assert est.converged_
    data = Moments.from_samples(X)
    m, C = est.model_.moments()  # independent enumeration (IsingModel)
    assert np.max(np.abs(m - data.m)) < 1e-6
    assert np.max(np.abs(C - data.C)) < 1e-6
    hist = est.history_
    assert {"iteration", "err_m", "err_C", "neg_log_likelihood", "grad_max"} <= set(hist.columns)
    assert hist["grad_max"].iloc[-1] <= est.tol
    assert hist["neg_log_likelihood"].iloc[-1] <= hist["neg_log_likelihood"].iloc[0] + 1e-12
    # the reported NLL is the exact mean negative log-likelihood of the data
    assert hist["neg_log_likelihood"].iloc[-1] == pytest.approx(-np.mean(est.model_.log_prob(X)), abs=1e-9)


def test_recovers_truth_within_sampling_noise(problem):
    truth, X = problem
    M = X.shape[0]
    est = ExactBoltzmann().fit(X)
    phi, S = features(truth.n_spins)
    p = np.exp(truth.log_prob(S))
    mean = p @ phi
    F = (phi * p[:, None]).T @ phi - np.outer(mean, mean)  # Fisher information per sample
    d = params(est.model_) - params(truth)
    P = d.size
    chi2 = M * d @ F @ d
    assert P - 5 * np.sqrt(2 * P) < chi2 < P + 5 * np.sqrt(2 * P), chi2
    # rmse of J against the predicted standard error of the ML estimate
    cov = np.linalg.inv(F) / M
    n = truth.n_spins
    predicted = np.sqrt(np.mean(np.diag(cov)[n:]))
    iu = np.triu_indices(n, 1)
    rmse = np.sqrt(np.mean((est.J_[iu] - truth.J[iu]) ** 2))
    assert 0.6 * predicted < rmse < 1.5 * predicted
    # and the fitted model explains held-out data as well as the truth does (within noise)
    X_test = truth.sample(20_000, random_state=99)
    assert est.score(X_test) > np.mean(truth.log_prob(X_test)) - 0.01


def test_moments_input_gives_the_same_fit(problem):
    _, X = problem
    a = ExactBoltzmann().fit(X)
    b = ExactBoltzmann().fit(Moments.from_samples(X))
    np.testing.assert_allclose(a.J_, b.J_, atol=1e-12)
    np.testing.assert_allclose(a.h_, b.h_, atol=1e-12)


def test_exact_moments_recover_a_strongly_coupled_model():
    truth = IsingModel.random_sk(9, beta=1.5, h_std=0.3, random_state=1)
    m, C = truth.moments()
    res = exact_boltzmann(Moments(m, C), tol=1e-9)
    assert res.converged
    np.testing.assert_allclose(res.J, truth.J, atol=1e-6)
    np.testing.assert_allclose(res.h, truth.h, atol=1e-6)


def test_engine_matches_ising_model():
    model = IsingModel.random_sk(11, beta=1.0, h_std=0.5, random_state=3)
    log_z, m, C = ExactMoments(11)(model.h, model.J)
    assert log_z == pytest.approx(model.log_partition(), abs=1e-10)
    m_ref, C_ref = model.moments()
    np.testing.assert_allclose(m, m_ref, atol=1e-12)
    np.testing.assert_allclose(C, C_ref, atol=1e-12)
    one = IsingModel(np.array([0.7]), np.zeros((1, 1)))
    log_z1, m1, _ = ExactMoments(1)(one.h, one.J)
    assert log_z1 == pytest.approx(np.log(2 * np.cosh(0.7)))
    assert m1[0] == pytest.approx(np.tanh(0.7))


def test_too_many_spins_refused():
    rng = np.random.default_rng(0)
    X = rng.choice([-1, 1], size=(50, 21))
    with pytest.raises(ValueError, match="N=21 exceeds the limit of 20"):
        ExactBoltzmann().fit(X)
    with pytest.raises(ValueError, match="N=25 exceeds the limit of 24"):
        ExactBoltzmann(max_spins=30).fit(rng.choice([-1, 1], size=(50, 25)))


def test_constant_spin_needs_l2_and_stationarity_holds_with_l2():
    rng = np.random.default_rng(1)
    X = rng.choice([-1, 1], size=(400, 5))
    X[:, 2] = 1
    with pytest.raises(ValueError, match=r"spins \[2\] are constant"):
        ExactBoltzmann().fit(X)
    l2 = 0.05
    est = ExactBoltzmann(l2=l2).fit(X)
    assert np.all(np.isfinite(est.J_)) and est.h_[2] > 1.0
    # stationarity of the penalized likelihood: model - data moments = -l2 * theta
    data = Moments.from_samples(X)
    m, C = est.model_.moments()
    iu = np.triu_indices(5, 1)
    np.testing.assert_allclose(m - data.m, -l2 * est.h_, atol=1e-6)
    np.testing.assert_allclose((C - data.C)[iu], -l2 * est.J_[iu], atol=1e-6)


def test_max_iter_exhausted_warns():
    truth = IsingModel.random_sk(8, beta=1.0, random_state=2)
    X = truth.sample(2000, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        est = ExactBoltzmann(max_iter=2).fit(X)
    assert est.converged_ is False and est.n_iter_ <= 2


def test_sklearn_api_and_bad_hyperparameters():
    est = ExactBoltzmann(l2=0.1, max_iter=50)
    assert est.get_params() == {"l2": 0.1, "max_iter": 50, "tol": 1e-7, "max_spins": 20}
    est.set_params(l2=0.0)
    assert clone(est).get_params()["l2"] == 0.0
    assert not hasattr(clone(est), "J_")
    X = np.array([[1, -1, 1], [-1, -1, 1], [1, 1, -1], [-1, 1, 1]])
    for bad, match in [({"l2": -1.0}, "l2"), ({"tol": 0.0}, "tol"), ({"max_iter": 0}, "max_iter")]:
        with pytest.raises(ValueError, match=match):
            ExactBoltzmann(**bad).fit(X)
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        ExactBoltzmann().fit(np.array([[1, 0], [1, -1]]))
    with pytest.raises(TypeError, match="Moments"):
        exact_boltzmann(np.eye(3))


def test_fisher_information_matches_explicit_features():
    model = IsingModel.random_sk(6, beta=1.0, h_std=0.5, random_state=4)
    phi, S = features(6)
    p = np.exp(model.log_prob(S))
    mean = p @ phi
    F_ref = (phi * p[:, None]).T @ phi - np.outer(mean, mean)
    np.testing.assert_allclose(ExactMoments(6).fisher(model.h, model.J), F_ref, atol=1e-12)

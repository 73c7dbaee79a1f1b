"""IsingModel (exact parts): energy, log Z, moments, exact sampling, I/O and validation.

Oracles: an independent brute-force enumeration written here with itertools and explicit
double loops over pairs (no code shared with maxent.model.ising), and closed forms.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from maxent import IsingModel
from maxent._atomic import CorruptFileError
from maxent.model.enumerate import MAX_EXACT_SPINS, check_exact_size, enumerate_states


def brute_force(h: np.ndarray, J: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray, np.ndarray]:
    """All states (itertools order), their log-weights, log Z, m and C by explicit loops."""
    n = len(h)
    states = np.array(list(itertools.product([1.0, -1.0], repeat=n)))
    logw = np.zeros(len(states))
    for k, s in enumerate(states):
        e = 0.0
        for i in range(n):
            e += h[i] * s[i]
            for j in range(i + 1, n):
                e += J[i, j] * s[i] * s[j]
        logw[k] = e
    log_z = float(np.log(np.sum(np.exp(logw - logw.max()))) + logw.max())
    p = np.exp(logw - log_z)
    m = p @ states
    C = np.einsum("k,ki,kj->ij", p, states, states)
    return states, logw, log_z, m, C


def random_model(n: int, scale: float = 0.7, seed: int = 0) -> IsingModel:
    rng = np.random.default_rng(seed)
    A = rng.normal(0.0, scale, size=(n, n))
    J = np.triu(A, 1)
    return IsingModel(rng.normal(0.0, 0.5, size=n), J + J.T)


# ---------------------------------------------------------------------------- exact quantities
@pytest.mark.parametrize("n, seed", [(1, 0), (2, 1), (5, 2), (8, 3)])
def test_energy_log_z_moments_match_brute_force(n, seed):
    model = random_model(n, seed=seed)
    states, logw, log_z, m, C = brute_force(model.h, model.J)
    np.testing.assert_allclose(model.energy(states), -logw, atol=1e-12)
    assert model.log_partition() == pytest.approx(log_z, abs=1e-12)
    m_model, C_model = model.moments()
    np.testing.assert_allclose(m_model, m, atol=1e-12)
    np.testing.assert_allclose(C_model, C, atol=1e-12)
    np.testing.assert_allclose(model.log_prob(states), logw - log_z, atol=1e-12)
    # entropy = -sum p log p
    p = np.exp(logw - log_z)
    assert model.entropy() == pytest.approx(-np.sum(p * np.log(p)), abs=1e-10)


def test_energy_of_single_configuration_and_int8_input():
    model = random_model(4, seed=5)
    s = np.array([1, -1, -1, 1], dtype=np.int8)
    e = model.energy(s)
    assert np.ndim(e) == 0
    expected = -(0.5 * s @ model.J @ s + model.h @ s)
    assert float(e) == pytest.approx(float(expected))


def test_closed_forms_independent_spins_and_single_pair():
    # independent spins: log Z = sum log 2cosh h, m = tanh h, C_ij = m_i m_j
    h = np.array([0.3, -1.2, 0.0, 2.0])
    model = IsingModel(h, np.zeros((4, 4)))
    assert model.log_partition() == pytest.approx(np.sum(np.log(2 * np.cosh(h))))
    m, C = model.moments()
    np.testing.assert_allclose(m, np.tanh(h), atol=1e-14)
    expected = np.outer(np.tanh(h), np.tanh(h))
    np.fill_diagonal(expected, 1.0)
    np.testing.assert_allclose(C, expected, atol=1e-14)
    # one pair without fields: <s1 s2> = tanh J, log Z = log(4 cosh J)
    Jv = 0.8
    pair = IsingModel(np.zeros(2), np.array([[0.0, Jv], [Jv, 0.0]]))
    assert pair.moments()[1][0, 1] == pytest.approx(np.tanh(Jv))
    assert pair.log_partition() == pytest.approx(np.log(4 * np.cosh(Jv)))


def test_enumerate_states_covers_every_state_once():
    n = 7
    S = np.concatenate(list(enumerate_states(n, chunk_bits=3)))
    assert S.shape == (2**n, n)
    assert np.all(S[0] == 1)
    assert len({tuple(row) for row in S.astype(int)}) == 2**n


def test_large_n_refused_for_exact_quantities():
    n = MAX_EXACT_SPINS + 1
    model = IsingModel(np.zeros(n), np.zeros((n, n)))
    for call in (model.log_partition, model.moments, model.entropy):
        with pytest.raises(ValueError, match=f"N={n} exceeds the limit of {MAX_EXACT_SPINS}"):
            call()
    with pytest.raises(ValueError, match="exceeds the limit"):
        model.sample(3, method="exact")
    with pytest.raises(ValueError, match="exceeds the limit"):
        model.log_prob(np.ones((1, n)))
    with pytest.raises(ValueError, match="exceeds the limit"):
        check_exact_size(30)


# ---------------------------------------------------------------------------- exact sampler
def test_exact_sampler_matches_exact_distribution():
    model = random_model(5, scale=0.6, seed=7)
    M = 40_000
    X = model.sample(M, random_state=11)
    assert X.dtype == np.int8 and X.shape == (M, 5)
    states, logw, log_z, m, C = brute_force(model.h, model.J)
    p = np.exp(logw - log_z)
    # moments within 5 standard errors (se of a mean of ±1 products <= 1/sqrt(M))
    Xf = X.astype(float)
    se_m = np.sqrt((1 - m**2) / M)
    assert np.all(np.abs(Xf.mean(0) - m) < 5 * se_m + 1e-12)
    C_emp = Xf.T @ Xf / M
    se_C = np.sqrt(np.maximum(1 - C**2, 1e-12) / M)
    assert np.all(np.abs(C_emp - C) < 5 * se_C + 1e-12)
    # chi-square goodness of fit over all 32 states (31 dof: mean 31, sd ~7.9)
    index = {tuple(s.astype(int)): k for k, s in enumerate(states)}
    counts = np.bincount([index[tuple(r)] for r in X.astype(int)], minlength=len(states))
    chi2 = np.sum((counts - M * p) ** 2 / (M * p))
    assert chi2 < 31 + 6 * np.sqrt(2 * 31)


def test_exact_sampler_is_reproducible_and_validates_n():
    model = random_model(4, seed=1)
    np.testing.assert_array_equal(model.sample(50, random_state=3), model.sample(50, random_state=3))
    assert not np.array_equal(model.sample(50, random_state=3), model.sample(50, random_state=4))
    for bad in (0, -2, 2.5):
        with pytest.raises(ValueError, match="positive integer"):
            model.sample(bad)
    with pytest.raises(ValueError, match="unknown sampling method"):
        model.sample(5, method="hmc")


def test_exact_sampler_handles_nearly_deterministic_model():
    # a strong field makes one state carry almost all the mass: no index errors, right state
    model = IsingModel(np.array([30.0, -30.0, 30.0]), np.zeros((3, 3)))
    X = model.sample(200, random_state=0)
    np.testing.assert_array_equal(X, np.tile([1, -1, 1], (200, 1)))


# ---------------------------------------------------------------------------- I/O
def test_save_load_roundtrip(tmp_path):
    model = random_model(6, seed=4)
    path = tmp_path / "model.npz"
    model.save(path, meta={"note": "test"})
    back = IsingModel.load(path)
    assert back == model
    assert back.log_partition() == pytest.approx(model.log_partition())


def test_load_refuses_corrupt_and_incomplete_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file at all")
    with pytest.raises(CorruptFileError, match="bad.npz"):
        IsingModel.load(bad)
    partial = tmp_path / "partial.npz"
    np.savez(partial, h=np.zeros(3))
    with pytest.raises(CorruptFileError, match="lacks required arrays"):
        IsingModel.load(partial)
    with pytest.raises(FileNotFoundError):
        IsingModel.load(tmp_path / "missing.npz")


def test_load_validates_contents(tmp_path):
    path = tmp_path / "asym.npz"
    np.savez(path, h=np.zeros(2), J=np.array([[0.0, 1.0], [2.0, 0.0]]))
    with pytest.raises(ValueError, match="symmetric"):
        IsingModel.load(path)


# ---------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "h, J, match",
    [
        (np.zeros(2), np.array([[0.0, 1.0], [0.5, 0.0]]), r"symmetric: J\[0,1\]=1.0 but J\[1,0\]=0.5"),
        (np.zeros(2), np.array([[0.3, 0.0], [0.0, 0.0]]), "zero diagonal"),
        (np.zeros(2), np.zeros((3, 3)), r"shape \(2, 2\)"),
        (np.zeros((2, 1)), np.zeros((2, 2)), "1-D"),
        (np.array([0.0, np.nan]), np.zeros((2, 2)), r"h contains non-finite values at positions \[1\]"),
        (np.zeros(2), np.array([[0.0, np.inf], [np.inf, 0.0]]), "J contains non-finite"),
        (np.zeros(0), np.zeros((0, 0)), "empty"),
    ],
)
def test_model_validation_messages(h, J, match):
    with pytest.raises(ValueError, match=match):
        IsingModel(h, J)


def test_energy_refuses_bad_spins():
    model = random_model(3)
    with pytest.raises(ValueError, match="values 0"):
        model.energy(np.array([[1, 0, -1]]))
    with pytest.raises(ValueError, match="expected 3"):
        model.energy(np.ones((2, 4)))


def test_random_sk_statistics():
    model = IsingModel.random_sk(300, beta=1.5, h_std=0.2, random_state=0)
    iu = np.triu_indices(300, 1)
    assert np.std(model.J[iu]) == pytest.approx(1.5 / np.sqrt(300), rel=0.02)
    assert np.std(model.h) == pytest.approx(0.2, rel=0.15)
    assert model == IsingModel.random_sk(300, beta=1.5, h_std=0.2, random_state=0)


sym_matrices = st.integers(1, 6).flatmap(
    lambda n: arrays(np.float64, (n, n), elements=st.floats(-3, 3, allow_nan=False, allow_subnormal=False))
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sym_matrices)
def test_property_symmetrized_input_gives_symmetric_zero_diagonal_model(A):
    n = A.shape[0]
    J = np.triu(A, 1)
    J = J + J.T
    model = IsingModel(np.zeros(n), J)
    np.testing.assert_array_equal(model.J, model.J.T)
    assert np.all(np.diag(model.J) == 0)
    # probabilities sum to one; global flip symmetry without fields
    S = np.concatenate(list(enumerate_states(n)))
    assert np.exp(model.log_prob(S)).sum() == pytest.approx(1.0, abs=1e-10)
    np.testing.assert_allclose(model.energy(S), model.energy(-S), atol=1e-12)
    m, C = model.moments()
    np.testing.assert_allclose(m, 0.0, atol=1e-12)
    np.testing.assert_allclose(C, C.T, atol=0)
    assert np.all(np.linalg.eigvalsh(C - np.outer(m, m)) > -1e-10)


@settings(max_examples=40, deadline=None)
@given(sym_matrices, st.floats(1e-6, 10.0))
def test_property_asymmetric_or_diagonal_couplings_refused(A, delta):
    n = A.shape[0]
    J = np.triu(A, 1)
    J = J + J.T
    if n >= 2:
        bad = J.copy()
        bad[0, 1] += delta
        with pytest.raises(ValueError, match="symmetric"):
            IsingModel(np.zeros(n), bad)
    diag = J.copy()
    diag[n - 1, n - 1] = delta
    with pytest.raises(ValueError, match="zero diagonal"):
        IsingModel(np.zeros(n), diag)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 5).flatmap(
        lambda n: arrays(np.float64, (3, n), elements=st.sampled_from([-1.0, 1.0, 0.0, 2.0, -0.5]))
    )
)
def test_property_energy_accepts_only_pm1(S):
    n = S.shape[1]
    model = IsingModel(np.full(n, 0.1), np.zeros((n, n)))
    if np.all(np.abs(S) == 1):
        np.testing.assert_allclose(model.energy(S), -0.1 * S.sum(1))
    else:
        with pytest.raises(ValueError, match="only \\+1 and -1"):
            model.energy(S)

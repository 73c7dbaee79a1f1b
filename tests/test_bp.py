"""Dense belief propagation: exact on trees, close to exact on weak dense models, warm starts,
damping, the torch path, non-convergence reporting and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from maxent.model.bp import BPConvergenceWarning, DenseBP, run_bp
from maxent.model.ising import IsingModel


def random_tree(n: int, rng: np.random.Generator, j_std: float = 0.8) -> np.ndarray:
    """Couplings of a random tree (each new node attached to a random earlier one)."""
    J = np.zeros((n, n))
    for i in range(1, n):
        p = rng.integers(0, i)
        J[i, p] = J[p, i] = rng.normal(0.0, j_std)
    return J


@pytest.mark.parametrize("seed, n", [(0, 12), (1, 13), (2, 14)])
def test_bethe_exact_on_random_tree(seed, n):
    rng = np.random.default_rng(seed)
    J = random_tree(n, rng)
    h = rng.normal(0.0, 0.5, n)
    model = IsingModel(h, J)
    m, C = model.moments()
    r = run_bp(h, J, tol=1e-13)
    assert r.converged
    edges = J != 0
    np.testing.assert_allclose(r.m, m, atol=1e-10)
    np.testing.assert_allclose(r.C[edges], C[edges], atol=1e-10)
    assert abs(r.log_z - model.log_partition()) < 1e-10
    assert abs(r.entropy - model.entropy()) < 1e-10
    exact_energy = -(0.5 * np.sum(J * C) + h @ m)
    assert abs(r.energy - exact_energy) < 1e-10
    assert abs(r.entropy - (r.energy - r.free_energy)) < 1e-12
    # non-edges of a tree: Bethe gives m_i m_j
    iu = np.triu_indices(n, 1)
    non_edge = ~edges[iu]
    np.testing.assert_allclose(r.C[iu][non_edge], np.outer(r.m, r.m)[iu][non_edge], atol=1e-12)
    np.testing.assert_array_equal(np.diag(r.C), 1.0)
    np.testing.assert_array_equal(r.C, r.C.T)


def test_tree_exact_in_strong_coupling_fallback_path():
    """A star with |J| = 3..4: the product guard switches to sums of atanh/log; still exact.

    (tol is on u = atanh(v); with |v| near 1 the float64 resolution of u is ~1e-16/(1 - v^2),
    so very strong couplings cannot be converged to 1e-13 -- such a run is reported unconverged.)"""
    rng = np.random.default_rng(3)
    n = 13
    J = np.zeros((n, n))
    J[0, 1:] = J[1:, 0] = rng.choice([-1, 1], n - 1) * rng.uniform(3, 4, n - 1)
    h = rng.normal(0.0, 0.3, n)
    assert not DenseBP(J).use_products
    model = IsingModel(h, J)
    m, C = model.moments()
    r = run_bp(h, J, tol=1e-10)
    assert r.converged
    np.testing.assert_allclose(r.m, m, atol=1e-10)
    np.testing.assert_allclose(r.C[0, 1:], C[0, 1:], atol=1e-10)
    assert abs(r.log_z - model.log_partition()) < 1e-9
    assert abs(r.entropy - model.entropy()) < 1e-9


def test_two_spins_closed_form():
    h1, h2, J12 = 0.3, -0.7, 1.1
    r = run_bp([h1, h2], [[0, J12], [J12, 0]], tol=1e-14)
    log_z = np.log(
        4 * np.cosh(h1) * np.cosh(h2) * np.cosh(J12) * (1 + np.tanh(J12) * np.tanh(h1) * np.tanh(h2))
    )
    assert abs(r.log_z - log_z) < 1e-13


def test_independent_spins():
    h = np.array([0.0, 0.5, -1.2, 2.0])
    r = run_bp(h, np.zeros((4, 4)))
    assert r.converged and r.n_iter == 1
    np.testing.assert_allclose(r.m, np.tanh(h), atol=1e-15)
    assert abs(r.log_z - np.sum(np.log(2 * np.cosh(h)))) < 1e-13
    p = (1 + np.tanh(h)) / 2
    entropy = -np.sum(p * np.log(p) + (1 - p) * np.log(1 - p))
    assert abs(r.entropy - entropy) < 1e-12


def test_dense_weak_model_close_to_exact():
    """SK-like N=14, J ~ N(0, 0.3^2/N): Bethe errors are small (measured m 2e-3, log Z 1e-2 total)."""
    model = IsingModel.random_sk(14, beta=0.3, h_std=0.1, random_state=1)
    m, C = model.moments()
    r = run_bp(model.h, model.J, tol=1e-12)
    assert r.converged
    assert np.abs(r.m - m).max() < 5e-3
    assert abs(r.log_z - model.log_partition()) / 14 < 2e-3
    assert abs(r.entropy - model.entropy()) / 14 < 3e-3
    c_exact = C - np.outer(m, m)
    c_bp = r.C - np.outer(r.m, r.m)
    iu = np.triu_indices(14, 1)
    assert np.corrcoef(c_exact[iu], c_bp[iu])[0, 1] > 0.9


def test_free_energy_is_stationary_in_the_messages():
    """BP stopped at tol 1e-5 gives log Z within ~1e-8 of the converged value (O(tol^2))."""
    model = IsingModel.random_sk(30, beta=0.5, h_std=0.3, random_state=4)
    tight = run_bp(model.h, model.J, tol=1e-13)
    loose = run_bp(model.h, model.J, tol=1e-5)
    assert loose.n_iter < tight.n_iter
    assert abs(loose.log_z - tight.log_z) < 1e-8
    # and the Bethe gradient identities: d log Z / d h_i = m_i, d log Z / d J_ij = C_ij
    eps = 1e-5
    hp, hm = model.h.copy(), model.h.copy()
    hp[3] += eps
    hm[3] -= eps
    dh = (run_bp(hp, model.J, tol=1e-13).log_z - run_bp(hm, model.J, tol=1e-13).log_z) / (2 * eps)
    assert abs(dh - tight.m[3]) < 1e-7
    Jp, Jm = model.J.copy(), model.J.copy()
    for M, s in ((Jp, eps), (Jm, -eps)):
        M[2, 7] += s
        M[7, 2] += s
    dJ = (run_bp(model.h, Jp, tol=1e-13).log_z - run_bp(model.h, Jm, tol=1e-13).log_z) / (2 * eps)
    assert abs(dJ - tight.C[2, 7]) < 1e-7


def test_warm_start_and_damping_reach_the_same_fixed_point():
    model = IsingModel.random_sk(40, beta=0.5, h_std=0.3, random_state=5)
    cold = run_bp(model.h, model.J, tol=1e-10)
    assert cold.converged and cold.n_iter > 3
    warm = run_bp(model.h, model.J, tol=1e-10, messages=cold.messages)
    assert warm.converged and warm.n_iter <= 2
    np.testing.assert_allclose(warm.m, cold.m, atol=1e-9)
    damped = run_bp(model.h, model.J, tol=1e-10, damping=0.5)
    assert damped.converged and damped.n_iter > cold.n_iter
    np.testing.assert_allclose(damped.m, cold.m, atol=1e-8)
    np.testing.assert_allclose(damped.C, cold.C, atol=1e-8)
    assert abs(damped.free_energy - cold.free_energy) < 1e-10
    # messages are cavity fields: u_{i->j} = atanh(tanh J_ij tanh(H_i - u_{j->i}))
    u = cold.messages
    g = cold.fields[:, None] - u.T
    np.testing.assert_allclose(u, np.arctanh(np.tanh(model.J) * np.tanh(g)), atol=1e-9)


def test_torch_path_matches_numpy():
    pytest.importorskip("torch")
    model = IsingModel.random_sk(25, beta=0.6, h_std=0.3, random_state=6)
    a = run_bp(model.h, model.J, tol=1e-10)
    b = run_bp(model.h, model.J, tol=1e-10, device="cpu")
    assert a.n_iter == b.n_iter and b.converged
    np.testing.assert_allclose(b.m, a.m, atol=1e-12)
    np.testing.assert_allclose(b.C, a.C, atol=1e-12)
    np.testing.assert_allclose(b.messages, a.messages, atol=1e-12)
    for key in ("free_energy", "energy", "entropy"):
        assert abs(getattr(a, key) - getattr(b, key)) < 1e-10


def _star(n: int, lo: float, hi: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    J = np.zeros((n, n))
    J[0, 1:] = J[1:, 0] = rng.choice([-1, 1], n - 1) * rng.uniform(lo, hi, n - 1)
    return rng.normal(0.0, 0.3, n), J


@pytest.mark.parametrize(
    "case, damping",
    [("sk_weak", 0.0), ("sk_strong", 0.0), ("sk_strong", 0.4), ("star_strong", 0.0), ("pl_like", 0.0)],
)
def test_numba_kernel_matches_numpy_kernel(case, damping):
    """The compiled sweep (default on the CPU) is the numpy kernel's arithmetic: same sweep
    count, messages, m, C and Bethe quantities, also where the numpy kernel needs its atanh
    fallback (|J| = 3..4: the compiled products are folded into logs every few rows)."""
    if case == "sk_weak":
        model = IsingModel.random_sk(40, beta=0.5, h_std=0.3, random_state=11)
        h, J = model.h, model.J
    elif case == "sk_strong":
        model = IsingModel.random_sk(60, beta=1.3, h_std=0.3, random_state=12)
        h, J = model.h, model.J
    elif case == "star_strong":
        h, J = _star(13, 3.0, 4.0, 3)
        assert not DenseBP(J, device="numpy").use_products
    else:  # dense, many couplings of |J| ~ 0.3-0.5, as in pseudo-likelihood fits to few samples
        rng = np.random.default_rng(13)
        n = 50
        J = np.triu(rng.normal(0.0, 0.12, (n, n)), 1)
        J += J.T
        h = rng.normal(0.0, 0.1, n)
    tol = 1e-10 if case != "star_strong" else 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BPConvergenceWarning)
        a = run_bp(h, J, tol=tol, damping=damping, device="numpy", max_iter=3000)
        b = run_bp(h, J, tol=tol, damping=damping, max_iter=3000)
    assert DenseBP(J).kernel.backend == "numba"
    assert a.converged and b.converged
    assert abs(a.n_iter - b.n_iter) <= 1
    np.testing.assert_allclose(b.m, a.m, atol=1e-9)
    np.testing.assert_allclose(b.C, a.C, atol=1e-9)
    np.testing.assert_allclose(b.messages, a.messages, atol=1e-8)
    for key in ("free_energy", "energy", "entropy"):
        assert abs(getattr(a, key) - getattr(b, key)) < 1e-8 * max(1.0, abs(getattr(a, key)))


def test_numba_products_fold_without_overflow():
    """A hub with 400 couplings |J| ~ 2.5: column products of (1 - v) would underflow
    (sum_k -log(1 - |T|) ~ 1600 > 700) unless folded; fields stay equal to the atanh sums."""
    h, J = _star(401, 2.4, 2.6, 5)
    solver = DenseBP(J)
    assert solver.kernel.block < 401
    rng = np.random.default_rng(0)
    v = np.tanh(J) * rng.uniform(0.5, 1.0, J.shape)
    H = solver.kernel.fields(v, h)
    np.testing.assert_allclose(H, h + np.arctanh(v).sum(axis=0), rtol=1e-10, atol=1e-9)


def test_non_convergence_is_flagged_and_warned():
    model = IsingModel.random_sk(20, beta=0.5, random_state=7)
    with pytest.warns(BPConvergenceWarning, match="did not converge"):
        r = run_bp(model.h, model.J, tol=1e-12, max_iter=2)
    assert not r.converged and r.n_iter == 2 and r.max_change > 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = run_bp(model.h, model.J, tol=1e-12, max_iter=2, warn=False)
    assert not r.converged


def test_antiferromagnetic_oscillation_reported_not_hidden():
    """Strong frustrated couplings: undamped synchronous BP need not converge; whatever
    happens, the flag must agree with the last message change."""
    model = IsingModel.random_sk(30, beta=3.0, h_std=0.0, random_state=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BPConvergenceWarning)
        r = run_bp(model.h, model.J, tol=1e-8, max_iter=50)
    assert r.converged == (r.max_change <= 1e-8)
    assert np.all(np.isfinite(r.m))


@pytest.mark.parametrize(
    "h, J, kw, err, match",
    [
        ([0.0, np.nan], np.zeros((2, 2)), {}, ValueError, "non-finite"),
        ([0.0, 0.0], [[0, 1], [0.5, 0]], {}, ValueError, "symmetric"),
        ([0.0, 0.0], [[0, np.inf], [np.inf, 0]], {}, ValueError, "non-finite"),
        ([0.0, 0.0], np.zeros((3, 3)), {}, ValueError, "shape"),
        ([0.0, 0.0], np.zeros((2, 2)), {"damping": 1.0}, ValueError, "damping"),
        ([0.0, 0.0], np.zeros((2, 2)), {"tol": 0.0}, ValueError, "tol"),
        ([0.0, 0.0], np.zeros((2, 2)), {"max_iter": 0}, ValueError, "max_iter"),
        ([0.0, 0.0], np.zeros((2, 2)), {"messages": np.zeros((3, 3))}, ValueError, "messages"),
        ([0.0, 0.0], np.zeros((2, 2)), {"messages": np.full((2, 2), np.nan)}, ValueError, "NaN"),
        ([0.0, 0.0], [[0, 40.0], [40.0, 0]], {}, ValueError, "too strong"),
    ],
)
def test_bad_input(h, J, kw, err, match):
    with pytest.raises(err, match=match):
        run_bp(h, J, **kw)

"""Property-based checks of the active path solvers: BP exact on random trees, gauge invariance,
the stable message algebra, and input validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxent.companion.active_path import (
    PathInstance,
    active_path_instance,
    exact_enumeration,
    random_pspin_instance,
    run_bp,
)
from maxent.companion.active_path._fields import atanh_product, log1p_product
from maxent.companion.active_path.instances import check_rho
from maxent.companion.active_path.xorsat import satisfiable

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tree_instances(draw):
    p = draw(st.integers(2, 4))
    n_factors = draw(st.integers(1, (16 - p) // (p - 1) + 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    rows, n = [list(range(p))], p
    for _ in range(n_factors - 1):
        rows.append([int(rng.integers(0, n)), *range(n, n + p - 1)])
        n += p - 1
    J = rng.choice([-1.0, 1.0], size=n_factors) * rng.uniform(0.2, 2.0, size=n_factors)
    fields = draw(st.floats(0.0, 1.5)) * rng.normal(size=n)
    return PathInstance(np.array(rows), J, n, fields)


@SETTINGS
@given(inst=tree_instances(), beta=st.floats(0.1, 4.0))
def test_bp_equals_exact_on_any_tree(inst, beta):
    ex = exact_enumeration(inst, beta)
    bp = run_bp(inst, beta, seed=0)
    assert bp.converged
    assert bp.log_z == pytest.approx(ex.log_z, abs=1e-8 * max(1.0, abs(ex.log_z)))
    np.testing.assert_allclose(bp.magnetizations, ex.magnetizations, atol=1e-8)
    assert bp.entropy == pytest.approx(ex.entropy, abs=1e-6)


@SETTINGS
@given(inst=tree_instances(), beta=st.floats(0.1, 3.0), data=st.data())
def test_gauge_transformation_leaves_thermodynamics_invariant(inst, beta, data):
    """w_i -> -w_i for i in G, J_a -> J_a (-1)^{|a ∩ G|}, f_i -> -f_i: same log Z, energy, entropy;
    magnetizations flip on G."""
    flip = np.array(data.draw(st.lists(st.booleans(), min_size=inst.n_vars, max_size=inst.n_vars)))
    g = np.where(flip, -1.0, 1.0)
    gauged = PathInstance(
        inst.factors, inst.J * np.prod(g[inst.factors], axis=1), inst.n_vars, inst.fields * g
    )
    a, b = exact_enumeration(inst, beta), exact_enumeration(gauged, beta)
    assert b.log_z == pytest.approx(a.log_z, abs=1e-9)
    assert b.energy == pytest.approx(a.energy, abs=1e-9)
    np.testing.assert_allclose(b.magnetizations, g * a.magnetizations, atol=1e-9)
    bp_a, bp_b = run_bp(inst, beta, seed=1), run_bp(gauged, beta, seed=2)
    assert bp_b.log_z == pytest.approx(bp_a.log_z, abs=1e-8)


@SETTINGS
@given(
    x=st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=5),
    beta=st.floats(0.05, 5.0),
)
def test_stable_products_match_naive_formulas(x, beta):
    x = np.array(x)
    prod = np.prod(np.tanh(beta * x))
    if abs(prod) < 1 - 1e-9:  # where the naive formula is itself accurate
        assert atanh_product(x, beta) == pytest.approx(np.arctanh(prod), abs=1e-7)
        assert log1p_product(x, beta) == pytest.approx(np.log1p(prod), abs=1e-7)


def test_stable_products_at_extreme_beta():
    # prod tanh -> 1 - D with D ~ 4 e^{-2 beta}: atanh = beta - log(2)/2 ... to first order
    beta = 200.0
    assert atanh_product(np.array([1.0, 1.0]), beta) == pytest.approx(beta + 0.5 * np.log(0.5), rel=1e-12)
    assert log1p_product(np.array([1.0, -1.0]), beta) == pytest.approx(np.log(4.0) - 2 * beta, rel=1e-12)
    assert atanh_product(np.array([0.0, 1.0]), beta) == 0.0


@given(rho=st.floats(allow_nan=True, allow_infinity=True))
def test_rho_outside_unit_interval_is_rejected(rho):
    if np.isfinite(rho) and 0 <= rho < 1:
        assert check_rho(rho) == rho
    else:
        with pytest.raises(ValueError, match="rho"):
            check_rho(rho)


@given(
    shape=st.tuples(st.integers(0, 4), st.integers(0, 4)),
    n=st.integers(1, 6),
)
def test_path_instance_rejects_malformed_factor_arrays(shape, n):
    F = np.zeros(shape, dtype=np.int64)
    ok = shape[1] >= 1 and (shape[1] == 1 or shape[0] == 0)
    if ok:
        PathInstance(F, np.ones(shape[0]), n)
    else:
        with pytest.raises(ValueError):
            PathInstance(F, np.ones(shape[0]), n)


@settings(max_examples=40, deadline=None)
@given(
    L=st.integers(1, 4),
    N=st.integers(1, 5),
    rho=st.floats(0.0, 0.9),
    M=st.integers(1, 40),
    seed=st.integers(0, 2**31),
)
def test_active_paths_are_always_valid_or_refused(L, N, rho, M, seed):
    try:
        inst = active_path_instance(L, N, rho, M, seed=seed)
    except ValueError as err:
        assert "no input-output path" in str(err) or "all edges" in str(err)
        return
    e = inst.edges[inst.factors]  # (M, L, 3)
    assert inst.factors.shape == (M, L)
    assert np.array_equal(e[:, :, 0], np.broadcast_to(np.arange(1, L + 1), (M, L)))
    assert np.array_equal(e[:, :-1, 2], e[:, 1:, 1])
    assert len(np.unique(inst.edges, axis=0)) == inst.n_vars


@settings(max_examples=40, deadline=None)
@given(n=st.integers(3, 11), ratio=st.floats(0.1, 2.0), seed=st.integers(0, 2**31))
def test_xorsat_satisfiable_iff_ground_energy_is_minus_m(n, ratio, seed):
    """GF(2) elimination (on the leaf-removal core) against exhaustive search."""
    M = max(1, int(ratio * n))
    inst = random_pspin_instance(n, M, 3, seed=seed)
    states = np.array(np.meshgrid(*[[-1, 1]] * n, indexing="ij")).reshape(n, -1).T
    e_min = inst.energy(states).min()
    assert satisfiable(inst) == bool(np.isclose(e_min, -M))

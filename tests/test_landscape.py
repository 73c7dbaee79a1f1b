"""Entropy landscape: exact oracle vs independent brute force, BP vs exact, exactness on trees,
first-order jumps and hysteresis, references, and bad input."""

from __future__ import annotations

import itertools
import types
import warnings

import numpy as np
import pandas as pd
import pytest

from maxent.geometry.landscape import (
    COLUMNS,
    choose_references,
    default_grid,
    entropy_landscape,
    exact_entropy_landscape,
    find_transitions,
    independent_bound,
)
from maxent.model.bp import BPConvergenceWarning
from maxent.model.ising import IsingModel


def brute_force_landscape(h, J, ref, xs, beta):
    """Independent oracle: loop over all states with itertools, tilted weights per x."""
    n = len(h)
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    E = np.array(
        [-(sum(J[i, j] * s[i] * s[j] for i in range(n) for j in range(i + 1, n)) + h @ s) for s in states]
    )
    overlap = states @ ref
    out = []
    for x in xs:
        logw = -beta * E + x * overlap
        w = np.exp(logw - logw.max())
        p = w / w.sum()
        q = float(p @ overlap) / n
        entropy = float(-np.sum(p * np.log(p))) / n
        out.append((q, (1 - q) / 2, entropy, float(p @ E) / n))
    return np.array(out)


def mattis_model(n: int, j0: float, seed: int = 0) -> tuple[IsingModel, np.ndarray]:
    """Two clusters by construction: J = j0 xi xi^T / N (a ferromagnet in the gauge of xi)."""
    xi = np.random.default_rng(seed).choice([-1.0, 1.0], n)
    J = j0 * np.outer(xi, xi) / n
    np.fill_diagonal(J, 0.0)
    return IsingModel(np.zeros(n), J), xi


@pytest.mark.parametrize("beta", [1.0, 0.7])
def test_exact_landscape_equals_brute_force(beta):
    model = IsingModel.random_sk(8, beta=1.2, h_std=0.4, random_state=11)
    ref = np.random.default_rng(1).choice([-1, 1], 8)
    xs = np.array([-2.0, -0.5, 0.0, 0.3, 1.7])
    df = exact_entropy_landscape(model, ref, x=xs, sweep="up", beta=beta)
    bf = brute_force_landscape(model.h, model.J, ref.astype(float), xs, beta)
    assert list(df.columns) == COLUMNS
    np.testing.assert_allclose(df[["q", "d", "entropy", "energy"]].to_numpy(), bf, atol=1e-12)
    assert df["converged"].all() and (df["n_iter"] == 0).all()


def test_bp_landscape_close_to_exact_weak_sk():
    """N=14, J ~ N(0, 0.3^2/N), h ~ N(0, 0.3^2), references of low/medium/high energy.

    Measured over seeds 0-5: max |Δd| <= 7e-4, max |Δs| <= 1.3e-3, max |Δe| <= 2.2e-3 per spin
    (the Bethe error of a dense loopy model; tree-exact test below checks the machinery).
    """
    model = IsingModel.random_sk(14, beta=0.3, h_std=0.3, random_state=3)
    refs = choose_references(model, model.sample(200, random_state=0))
    for ref in refs.values():
        bp = entropy_landscape(model, ref, tol=1e-8)
        ex = exact_entropy_landscape(model, ref)
        assert bp["converged"].all()
        assert np.abs(bp["d"] - ex["d"]).max() < 2e-3
        assert np.abs(bp["entropy"] - ex["entropy"]).max() < 3e-3
        assert np.abs(bp["energy"] - ex["energy"]).max() < 5e-3


@pytest.mark.parametrize("beta", [1.0, 0.6])
def test_bp_landscape_exact_on_tree(beta):
    rng = np.random.default_rng(5)
    n = 13
    J = np.zeros((n, n))
    for i in range(1, n):
        p = rng.integers(0, i)
        J[i, p] = J[p, i] = rng.normal(0, 1.0)
    model = IsingModel(rng.normal(0, 0.5, n), J)
    ref = rng.choice([-1.0, 1.0], n)
    xs = np.linspace(-2, 2, 21)
    bp = entropy_landscape(model, ref, x=xs, beta=beta, tol=1e-12)
    ex = exact_entropy_landscape(model, ref, x=xs, beta=beta)
    cols = ["q", "d", "entropy", "energy"]
    np.testing.assert_allclose(bp[cols].to_numpy(), ex[cols].to_numpy(), atol=1e-9)


def test_independent_spins_reach_the_bound():
    """J = 0, h = 0: entropy(d) equals -d ln d - (1-d) ln(1-d) at every x; with fields it is below."""
    n = 10
    ref = np.random.default_rng(0).choice([-1, 1], n)
    df = entropy_landscape(IsingModel(np.zeros(n), np.zeros((n, n))), ref)
    np.testing.assert_allclose(df["entropy"], independent_bound(df["d"].to_numpy()), atol=1e-12)
    np.testing.assert_allclose(df["d"], (1 - np.tanh(df["x"])) / 2, atol=1e-12)
    h = np.random.default_rng(1).normal(0, 1, n)
    df = entropy_landscape(IsingModel(h, np.zeros((n, n))), ref)
    assert np.all(df["entropy"].to_numpy() <= independent_bound(df["d"].to_numpy()) + 1e-12)


def test_log_z_derivative_is_overlap():
    """Bethe consistency along a sweep: d(log Z_x / N)/dx = q, log Z_x / N = s - beta e + x q."""
    model = IsingModel.random_sk(40, beta=0.5, h_std=0.3, random_state=2)
    ref = np.random.default_rng(2).choice([-1, 1], 40)
    xs = np.linspace(-1, 1, 201)
    df = entropy_landscape(model, ref, x=xs, sweep="up", tol=1e-10, beta=0.8)
    log_z = df["entropy"] - 0.8 * df["energy"] + df["x"] * df["q"]
    slope = np.gradient(log_z.to_numpy(), xs)
    np.testing.assert_allclose(slope[1:-1], df["q"].to_numpy()[1:-1], atol=1e-4)


def test_table_layout_and_sweep_order():
    model = IsingModel.random_sk(12, beta=0.3, random_state=0)
    ref = np.ones(12)
    df = entropy_landscape(model, ref)
    assert list(df.columns) == COLUMNS
    assert len(df) == 2 * 121
    down, up = df[df.sweep == "down"], df[df.sweep == "up"]
    np.testing.assert_allclose(down["x"], default_grid()[::-1])
    np.testing.assert_allclose(up["x"], default_grid())
    assert df.index[df.sweep == "down"].max() < df.index[df.sweep == "up"].min()
    assert df["converged"].dtype == bool and df["n_iter"].min() >= 1
    one = entropy_landscape(model, ref, x=[0.5, -0.5, -1.0], sweep="up")
    np.testing.assert_allclose(one["x"], [-1.0, -0.5, 0.5])


def test_extrapolated_warm_start_equals_plain_warm_start():
    model = IsingModel.random_sk(60, beta=0.5, h_std=0.3, random_state=4)
    ref = np.random.default_rng(4).choice([-1, 1], 60)
    fast = entropy_landscape(model, ref, tol=1e-9)
    plain = entropy_landscape(model, ref, tol=1e-9, extrapolate=0)
    assert fast["n_iter"].sum() < plain["n_iter"].sum()
    for col in ("d", "entropy", "energy"):
        assert np.abs(fast[col] - plain[col]).max() < 1e-7


def test_first_order_jump_and_hysteresis():
    """Two clusters by construction (Mattis model, J0 = 1.5 > 1): the down sweep stays near the
    reference until x < 0, then jumps to the other cluster; the up sweep mirrors it."""
    model, xi = mattis_model(60, 1.5)
    df = entropy_landscape(model, xi)
    assert df["converged"].all()
    tr = find_transitions(df)
    jumps = tr[tr.kind == "jump"]
    assert set(jumps.sweep) == {"down", "up"} and len(jumps) == 2
    dn = jumps[jumps.sweep == "down"].iloc[0]
    up = jumps[jumps.sweep == "up"].iloc[0]
    assert dn.x_to < 0 < up.x_to  # jumps on opposite sides: hysteresis
    assert dn.delta_d > 0.5 and up.delta_d < -0.5
    loops = tr[tr.kind == "hysteresis"]
    assert len(loops) == 1
    loop = loops.iloc[0]
    assert loop.x_from < 0 < loop.x_to and loop.delta_d > 0.5 and loop.area > 0.1
    # the same transitions with a plain warm start
    tr0 = find_transitions(entropy_landscape(model, xi, extrapolate=0))
    np.testing.assert_allclose(tr0[["x_from", "x_to"]].to_numpy(), tr[["x_from", "x_to"]].to_numpy())


def test_weak_model_has_no_transition():
    model, xi = mattis_model(60, 0.5)
    assert find_transitions(entropy_landscape(model, xi)).empty
    model = IsingModel.random_sk(60, beta=0.3, h_std=0.3, random_state=0)
    assert find_transitions(entropy_landscape(model, xi)).empty


def test_find_transitions_on_a_handmade_table():
    x = np.linspace(-1, 1, 21)
    d_dn = np.where(x > -0.35, 0.1, 0.9) + 0.01 * x
    d_up = np.where(x < 0.35, 0.9, 0.1) + 0.01 * x
    rows = [(xv, "down", 1 - 2 * d, d, 0.3, -0.1, True, 3) for xv, d in zip(x[::-1], d_dn[::-1], strict=True)]
    rows += [(xv, "up", 1 - 2 * d, d, 0.3, -0.1, True, 3) for xv, d in zip(x, d_up, strict=True)]
    tr = find_transitions(pd.DataFrame(rows, columns=COLUMNS))
    jumps = tr[tr.kind == "jump"]
    np.testing.assert_allclose(sorted(jumps.x_from), [-0.3, 0.3])
    loop = tr[tr.kind == "hysteresis"].iloc[0]
    assert loop.x_from == pytest.approx(-0.3) and loop.x_to == pytest.approx(0.3)
    assert loop.delta_d == pytest.approx(0.8)
    with pytest.raises(ValueError, match="missing columns"):
        find_transitions(pd.DataFrame({"x": [0.0]}))


def test_independent_bound_values():
    assert independent_bound(0.0) == 0.0 and independent_bound(1.0) == 0.0
    assert independent_bound(0.5) == pytest.approx(np.log(2))
    d = np.array([0.1, 0.25])
    np.testing.assert_allclose(independent_bound(d), -d * np.log(d) - (1 - d) * np.log(1 - d))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        independent_bound(1.2)
    with pytest.raises(ValueError, match="NaN"):
        independent_bound([0.1, np.nan])


def test_references_from_samples_and_index():
    model = IsingModel.random_sk(12, beta=0.8, h_std=0.3, random_state=9)
    X = model.sample(300, random_state=1)
    refs = choose_references(model, X)
    E = {k: float(model.energy(v)) for k, v in refs.items()}
    assert E["low"] <= E["medium"] <= E["high"] and E["low"] < E["high"]
    assert all(v.dtype == np.int8 and v.shape == (12,) for v in refs.values())
    idx = choose_references(model, X, return_index=True)
    assert float(model.energy(X[idx["low"]])) == pytest.approx(model.energy(X).min())
    a = exact_entropy_landscape(model, idx["medium"], samples=X, sweep="up")
    b = exact_entropy_landscape(model, X[idx["medium"]].astype(float), sweep="up")
    pd.testing.assert_frame_equal(a, b)
    c = entropy_landscape(model, np.int64(idx["high"]), samples=X, x=[0.0, 1.0])
    assert len(c) == 4


def test_non_convergence_flagged_and_warned():
    model = IsingModel.random_sk(30, beta=0.5, random_state=3)
    ref = np.ones(30)
    with pytest.warns(BPConvergenceWarning, match="did not converge at"):
        df = entropy_landscape(model, ref, x=[0.0, 0.5], tol=1e-14, max_iter=2, retry_damping=None)
    assert not df["converged"].any()
    assert (df["n_iter"] == 2).all()


@pytest.mark.parametrize(
    "ref, kw, err, match",
    [
        (np.array([1, -1, 0, 1, 1, 1]), {}, ValueError, "only \\+1 and -1"),
        (np.array([1, -1, 2, 1, 1, 1]), {}, ValueError, "only \\+1 and -1"),
        (np.array([1.0, -1.0, 0.5, 1, 1, 1]), {}, ValueError, "only \\+1 and -1"),
        (np.ones(5), {}, ValueError, "5 spins"),
        (np.ones((2, 6)), {}, ValueError, "1-D"),
        (np.ones(6, dtype=bool), {}, TypeError, "numeric"),
        (True, {}, TypeError, "bool"),
        (0, {}, ValueError, "samples="),
        (7, {"samples": np.ones((3, 6))}, IndexError, "out of range"),
        (np.ones(6), {"x": [0.0, 1.0, 0.5]}, ValueError, "monotone"),
        (np.ones(6), {"x": [0.0, 0.0, 1.0]}, ValueError, "monotone"),
        (np.ones(6), {"x": []}, ValueError, "non-empty"),
        (np.ones(6), {"x": [0.0, np.nan]}, ValueError, "NaN"),
        (np.ones(6), {"sweep": "sideways"}, ValueError, "sweep"),
        (np.ones(6), {"beta": 0.0}, ValueError, "beta"),
        (np.ones(6), {"damping": 1.0}, ValueError, "damping"),
        (np.ones(6), {"extrapolate": -1}, ValueError, "extrapolate"),
    ],
)
def test_bad_input(ref, kw, err, match):
    model = IsingModel.random_sk(6, random_state=0)
    with pytest.raises(err, match=match):
        entropy_landscape(model, ref, **kw)


def test_bad_model_and_exact_size():
    nan_model = types.SimpleNamespace(h=np.array([0.0, np.nan]), J=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        entropy_landscape(nan_model, np.ones(2))
    with pytest.raises(ValueError, match="non-finite"):
        exact_entropy_landscape(nan_model, np.ones(2))
    with pytest.raises(TypeError, match="IsingModel"):
        entropy_landscape(np.zeros(3), np.ones(3))
    big = IsingModel(np.zeros(25), np.zeros((25, 25)))
    with pytest.raises(ValueError, match="N=25 exceeds"):
        exact_entropy_landscape(big, np.ones(25))


def test_torch_path_matches_numpy():
    pytest.importorskip("torch")
    model = IsingModel.random_sk(20, beta=0.5, h_std=0.3, random_state=1)
    ref = np.random.default_rng(0).choice([-1, 1], 20)
    xs = np.linspace(-2, 2, 21)
    a = entropy_landscape(model, ref, x=xs, tol=1e-10)
    with warnings.catch_warnings():
        warnings.simplefilter("error", BPConvergenceWarning)
        b = entropy_landscape(model, ref, x=xs, tol=1e-10, device="cpu")
    cols = ["q", "d", "entropy", "energy"]
    np.testing.assert_allclose(b[cols].to_numpy(), a[cols].to_numpy(), atol=1e-10)
    np.testing.assert_array_equal(a["n_iter"], b["n_iter"])


def _textbook_landscape(model: IsingModel, ref: np.ndarray, xs: np.ndarray, tol: float) -> np.ndarray:
    """Independent oracle: textbook BP on cavity fields u (tanh/atanh every sweep), plain warm
    start from the previous x, Bethe entropy from the beliefs; rows (d, entropy) per x."""
    h, J = model.h, model.J
    n = h.size
    T = np.tanh(J)
    iu = np.triu_indices(n, 1)
    u = np.zeros((n, n))
    out = []
    for x in xs:
        hx = h + x * ref
        for _ in range(5000):
            H = hx + u.sum(axis=0)
            u_new = np.arctanh(T * np.tanh(H[:, None] - u.T))
            np.fill_diagonal(u_new, 0.0)
            done = np.abs(u_new - u).max() <= tol
            u = u_new
            if done:
                break
        H = hx + u.sum(axis=0)
        m = np.tanh(H)
        t = np.tanh(H[:, None] - u.T)
        P = t * t.T
        C = (T + P) / (1 + T * P)
        log_z = (
            np.sum(np.log(2 * np.cosh(H)))
            + np.sum(np.log(np.cosh(J[iu])))
            + 0.5 * np.sum(np.log(1 - (T * t) ** 2))
            - np.sum(np.log(1 + T[iu] * P[iu]))
        )
        energy = -(np.sum(J[iu] * C[iu]) + h @ m)
        q = ref @ m / n
        out.append(((1 - q) / 2, (log_z + energy - x * n * q) / n))
    return np.array(out)


def test_hard_model_landscape_equals_textbook_bp_and_numpy_kernel():
    """A strongly coupled dense model (SK, beta = 0.8: ~100 BP sweeps per x near x = 0) and
    a model with a first-order jump: the default (compiled) landscape equals the numpy kernel's
    to rounding, with the same sweep counts and transitions, and the textbook BP's curves to the
    tolerance."""
    model = IsingModel.random_sk(40, beta=0.8, h_std=0.3, random_state=7)
    ref = np.random.default_rng(7).choice([-1.0, 1.0], 40)
    xs = np.linspace(-1.5, 1.5, 31)
    fast = entropy_landscape(model, ref, x=xs, tol=1e-9)
    slow = entropy_landscape(model, ref, x=xs, tol=1e-9, device="numpy")
    assert fast["converged"].all() and fast["n_iter"].max() >= 50
    cols = ["q", "d", "entropy", "energy"]
    np.testing.assert_allclose(fast[cols].to_numpy(), slow[cols].to_numpy(), atol=1e-11)
    assert np.abs(fast["n_iter"].to_numpy() - slow["n_iter"].to_numpy()).max() <= 1
    for sw, order in (("down", xs[::-1]), ("up", xs)):
        ref_rows = _textbook_landscape(model, ref, order, 1e-11)
        rows = fast[fast.sweep == sw][["d", "entropy"]].to_numpy()
        np.testing.assert_allclose(rows, ref_rows, atol=1e-7)
    jump_model, xi = mattis_model(60, 1.5)
    a = find_transitions(entropy_landscape(jump_model, xi))
    b = find_transitions(entropy_landscape(jump_model, xi, device="numpy"))
    assert len(a) == 3
    pd.testing.assert_frame_equal(a, b, atol=1e-9)

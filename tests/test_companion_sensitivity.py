"""Random-network function sensitivity: perturbations, mean-field recursions, large deviations.

Every theory is compared with an independent oracle: Monte Carlo or quadrature for the kernels
and the ReLU CGF, exact binomial chains and brute-force path enumeration for the contraction,
direct simulation of networks for the recursions, and a tilted particle simulation of real
networks for the large deviations.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.special import logsumexp
from scipy.stats import binom

from maxent.companion.sensitivity import (
    arccos_kernel,
    binarize,
    dilute,
    finite_size_table,
    fixed_point,
    flip_signs,
    overlap_recursion,
    path_rate,
    relu_layer_cgf,
    relu_layer_rate,
    scgf,
    sign_kernel,
    sign_layer_rate,
    simulate_overlaps,
    tilted_run,
    tilted_tails,
    weight_correlation,
)
from maxent.companion.sensitivity.simulate import overlap

RNG = np.random.default_rng


# ----------------------------------------------------------------------------- perturbations
@pytest.mark.parametrize(
    ("kind", "level", "rho"),
    [
        ("dilution", 0.5, np.sqrt(0.5)),
        ("dilution", 0.1, np.sqrt(0.1)),
        ("binarization", None, np.sqrt(2 / np.pi)),
        ("flip", 0.2, 0.6),
    ],
)
def test_weight_correlation_matches_empirical(kind, level, rho):
    rng = RNG(0)
    W = rng.standard_normal((400, 500)).astype(np.float32) / np.sqrt(500)
    from maxent.companion.sensitivity import perturb

    Wp = perturb(W, kind, level, rng).astype(np.float64)
    emp = np.sum(W * Wp) / np.sqrt(np.sum(W * W) * np.sum(Wp * Wp))
    assert weight_correlation(kind, level) == pytest.approx(rho)
    assert emp == pytest.approx(rho, abs=4 / np.sqrt(W.size) * 3)
    # the variance-preserving scale: sum of squares kept within sampling error (relative sd of the
    # dilution ratio sqrt((3/c - 1)/n) for Gaussian entries)
    tol = 4 * np.sqrt(3 / level / W.size) if kind == "dilution" else 0.02
    assert np.sum(Wp * Wp) / np.sum(W.astype(np.float64) ** 2) == pytest.approx(1.0, abs=tol)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.01, 1.0), st.integers(0, 2**31 - 1))
def test_dilution_keeps_a_rescaled_subset(c, seed):
    rng = RNG(seed)
    W = rng.standard_normal((3, 7, 5))
    out = dilute(W, c, rng)
    kept = out != 0
    np.testing.assert_allclose(out[kept], W[kept] / np.sqrt(c))
    raw = dilute(W, c, RNG(seed), rescale=False)
    assert np.all((raw == 0) | (raw == W))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_binarize_keeps_signs_and_norm(seed):
    W = RNG(seed).standard_normal((2, 6, 4))
    B = binarize(W)
    assert np.all(np.sign(B) == np.where(W >= 0, 1, -1))
    np.testing.assert_allclose(np.sum(B**2, axis=(1, 2)), np.sum(W**2, axis=(1, 2)))


@pytest.mark.parametrize("c", [0.0, -0.1, 1.5, np.nan, np.inf])
def test_bad_keep_probability(c):
    with pytest.raises(ValueError, match="keep probability c"):
        dilute(np.ones((2, 2)), c, RNG(0))
    with pytest.raises(ValueError, match="keep probability c"):
        weight_correlation("dilution", c)


def test_bad_flip_and_names():
    with pytest.raises(ValueError, match="flip probability p"):
        flip_signs(np.ones((2, 2)), 0.7, RNG(0))
    with pytest.raises(ValueError, match="unknown perturbation"):
        weight_correlation("pruning", 0.5)
    with pytest.raises(ValueError, match="needs a level"):
        weight_correlation("dilution")
    with pytest.raises(ValueError, match="unknown activation"):
        overlap_recursion("tanh", 0.5, 3)
    with pytest.raises(ValueError, match="depth"):
        overlap_recursion("sign", 0.5, 0)
    with pytest.raises(ValueError, match="weight correlation rho"):
        overlap_recursion("relu", 1.2, 3)


# ----------------------------------------------------------------------------- mean-field theory
@pytest.mark.parametrize("r", [-0.7, 0.0, 0.3, 0.8, 0.99])
def test_kernels_against_monte_carlo(r):
    rng = RNG(1)
    z = rng.standard_normal((2, 1_000_000))
    h, hp = z[0], r * z[0] + np.sqrt(1 - r * r) * z[1]
    ss = np.sign(h) * np.sign(hp)
    assert float(sign_kernel(r)) == pytest.approx(ss.mean(), abs=4 * ss.std() / 1e3)
    f, fp = np.maximum(h, 0), np.maximum(hp, 0)
    # normalized second moment E[relu h relu h'] / E[relu^2] (E relu^2 = 1/2 exactly)
    assert float(arccos_kernel(r)) == pytest.approx(2 * np.mean(f * fp), abs=4 * 2 * np.std(f * fp) / 1e3)


def test_kernel_endpoints():
    assert float(arccos_kernel(1.0)) == pytest.approx(1.0)
    assert float(arccos_kernel(0.0)) == pytest.approx(1 / np.pi)
    assert float(arccos_kernel(-1.0)) == pytest.approx(0.0, abs=1e-12)
    assert float(sign_kernel(1.0)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="NaN"):
        arccos_kernel(np.nan)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.05, 0.999), st.integers(1, 12))
def test_recursions_decrease_and_relu_is_more_robust(rho, depth):
    qs = overlap_recursion("sign", rho, depth)
    qr = overlap_recursion("relu", rho, depth)
    assert qs[0] == qr[0] == 1.0
    assert np.all(np.diff(qs) <= 1e-15) and np.all(np.diff(qr) <= 1e-15)
    assert np.all(qr[1:] > qs[1:])  # random ReLU networks keep more of their function
    assert np.all(qr > 1 / np.pi)  # ReLU overlaps never fall below k(0) = 1/pi


def test_fixed_points():
    assert fixed_point("sign", 0.9) == pytest.approx(0.0, abs=1e-10)
    q = fixed_point("relu", np.sqrt(0.5))
    assert q == pytest.approx(float(arccos_kernel(np.sqrt(0.5) * q)), abs=1e-12)
    assert q > 1 / np.pi


# ----------------------------------------------------------------------------- theory vs simulation
CONDITIONS = [
    ("sign", "dilution", 0.5),
    ("sign", "binarization", None),
    ("relu", "dilution", 0.5),
    ("relu", "binarization", None),
    ("relu", "flip", 0.1),
]


@pytest.mark.parametrize(("act", "pert", "level"), CONDITIONS)
def test_recursion_matches_simulation(act, pert, level):
    """N = 400, 20 networks x 16 inputs, depth 4: every layer's mean within 0.02 of the recursion."""
    q = simulate_overlaps(act, pert, level, width=400, depth=4, n_networks=20, n_inputs=16, random_state=3)
    theory = overlap_recursion(act, weight_correlation(pert, level), 4)[1:]
    # measured |bias| <= 0.007 here; the single-network spread at N = 400 is ~0.03-0.05
    np.testing.assert_allclose(q.mean(axis=(0, 1)), theory, atol=0.02)


@pytest.mark.parametrize(("act", "pert", "level"), CONDITIONS[:3])
def test_finite_size_error_shrinks_like_inverse_sqrt_width(act, pert, level):
    df = finite_size_table(
        act, pert, level, widths=(64, 256, 1024), depth=3, n_networks=6, n_inputs=32, random_state=4
    )
    rmse = df.groupby("width")["rmse"].mean()
    slope = np.polyfit(np.log(rmse.index.to_numpy(float)), np.log(rmse.to_numpy()), 1)[0]
    assert -0.7 < slope < -0.3, slope  # 1/sqrt(N): slope -1/2
    assert (df["rmse"] * np.sqrt(df["width"])).between(0.2, 2.5).all()


def test_overlap_definitions():
    a = np.array([[[1.0], [-1.0], [1.0], [1.0]]])
    b = np.array([[[1.0], [1.0], [1.0], [-1.0]]])
    assert overlap(a, b, "sign")[0, 0] == pytest.approx(0.0)
    x = np.array([[[1.0], [0.0], [2.0]]])
    assert overlap(x, 3 * x, "relu")[0, 0] == pytest.approx(1.0)  # scale-free cosine
    assert overlap(np.zeros((1, 3, 1)), x, "relu")[0, 0] == 0.0


def test_simulation_bad_input():
    with pytest.raises(ValueError, match="width"):
        simulate_overlaps("sign", "dilution", 0.5, width=1, depth=2, n_networks=1, n_inputs=1)
    with pytest.raises(ValueError, match="keep probability"):
        simulate_overlaps("sign", "dilution", 1.5, width=10, depth=2, n_networks=1, n_inputs=1)
    with pytest.raises(ValueError, match="n_inputs"):
        simulate_overlaps("sign", "dilution", 0.5, width=10, depth=2, n_networks=1, n_inputs=0)


# ----------------------------------------------------------------------------- large deviations
@pytest.mark.parametrize(
    ("u", "q", "r"),
    [(-2.0, 0.5, 0.6), (-0.5, 0.2, 0.3), (0.7, 0.8, 0.5), (1.2, 0.3, 0.1), (-20.0, 0.05, 0.7)],
)
def test_relu_cgf_against_quadrature(u, q, r):
    """Closed form vs adaptive quadrature of E exp(u [phi phi' - q (phi^2 + phi'^2)/2])."""

    def dens(y, x):
        det = 1 - r * r
        f, fp = max(x, 0.0), max(y, 0.0)
        expo = -(x * x - 2 * r * x * y + y * y) / (2 * det) + u * (f * fp - q * (f * f + fp * fp) / 2)
        return np.exp(expo) / (2 * np.pi * np.sqrt(det))

    total = sum(
        integrate.dblquad(dens, xl, xh, yl, yh, epsabs=1e-11, epsrel=1e-10)[0]
        for xl, xh in ((-np.inf, 0), (0, np.inf))
        for yl, yh in ((-np.inf, 0), (0, np.inf))
    )
    assert float(relu_layer_cgf(u, q, r)) == pytest.approx(np.log(total), abs=1e-7)


def test_relu_cgf_domain():
    q, r = 0.5, 0.6
    u_hi = 1 / ((1 + r) * (1 - q))
    assert np.isinf(relu_layer_cgf(u_hi + 1e-6, q, r))
    assert np.isfinite(relu_layer_cgf(u_hi - 1e-3, q, r))
    assert float(relu_layer_cgf(0.0, q, r)) == pytest.approx(0.0, abs=1e-14)


def test_layer_rates_vanish_at_the_mean_field_value_only():
    r = 0.6
    q = np.linspace(-0.99, 0.99, 199)
    Is = sign_layer_rate(q, r)
    assert q[np.argmin(Is)] == pytest.approx(float(sign_kernel(r)), abs=0.01)
    assert np.all(Is >= 0)
    qr = np.linspace(0.0, 0.98, 99)
    Ir = relu_layer_rate(qr, r)
    assert qr[np.argmin(Ir)] == pytest.approx(float(arccos_kernel(r)), abs=0.01)
    assert np.all(Ir >= -1e-12) and Ir.min() < 1e-4
    assert np.all(np.diff(np.diff(Ir)) > -1e-6)  # convex in q


def test_sign_layer_rate_is_the_binomial_exponent():
    """-(1/N) ln P(Binomial) -> Cramér rate, error O(ln N / N)."""
    r, N = 0.5, 4000
    m = float(sign_kernel(r))
    k = np.arange(0, N + 1, 200)
    q = 2 * k / N - 1
    exact = -binom.logpmf(k, N, (1 + m) / 2) / N
    assert np.max(np.abs(exact - sign_layer_rate(q, r))) < 2 * np.log(N) / N


@pytest.mark.parametrize("act", ["sign", "relu"])
def test_path_rate_is_the_brute_force_path_minimum(act):
    grid = np.linspace(-1, 1, 41) if act == "sign" else np.linspace(0, 0.975, 40)
    rho = 0.75
    pr = path_rate(act, rho, 3, grid=grid)
    from maxent.companion.sensitivity import layer_rate

    I1 = layer_rate(act, grid, rho)
    K = layer_rate(
        act, grid[:, None], rho * np.clip(grid[None, :], 0, 1) if act == "relu" else rho * grid[None, :]
    )
    # explicit enumeration of all (q1, q2) paths: Phi_3(q3) = min_{q1,q2} I1(q1) + I(q2|q1) + I(q3|q2),
    # total[i, j, k] = I1[i] + K[j, i] + K[k, j]
    total = I1[:, None, None] + K.T[:, :, None] + K.T[None, :, :]
    np.testing.assert_allclose(pr.rates[2], total.min(axis=(0, 1)), atol=1e-12)
    np.testing.assert_allclose(pr.rates[0], I1)
    typical = overlap_recursion(act, rho, 3)[1:]
    np.testing.assert_allclose(pr.typical(), typical, atol=grid[1] - grid[0])
    path = pr.paths[2, 10]
    assert path[-1] == grid[10] and np.all(np.isfinite(path))


def test_sign_contraction_matches_the_exact_finite_width_chain():
    """Exact law of q_L for the Markov chain of binomial layers (no sampling) vs Phi_L.

    q_l | q_{l-1} ~ (2 Binomial(N, (1 + m(rho q_{l-1}))/2) - N) / N exactly (i.i.d. units); the
    contraction must give -(1/N) ln P_N(q_L) to O(ln N / N).
    """
    N, rho, L = 400, np.sqrt(0.5), 3
    k = np.arange(N + 1)
    q = 2 * k / N - 1
    m = (2 / np.pi) * np.arcsin(rho * q)  # mean agreement given the previous q
    logT = binom.logpmf(k[:, None], N, (1 + m[None, :]) / 2)  # T[k_new, k_old]
    logp = binom.logpmf(k, N, (1 + (2 / np.pi) * np.arcsin(rho)) / 2)
    for _ in range(L - 1):
        logp = logsumexp(logT + logp[None, :], axis=1)
    exact = -logp / N
    pr = path_rate("sign", rho, L, grid=q)
    ok = exact < 0.5
    err = np.abs(exact[ok] - pr.rates[-1][ok])
    assert err.max() < 2.5 * np.log(N) / N, err.max()
    assert exact[ok].min() < 0.02  # covers the typical region and tails down to P ~ e^-200


def test_scgf_is_the_legendre_transform():
    grid = np.linspace(-1, 1, 2001)
    rate = 2.0 * (grid - 0.2) ** 2  # Legendre transform: 0.2 theta + theta^2 / 8
    th = np.array([-1.0, 0.0, 0.5, 2.0])
    np.testing.assert_allclose(scgf(grid, rate, th), 0.2 * th + th**2 / 8, atol=1e-6)


# ----------------------------------------------------------------------------- tilted simulation
def test_tilted_estimator_is_unbiased_against_plain_simulation():
    """A tail reachable by brute force: P(q_2 < -0.17) ~ 1e-2 for sign, N = 30, dilution c = 0.5.

    (x lies between two lattice values of q, spacing 2/N, so the event is unambiguous.)
    """
    N, L, x = 30, 2, -0.17
    q = simulate_overlaps(
        "sign", "dilution", 0.5, width=N, depth=L, n_networks=20000, n_inputs=1, random_state=5
    )
    p_plain = np.mean(q[:, 0, -1] < x)
    est = []
    for seed in range(4):
        run = tilted_run(
            "sign", "dilution", 0.5, theta=-0.5, width=N, depth=L, n_particles=1500, random_state=seed
        )
        est.append(np.exp(run.log_prob(np.array([-1.5, x]))[0]))
    se = np.sqrt(p_plain * (1 - p_plain) / 20000)
    assert 0.002 < p_plain < 0.05
    assert np.mean(est) == pytest.approx(p_plain, abs=4 * se + 0.1 * p_plain)


@pytest.mark.parametrize(
    ("act", "pert", "level"),
    [("sign", "dilution", 0.5), ("relu", "dilution", 0.5), ("relu", "binarization", None)],
)
def test_scgf_and_tails_against_tilted_simulation(act, pert, level):
    """N = 50, depth 3: SCGF within 0.025 (measured <= 0.018: O(1/N)); tail rates within ln(N)/N + 0.02

    (measured <= 0.08; -(1/N) ln P carries an O(ln N / N) prefactor, here ~ -0.025 on average).
    """
    N = 50
    s, r = tilted_tails(
        act,
        pert,
        level,
        thetas=np.array([-3.0, -2.0, -1.0, -0.5, 0.5, 1.0, 2.0, 3.0]),
        width=N,
        depth=3,
        n_particles=300,
        n_repeats=2,
        random_state=6,
    )
    assert np.all(np.abs(s["error"]) < 0.025), s
    assert len(r) >= 20 and r["rate_theory"].notna().all()  # theory on every bin
    tails = r[(r["rate_theory"] > 0.05) & r["rate_sim"].notna()]
    assert len(tails) >= 5
    assert np.all(np.abs(tails["rate_sim"] - tails["rate_theory"]) < np.log(N) / N + 0.02), tails
    # the probabilities reached: exp(-N * rate) far below what plain sampling of 600 networks sees
    assert tails["rate_sim"].max() * N > np.log(600) + 3


@settings(max_examples=40, deadline=None)
@given(st.floats(0.0, 0.95), st.floats(0.0, 0.97), st.floats(-0.97, 0.97))
def test_layer_rates_are_nonnegative_and_vanish_at_the_kernel(r, q_relu, q_sign):
    assert float(relu_layer_rate(arccos_kernel(r), r)) == pytest.approx(0.0, abs=1e-9)
    assert float(relu_layer_rate(q_relu, r)) >= -1e-12
    assert float(sign_layer_rate(sign_kernel(r), r)) == pytest.approx(0.0, abs=1e-12)
    assert float(sign_layer_rate(q_sign, r)) >= 0.0


def test_path_rate_bad_input():
    with pytest.raises(ValueError, match="strictly increasing"):
        path_rate("sign", 0.5, 2, grid=np.array([0.0, 0.5, 0.2, 0.9]))
    with pytest.raises(ValueError, match="inside \\[0, 1\\)"):
        path_rate("relu", 0.5, 2, grid=np.linspace(0, 1, 11))
    with pytest.raises(ValueError, match="NaN"):
        path_rate("sign", 0.5, 2, grid=np.array([0.0, np.nan, 0.5]))
    with pytest.raises(ValueError, match=r"rho must lie in \(0, 1\)"):
        path_rate("sign", 1.0, 2)  # an unperturbed network has no fluctuations of q


def _relu_cgf3(t: np.ndarray, r: float) -> float:
    """ln E exp(t1 phi phi' + t2 phi^2 + t3 phi'^2), phi = relu, by the same quadrant integrals."""
    from maxent.companion.sensitivity.large_deviations import _quadrant_integral

    t1, t2, t3 = t
    a = 1 / (1 - r * r)
    m11, m22, m12 = a - 2 * t2, a - 2 * t3, -a * r - t1
    if m11 <= 0 or m22 <= 0 or m12 / np.sqrt(m11 * m22) <= -1:
        return np.inf
    Q = _quadrant_integral
    total = Q(m11, m22, m12) + Q(m11, a, a * r) + Q(a, m22, a * r) + Q(a, a, -a * r)
    return float(np.log(total) - np.log(2 * np.pi * np.sqrt(1 - r * r)))


# upper tail: the reduction is not guaranteed by convexity, checked here (~10 s); lower tail: exact
# by convex duality, so its numerical check is the slow variant
@pytest.mark.parametrize(("q", "r"), [(0.9, 0.5), pytest.param(0.3, 0.6, marks=pytest.mark.slow)])
def test_relu_rate_symmetric_reduction_equals_full_contraction(q, r):
    """I(q | r) = inf_{B, C} Lambda3*(q sqrt(BC), B, C) (3-D Legendre transform, asymmetric B != C
    allowed) equals the one-parameter symmetric formula, upper (q = 0.9) and lower (q = 0.3) tail."""
    from scipy.optimize import minimize

    def legendre(x):
        def f(t):
            lam = _relu_cgf3(t, r)
            return -(t @ x - lam) if np.isfinite(lam) else 1e6

        return -minimize(f, np.zeros(3), method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-12}).fun

    def g(p):  # B = e^{p0 + p1}, C = e^{p0 - p1}, A = q sqrt(BC)
        return legendre(np.array([q * np.exp(p[0]), np.exp(p[0] + p[1]), np.exp(p[0] - p[1])]))

    best = min(
        (
            minimize(g, np.array([np.log(0.5), v0]), method="Nelder-Mead", options={"maxiter": 400})
            for v0 in (0.3, -0.3)
        ),
        key=lambda res: res.fun,
    )
    assert abs(best.x[1]) < 0.02  # the optimum is symmetric, B = C
    assert best.fun == pytest.approx(float(relu_layer_rate(q, r)), abs=1e-5)


def test_tilted_bad_input_and_plain_limit():
    with pytest.raises(ValueError, match="theta"):
        tilted_run("sign", "dilution", 0.5, theta=np.nan, width=10, depth=2)
    with pytest.raises(ValueError, match="n_particles"):
        tilted_run("sign", "dilution", 0.5, theta=0.0, width=10, depth=2, n_particles=1)
    with pytest.raises(ValueError, match="keep probability"):
        tilted_run("relu", "dilution", 0.0, theta=0.0, width=10, depth=2)
    # theta = 0: the twist is (numerically) trivial, Z = 1 and the particles are plain samples
    run = tilted_run(
        "relu", "binarization", None, theta=0.0, width=40, depth=2, n_particles=400, random_state=0
    )
    assert run.scgf == pytest.approx(0.0, abs=1e-6)
    assert run.ess > 390
    assert run.q.mean() == pytest.approx(overlap_recursion("relu", np.sqrt(2 / np.pi), 2)[-1], abs=0.02)

r"""Large deviations of the layer overlaps at finite width N (**inferred**, Gaussian approximation).

Li & Saad (2020) study atypical function sensitivity by large deviations; only their abstract
was available, so the construction below is inferred from the standard theory and checked
against tilted simulations (:mod:`.tilted`).

One layer. Given layer l-1 of both networks, the N units of layer l are i.i.d. pairs
(h_i, h'_i), bivariate Gaussian with unit variances (the scale drops out) and correlation
r = rho q_{l-1} (see :mod:`.theory`). The overlap q_l is then an empirical average and obeys
P(q_l ~ q | q_{l-1}) ~ exp(-N I(q | rho q_{l-1})):

* sign units: q_l = (1/N) sum_i s_i s'_i, s s' = ±1 with mean m(r) = (2/pi) asin r. Cramér:
      I(q | r) = (1+q)/2 ln[(1+q)/(1+m)] + (1-q)/2 ln[(1-q)/(1-m)]        (exact for the ±1 mean).
* ReLU units: q_l = A / sqrt(B C) with A = <phi phi'>, B = <phi^2>, C = <phi'^2> (unit averages,
  phi = relu(h)). The set {A <= q sqrt(BC)} is convex and the law is exchangeable in (h, h'),
  so by convex duality the optimal B = C and the lower-tail rate equals the Chernoff rate of
  Y = phi phi' - q (phi^2 + phi'^2)/2 at 0:
      I(q | r) = sup_u [ -Lambda(u; q, r) ],   Lambda(u) = ln E exp(u Y),
  a numerical Legendre transform of the layer cumulant generating function. Lambda is computed in
  closed form (Gaussian integrals over the four sign quadrants of (h, h'), see
  :func:`relu_layer_cgf`). For the upper tail (q above typical) convexity does not guarantee
  the symmetric optimum B = C; the full three-parameter contraction inf_{B,C} Lambda3*(q sqrt(BC),
  B, C) was computed numerically at (q, r) = (0.9, 0.5), (0.95, 0.6), (0.8, 0.3), (0.3, 0.6) and
  its optimum is symmetric, equal to this formula within 1e-5 (a test repeats it); the tilted
  simulation checks the upper tail too.

Depth. Layers draw fresh weights, so (q_1, ..., q_L) is a Markov chain started at q_0 = 1 and
the contraction principle gives the rate of the last layer as a path minimization

    Phi_1(q) = I(q | rho),   Phi_l(q) = min_{q'} [ Phi_{l-1}(q') + I(q | rho q') ],

solved by dynamic programming on a grid (:func:`path_rate`); its zero is the mean-field q_L, and
the scaled cumulant generating function lambda(theta) = lim (1/N) ln E exp(N theta q_L) is its
Legendre transform max_q [theta q - Phi_L(q)] (:func:`scgf`).

Approximations: Gaussian preactivations (CLT over the fan-in; the one-step means are correct to
O(1/N)); at finite N, -(1/N) ln P carries O(ln N / N) prefactor corrections and (1/N) ln E e^{N theta q}
O(1/N) corrections. Both are measured against simulation in the tests and the notebook.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maxent.companion.sensitivity._checks import check_activation, check_int, check_overlap_array, check_rho

__all__ = [
    "sign_layer_rate",
    "sign_layer_cgf",
    "sign_layer_tilt",
    "relu_layer_cgf",
    "relu_layer_rate",
    "layer_rate",
    "PathRate",
    "path_rate",
    "scgf",
]

_U_FLOOR = -1e4  # most negative tilt searched (the q -> 0 ReLU rate is approached as u -> -inf)


def _xlogy_ratio(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x ln(x / y) with 0 ln 0 = 0 (x, y >= 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(x > 0, x * (np.log(np.where(x > 0, x, 1.0)) - np.log(y)), 0.0)
    return out


def sign_layer_rate(q: np.ndarray | float, r: np.ndarray | float) -> np.ndarray:
    """Cramér rate I(q | r) of the mean of N i.i.d. ±1 agreements with mean (2/pi) asin r.

    ``q`` and ``r`` broadcast; q in [-1, 1], r in [-1, 1]. Returns +inf where q is impossible
    (|m| = 1 and q != m).
    """
    q = check_overlap_array(q, "q")
    r = check_overlap_array(r, "r")
    m = (2.0 / np.pi) * np.arcsin(r)
    p, pm = (1.0 + q) / 2.0, (1.0 + m) / 2.0
    # a Kullback-Leibler divergence: >= 0 exactly; the two terms cancel to -1e-17 near q = m
    return np.maximum(_xlogy_ratio(p, pm) + _xlogy_ratio(1.0 - p, 1.0 - pm), 0.0)


def _quadrant_integral(m11: np.ndarray, m22: np.ndarray, m12: np.ndarray) -> np.ndarray:
    """int_{x, y > 0} exp(-(m11 x^2 + 2 m12 x y + m22 y^2)/2) dx dy for m11, m22 > 0.

    = g(c) / sqrt(m11 m22), c = m12 / sqrt(m11 m22), g(c) = acos(c)/sqrt(1-c^2) (|c| < 1),
    acosh(c)/sqrt(c^2-1) (c > 1), 1 at c = 1 (series near it), +inf for c <= -1.
    """
    s = np.sqrt(m11 * m22)
    c = m12 / s
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.arccos(np.clip(c, -1.0, 1.0)) / np.sqrt(np.clip(1.0 - c * c, 1e-300, None))
        hi = np.arccosh(np.maximum(c, 1.0)) / np.sqrt(np.clip(c * c - 1.0, 1e-300, None))
    near = 1.0 - (c - 1.0) / 3.0 + 2.0 * (c - 1.0) ** 2 / 15.0
    g = np.where(np.abs(c - 1.0) < 1e-5, near, np.where(c < 1.0, lo, hi))
    g = np.where(c <= -1.0, np.inf, g)
    return g / s


def _relu_domain(q: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Open interval (u_lo, u_hi) of tilts u where Lambda(u; q, r) is finite."""
    alpha = 1.0 / (1.0 - r * r)
    with np.errstate(divide="ignore"):
        u_hi = np.where(q < 1.0, 1.0 / ((1.0 + r) * (1.0 - q)), np.inf)
        u_lo = np.where(q > 0.0, -alpha / np.where(q > 0, q, 1.0), -np.inf)
    return u_lo, u_hi


def relu_layer_cgf(u: np.ndarray | float, q: np.ndarray | float, r: np.ndarray | float) -> np.ndarray:
    r"""Lambda(u; q, r) = ln E exp(u [phi phi' - q (phi^2 + phi'^2)/2]), phi = relu, in closed form.

    (h, h') standard bivariate Gaussian with correlation r in [0, 1). On each sign quadrant the
    exponent is a quadratic form, so with Sigma^{-1} = [[1, -r], [-r, 1]] / (1 - r^2) =: alpha [...]

        E e^{uY} = [ Q(a + uq, a + uq, -(a r + u)) + 2 Q(a + uq, a, a r) + Q(a, a, -a r) ]
                   / (2 pi sqrt(1 - r^2)),      a = alpha,

    Q = :func:`_quadrant_integral` (quadrants ++, +- and -+ (equal), --). Finite for
    -alpha/q < u < 1/((1 + r)(1 - q)); +inf outside. Broadcasts over u, q, r.
    """
    u = np.asarray(u, dtype=np.float64)
    q = check_overlap_array(q, "q", lo=0.0)
    r = check_overlap_array(r, "r", lo=0.0)
    if np.any(r >= 1.0):
        raise ValueError("r must be < 1 (r = 1 means an unperturbed layer)")
    u, q, r = np.broadcast_arrays(u, q, r)
    a = 1.0 / (1.0 - r * r)
    u_lo, u_hi = _relu_domain(q, r)
    inside = (u > u_lo) & (u < u_hi)
    us = np.where(inside, u, 0.0)
    d = a + us * q
    total = (
        _quadrant_integral(d, d, -(a * r + us))
        + 2.0 * _quadrant_integral(d, a, a * r)
        + _quadrant_integral(a, a, -a * r)
    )
    with np.errstate(divide="ignore"):
        out = np.log(total) - np.log(2.0 * np.pi * np.sqrt(1.0 - r * r))
    return np.where(inside, out, np.inf)


def relu_layer_rate(
    q: np.ndarray | float, r: np.ndarray | float, *, n_iter: int = 90, return_tilt: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """I(q | r) = sup_u -Lambda(u; q, r) (numerical Legendre transform, vectorized golden section).

    -Lambda is concave in u, so a golden-section search over the finite-CGF interval (clipped
    below at -1e4) converges to the supremum. q in [0, 1), r in [0, 1); broadcasts. With
    ``return_tilt`` also returns the maximizing u (the unit-level tilt that makes q typical).
    """
    q = check_overlap_array(q, "q", lo=0.0)
    r = check_overlap_array(r, "r", lo=0.0)
    q, r = np.broadcast_arrays(q, r)
    u_lo, u_hi = _relu_domain(q, r)
    span = np.where(np.isfinite(u_hi), u_hi, 1e4) - np.maximum(u_lo, _U_FLOOR)
    lo = np.maximum(u_lo, _U_FLOOR) + 1e-12 * span
    hi = np.where(np.isfinite(u_hi), u_hi, 1e4) - 1e-12 * span
    g = (np.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = relu_layer_cgf(x1, q, r), relu_layer_cgf(x2, q, r)
    for _ in range(n_iter):  # minimize the convex Lambda
        left = f1 < f2
        hi = np.where(left, x2, hi)
        lo = np.where(left, lo, x1)
        x2n = np.where(left, x1, lo + g * (hi - lo))
        x1n = np.where(left, hi - g * (hi - lo), x2)
        f2 = np.where(left, f1, np.nan)
        f1 = np.where(left, np.nan, f2)
        x1, x2 = x1n, x2n
        need1, need2 = np.isnan(f1), np.isnan(f2)
        f1 = np.where(need1, relu_layer_cgf(x1, q, r), f1)
        f2 = np.where(need2, relu_layer_cgf(x2, q, r), f2)
    best = np.minimum(np.minimum(f1, f2), 0.0)  # Lambda(0) = 0 bounds the infimum
    if return_tilt:
        u = np.where(f1 < f2, x1, x2)
        return -best, np.where(best < 0.0, u, 0.0)
    return -best


def sign_layer_tilt(q: np.ndarray | float, r: np.ndarray | float) -> np.ndarray:
    """Tilt u making q typical for ±1 agreements of mean m = (2/pi) asin r: atanh(q) - atanh(m)."""
    q = check_overlap_array(q, "q")
    r = check_overlap_array(r, "r")
    m = (2.0 / np.pi) * np.arcsin(r)
    with np.errstate(divide="ignore"):
        return np.arctanh(q) - np.arctanh(m)


def sign_layer_cgf(u: np.ndarray | float, r: np.ndarray | float) -> np.ndarray:
    """ln E exp(u s s') = ln(cosh u + m sinh u), m = (2/pi) asin r."""
    u = np.asarray(u, dtype=np.float64)
    m = (2.0 / np.pi) * np.arcsin(check_overlap_array(r, "r"))
    return np.log(np.cosh(u) + m * np.sinh(u))


def layer_rate(activation: str, q: np.ndarray | float, r: np.ndarray | float) -> np.ndarray:
    """One-layer rate I(q | r): :func:`sign_layer_rate` or :func:`relu_layer_rate`."""
    if check_activation(activation) == "sign":
        return sign_layer_rate(q, r)
    return relu_layer_rate(q, r)


@dataclass(frozen=True)
class PathRate:
    """Rate functions of every layer's overlap, from the path minimization.

    Attributes
    ----------
    grid : ndarray (G,)
        Overlap values q.
    rates : ndarray (L, G)
        Phi_l(q) for l = 1..L (row l-1).
    paths : ndarray (L, G, L)
        paths[l-1, g] = optimal (q_1, ..., q_l) ending at grid[g] (entries beyond l are NaN).
    activation : str
    rho : float
    """

    grid: np.ndarray
    rates: np.ndarray
    paths: np.ndarray
    activation: str
    rho: float

    @property
    def depth(self) -> int:
        return int(self.rates.shape[0])

    def typical(self) -> np.ndarray:
        """argmin_q Phi_l(q) for each layer (L,) (the mean-field overlaps, to grid resolution)."""
        return self.grid[np.argmin(self.rates, axis=1)]


def default_grid(activation: str, n: int = 201) -> np.ndarray:
    """Grid of overlaps: [-1, 1] for sign (odd n includes 0), [0, 0.99] for relu (q = 1 excluded)."""
    if check_activation(activation) == "sign":
        return np.linspace(-1.0, 1.0, n)
    return np.linspace(0.0, 0.99, n)


def path_rate(activation: str, rho: float, depth: int, grid: np.ndarray | None = None) -> PathRate:
    """Contract the one-layer rates over depth (dynamic programming on ``grid``).

    Parameters
    ----------
    activation : {"sign", "relu"}
    rho : float in (0, 1)
        Weight correlation of the perturbation.
    depth : int >= 1
    grid : ndarray (G,), optional
        Overlap grid (default :func:`default_grid`; relu grids must lie in [0, 1)).

    Returns
    -------
    PathRate
    """
    activation = check_activation(activation)
    rho = check_rho(rho, allow_one=False)
    depth = check_int(depth, "depth", 1)
    grid = default_grid(activation) if grid is None else check_overlap_array(grid, "grid")
    if grid.ndim != 1 or grid.size < 3 or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be a strictly increasing 1-D array of at least 3 overlaps")
    if activation == "relu" and (grid[0] < 0 or grid[-1] >= 1):
        raise ValueError("relu overlaps (cosines of non-negative vectors) need a grid inside [0, 1)")
    G = grid.size
    # K[g, g'] = I(grid[g] | rho grid[g'])
    K = layer_rate(
        activation, grid[:, None], rho * np.clip(grid[None, :], 0.0 if activation == "relu" else -1.0, 1.0)
    )
    rates = np.empty((depth, G))
    back = np.zeros((depth, G), dtype=np.int64)
    rates[0] = layer_rate(activation, grid, rho)
    for layer in range(1, depth):  # loop over layers
        total = rates[layer - 1][None, :] + K
        back[layer] = np.argmin(total, axis=1)
        rates[layer] = total[np.arange(G), back[layer]]
    paths = np.full((depth, G, depth), np.nan)
    for layer in range(depth):
        idx = np.arange(G)
        for k in range(layer, -1, -1):
            paths[layer, :, k] = grid[idx]
            idx = back[k, idx]
    return PathRate(grid=grid, rates=rates, paths=paths, activation=activation, rho=rho)


def scgf(grid: np.ndarray, rate: np.ndarray, theta: np.ndarray | float) -> np.ndarray:
    """lambda(theta) = max_q [theta q - rate(q)] on the grid (Legendre-Fenchel transform)."""
    grid = np.asarray(grid, dtype=np.float64)
    rate = np.asarray(rate, dtype=np.float64)
    if grid.shape != rate.shape or grid.ndim != 1:
        raise ValueError(f"grid and rate must be 1-D of equal length, got {grid.shape} and {rate.shape}")
    theta = np.asarray(theta, dtype=np.float64)
    return np.max(theta[..., None] * grid - rate, axis=-1)

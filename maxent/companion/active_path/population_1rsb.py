r"""1RSB cavity method at general Parisi parameter m: population of populations (finite T).

Each directed edge carries a distribution, over the pure states alpha, of its cavity field.
It is represented by an inner population of ``n_inner`` fields; the ensemble of such
distributions by an outer population of ``n_outer`` inner populations. One iteration builds every
outer member anew: K ~ Poisson(c) factors, each with one J = ±1 (the same in all states) and
p - 1 random outer members; for every inner index r a field is assembled from independent
random inner members of those neighbours (states of different branches are independent),

    u^r_b = (1/beta) atanh( tanh(beta J_b) prod_j tanh(beta h^r_j) ),   h^r = sum_b u^r_b,

and the inner population is resampled with the Parisi reweighting Z_r^m,

    Z_r = 2 cosh(beta h^r) / prod_b 2 cosh(beta u^r_b)

(the normalization of the cavity marginal; factor-to-variable normalizations are constant,
2 cosh beta J, and drop out). The replicated free entropy and its Legendre transform are

    Psi(m)     = E log E_r[Z_i^m] + (c/p) E log E_r[Z_a^m] - c E log E_r[Z_ia^m]
    phi_int(m) = dPsi/dm = E[ E_r(Z^m log Z) / E_r(Z^m) ]   (same three terms)
    Sigma(m)   = Psi(m) - m phi_int(m)                        (complexity, nats / variable)

with Z_i, Z_a, Z_ia as in :mod:`.bp`, evaluated on independent inner draws. Order parameters:
q1 = E[ <tanh^2(beta H)>_r ] (overlap inside a state) and q0 = E[ <tanh(beta H)>_r^2 ] (between
states; 0 here by the ±J symmetry).

At m = 1 this must agree with the planted reduction (:func:`.population.cavity_m1`): Psi(1) =
phi_para, Sigma(1) = the planted complexity, q1 = the planted overlap (Nishimori identity) --
the tests check it. For m < 1 it gives the static (condensed) phase: the Parisi parameter m*
with Sigma(m*) = 0 (:func:`parisi_m_star`) and the equilibrium free entropy Psi(m*)/m*.

Cost ~ n_outer * n_inner * c * p per iteration; statistical errors ~ (n_outer)^-1/2, and a bias
O(1/n_inner) in the within-state averages: the weights Z^m are broad (log Z varies by O(beta K)),
so few inner members carry a row and the inner population drifts towards polarization (q0 > 0).
This is why the phase diagram uses the m = 1 planted reduction, which has no inner population.
The model is the *inferred* active path ensemble (:mod:`.instances`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from maxent._validation import check_int

from ._fields import atanh_product, log1p_product, log2cosh
from .instances import _check_beta
from .population import _draw_J, paramagnet

__all__ = ["RSB1Result", "cavity_1rsb", "parisi_m_star"]


@dataclass(frozen=True)
class RSB1Result:
    """Densities per variable from 1RSB population dynamics at Parisi parameter m (means over the
    measurement iterations; ``*_err`` their standard errors)."""

    c: float
    p: int
    beta: float
    m: float
    psi: float
    phi_internal: float
    complexity: float
    q1: float
    q0: float
    psi_err: float
    complexity_err: float


def _factor_fields(h: np.ndarray, n_fac: int, p: int, beta: float, rng: np.random.Generator) -> np.ndarray:
    """(n_fac, n_inner) factor messages from random outer members and independent inner draws."""
    n_out, n_in = h.shape
    J = _draw_J(rng, n_fac, beta, planted=False)
    outer = rng.integers(0, n_out, size=(n_fac, p - 1, 1))
    inner = rng.integers(0, n_in, size=(n_fac, p - 1, n_in))
    x = h[outer, inner]  # (n_fac, p - 1, n_in)
    Jb = np.broadcast_to(J[:, None, None], (n_fac, 1, n_in))
    return atanh_product(np.concatenate([Jb, x], axis=1), beta, axis=1) / beta


def _sum_by_owner(u: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Row sums of u (T, n_in) grouped by consecutive owners with counts K (n,) -> (n, n_in)."""
    out = np.zeros((K.size, u.shape[1]))
    nz = K > 0
    if u.shape[0]:
        starts = np.concatenate([[0], np.cumsum(K)[:-1]])[nz]
        out[nz] = np.add.reduceat(u, starts, axis=0)
    return out


def _variable_term(h, c, p, beta, rng):
    """Fields H (n, n_in) of variables of full degree K ~ Poisson(c), and log Z_i - (1 - K) ln 2."""
    n_out = h.shape[0]
    K = rng.poisson(c, size=n_out)
    u = _factor_fields(h, int(K.sum()), p, beta, rng)
    H = _sum_by_owner(u, K)
    log_z = log2cosh(beta * H) - _sum_by_owner(log2cosh(beta * u), K) - (1.0 - K)[:, None] * np.log(2.0)
    return K, H, log_z


def _resample(h: np.ndarray, log_w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Resample each row of h with weights exp(log_w) (row-wise inverse CDF)."""
    n_out, n_in = h.shape
    w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
    cdf = np.cumsum(w, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random((n_out, n_in))
    idx = (cdf[:, None, :] < u[:, :, None]).sum(axis=2) if n_in <= 64 else _searchsorted_rows(cdf, u)
    return np.take_along_axis(h, np.minimum(idx, n_in - 1), axis=1)


def _searchsorted_rows(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    n_out = cdf.shape[0]
    off = np.arange(n_out)[:, None] * 2.0
    return (
        np.searchsorted((cdf + off).ravel(), (u + off).ravel()).reshape(u.shape)
        - np.arange(n_out)[:, None] * cdf.shape[1]
    )


def _weighted(log_z: np.ndarray, m: float) -> tuple[np.ndarray, np.ndarray]:
    """(log E_r Z^m, E_r[Z^m log Z] / E_r[Z^m]) per row."""
    n_in = log_z.shape[1]
    a = m * log_z
    lse = logsumexp(a, axis=1)
    w = np.exp(a - lse[:, None])
    return lse - np.log(n_in), np.sum(w * log_z, axis=1)


def cavity_1rsb(
    c: float,
    p: int,
    beta: float,
    m: float,
    *,
    n_outer: int = 1000,
    n_inner: int = 64,
    n_iter: int = 100,
    n_measure: int = 10,
    init_field: float = 3.0,
    seed: int | np.random.Generator | None = None,
) -> RSB1Result:
    """1RSB population dynamics at Parisi parameter ``m`` in (0, 1].

    Inner fields start at ±``init_field`` with random signs (states polarized in random
    directions; the paramagnet is reached instead where no glass exists).

    Parameters
    ----------
    c, p, beta : as in :func:`.population.cavity_m1`
    m : float in (0, 1]
    n_outer, n_inner : int
        Outer population size (distributions) and inner size (states per distribution).
    n_iter, n_measure : int
    init_field : float
    seed : int or Generator
    """
    c = float(c)
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"mean degree c must be a finite positive float, got {c!r}")
    p = check_int(p, "p", 2)
    beta = _check_beta(beta)
    m = float(m)
    if not np.isfinite(m) or not 0 < m <= 1:
        raise ValueError(f"Parisi parameter m must lie in (0, 1], got {m!r}")
    n_outer = check_int(n_outer, "n_outer", 2)
    n_inner = check_int(n_inner, "n_inner", 2)
    n_iter, n_measure = check_int(n_iter, "n_iter", 0), check_int(n_measure, "n_measure", 2)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    h = init_field * rng.choice(np.array([-1.0, 1.0]), size=(n_outer, n_inner))
    ln2 = np.log(2.0)
    rows = []
    for t in range(n_iter + n_measure):
        # cavity update: excess degree ~ Poisson(c); reweight by Z^m and resample per row
        K = rng.poisson(c, size=n_outer)
        u = _factor_fields(h, int(K.sum()), p, beta, rng)
        Hc = _sum_by_owner(u, K)
        log_z = log2cosh(beta * Hc) - _sum_by_owner(log2cosh(beta * u), K)
        h = _resample(Hc, m * log_z, rng)
        if t < n_iter:
            continue
        # variable term (control variate: the paramagnetic (1 - K) ln 2 removed, mean added back)
        Kf, H, lz_i = _variable_term(h, c, p, beta, rng)
        psi_i, int_i = _weighted(lz_i, m)
        psi_i = psi_i.mean() + m * (1.0 - c) * ln2
        int_i = int_i.mean() + (1.0 - c) * ln2
        # factor term: p outer members, independent inner draws
        J = _draw_J(rng, n_outer, beta, planted=False)
        outer = rng.integers(0, n_outer, size=(n_outer, p, 1))
        inner = rng.integers(0, n_inner, size=(n_outer, p, n_inner))
        x = np.concatenate(
            [np.broadcast_to(J[:, None, None], (n_outer, 1, n_inner)), h[outer, inner]], axis=1
        )
        lz_a = (log2cosh(beta * J) - ln2)[:, None] + log1p_product(x, beta, axis=1)
        psi_a, int_a = _weighted(lz_a, m)
        # edge term: a cavity field and an independent factor message
        u_e = _factor_fields(h, n_outer, p, beta, rng)
        h_e = h[
            rng.integers(0, n_outer, size=n_outer)[:, None], rng.integers(0, n_inner, size=(n_outer, n_inner))
        ]
        lz_ia = log1p_product(np.stack([h_e, u_e], axis=-1), beta, axis=-1) - ln2
        psi_ia, int_ia = _weighted(lz_ia, m)
        psi = psi_i + c / p * psi_a.mean() - c * psi_ia.mean()
        phi_int = int_i + c / p * int_a.mean() - c * int_ia.mean()
        # order parameters from the full fields, weighted by Z_i^m
        w = np.exp(m * lz_i - logsumexp(m * lz_i, axis=1, keepdims=True))
        t_h = np.tanh(beta * H)
        q1 = np.mean(np.sum(w * t_h**2, axis=1))
        q0 = np.mean(np.sum(w * t_h, axis=1) ** 2)
        rows.append((psi, phi_int, psi - m * phi_int, q1, q0))
    R = np.array(rows)
    mean = R.mean(axis=0)
    err = R.std(axis=0, ddof=1) / np.sqrt(len(R))
    return RSB1Result(c, p, beta, m, *map(float, mean), float(err[0]), float(err[2]))


def parisi_m_star(
    c: float,
    p: int,
    beta: float,
    *,
    tol: float = 0.02,
    seed: int | None = 0,
    **kwargs,
) -> dict[str, float]:
    """Static Parisi parameter m* in the condensed phase: Sigma(m*) = 0, by bisection on m.

    Returns m_star (1.0 when Sigma(1) >= 0 or no glass: not condensed), the equilibrium free
    entropy phi = Psi(m*) / m*, the paramagnetic (annealed) phi_para, which bounds it from above
    in the condensed phase, and q1. ``kwargs`` go to :func:`cavity_1rsb` (use n_inner >= 256:
    the within-state averages carry an O(1/n_inner) bias; measured at c = 4, beta = 1.3, m = 1:
    Sigma = 0.041, 0.030, -0.000 for n_inner = 32, 128, 512 against 0.007 from the planted
    reduction, and q0 = 0.11, 0.03, 0.008 against its exact value 0).
    """
    rng = np.random.default_rng(seed)
    r1 = cavity_1rsb(c, p, beta, 1.0, seed=rng, **kwargs)
    para = paramagnet(c, p, beta)["phi"]
    if r1.complexity >= 0 or r1.q1 < 0.05:
        return {"m_star": 1.0, "phi": r1.psi, "phi_para": para, "q1": r1.q1}
    lo, hi = 0.05, 1.0
    last = r1
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        r = cavity_1rsb(c, p, beta, mid, seed=rng, **kwargs)
        if r.complexity < 0:
            hi, last = mid, r
        else:
            lo = mid
    return {"m_star": 0.5 * (lo + hi), "phi": last.psi / last.m, "phi_para": para, "q1": last.q1}

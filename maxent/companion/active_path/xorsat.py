r"""Random p-XORSAT at zero temperature: the solver check of the 1RSB cavity method.

At T = 0 the +-J p-spin ensemble of :mod:`.population` is random p-XORSAT (alpha = c / p
clauses per variable). In its SAT phase the 1RSB cavity equations at m -> 0 (energetic, y ->
infinity) reduce to *warning propagation*: a cavity field is frozen (a warning) or not, and in the
gauge of a solution

    u frozen  <=>  all p - 1 other cavity fields of the clause are frozen,
    h frozen  <=>  at least one of the K ~ Poisson(c) incoming u is frozen,   c = p alpha.

Started from "all frozen" this is leaf removal: the frozen variables form the backbone of the
2-core. Scalar oracle (Mezard, Ricci-Tersenghi, Zecchina, J. Stat. Phys. 111, 505 (2003)):

    Q = 1 - exp(-p alpha Q^(p-1))                       (largest root: frozen cavity fraction)
    core variables / n = 1 - e^{-y} - y e^{-y},   core clauses / n = alpha Q^p,   y = p alpha Q^(p-1)
    Sigma(alpha) = Q - p alpha Q^(p-1) + (p-1) alpha Q^p  (log_2 of #clusters / n = core vars - core clauses)

alpha_d: smallest alpha with a root Q > 0, alpha_d = min_{0<Q<1} -ln(1 - Q) / (p Q^(p-1))
(p = 3: 0.818469); alpha_s: Sigma(alpha_s) = 0 (p = 3: 0.917935).

The *solver under test* is :func:`frozen_population`, the population version (a population of
frozen/not-frozen cavity fields, updated in parallel); :func:`population_thresholds` locates
alpha_d (bisection on survival of a frozen population after ``n_iter`` iterations) and alpha_s
(root of the population complexity) with error bars over independent populations. Finite
populations and finite ``n_iter`` bias alpha_d (near the spinodal the frozen fraction lingers on a
plateau of length ~ (alpha_d - alpha)^(-1/2)); :func:`scalar_threshold_finite_iter` gives the
same finite-iteration threshold for the scalar recursion, to separate the two effects.
:func:`leaf_removal` and :func:`satisfiable` (GF(2) elimination of the core) are the
instance-level checks: core sizes, and the fraction of satisfiable instances, which falls from 1
to 0 around alpha_s as n grows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize_scalar

from maxent._validation import check_int

from .instances import PathInstance

__all__ = [
    "frozen_fraction",
    "complexity",
    "core_sizes",
    "alpha_dynamical",
    "alpha_satisfiability",
    "frozen_population",
    "population_thresholds",
    "scalar_threshold_finite_iter",
    "leaf_removal",
    "satisfiable",
]


def _check_alpha(alpha: float) -> float:
    a = float(alpha)
    if not np.isfinite(a) or a < 0:
        raise ValueError(f"alpha must be a finite float >= 0, got {alpha!r}")
    return a


def _check_p(p: int) -> int:
    p = check_int(p, "p", 1)
    if p < 3:
        raise ValueError(f"the XORSAT clustering transition needs p >= 3, got p={p}")
    return p


def frozen_fraction(alpha: float, p: int = 3, *, n_iter: int | None = None) -> float:
    """Largest fixed point Q of Q = 1 - exp(-p alpha Q^(p-1)), iterated from Q = 1.

    ``n_iter=None`` iterates to convergence (1e-14) and returns 0 below alpha_d; an integer gives
    the value after exactly that many iterations (the finite-iteration oracle of the population).
    """
    a, p = _check_alpha(alpha), _check_p(p)
    Q = 1.0
    steps = n_iter if n_iter is not None else 1_000_000
    for _ in range(steps):
        Qn = 1.0 - np.exp(-p * a * Q ** (p - 1))
        if n_iter is None and abs(Qn - Q) < 1e-14:
            Q = Qn
            break
        Q = Qn
    return float(Q) if n_iter is not None or Q > 1e-6 else 0.0


def complexity(alpha: float, p: int = 3) -> float:
    """Sigma(alpha) = Q - p alpha Q^(p-1) + (p-1) alpha Q^p in bits per variable (0 below alpha_d)."""
    Q = frozen_fraction(alpha, p)
    a = float(alpha)
    return float(Q - p * a * Q ** (p - 1) + (p - 1) * a * Q**p)


def core_sizes(alpha: float, p: int = 3) -> tuple[float, float]:
    """(core variables / n, core clauses / n) of the 2-core in the large-n limit."""
    Q = frozen_fraction(alpha, p)
    y = p * float(alpha) * Q ** (p - 1)
    return float(1 - np.exp(-y) - y * np.exp(-y)), float(alpha * Q**p)


def alpha_dynamical(p: int = 3) -> float:
    """Clustering threshold alpha_d = min_{0<Q<1} -ln(1 - Q) / (p Q^(p-1)) (p=3: 0.818469)."""
    p = _check_p(p)
    res = minimize_scalar(
        lambda Q: -np.log1p(-Q) / (p * Q ** (p - 1)),
        bounds=(1e-6, 1 - 1e-12),
        method="bounded",
        options={"xatol": 1e-13},
    )
    return float(res.fun)


def alpha_satisfiability(p: int = 3) -> float:
    """Satisfiability threshold: the root of Sigma(alpha) above alpha_d (p=3: 0.917935)."""
    ad = alpha_dynamical(p)
    return float(brentq(lambda a: complexity(a, p), ad + 1e-9, 1.0, xtol=1e-13))


def scalar_threshold_finite_iter(p: int = 3, n_iter: int = 300, q_min: float = 0.05) -> float:
    """alpha at which the scalar recursion from Q=1 still has Q > q_min after ``n_iter`` steps."""
    p = _check_p(p)
    return float(brentq(lambda a: frozen_fraction(a, p, n_iter=n_iter) - q_min, 0.5, 1.0, xtol=1e-12))


def frozen_population(
    alpha: float,
    p: int = 3,
    *,
    pop_size: int = 10_000,
    n_iter: int = 300,
    n_measure: int = 20,
    seed: int | np.random.Generator | None = None,
) -> dict[str, float]:
    """Warning-propagation population dynamics from an all-frozen population.

    Returns a dict with ``frozen`` (cavity frozen fraction, estimate of Q), ``core_vars``
    (fraction of variables with >= 2 frozen incoming warnings), ``core_clauses`` (alpha x
    fraction of clauses whose p cavity fields are all frozen), ``complexity`` (core_vars -
    core_clauses, bits per variable) and ``complexity_err`` (standard error over the
    ``n_measure`` final iterations). A population that died out (all unfrozen) stays dead.
    """
    a, p = _check_alpha(alpha), _check_p(p)
    pop_size = check_int(pop_size, "pop_size", 2)
    n_iter, n_measure = check_int(n_iter, "n_iter", 0), check_int(n_measure, "n_measure", 1)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    c = p * a
    frozen = np.ones(pop_size, dtype=bool)

    def incoming(size: int) -> tuple[np.ndarray, np.ndarray]:
        K = rng.poisson(c, size=size)
        u = np.all(frozen[rng.integers(0, pop_size, size=(int(K.sum()), p - 1))], axis=1)
        return K, np.bincount(np.repeat(np.arange(size), K), weights=u, minlength=size)

    rows = []
    for t in range(n_iter + n_measure):
        _, n_frozen_in = incoming(pop_size)
        frozen = n_frozen_in > 0
        if t >= n_iter:
            _, full = incoming(pop_size)
            core_v = float(np.mean(full >= 2))
            core_c = a * float(np.mean(np.all(frozen[rng.integers(0, pop_size, size=(pop_size, p))], axis=1)))
            rows.append((frozen.mean(), core_v, core_c, core_v - core_c))
    R = np.array(rows)
    err = R[:, 3].std(ddof=1) / np.sqrt(len(R)) if len(R) > 1 else np.nan
    return {
        "frozen": float(R[:, 0].mean()),
        "core_vars": float(R[:, 1].mean()),
        "core_clauses": float(R[:, 2].mean()),
        "complexity": float(R[:, 3].mean()),
        "complexity_err": float(err),
    }


def _bisect(pred, lo: float, hi: float, tol: float) -> float:
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if pred(mid):
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def population_thresholds(
    p: int = 3,
    *,
    pop_size: int = 10_000,
    n_iter: int = 300,
    n_measure: int = 20,
    n_repeats: int = 4,
    tol: float = 1e-3,
    q_min: float = 0.05,
    seed: int | None = 0,
) -> pd.DataFrame:
    """alpha_d and alpha_s from :func:`frozen_population`, one row per threshold (tidy).

    alpha_d: bisection on "frozen fraction > q_min after n_iter iterations" (bracket [0.5, 1]).
    alpha_s: bisection on "population complexity < 0" above alpha_d. Each of ``n_repeats``
    independent populations gives one estimate; the table has columns threshold, estimate
    (mean), stderr (standard error over repeats), sd, n_repeats, pop_size, n_iter, exact
    (the scalar large-iteration value) and scalar_finite_iter (alpha_d of the scalar recursion
    after the same n_iter; NaN for alpha_s).
    """
    p = _check_p(p)
    n_repeats = check_int(n_repeats, "n_repeats", 2)
    seeds = np.random.SeedSequence(seed).spawn(n_repeats)
    ad, as_ = [], []
    for ss in seeds:
        rng = np.random.default_rng(ss)
        kw = dict(p=p, pop_size=pop_size, n_iter=n_iter, n_measure=n_measure, seed=rng)
        a_d = _bisect(lambda a, kw=kw: frozen_population(a, **kw)["frozen"] > q_min, 0.5, 1.0, tol)
        a_s = _bisect(lambda a, kw=kw: frozen_population(a, **kw)["complexity"] < 0, a_d, 1.0, tol)
        ad.append(a_d)
        as_.append(a_s)
    rows = []
    for name, vals, exact, fin in (
        ("alpha_d", ad, alpha_dynamical(p), scalar_threshold_finite_iter(p, n_iter, q_min)),
        ("alpha_s", as_, alpha_satisfiability(p), np.nan),
    ):
        v = np.asarray(vals)
        rows.append(
            {
                "threshold": name,
                "estimate": v.mean(),
                "stderr": v.std(ddof=1) / np.sqrt(v.size),
                "sd": v.std(ddof=1),
                "n_repeats": v.size,
                "pop_size": pop_size,
                "n_iter": n_iter,
                "p": p,
                "exact": exact,
                "scalar_finite_iter": fin,
            }
        )
    return pd.DataFrame(rows)


def _core_mask(instance: PathInstance) -> np.ndarray:
    """Boolean mask (M,) of the clauses in the 2-core (leaf removal, in parallel rounds)."""
    F = instance.factors
    n = instance.n_vars
    alive = np.ones(F.shape[0], dtype=bool)
    while True:
        deg = np.bincount(F[alive].ravel(), minlength=n)
        kill = alive & np.any(deg[F] == 1, axis=1)
        if not kill.any():
            return alive
        alive &= ~kill


def leaf_removal(instance: PathInstance) -> dict[str, float]:
    """Leaf removal on an instance: strip variables of degree 1 with their clause until none is left.

    Returns core_vars / n and core_clauses / n (the 2-core; unique, whatever the removal order).
    """
    alive = _core_mask(instance)
    deg = np.bincount(instance.factors[alive].ravel(), minlength=instance.n_vars)
    return {"core_vars": float(np.mean(deg >= 2)), "core_clauses": float(alive.sum() / instance.n_vars)}


def satisfiable(instance: PathInstance) -> bool:
    """Whether every XOR clause prod_{k in a} w_k = J_a can hold at once (J_a = ±1).

    With w = (-1)^x this is the GF(2) system sum_{k in a} x_k = (1 - J_a)/2; leaf removal keeps
    satisfiability (a leaf variable can always fix its clause), so only the 2-core is eliminated
    (Gaussian elimination on bit-packed rows). Equivalent to: the ground-state energy is -M.
    """
    J = instance.J
    if not np.all(np.abs(J) == 1):
        raise ValueError("satisfiable() needs couplings J = ±1")
    alive = _core_mask(instance)
    F = instance.factors[alive]
    if F.shape[0] == 0:
        return True
    used, local = np.unique(F, return_inverse=True)
    local = local.reshape(F.shape)
    n, M = used.size, F.shape[0]
    A = np.zeros((M, n + 1), dtype=np.uint8)
    np.put_along_axis(A, local, 1, axis=1)  # distinct variables per clause
    A[:, n] = (J[alive] < 0).astype(np.uint8)
    P = np.packbits(A, axis=1)
    row = 0
    for col in range(n):
        byte, mask = col // 8, np.uint8(0x80 >> (col % 8))
        hits = np.nonzero(P[row:, byte] & mask)[0]
        if hits.size == 0:
            continue
        piv = row + hits[0]
        if piv != row:
            P[[row, piv]] = P[[piv, row]]
        below = row + 1 + np.nonzero(P[row + 1 :, byte] & mask)[0]
        P[below] ^= P[row]
        row += 1
        if row == M:
            break
    # rows from `row` on have no coefficient left; a set right-hand side is a contradiction 0 = 1
    bbyte, bmask = n // 8, np.uint8(0x80 >> (n % 8))
    return not bool(np.any(P[row:, bbyte] & bmask))

r"""Phase diagram of the (inferred) random active path model over (removal rho, temperature T).

At path density alpha_path = M / N^2 and depth L = p >= 3, a surviving weight lies on
c = alpha_path / (1 - rho) active paths on average (:mod:`.instances`), so every transition
line c_*(T) of the diluted +-J p-spin ensemble maps to a critical removal

    rho_*(T) = 1 - alpha_path / c_*(T)          (rho_* <= 0: glassy already without removal).

Lines (from :func:`.population.cavity_m1`, the 1RSB cavity at m = 1):

- dynamical (clustering) c_d(T): smallest c at which the planted population keeps q > q_min;
  q jumps from 0 to q_d > 0 there (``q_jump``): a discontinuous, random first-order transition
  (``order = "first"`` when q_jump > 0.1);
- static (condensation / Kauzmann) c_s(T): the root of the m = 1 complexity Sigma(1) above c_d.
  For rho > rho_s the equilibrium measure is a spin glass (a few states carry it); for
  rho_d < rho < rho_s it is split into exponentially many states but the free energy is still
  the paramagnetic one (dynamical glass); for rho < rho_d it is a paramagnet.

At T = 0 the lines come from the warning-propagation population of :mod:`.xorsat`
(c = p alpha_d, p alpha_s). Each line is located by bisection (to ``tol`` in c) for
``n_repeats`` independent populations; the table reports the mean and the standard error over
repeats (statistical, population size ``pop_size``) combined with the bisection resolution
tol / sqrt(12). Not included in the error bars: the bias
of finite populations (O(1/pop_size)) and of finite iteration counts near c_d (estimates lie
slightly low: a slowly dying population still counts as alive), and the finite-N corrections of
the mapping to the Poisson ensemble.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from maxent._validation import check_int

from .instances import check_rho
from .population import cavity_m1
from .xorsat import frozen_population

__all__ = ["locate_transitions", "phase_diagram", "order_parameter_grid"]


def _bisect(pred, lo: float, hi: float, tol: float) -> tuple[float, float]:
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if pred(mid):
            hi = mid
        else:
            lo = mid
    return lo, hi


def locate_transitions(
    T: float,
    p: int = 3,
    *,
    pop_size: int = 4000,
    n_iter: int = 200,
    n_measure: int = 40,
    tol: float = 0.02,
    q_min: float = 0.1,
    c_max: float = 64.0,
    seed: int | np.random.Generator | None = None,
) -> dict[str, float]:
    """c_d(T) and c_s(T) for one population seed (T = 0: warning propagation, alpha = c / p).

    Returns c_d, c_s, q_jump (order parameter just above c_d; frozen fraction at T = 0),
    sigma_at_cd (m = 1 complexity just above c_d, nats; bits x ln 2 at T = 0).
    """
    p = check_int(p, "p", 3)
    T = float(T)
    if not np.isfinite(T) or T < 0:
        raise ValueError(f"temperature must be a finite float >= 0, got {T!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if T == 0.0:
        kw = dict(p=p, pop_size=pop_size, n_iter=n_iter, n_measure=n_measure, seed=rng)

        def evaluate(c):
            r = frozen_population(c / p, **kw)
            return r["frozen"], r["complexity"] * np.log(2.0)
    else:
        beta = 1.0 / T

        def evaluate(c):
            r = cavity_m1(c, p, beta, pop_size=pop_size, n_iter=n_iter, n_measure=n_measure, seed=rng)
            return r.q, r.complexity

    seen: dict[float, tuple[float, float]] = {}

    def run(c):
        # one evaluation per c: near c_d a small population dies at random, so a re-run could
        # contradict the bisection; q_jump and Sigma are read from the run that decided
        if c not in seen:
            seen[c] = evaluate(c)
        return seen[c]

    hi = 2.0
    while run(hi)[0] <= q_min:
        hi *= 2.0
        if hi > c_max:
            raise ValueError(f"no clustered phase below c_max={c_max} at T={T}; lower T or raise c_max")
    lo_d, hi_d = _bisect(lambda c: run(c)[0] > q_min, hi / 2.0 if hi > 2.0 else 0.0, hi, tol)
    q_jump, sigma_d = run(hi_d)
    hi_s = hi_d
    while True:
        q, s = run(hi_s)
        if q > q_min and s < 0:
            break
        hi_s *= 1.5
        if hi_s > c_max:
            raise ValueError(f"no condensation below c_max={c_max} at T={T}")
    lo_s = hi_d
    if not (sigma_d > 0):
        lo_s = hi_s = hi_d  # condensation right at the clustering point
    else:
        lo_s, hi_s = _bisect(lambda c: (lambda r: r[0] > q_min and r[1] < 0)(run(c)), lo_s, hi_s, tol)
    return {
        "c_d": 0.5 * (lo_d + hi_d),
        "c_s": 0.5 * (lo_s + hi_s),
        "q_jump": float(q_jump),
        "sigma_at_cd": float(sigma_d),
    }


def phase_diagram(
    temperatures: np.ndarray | list[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    *,
    n_layers: int = 3,
    path_density: float = 1.5,
    pop_size: int = 4000,
    n_iter: int = 200,
    n_measure: int = 40,
    n_repeats: int = 3,
    tol: float = 0.02,
    q_min: float = 0.1,
    seed: int | None = 0,
    n_jobs: int | None = 1,
) -> pd.DataFrame:
    """Critical removal probabilities rho_d(T), rho_s(T) with error bars (tidy table).

    Parameters
    ----------
    temperatures : sequence of float >= 0
        Temperatures T = 1/beta (0 uses the T = 0 XORSAT solver).
    n_layers : int >= 3
        Depth L = p (factor size).
    path_density : float > 0
        alpha_path = M / N^2, active paths per possible edge of one block.
    pop_size, n_iter, n_measure : int
        Population size, equilibration and measurement iterations per evaluation.
    n_repeats : int >= 2
        Independent populations per temperature (error bars = standard error over them).
    tol : float
        Bisection tolerance in c.
    q_min : float
        Order-parameter threshold separating a dead (paramagnetic) population from a live one.
    seed : int or None
    n_jobs : int or None
        joblib workers over (temperature, repeat).

    Returns
    -------
    DataFrame
        One row per (T, transition in {"dynamical", "static"}): T, transition, c, c_err,
        rho, rho_err (standard errors over repeats combined with the bisection resolution;
        rho = 1 - path_density / c, kept when negative, which means glassy at rho = 0), q_jump,
        q_jump_err (order parameter just above the line, from the run that decided the
        bisection), order ("first" if q_jump > 0.1 else "continuous"), n_layers, path_density,
        pop_size, n_repeats.
    """
    L = check_int(n_layers, "n_layers", 3)
    a = float(path_density)
    if not np.isfinite(a) or a <= 0:
        raise ValueError(f"path_density must be a finite positive float, got {path_density!r}")
    Ts = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    if Ts.ndim != 1 or Ts.size == 0 or not np.all(np.isfinite(Ts)) or np.any(Ts < 0):
        raise ValueError(f"temperatures must be finite values >= 0, got {temperatures!r}")
    n_repeats = check_int(n_repeats, "n_repeats", 2)
    if not (0 < tol < 1):
        raise ValueError(f"tol must lie in (0, 1), got {tol!r}")
    seeds = np.random.SeedSequence(seed).spawn(Ts.size * n_repeats)
    tasks = [(T, r) for T in Ts for r in range(n_repeats)]
    kw = dict(p=L, pop_size=pop_size, n_iter=n_iter, n_measure=n_measure, tol=tol, q_min=q_min)
    out = Parallel(n_jobs=n_jobs)(
        delayed(locate_transitions)(T, seed=np.random.default_rng(ss), **kw)
        for (T, _), ss in zip(tasks, seeds, strict=True)
    )
    raw = pd.DataFrame([{"T": T, "repeat": r, **o} for (T, r), o in zip(tasks, out, strict=True)])
    rows = []
    for T, g in raw.groupby("T", sort=True):
        k = len(g)
        for name, col in (("dynamical", "c_d"), ("static", "c_s")):
            c = g[col].to_numpy()
            rho = 1.0 - a / c
            qj = g["q_jump"].to_numpy()
            rows.append(
                {
                    "T": T,
                    "transition": name,
                    "c": c.mean(),
                    # standard error over repeats combined with the bisection resolution (uniform
                    # error of width tol: sd tol / sqrt(12)): identical repeats do not claim 0 error
                    "c_err": np.hypot(c.std(ddof=1) / np.sqrt(k), tol / np.sqrt(12)),
                    "rho": rho.mean(),
                    "rho_err": np.hypot(rho.std(ddof=1) / np.sqrt(k), a / c.mean() ** 2 * tol / np.sqrt(12)),
                    "q_jump": qj.mean(),
                    "q_jump_err": qj.std(ddof=1) / np.sqrt(k),
                    "order": "first" if qj.mean() > 0.1 else "continuous",
                    "n_layers": L,
                    "path_density": a,
                    "pop_size": pop_size,
                    "n_repeats": k,
                }
            )
    return pd.DataFrame(rows)


def order_parameter_grid(
    rhos: np.ndarray | list[float],
    temperatures: np.ndarray | list[float],
    *,
    n_layers: int = 3,
    path_density: float = 1.5,
    pop_size: int = 2000,
    n_iter: int = 150,
    n_measure: int = 5,
    q_min: float = 0.1,
    seed: int | None = 0,
) -> pd.DataFrame:
    """q and Sigma(1) of the m = 1 population on a (rho, T > 0) grid, with a phase label.

    Returns one row per (rho, T): rho, T, c, q, complexity, phase in {"paramagnet",
    "dynamical glass", "spin glass"} (q <= q_min; q > q_min and Sigma > 0; Sigma <= 0).
    """
    L = check_int(n_layers, "n_layers", 3)
    rng = np.random.default_rng(seed)
    rows = []
    for rho in np.atleast_1d(rhos):
        c = float(path_density) / (1.0 - check_rho(rho))
        for T in np.atleast_1d(temperatures):
            if not T > 0:
                raise ValueError(f"order_parameter_grid needs temperatures > 0, got {T!r}")
            r = cavity_m1(c, L, 1.0 / T, pop_size=pop_size, n_iter=n_iter, n_measure=n_measure, seed=rng)
            phase = (
                "paramagnet" if r.q <= q_min else ("dynamical glass" if r.complexity > 0 else "spin glass")
            )
            rows.append(
                {
                    "rho": float(rho),
                    "T": float(T),
                    "c": c,
                    "q": r.q,
                    "complexity": r.complexity,
                    "phase": phase,
                }
            )
    return pd.DataFrame(rows)

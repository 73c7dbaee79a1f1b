r"""Entropy landscape of a fitted model around a reference configuration.

Tilt the model toward a reference configuration s* (a ±1 vector, e.g. one weight sample)::

    P_x(s) ∝ exp( beta * sum_{i<j} J_ij s_i s_j + sum_i (beta h_i + x s*_i) s_i )
           = exp( -beta E(s) + x sum_i s*_i s_i ),

with E(s) = -(sum_{i<j} J_ij s_i s_j + sum_i h_i s_i) the model energy (beta = 1 gives the
fields h_i + x s*_i). For each x the table reports, per spin,

    q = (1/N) sum_i s*_i m_i,     d = (1 - q) / 2      (overlap and Hamming distance to s*),
    energy  = <E>_x / N                                (model energy, without the tilt),
    entropy = S[P_x] / N = (log Z_x + beta <E>_x - x N q) / N   (Shannon entropy of P_x),

from the Bethe approximation (:mod:`maxent.model.bp`: log Z_x = -F_Bethe, m and the pair beliefs) in
:func:`entropy_landscape`, and exactly by enumeration in :func:`exact_entropy_landscape`
(N <= 24). The curve entropy(d) is the entropy landscape; ``independent_bound(d)`` =
-d ln d - (1 - d) ln(1 - d) is the entropy of N independent spins at distance d (the upper
bound reached when the model has no structure around s*).

Sweeps. "down" runs x from its largest value downward, "up" from its smallest upward. Each
sweep starts from zero messages at its first x and warm-starts every later x from the
previous x's messages, so a first-order transition shows up as a jump of d and, between the
two sweeps, as a hysteresis loop (:func:`find_transitions`).

Speed. The couplings (tanh beta J and all work buffers) are set up once; a sweep step
extrapolates the converged messages of the last few x values (Lagrange polynomial of degree
``extrapolate``, default 4) to the new x, which typically leaves a residual near tol, so that
one or two BP sweeps suffice (measured: 1.55 sweeps per x on the benchmark model against 4.5
for a plain warm start). Extrapolation is dropped (history reset) when the last step was not
predictable from the previous ones (a jump: max |m - m_predicted| > |Δm|/2), so it never
carries a start across a transition; with ``extrapolate=0`` the start is exactly the previous
x's messages (the tests check that both give the same table and the same transitions).

On strongly coupled models (pseudo-likelihood fits to real weight samples) the BP sweeps
concentrate near the transitions, where BP converges slowly (50-170 sweeps per x near the jumps
of a 675-spin PL fit; 1 per x at large |x|) and extrapolation saves little: there the speed
comes from the compiled BP sweep of :mod:`maxent.model.bp` (one fused pass over the messages; the
history of warm starts is kept in float32). Anderson acceleration of the BP iteration was tried
and dropped: on such models it saved ~30% of the sweeps at slow points, but its extra passes
cost as much, and at the jumps it stagnated (1000+ sweeps) or left the fixed point that plain BP
follows. ``benchmarks/bench_landscape.py`` measures the hard models.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import logsumexp, xlogy

from maxent._validation import (
    check_fields_couplings,
    check_positive,
    check_spin_vector,
    check_spins,
)
from maxent.model.bp import BPConvergenceWarning, DenseBP, check_bp_options, single_thread_blas
from maxent.model.enumerate import check_exact_size, enumerate_states

__all__ = [
    "entropy_landscape",
    "exact_entropy_landscape",
    "independent_bound",
    "find_transitions",
    "choose_references",
    "default_grid",
    "COLUMNS",
]

#: columns of a landscape table
COLUMNS = ["x", "sweep", "q", "d", "entropy", "energy", "converged", "n_iter"]
_SWEEPS = {"both": ("down", "up"), "down": ("down",), "up": ("up",)}


def default_grid() -> np.ndarray:
    """The default tilt grid x = -3, -2.95, ..., 3 (121 values)."""
    return np.round(np.linspace(-3.0, 3.0, 121), 12)


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------


def _model_arrays(model: Any) -> tuple[np.ndarray, np.ndarray]:
    if not (hasattr(model, "h") and hasattr(model, "J")):
        raise TypeError(f"model must be an IsingModel (with .h and .J), got {type(model).__name__}")
    return check_fields_couplings(model.h, model.J)


def _reference(reference: Any, n: int, samples: Any) -> np.ndarray:
    """A ±1 float vector of length n from a vector or an int index into ``samples``."""
    if isinstance(reference, (bool, np.bool_)):
        raise TypeError("reference must be a ±1 vector or an integer sample index, not a bool")
    if isinstance(reference, (int, np.integer)):
        if samples is None:
            raise ValueError("an integer reference is an index into samples=; pass samples")
        S = check_spins(samples, name="samples", n_spins=n)
        idx = int(reference)
        if not 0 <= idx < S.shape[0]:
            raise IndexError(f"reference index {idx} out of range for {S.shape[0]} samples")
        return S[idx].copy()
    return check_spin_vector(reference, n_spins=n, name="reference")


def _grid(x: Any) -> np.ndarray:
    """Ascending copy of a non-empty, finite, strictly monotone grid."""
    if x is None:
        return default_grid()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"x must be a non-empty 1-D grid of tilt values, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("x contains NaN or inf")
    if arr.size > 1:
        dx = np.diff(arr)
        ok = dx > 0 if dx[0] > 0 else dx < 0
        if not ok.all():
            k = int(np.argmin(ok))
            raise ValueError(
                "x must be strictly monotone (increasing or decreasing, no repeats); "
                f"violated at x[{k}]={arr[k]!r}, x[{k + 1}]={arr[k + 1]!r}"
            )
    return np.sort(arr)


def _sweeps(sweep: str) -> tuple[str, ...]:
    if sweep not in _SWEEPS:
        raise ValueError(f"sweep must be 'both', 'down' or 'up', got {sweep!r}")
    return _SWEEPS[sweep]


def _order(grid: np.ndarray, sw: str) -> np.ndarray:
    return grid[::-1] if sw == "down" else grid


def _lagrange_weights(xs: Sequence[float], x: float) -> np.ndarray:
    """Weights w_k with p(x) = sum_k w_k f(xs_k) for the interpolating polynomial through xs."""
    xs = np.asarray(xs, dtype=np.float64)
    w = np.ones(xs.size)
    for k in range(xs.size):
        for j in range(xs.size):
            if j != k:
                w[k] *= (x - xs[j]) / (xs[k] - xs[j])
    return w


# ---------------------------------------------------------------------------------------------
# BP landscape
# ---------------------------------------------------------------------------------------------


def entropy_landscape(
    model: Any,
    reference: Any,
    *,
    x: Sequence[float] | np.ndarray | None = None,
    sweep: str = "both",
    beta: float = 1.0,
    tol: float = 1e-6,
    damping: float = 0.0,
    max_iter: int = 1000,
    samples: np.ndarray | None = None,
    extrapolate: int = 4,
    retry_damping: float | None = 0.5,
    device: str | None = None,
) -> pd.DataFrame:
    """Bethe entropy landscape s(d) around ``reference`` by BP, swept over the tilt x.

    Parameters
    ----------
    model : IsingModel
        The fitted model (h, J).
    reference : array (N,) of ±1, or int
        The reference configuration s* (int or float entries, each exactly ±1), or an index
        into ``samples``.
    x : array, optional
        Tilt grid, strictly monotone (default -3..3 step 0.05). Each sweep orders it itself.
    sweep : {"both", "down", "up"}
        "down": x decreasing from its maximum; "up": increasing from its minimum; "both":
        "down" then "up" (rows in that order).
    beta : float
        Inverse temperature multiplying J and h (not the tilt).
    tol : float
        BP tolerance on the largest message change max |Δu|.
    damping : float in [0, 1)
        BP damping (see :func:`maxent.model.bp.run_bp`).
    max_iter : int
        Maximum BP sweeps per x value.
    samples : array (M, N) of ±1, optional
        Sample set an integer ``reference`` indexes.
    extrapolate : int
        Degree of the polynomial extrapolation of the warm start from the previous x values
        (0: plain warm start from the previous x; default 4).
    retry_damping : float or None
        If BP does not converge at some x, retry once from the previous x's messages with this
        damping (None: no retry). The row records the final outcome.
    device : str, optional
        None: compiled BP on the CPU; "numpy": the numpy kernel; a torch device ("cuda") runs
        BP with torch there. All give the same table (to rounding).

    Returns
    -------
    DataFrame
        Columns x, sweep, q, d, entropy, energy (both per spin), converged, n_iter (BP
        sweeps, including a retry). Non-converged rows are kept, flagged and warned about.
    """
    h, J = _model_arrays(model)
    n = h.shape[0]
    ref = _reference(reference, n, samples)
    grid = _grid(x)
    sweeps = _sweeps(sweep)
    beta = check_positive(beta, "beta")
    tol, damping, _, _ = check_bp_options(tol, damping, max_iter, retry_damping)
    if int(extrapolate) != extrapolate or extrapolate < 0:
        raise ValueError(f"extrapolate must be a non-negative integer, got {extrapolate!r}")

    with single_thread_blas():
        rows = _bp_sweeps(
            h,
            J,
            ref,
            grid,
            sweeps,
            beta,
            tol,
            damping,
            int(max_iter),
            int(extrapolate),
            retry_damping,
            device,
        )
    df = pd.DataFrame(rows, columns=COLUMNS)
    bad = ~df["converged"].to_numpy()
    if bad.any():
        xb = df.loc[bad, ["sweep", "x"]]
        shown = ", ".join(f"{s} x={v:g}" for s, v in xb.head(8).itertuples(index=False))
        warnings.warn(
            f"BP did not converge at {int(bad.sum())} of {len(df)} landscape points ({shown}"
            f"{', ...' if bad.sum() > 8 else ''}); these rows have converged=False",
            BPConvergenceWarning,
            stacklevel=2,
        )
    return df


def _bp_sweeps(
    h: np.ndarray,
    J: np.ndarray,
    ref: np.ndarray,
    grid: np.ndarray,
    sweeps: tuple[str, ...],
    beta: float,
    tol: float,
    damping: float,
    max_iter: int,
    extrapolate: int,
    retry_damping: float | None,
    device: str | None,
) -> list[tuple]:
    """The sweep loop of :func:`entropy_landscape` (inputs validated); one row per x."""
    n = h.shape[0]
    solver = DenseBP(beta * J, device=device, energy_J=J)
    kern = solver.kernel
    bh = kern.asarray(beta * h)
    ref_b = kern.asarray(ref)
    n_slots = int(extrapolate) + 1
    stack = kern.empty_stack(n_slots)
    for k in range(n_slots):
        kern.copy_into(stack[k], kern.zeros())

    rows: list[tuple] = []
    for sw in sweeps:
        xs = _order(grid, sw)
        solver.set_messages(None)
        hist: list[tuple[float, int, np.ndarray]] = []  # (x, slot, m), oldest first
        for xv in xs:
            xv = float(xv)
            hx = bh + xv * ref_b
            m_pred = None
            if len(hist) >= 2:
                w = _lagrange_weights([e[0] for e in hist], xv)
                full = np.zeros(n_slots)
                for wk, (_, slot, _) in zip(w, hist, strict=True):
                    full[slot] = wk
                if kern.combine(full, stack, solver.work):
                    m_pred = sum(wk * e[2] for wk, e in zip(w, hist, strict=True))
                else:  # extrapolated outside |v| < 1: plain warm start
                    kern.copy_into(solver.work, stack[hist[-1][1]])
            elif len(hist) == 1:
                kern.copy_into(solver.work, stack[hist[-1][1]])
            sol = solver.solve(hx, tol=tol, damping=damping, max_iter=max_iter)
            n_it = sol.n_iter
            if not sol.converged and retry_damping is not None:
                if hist:
                    kern.copy_into(solver.work, stack[hist[-1][1]])
                else:
                    solver.set_messages(None)
                sol = solver.solve(hx, tol=tol, damping=float(retry_damping), max_iter=max_iter)
                n_it += sol.n_iter
            obs = solver.observables(sol.H, want_C=False)
            m = obs["m"]
            q = float(ref @ m) / n
            energy = -(obs["pair"] + float(h @ m))
            entropy = obs["log_z"] + beta * energy - xv * n * q
            rows.append((xv, sw, q, (1.0 - q) / 2.0, entropy / n, energy / n, sol.converged, n_it))

            # history for the next start
            if not sol.converged:
                hist = []
                continue
            if m_pred is not None:
                err = float(np.max(np.abs(m - m_pred)))
                step = float(np.max(np.abs(m - hist[-1][2])))
                if err > 0.5 * step + 100.0 * tol:  # not predictable: a jump; restart history
                    hist = hist[-1:]
            if len(hist) == n_slots:
                slot = hist.pop(0)[1]
            else:
                used = {e[1] for e in hist}
                slot = next(k for k in range(n_slots) if k not in used)
            kern.copy_into(stack[slot], solver.work)
            hist.append((xv, slot, m))
    return rows


# ---------------------------------------------------------------------------------------------
# exact landscape
# ---------------------------------------------------------------------------------------------


def exact_entropy_landscape(
    model: Any,
    reference: Any,
    *,
    x: Sequence[float] | np.ndarray | None = None,
    sweep: str = "both",
    beta: float = 1.0,
    samples: np.ndarray | None = None,
) -> pd.DataFrame:
    """The landscape table of :func:`entropy_landscape` by exact enumeration (N <= 24).

    One pass over the 2^N states accumulates, for each Hamming distance k = 0..N to the
    reference, Z_k = sum_{dist(s)=k} exp(-beta E(s)) and sum exp(-beta E) E. Every x then
    costs O(N): Z_x = sum_k Z_k exp(x (N - 2k)). Both sweeps give identical rows (no
    hysteresis in an exact computation); ``converged`` is True and ``n_iter`` 0.
    """
    h, J = _model_arrays(model)
    n = h.shape[0]
    check_exact_size(n, "exact_entropy_landscape")
    ref = _reference(reference, n, samples)
    grid = _grid(x)
    sweeps = _sweeps(sweep)
    beta = check_positive(beta, "beta")

    shift = -np.inf
    z_k = np.zeros(n + 1)
    e_k = np.zeros(n + 1)
    for S in enumerate_states(n):
        E = -(0.5 * np.einsum("bi,bi->b", S @ J, S) + S @ h)
        logw = -beta * E
        cmax = float(logw.max())
        if cmax > shift:
            scale = np.exp(shift - cmax) if np.isfinite(shift) else 0.0
            z_k *= scale
            e_k *= scale
            shift = cmax
        w = np.exp(logw - shift)
        k = np.rint((n - S @ ref) / 2.0).astype(np.int64)
        z_k += np.bincount(k, weights=w, minlength=n + 1)
        e_k += np.bincount(k, weights=w * E, minlength=n + 1)
    o_k = n - 2.0 * np.arange(n + 1)  # overlap sum_i s*_i s_i at distance k
    with np.errstate(divide="ignore"):
        log_zk = np.log(z_k) + shift
    mean_e_k = np.divide(e_k, z_k, out=np.zeros_like(e_k), where=z_k > 0)

    rows: list[tuple] = []
    for sw in sweeps:
        for xv in _order(grid, sw):
            xv = float(xv)
            a = log_zk + xv * o_k
            log_z = float(logsumexp(a))
            p = np.exp(a - log_z)
            q = float(p @ o_k) / n
            energy = float(p @ mean_e_k)
            entropy = log_z + beta * energy - xv * n * q
            rows.append((xv, sw, q, (1.0 - q) / 2.0, entropy / n, energy / n, True, 0))
    return pd.DataFrame(rows, columns=COLUMNS)


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def independent_bound(d: Any) -> Any:
    """Entropy density of independent spins at distance d: -d ln d - (1-d) ln(1-d) (0 ln 0 = 0).

    Accepts a scalar (returns float) or an array (returns an array); d must lie in [0, 1].
    """
    arr = np.asarray(d, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("d contains NaN or inf")
    if np.any((arr < 0.0) | (arr > 1.0)):
        raise ValueError(f"d must lie in [0, 1], got values in [{arr.min():g}, {arr.max():g}]")
    s = -xlogy(arr, arr) - xlogy(1.0 - arr, 1.0 - arr)
    return float(s) if s.ndim == 0 else s


# Long by design: one pass per sweep over the grid, then the hysteresis comparison of the two
# sweeps; each writes rows of the same table.
def find_transitions(
    df: pd.DataFrame,
    *,
    min_jump: float = 0.05,
    ratio: float = 4.0,
    hysteresis_tol: float = 1e-3,
) -> pd.DataFrame:
    """First-order transitions in a landscape table: jumps of d and hysteresis loops.

    A *jump* is a step between neighbouring x of one sweep with |Δd| >= ``min_jump`` and
    |Δd| >= ``ratio`` times the median |Δd| of the (up to) three steps on either side: a
    discontinuity rather than a steep but continuous stretch. A *hysteresis loop* is a
    maximal run of x values where both sweeps exist and |d_down - d_up| > ``hysteresis_tol``.

    Returns
    -------
    DataFrame
        One row per event: kind ("jump" or "hysteresis"), sweep ("down"/"up"; "both" for a
        loop), x_from, x_to (for a jump the two neighbouring x in sweep order; for a loop
        the smallest and largest x of the run), d_from, d_to, entropy_from, entropy_to
        (jump: before/after; loop: the down-minus-up difference at the run's ends), delta_d
        (jump: d_to - d_from; loop: the largest |d_down - d_up|), area (loop: integral of
        |d_down - d_up| dx over the run, trapezoid; jump: 0), converged (all rows involved).
    """
    missing = {"x", "sweep", "d", "entropy", "converged"} - set(df.columns)
    if missing:
        raise ValueError(f"df is not a landscape table: missing columns {sorted(missing)}")
    cols = [
        "kind",
        "sweep",
        "x_from",
        "x_to",
        "d_from",
        "d_to",
        "entropy_from",
        "entropy_to",
        "delta_d",
        "area",
        "converged",
    ]
    events: list[dict] = []
    for sw, g in df.groupby("sweep", sort=False):
        xs = g["x"].to_numpy(float)
        d = g["d"].to_numpy(float)
        s = g["entropy"].to_numpy(float)
        conv = g["converged"].to_numpy(bool)
        if xs.size < 2:
            continue
        step = np.diff(d)
        a = np.abs(step)
        for k in np.flatnonzero(a >= min_jump):
            lo, hi = max(0, k - 3), min(a.size, k + 4)
            others = np.concatenate([a[lo:k], a[k + 1 : hi]])
            ref_step = float(np.median(others)) if others.size else 0.0
            if a[k] >= ratio * ref_step:
                events.append(
                    dict(
                        kind="jump",
                        sweep=sw,
                        x_from=xs[k],
                        x_to=xs[k + 1],
                        d_from=d[k],
                        d_to=d[k + 1],
                        entropy_from=s[k],
                        entropy_to=s[k + 1],
                        delta_d=step[k],
                        area=0.0,
                        converged=bool(conv[k] and conv[k + 1]),
                    )
                )
    sweeps = set(df["sweep"])
    if {"down", "up"} <= sweeps:
        keep = ["x", "d", "entropy", "converged"]
        both = pd.merge(
            df.loc[df["sweep"] == "down", keep],
            df.loc[df["sweep"] == "up", keep],
            on="x",
            suffixes=("_dn", "_up"),
        ).sort_values("x")
        xs = both["x"].to_numpy(float)
        gap = (both["d_dn"] - both["d_up"]).to_numpy(float)
        sgap = (both["entropy_dn"] - both["entropy_up"]).to_numpy(float)
        conv = (both["converged_dn"] & both["converged_up"]).to_numpy(bool)
        inside = np.abs(gap) > hysteresis_tol
        k = 0
        while k < inside.size:
            if not inside[k]:
                k += 1
                continue
            j = k
            while j + 1 < inside.size and inside[j + 1]:
                j += 1
            seg = slice(max(k - 1, 0), min(j + 2, inside.size))  # include the closing points
            area = float(np.trapezoid(np.abs(gap[seg]), xs[seg])) if xs[seg].size > 1 else 0.0
            events.append(
                dict(
                    kind="hysteresis",
                    sweep="both",
                    x_from=xs[k],
                    x_to=xs[j],
                    d_from=gap[k],
                    d_to=gap[j],
                    entropy_from=sgap[k],
                    entropy_to=sgap[j],
                    delta_d=float(np.max(np.abs(gap[k : j + 1]))),
                    area=area,
                    converged=bool(conv[k : j + 1].all()),
                )
            )
            k = j + 1
    return pd.DataFrame(events, columns=cols)


def choose_references(model: Any, samples: np.ndarray, *, return_index: bool = False) -> dict[str, Any]:
    """Reference configurations of low, medium and high model energy among ``samples``.

    "low" is the sample of lowest energy E(s) = -(sum_{i<j} J s s + h s), "high" the highest,
    "medium" the one closest to the median energy. Returns {"low", "medium", "high"} mapped to
    int8 ±1 vectors (N,), or to row indices of ``samples`` with ``return_index=True``.
    """
    h, J = _model_arrays(model)
    S = check_spins(samples, name="samples", n_spins=h.shape[0])
    E = -(0.5 * np.einsum("mi,mi->m", S @ J, S) + S @ h)
    idx = {
        "low": int(np.argmin(E)),
        "medium": int(np.argmin(np.abs(E - np.median(E)))),
        "high": int(np.argmax(E)),
    }
    if return_index:
        return idx
    return {k: S[i].astype(np.int8) for k, i in idx.items()}

r"""Boltzmann learning with Bethe (belief-propagation) model moments — the reference study's fit.

Objective. The Bethe approximation replaces log Z by log Z_Bethe(h, J) = -F_Bethe at the BP
fixed point (:mod:`maxent.bp`). Because F_Bethe is stationary in the beliefs at a fixed
point, its derivatives are the Bethe moments,

    d log Z_Bethe / d h_i = m_i^Bethe,        d log Z_Bethe / d J_ij = C_ij^Bethe,

so gradient ascent on the Bethe log-likelihood with an L2 penalty,

    L_B(h, J) = sum_i h_i m_i + sum_{i<j} J_ij C_ij - log Z_Bethe(h, J)
                - (l2 / 2) (sum_i h_i^2 + sum_{i<j} J_ij^2),

is Boltzmann learning with BP moments:

    h_i  <- h_i  + lr_h (m_i - m_i^Bethe - l2 h_i),
    J_ij <- J_ij + lr_J (C_ij - C_ij^Bethe - l2 J_ij).

Plain gradient steps are badly conditioned (a change of J_ij shifts the mean fields and
hence every m), so the steps are taken (i) in *centered* coordinates, b_i = h_i + sum_j J_ij
mu_j with mu = the data magnetizations (a linear reparametrization: the same fixed points, still
an ascent direction), where the coupling gradient is the *connected* one,
G_ij = g^J_ij - mu_i g^h_j - mu_j g^h_i, and (ii) with the diagonal Fisher preconditioner of
independent spins, 1/(1 - mu_i^2) for b_i and 1/((1 - mu_i^2)(1 - mu_j^2)) for J_ij (1 - mu^2
floored at 0.01):

    J <- J + lr_J P o G,      h <- h + lr_h g^h / (1 - mu^2) - lr_J (P o G) mu.

Measured: 23 steps at N = 20 and 59 at N = 200 to tol 1e-7, against > 2000 plain steps at
N = 60 (``precondition=False`` keeps the centering only).

BP is warm-started from the previous step's messages (couplings change little per step), so
a learning step costs a few BP sweeps. Step sizes adapt: a step that lowers L_B (or leaves BP
unconverged) is undone and both rates halved; an accepted step grows them by 5% (up to the
initial values times ``max_lr_growth``). Convergence: the largest gradient component
max(|m - m^B - l2 h|, |C - C^B - l2 J|) <= ``tol``.

Limits. The model correlations here are BP's pair beliefs, which on a loopy graph miss the
correlations carried by other paths; the learning compensates with biased couplings. On trees
this is exact; on dense SK-like data it is not (benchmarks/results/inverse_ising.md, rmse of J:
N=20, beta=0.5: 0.052 against 0.0097 for exact maximum likelihood and 0.013 for TAP; N=100:
0.024 against 0.0057). For dense data the accurate Bethe inversion is the linear-response one,
``MeanField(method="bethe")``, which matches the BP susceptibilities instead of the pair beliefs.
Where correlations are strong, BP can have several fixed points and the learning
can stall in the wrong one (then ``converged_`` is False and history_ shows it); this is a
property of the Bethe approximation, not hidden here. ``init="bethe"`` starts at the exact
answer below, with BP started at its fixed point.

BP non-convergence is never hidden: every step records ``bp_converged`` and ``bp_iter`` in
``history_``; ``n_bp_unconverged_`` counts the failures, a :class:`BPConvergenceWarning` is
issued when there were any, and the fit is reported unconverged (``converged_ = False``) if
BP did not converge at the final parameters.

Closed form (l2 = 0). The fixed point of this learning is known exactly (the
"independent-pair" solution; beliefs equal to the data's pair marginals
p_ij(s, s') = (1 + s m_i + s' m_j + s s' C_ij)/4 are a BP fixed point):

    J_ij = (1/4) log[ p(++) p(--) / (p(+-) p(-+)) ],
    g_{i->j} = (1/4) log[ p(++) p(+-) / (p(-+) p(--)) ]          (cavity field of i toward j),
    h_i = sum_{j != i} g_{i->j} - (N - 2) atanh(m_i).

:func:`bethe_inverse` evaluates it (``init="bethe"`` starts the learning there); the learning
started from independent spins converges to it (tested), which is the check that learning and
BP agree.
"""

from __future__ import annotations

import warnings

import numpy as np

from maxent._validation import check_nonnegative, check_positive
from maxent.bp import BPConvergenceWarning, DenseBP, single_thread_blas
from maxent.fit._base import FitResult, IsingEstimator
from maxent.moments import Moments

__all__ = ["BetheBoltzmann", "bethe_boltzmann", "bethe_inverse"]

_M_CLIP = 1.0 - 1e-12
#: floor on 1 - m^2 in the preconditioner (keeps steps of nearly frozen spins bounded)
_VAR_FLOOR = 1e-2


def bethe_inverse(
    moments: Moments, *, eps: float = 1e-12, return_messages: bool = False
) -> tuple[np.ndarray, ...]:
    """Closed-form Bethe (independent-pair) inverse: (h (N,), J (N, N)) whose BP fixed point
    has exactly the magnetizations and pair correlations of ``moments``.

    Pair probabilities below ``eps`` (a pair never seen in some joint state) are raised to
    ``eps``, which keeps J finite (large) instead of infinite; |m| is clipped to 1 - 1e-12.
    With ``return_messages=True`` also returns the cavity-field messages of that fixed point,
    ``U[k, i] = u_{k->i} = atanh(m_i) - g_{i->k}`` (the format of ``BPResult.messages``): BP
    started there stays there, whereas BP from zero messages may find another fixed point of
    the same (h, J) when correlations are strong.
    """
    m = np.clip(moments.m, -_M_CLIP, _M_CLIP)
    C = moments.C
    mi, mj = m[:, None], m[None, :]
    p_pp = np.maximum((1 + mi + mj + C) / 4, eps)
    p_mm = np.maximum((1 - mi - mj + C) / 4, eps)
    p_pm = np.maximum((1 + mi - mj - C) / 4, eps)
    p_mp = np.maximum((1 - mi + mj - C) / 4, eps)
    J = 0.25 * np.log(p_pp * p_mm / (p_pm * p_mp))
    g = 0.25 * np.log(p_pp * p_pm / (p_mp * p_mm))  # g[i, j] = g_{i->j}
    np.fill_diagonal(J, 0.0)
    np.fill_diagonal(g, 0.0)
    J = 0.5 * (J + J.T)
    n = m.size
    H = np.arctanh(m)
    h = g.sum(axis=1) - (n - 2) * H
    if return_messages:
        U = H[None, :] - g.T
        np.fill_diagonal(U, 0.0)
        return h, J, U
    return h, J


def bethe_boltzmann(
    moments: Moments,
    *,
    lr_h: float = 0.5,
    lr_J: float = 0.5,
    l2: float = 0.0,
    max_iter: int = 2000,
    tol: float = 1e-6,
    init: str = "independent",
    h0: np.ndarray | None = None,
    J0: np.ndarray | None = None,
    bp_tol: float = 1e-9,
    bp_damping: float = 0.0,
    bp_max_iter: int = 500,
    max_lr_growth: float = 4.0,
    precondition: bool = True,
    device: str | None = None,
) -> tuple[FitResult, int]:
    """Boltzmann learning with BP moments from the moments alone (see the module docstring).

    Returns the :class:`FitResult` and the number of learning steps whose BP did not converge.
    """
    lr_h = check_positive(lr_h, "lr_h")
    lr_J = check_positive(lr_J, "lr_J")
    l2 = check_nonnegative(l2, "l2")
    tol = check_positive(tol, "tol")
    bp_tol = check_positive(bp_tol, "bp_tol")
    bp_damping = check_nonnegative(bp_damping, "bp_damping")
    if bp_damping >= 1.0:
        raise ValueError(f"bp_damping must be in [0, 1), got {bp_damping!r}")
    for name, val in (("max_iter", max_iter), ("bp_max_iter", bp_max_iter)):
        if int(val) != val or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    max_lr_growth = check_positive(max_lr_growth, "max_lr_growth")
    n = moments.n_spins
    m_d, C_d = moments.m, moments.C
    # centering and diagonal preconditioning (see the module docstring)
    mu = np.clip(m_d, -_M_CLIP, _M_CLIP)
    var = np.maximum(1.0 - mu**2, _VAR_FLOOR)
    pre_h = 1.0 / var if precondition else np.ones(n)
    pre_J = np.outer(pre_h, pre_h)

    def step_direction(g_h: np.ndarray, g_J: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Preconditioned gradient in the centered coordinates (b, J), h = b - J mu."""
        A = np.outer(mu, g_h)
        A += A.T  # mu g_h^T + g_h mu^T, exactly symmetric (so J stays exactly symmetric)
        G = g_J - A
        np.fill_diagonal(G, 0.0)
        G *= pre_J
        return pre_h * g_h, G

    if h0 is not None or J0 is not None:
        h = np.zeros(n) if h0 is None else np.array(h0, dtype=np.float64)
        J = np.zeros((n, n)) if J0 is None else np.array(J0, dtype=np.float64)
        if h.shape != (n,) or J.shape != (n, n):
            raise ValueError(f"h0 must have shape ({n},) and J0 ({n}, {n})")
        J = 0.5 * (J + J.T)
        np.fill_diagonal(J, 0.0)
    elif init == "independent":
        h = np.arctanh(np.clip(m_d, -1 + 1e-6, 1 - 1e-6))
        J = np.zeros((n, n))
    elif init == "bethe":
        h, J, U = bethe_inverse(moments, return_messages=True)
    else:
        raise ValueError(f"init must be 'independent' or 'bethe', got {init!r}")

    solver = DenseBP(J, device=device)
    kern = solver.kernel
    if init == "bethe" and h0 is None and J0 is None:
        solver.set_messages(kern.asarray(np.tanh(U)))  # start BP at the matching fixed point

    def evaluate(h: np.ndarray, J: np.ndarray) -> dict:
        solver.set_couplings(J)
        sol = solver.solve(kern.asarray(h), tol=bp_tol, damping=bp_damping, max_iter=int(bp_max_iter))
        obs = solver.observables(sol.H, want_C=True)
        m_b = obs["m"]
        diff_C = obs["C"]  # reused in place: C_d - C_b (zero diagonal: both unit)
        np.subtract(C_d, diff_C, out=diff_C)
        err_C = float(np.max(np.abs(diff_C), initial=0.0))
        g_h = m_d - m_b - l2 * h
        g_J = diff_C - l2 * J if l2 > 0 else diff_C
        # J has a zero diagonal: sum_{i<j} J_ij C_ij = vdot(J, C) / 2
        ll = float(h @ m_d + 0.5 * np.vdot(J, C_d) - obs["log_z"])
        if l2 > 0:
            ll -= 0.5 * l2 * float(h @ h + 0.5 * np.vdot(J, J))
        return {
            "g_h": g_h,
            "g_J": g_J,
            "err_m": float(np.max(np.abs(m_d - m_b))),
            "err_C": err_C,
            "grad": float(max(np.max(np.abs(g_h)), np.max(np.abs(g_J), initial=0.0))),
            "ll": ll,
            "bp_converged": sol.converged,
            "bp_iter": sol.n_iter,
        }

    history: list[dict] = []

    def record(step: int, ev: dict, accepted: bool, rh: float, rJ: float) -> None:
        history.append(
            {
                "iteration": step,
                "accepted": accepted,
                "err_m": ev["err_m"],
                "err_C": ev["err_C"],
                "grad": ev["grad"],
                "bethe_ll": ev["ll"],
                "lr_h": rh,
                "lr_J": rJ,
                "bp_converged": ev["bp_converged"],
                "bp_iter": ev["bp_iter"],
            }
        )

    rate_h, rate_J = lr_h, lr_J
    cur = evaluate(h, J)
    n_bp_bad = int(not cur["bp_converged"])
    record(0, cur, True, 0.0, 0.0)
    saved_v = kern.to_numpy(solver.work).copy()
    converged = bool(cur["bp_converged"] and cur["grad"] <= tol)
    it = 0
    while not converged and it < int(max_iter):
        it += 1
        dh, dJ = step_direction(cur["g_h"], cur["g_J"])
        h_new = h + rate_h * dh - rate_J * (dJ @ mu)
        J_new = J + rate_J * dJ
        new = evaluate(h_new, J_new)
        n_bp_bad += not new["bp_converged"]
        if not cur["bp_converged"]:
            ok = True  # nothing to compare with: move on
        else:
            ok = new["bp_converged"] and new["ll"] >= cur["ll"] - 1e-12 * max(1.0, abs(cur["ll"]))
        record(it, new, ok, rate_h, rate_J)
        if ok:
            h, J, cur = h_new, J_new, new
            saved_v = kern.to_numpy(solver.work).copy()
            rate_h = min(rate_h * 1.05, lr_h * max_lr_growth)
            rate_J = min(rate_J * 1.05, lr_J * max_lr_growth)
            converged = bool(cur["bp_converged"] and cur["grad"] <= tol)
        else:  # undo the step (restore the last good messages) and halve the rates
            solver.set_messages(kern.asarray(saved_v))
            rate_h *= 0.5
            rate_J *= 0.5
            if rate_h < 1e-10 * lr_h:
                break
    result = FitResult(h=h, J=J, n_iter=it, converged=converged, history=history)
    return result, n_bp_bad


class BetheBoltzmann(IsingEstimator):
    """Boltzmann learning with model moments from belief propagation (Bethe approximation).

    Parameters
    ----------
    lr_h, lr_J : float
        Initial learning rates for fields and couplings (adapted during the fit).
    l2 : float
        L2 penalty (l2/2)(||h||^2 + sum_{i<j} J_ij^2); > 0 also allows constant spins.
    max_iter : int
        Maximum learning steps.
    tol : float
        Stop when the largest gradient component (moment error minus penalty) is <= tol.
    init : {"independent", "bethe"}
        Start from independent spins (h = atanh m, J = 0) or from the closed-form Bethe inverse.
    bp_tol, bp_damping, bp_max_iter : float, float, int
        BP settings for each learning step (warm-started across steps).
    max_lr_growth : float
        Rates may grow up to this factor times their initial values.
    precondition : bool
        Diagonal Fisher preconditioning of the centered steps (default True).
    device : str, optional
        None: numpy BP; a torch device ("cuda") runs BP there.

    Attributes
    ----------
    h_, J_, model_, n_iter_, converged_, history_
        As for every :class:`~maxent.fit.IsingEstimator`. ``history_`` has one row per
        evaluated parameter set (row 0: the start; then one per learning step, accepted or
        undone): iteration, accepted, err_m, err_C (max abs moment errors), grad (largest
        penalized gradient component), bethe_ll (penalized Bethe log-likelihood per sample),
        lr_h, lr_J (the rates of that step), bp_converged, bp_iter. ``n_iter_`` counts the
        learning steps.
    n_bp_unconverged_ : int
        Number of BP runs (one per step, including rejected trial steps) that did not converge.
    """

    def __init__(
        self,
        lr_h: float = 0.5,
        lr_J: float = 0.5,
        l2: float = 0.0,
        max_iter: int = 2000,
        tol: float = 1e-6,
        init: str = "independent",
        bp_tol: float = 1e-9,
        bp_damping: float = 0.0,
        bp_max_iter: int = 500,
        max_lr_growth: float = 4.0,
        precondition: bool = True,
        device: str | None = None,
    ) -> None:
        self.lr_h = lr_h
        self.lr_J = lr_J
        self.l2 = l2
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.bp_tol = bp_tol
        self.bp_damping = bp_damping
        self.bp_max_iter = bp_max_iter
        self.max_lr_growth = max_lr_growth
        self.precondition = precondition
        self.device = device

    def _allows_constant_spins(self) -> bool:
        return float(self.l2) > 0.0

    def _fit(self, moments: Moments, X: np.ndarray | None) -> FitResult:
        with single_thread_blas():
            result, n_bad = bethe_boltzmann(
                moments,
                lr_h=self.lr_h,
                lr_J=self.lr_J,
                l2=self.l2,
                max_iter=self.max_iter,
                tol=self.tol,
                init=self.init,
                bp_tol=self.bp_tol,
                bp_damping=self.bp_damping,
                bp_max_iter=self.bp_max_iter,
                max_lr_growth=self.max_lr_growth,
                precondition=self.precondition,
                device=self.device,
            )
        self.n_bp_unconverged_ = int(n_bad)
        if n_bad:
            warnings.warn(
                f"BP did not converge in {n_bad} learning step(s) of BetheBoltzmann (see "
                "history_['bp_converged']); try bp_damping > 0, a larger bp_max_iter, or l2 > 0",
                BPConvergenceWarning,
                stacklevel=3,
            )
        return result

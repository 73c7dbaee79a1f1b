"""Pseudo-likelihood maximization (Besag), full model with symmetric J, all spins at once.

For samples X (M, N) of ±1 spins and local fields H = X J + h (M, N), each conditional is
P(s_i | s_-i) = exp(s_i H_i) / (2 cosh H_i), and the objective minimized is

    f(h, J) = -(1/M) sum_mu sum_i log P(s_i^mu | s_-i^mu) + penalty
            =  (1/M) sum_mu sum_i log 2cosh(H_mu,i)  -  sum_ij J_ij C_ij  -  sum_i h_i m_i  + penalty,

with m, C the data moments (the second form needs one pass over the data per evaluation: the
linear part is computed once from the moments). Treating the (N, N) matrix K in H = X K + h as
free, the gradient is two matrix products away:

    df/dK = X^T tanh(H) / M - C,       df/dh = mean_mu tanh(H_mu) - m,

and for the symmetric J (parametrized by its upper triangle) df/dJ_ij = (df/dK)_ij + (df/dK)_ji.
At the optimum the data averages of the conditional expectations tanh(H_i) reproduce the data
moments (the "pseudo-moment" conditions); ``err_m`` and ``err_C`` in ``history_`` are the
largest violations, max |<tanh H_i> - m_i| and max |(<s_j tanh H_i> + <s_i tanh H_j>)/2 - C_ij|.

Penalties (each pair counted twice, as in N separate per-spin regressions with the same alpha)::

    "l2":  (alpha / 2) ||J||_F^2 = alpha sum_{i<j} J_ij^2
    "l1":   alpha ||J||_1        = 2 alpha sum_{i<j} |J_ij|
    always (alpha_h / 2) ||h||^2 on the fields (alpha_h defaults to alpha)

The L2 problem is solved with scipy's L-BFGS-B; the L1 problem with L-BFGS-B on the split
J = J+ - J-, J+, J- >= 0 (the penalty becomes linear and smooth; couplings at the bounds are
exact zeros). The default start is the linear-response Bethe inversion on correlations shrunk by
the OAS rule (:func:`~maxent.fit.mean_field.oas_shrinkage`); at weak coupling it is already at
the statistical accuracy of the answer. L-BFGS-B then runs on variables rescaled
by the Hessian diagonal at the start (``precondition=True``),

    d^2f/dh_i^2 = w_i + alpha_h,    d^2f/dJ_ij^2 = w_i + w_j + 2 alpha,    w_i = <1 - tanh^2 H_i>,

so nearly frozen spins (small w_i) do not dominate the conditioning. L-BFGS-B iterations to
tol = 1e-4 (L2, alpha = 1e-4; the problems of benchmarks/results/inverse_ising.md), with the
former start (nMF, fixed shrinkage 0.2) / nMF with OAS shrinkage and Onsager fields / the same
and preconditioning / the Bethe start and preconditioning (the default): N=100 SK beta=0.5:
15 / 9 / 6 / 6; N=20 beta=1.5: 39 / 41 / 30 / 25; N=100 sparse strong couplings:
- / 146 / 89 / 71. The heavy work, two (M, N) x (N, N) products per evaluation, runs in torch on
``device`` ("cpu" or "cuda"), in row chunks, in ``dtype`` (float64 by default; float32 halves
the memory and is up to twice as fast on CPU; its objective is exact to ~1e-7 relative, so
gradients below ~1e-4 cannot be resolved: use ``tol >= 1e-4`` with it; the fitted J differ from
float64 by <~1e-4, far below the statistical error). On CPU and for N < 256 one torch thread is
used (small products gain nothing from threads and lose much on a shared CPU).

Constant spins (m_i = ±1) have an infinite unpenalized field; with alpha_h > 0 (the default
when alpha > 0) the field is finite and the fit is well defined (the couplings to such a spin
act as extra fields and are set by the penalty). With alpha = alpha_h = 0 they are refused.

**Accuracy** (benchmarks/bench_estimator_accuracy.py; SK-like truths J_ij ~ N(0, beta^2/N),
h_i ~ N(0, 0.1^2); rmse of J over i < j, mean ± sd over 3 truths):

==========================================  ================  ================  ===============
problem                                      PL, alpha=1e-4    exact ML          TAP
==========================================  ================  ================  ===============
N=20, beta=0.5, M=2e4 exact samples          0.0085 ± 0.0006   0.0085 ± 0.0006   0.0094 ± 0.0007
N=20, beta=1.5, M=2e4 exact samples          0.024 ± 0.007     0.023 ± 0.006     0.21 ± 0.11
N=100, beta=0.5, M=5e4 Gibbs samples         0.0056 ± 0.0001   --                0.0056 ± 0.0001
==========================================  ================  ================  ===============

Pseudo-likelihood is statistically almost as efficient as exact maximum likelihood here;
alpha = 1e-3 and L1 (alpha = 1e-3) give the same errors within ±0.0005 at beta = 0.5.

**Speed**: benchmarks/bench_inverse_ising.py and bench_pl_scale.py compare it with one
scikit-learn LogisticRegression per spin and ConIII's Pseudo at the same error (tables in
benchmarks/results/). float32 pays off at large N and weak couplings; on strongly coupled data it
needs more iterations.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.optimize
import torch
from joblib import Parallel, delayed
from sklearn.model_selection import KFold

from maxent._threads import torch_threads
from maxent._validation import (
    check_nonnegative,
    check_positive,
    check_spins,
    constant_columns,
    resolve_device,
)
from maxent.data.moments import Moments
from maxent.fit._base import FitResult, IsingEstimator
from maxent.fit._likelihood import mean_pseudo_log_likelihood
from maxent.fit.mean_field import mean_field_start

__all__ = ["pseudolikelihood", "PseudoLikelihood", "PseudoLikelihoodCV"]

_PENALTIES = ("l2", "l1")
_DTYPES = {"float64": torch.float64, "float32": torch.float32}


_W_FLOOR = 1e-3  # floor on the curvature <sech^2 H_i> in the preconditioner (frozen spins)
_GROUP = 16  # a product of 16 numbers in [1, 2] stays below 2^16: exact enough, never overflows


def _sum_log(u: torch.Tensor) -> torch.Tensor:
    """sum(log u) for a flat tensor u with entries in [1, 2], one log per group of _GROUP entries."""
    k = (u.numel() // _GROUP) * _GROUP
    total = torch.log(u[:k].view(-1, _GROUP).prod(1)).sum(dtype=torch.float64)
    if k < u.numel():
        total = total + torch.log(u[k:]).sum(dtype=torch.float64)
    return total


class _PLObjective:
    """Mean negative pseudo-log-likelihood (without penalty) and its gradient.

    Holds the samples on ``device`` in ``dtype`` and evaluates in row chunks of ``batch_size``
    (bounded memory, cache-friendly on CPU).
    """

    def __init__(
        self,
        X: np.ndarray,
        m: np.ndarray,
        C: np.ndarray,
        device: torch.device,
        dtype: torch.dtype,
        batch_size: int | None,
    ) -> None:
        self.M, self.N = X.shape
        self.device, self.dtype = device, dtype
        self.X = torch.as_tensor(X).to(device=device, dtype=dtype)
        self.m, self.C = m, C
        if batch_size is None:
            # CPU: ~2^18 elements per chunk keeps H and tanh(H) in cache, but at least 2048 rows:
            # thin chunks make many small parallel regions, each waiting for every thread (on a
            # shared CPU this multiplied the time of an N = 675 fit by ~4). GPU: big chunks.
            if device.type == "cpu":
                batch_size = max(2048, (1 << 18) // max(self.N, 1))
            else:
                batch_size = max(256, (1 << 26) // max(self.N, 1))
        self.batch_size = int(min(max(1, batch_size), self.M))
        # Small products gain nothing from threads and lose a lot when the CPU is shared
        # (every parallel region waits for a descheduled thread): one thread below N = 256.
        self.n_threads = 1 if (device.type == "cpu" and self.N < 256) else None
        self.n_eval = 0

    def __call__(
        self, h: np.ndarray, J: np.ndarray, *, curvature: bool = False
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """Return f, df/dh (N,), df/dK (N, N) for fields h and coupling matrix J.

        With ``curvature=True`` also sets ``self.curvature`` to w_i = mean_mu (1 - tanh^2 H_mu,i)
        (N,), the diagonal of the Hessian in K_ij (any j), from the same pass over the data.
        """
        dev, dt = self.device, self.dtype
        Jt = torch.as_tensor(J).to(device=dev, dtype=dt)
        ht = torch.as_tensor(h).to(device=dev, dtype=dt)
        gK = torch.zeros((self.N, self.N), device=dev, dtype=dt)
        gh = torch.zeros(self.N, device=dev, dtype=torch.float64)
        lc = torch.zeros((), device=dev, dtype=torch.float64)
        w = torch.zeros(self.N, device=dev, dtype=torch.float64) if curvature else None
        with torch_threads(self.n_threads):
            for start in range(0, self.M, self.batch_size):
                Xc = self.X[start : start + self.batch_size]
                H = torch.addmm(ht, Xc, Jt)
                # tanh H = 2 sigmoid(2H) - 1 (torch's sigmoid is ~3x faster than its tanh), and
                # log 2cosh H = |H| + log 2 - log(1 + |tanh H|): stable; the logs of the factors
                # 1 + |tanh H| in [1, 2] are taken on products of _GROUP of them (one log per group)
                T = torch.sigmoid(2.0 * H).mul_(2.0).sub_(1.0)
                lc += H.abs().sum(dtype=torch.float64) - _sum_log(T.abs().add_(1.0).view(-1))
                gh += T.sum(0, dtype=torch.float64)
                if w is not None:
                    w += Xc.shape[0] - (T * T).sum(0, dtype=torch.float64)
                gK.addmm_(Xc.T, T)
        self.n_eval += 1
        M = self.M
        f = float(lc) / M + self.N * math.log(2.0) - float(np.sum(J * self.C)) - float(h @ self.m)
        grad_h = gh.cpu().numpy() / M - self.m
        grad_K = gK.to(torch.float64).cpu().numpy() / M - self.C
        if w is not None:
            self.curvature = w.cpu().numpy() / M
        return f, grad_h, grad_K


#: hyperparameters both estimators pass unchanged to the solver
_SOLVER_OPTIONS = ("max_iter", "tol", "device", "dtype", "batch_size", "precondition")


def _solver_options(est: IsingEstimator) -> dict:
    return {name: getattr(est, name) for name in _SOLVER_OPTIONS}


#: tol="noise": stop when the largest gradient component is this fraction of 1/sqrt(M)
NOISE_TOL_FRACTION = 0.1


def _resolve_tol(tol: float | str, n_samples: int) -> float:
    """A positive float, or "noise": NOISE_TOL_FRACTION / sqrt(M).

    The gradient components are (pseudo-)moment mismatches, whose sampling noise is at most
    ~1/sqrt(M) (2/sqrt(M) for the couplings, counted twice); stopping at a tenth of it moves the
    estimate by about a tenth of its statistical error (~0.5% in quadrature).
    """
    if isinstance(tol, str):
        if tol != "noise":
            raise ValueError(f"tol must be a positive number or 'noise', got {tol!r}")
        return NOISE_TOL_FRACTION / float(np.sqrt(max(int(n_samples), 1)))
    return check_positive(tol, "tol")


def _check_pl_params(penalty: str, alpha: float, alpha_h: float | None) -> tuple[float, float]:
    if penalty not in _PENALTIES:
        raise ValueError(f"penalty must be one of {_PENALTIES}, got {penalty!r}")
    a = check_nonnegative(alpha, "alpha")
    ah = a if alpha_h is None else check_nonnegative(alpha_h, "alpha_h")
    return a, ah


# Long by design: one L-BFGS / proximal loop whose state (parameters, curvature memory, penalty
# path, history) every step shares; the objective is the separate _PLObjective.
def _fit_pl(
    X: np.ndarray,
    m: np.ndarray,
    C: np.ndarray,
    *,
    penalty: str,
    alpha: float,
    alpha_h: float | None,
    h0: np.ndarray | None,
    J0: np.ndarray | None,
    max_iter: int,
    tol: float,
    device: str | torch.device,
    dtype: str,
    batch_size: int | None,
    precondition: bool = True,
) -> FitResult:
    a, ah = _check_pl_params(penalty, alpha, alpha_h)
    max_iter = int(max_iter)
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter!r}")
    tol = _resolve_tol(tol, X.shape[0])
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {tuple(_DTYPES)}, got {dtype!r}")
    M, N = X.shape
    const = constant_columns(m)
    if const.size and ah == 0:
        raise ValueError(
            f"spins {list(const[:10])} are constant: with alpha_h = 0 their field is infinite; "
            "use alpha_h > 0 (or alpha > 0, which sets alpha_h = alpha by default)"
        )
    obj = _PLObjective(X, m, C, resolve_device(device), _DTYPES[dtype], batch_size)
    iu = np.triu_indices(N, 1)
    P = iu[0].size
    if h0 is None or J0 is None:
        hs, Js = mean_field_start(m, C, shrinkage="auto", n_samples=M, method="bethe")
        h0 = hs if h0 is None else h0
        J0 = Js if J0 is None else J0
    h0 = np.asarray(h0, dtype=np.float64)
    J0 = np.asarray(J0, dtype=np.float64)
    if h0.shape != (N,) or J0.shape != (N, N):
        raise ValueError(f"h0/J0 must have shapes ({N},)/({N}, {N}), got {h0.shape}/{J0.shape}")
    ju0 = J0[iu]
    l1 = penalty == "l1"
    if l1:
        theta0 = np.concatenate([h0, np.maximum(ju0, 0.0), np.maximum(-ju0, 0.0)])
        bounds = [(None, None)] * N + [(0.0, None)] * (2 * P)
    else:
        theta0 = np.concatenate([h0, ju0])
        bounds = None

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h = theta[:N]
        ju = theta[N : N + P] - theta[N + P :] if l1 else theta[N:]
        J = np.zeros((N, N))
        J[iu] = ju
        return h, J + J.T

    last: dict = {}

    def fun(theta: np.ndarray, curvature: bool = False) -> tuple[float, np.ndarray]:
        if not curvature and "theta" in last and np.array_equal(last["theta"], theta):
            return last["rec"]["objective"], last["grad"]  # already evaluated here
        h, J = unpack(theta)
        f, gh, gK = obj(h, J, curvature=curvature)
        gJ = (gK + gK.T)[iu]
        ju = J[iu]
        rec = {
            "err_m": float(np.max(np.abs(gh), initial=0.0)),
            "err_C": 0.5 * float(np.max(np.abs(gJ), initial=0.0)),
        }
        f += 0.5 * ah * float(h @ h)
        gh = gh + ah * h
        if l1:
            f += 2.0 * a * float(np.sum(theta[N:]))
            grad = np.concatenate([gh, gJ + 2.0 * a, -gJ + 2.0 * a])
        else:
            f += a * float(ju @ ju)
            grad = np.concatenate([gh, gJ + 2.0 * a * ju])
        rec["objective"] = f
        last.clear()
        last.update(theta=theta.copy(), rec=rec, grad=grad)
        return f, grad

    # Diagonal preconditioning: L-BFGS-B works on z = theta / scale, with scale^-2 the diagonal of
    # the Hessian at the start: w_i + alpha_h for h_i, w_i + w_j + 2 alpha for J_ij (the data
    # term contributes w_i through K_ij and w_j through K_ji; x_j^2 = 1), w_i = <sech^2 H_i>.
    # Nearly frozen spins (w_i -> 0) otherwise dominate the conditioning of strong couplings.
    if precondition:
        fun(theta0, curvature=True)  # L-BFGS-B's first evaluation, reused below
        w = np.maximum(obj.curvature, _W_FLOOR)
        s_h = 1.0 / np.sqrt(w + ah)
        s_J = 1.0 / np.sqrt(w[iu[0]] + w[iu[1]] + 2.0 * a)
        scale = np.concatenate([s_h, s_J, s_J] if l1 else [s_h, s_J])
    else:
        scale = np.ones_like(theta0)

    history: list[dict] = []

    def projected_grad_max(theta: np.ndarray, grad: np.ndarray) -> float:
        g = grad.copy()
        if l1:
            at_bound = (theta[N:] <= 0.0) & (g[N:] > 0.0)
            g[N:][at_bound] = 0.0
        return float(np.max(np.abs(g), initial=0.0))

    z0 = theta0 / scale

    def to_theta(z: np.ndarray) -> np.ndarray:
        # the start maps back to theta0 itself (scale * (theta0 / scale) may differ in the last
        # bit), so its evaluation made for the preconditioner is reused
        return theta0 if np.array_equal(z, z0) else scale * z

    def fun_z(z: np.ndarray) -> tuple[float, np.ndarray]:
        f, grad = fun(to_theta(z))
        return f, scale * grad

    def callback(zk: np.ndarray) -> None:
        xk = to_theta(zk)
        _, grad = fun(xk)
        gmax = projected_grad_max(xk, grad)
        history.append({"iteration": len(history) + 1, **last["rec"], "grad_max": gmax})
        if gmax <= tol:  # the criterion is on the gradient in theta, not in z
            raise StopIteration

    # Stop on the projected gradient (gtol); the relative-decrease test (ftol) is set far
    # below the statistical scale and only ends runs that can no longer make progress.
    ftol = 1e-14 if dtype == "float64" else 1e-12
    res = scipy.optimize.minimize(
        fun_z,
        z0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        callback=callback,
        # |grad_theta| <= |grad_z| / min(scale): scipy's own gtol test never stops too early
        options={
            "maxiter": max_iter,
            "maxfun": 2 * max_iter + 20,
            "gtol": tol * float(scale.min()),
            "ftol": ftol,
            "maxcor": 20,
        },
    )
    x = to_theta(res.x)
    f, grad = fun(x)
    gmax = projected_grad_max(x, grad)
    h, J = unpack(x)
    converged = bool(gmax <= tol or (res.status == 0 and gmax <= 100 * tol))
    if not history or history[-1]["objective"] != f:
        history.append({"iteration": len(history) + 1, **last["rec"], "grad_max": gmax})
    return FitResult(h=h, J=J, n_iter=int(res.nit), converged=converged, history=history)


def pseudolikelihood(
    X: np.ndarray,
    *,
    penalty: str = "l2",
    alpha: float = 1e-4,
    alpha_h: float | None = None,
    h0: np.ndarray | None = None,
    J0: np.ndarray | None = None,
    max_iter: int = 500,
    tol: float | str = 1e-4,
    device: str = "cpu",
    dtype: str = "float64",
    batch_size: int | None = None,
    precondition: bool = True,
) -> FitResult:
    """Fit h, J by maximizing the penalized pseudo-likelihood of ±1 samples.

    Parameters
    ----------
    X : array (M, N) of ±1
        Samples in rows (M >= 2).
    penalty : {"l2", "l1"}
        Penalty on the couplings: (alpha/2)||J||_F^2 or alpha ||J||_1 (sums over i != j).
    alpha : float >= 0
        Penalty strength on J (per sample: the data term is an average over samples).
    alpha_h : float >= 0, optional
        L2 strength on the fields, (alpha_h/2)||h||^2; defaults to ``alpha``.
    h0, J0 : arrays (N,), (N, N), optional
        Starting point (warm start); default: naive mean field from shrunk correlations.
    max_iter : int
        Maximum L-BFGS-B iterations.
    tol : float or "noise"
        Convergence when the largest (projected) gradient component is <= tol ("noise":
        0.1 / sqrt(M), see :class:`PseudoLikelihood`).
    device : str
        torch device for the matrix products: "cpu" or "cuda".
    dtype : {"float64", "float32"}
        Precision of the matrix products (accumulations of f and grad h are float64).
    batch_size : int, optional
        Rows per chunk (default: ~2^18 elements and at least 2048 rows per chunk on CPU, 2^26
        elements on GPU).
    precondition : bool
        Diagonal preconditioning of L-BFGS-B by the Hessian diagonal at the start (module
        docstring); saves ~1/3 of the iterations on strongly coupled data.

    Returns
    -------
    FitResult
        h (N,), J (N, N), n_iter, converged, history (objective, err_m, err_C, grad_max per
        iteration).
    """
    Xf = check_spins(X, name="X", min_samples=2, dtype=np.int8)
    mom = Moments._from_checked(Xf)
    return _fit_pl(
        Xf,
        mom.m,
        mom.C,
        penalty=penalty,
        alpha=alpha,
        alpha_h=alpha_h,
        h0=h0,
        J0=J0,
        max_iter=max_iter,
        tol=tol,
        device=device,
        dtype=dtype,
        batch_size=batch_size,
        precondition=precondition,
    )


class PseudoLikelihood(IsingEstimator):
    """Pseudo-likelihood estimator (L2 or L1), full model with symmetric J; needs raw samples.

    Parameters
    ----------
    penalty : {"l2", "l1"}, default "l2"
        (alpha/2)||J||_F^2 or alpha ||J||_1, sums over i != j (each pair counted twice, as
        in N per-spin logistic regressions with penalty alpha on each row).
    alpha : float, default 1e-4
        Penalty strength on J. Choose it by held-out pseudo-likelihood with
        :class:`PseudoLikelihoodCV`.
    alpha_h : float or None, default None
        L2 strength on the fields; None means ``alpha``. Must be > 0 to fit constant spins.
    max_iter : int, default 500
        L-BFGS-B iterations.
    tol : float or "noise", default 1e-4
        Largest projected gradient component at convergence. "noise": 0.1 / sqrt(M), a tenth
        of the sampling noise of the moments (M samples): the estimate then differs from the
        exact optimum by about a tenth of its statistical error, in fewer iterations when M is
        small (see ``benchmarks/results/pl_scale.md``).
    device : str, default "cpu"
        torch device for the heavy products ("cuda" to use a GPU).
    dtype : {"float64", "float32"}, default "float64"
        Precision of the heavy products.
    batch_size : int or None
        Rows per chunk of the data pass (None: automatic).
    precondition : bool, default True
        Diagonal (Hessian-diagonal) preconditioning of L-BFGS-B.

    Attributes
    ----------
    h_, J_, model_, n_iter_, converged_, history_
        As for every :class:`~maxent.fit.IsingEstimator`. ``history_`` has one row per
        iteration: ``objective`` (penalized), ``err_m``, ``err_C`` (pseudo-moment violations,
        see the module docstring), ``grad_max``.

    Notes
    -----
    ``fit`` refuses a :class:`~maxent.Moments`: the pseudo-likelihood is not a function of
    the first two moments. Measured rmse of J on SK-like truths: 0.0085 (N=20, beta=0.5,
    M=2e4), 0.024 (N=20, beta=1.5; exact ML 0.023, TAP 0.21), 0.0056 (N=100, beta=0.5, M=5e4
    Gibbs samples); see the module docstring.
    """

    supports_moments = False

    def __init__(
        self,
        penalty: str = "l2",
        alpha: float = 1e-4,
        alpha_h: float | None = None,
        max_iter: int = 500,
        tol: float | str = 1e-4,
        device: str = "cpu",
        dtype: str = "float64",
        batch_size: int | None = None,
        precondition: bool = True,
    ) -> None:
        self.penalty = penalty
        self.alpha = alpha
        self.alpha_h = alpha_h
        self.max_iter = max_iter
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.precondition = precondition

    def _allows_constant_spins(self) -> bool:
        _, ah = _check_pl_params(self.penalty, self.alpha, self.alpha_h)
        return ah > 0

    def _fit(self, moments: Moments, X: np.ndarray | None) -> FitResult:
        if X is None:  # pragma: no cover - the base refuses Moments for this estimator
            raise TypeError("PseudoLikelihood needs the raw samples")
        return _fit_pl(
            X,
            moments.m,
            moments.C,
            penalty=self.penalty,
            alpha=self.alpha,
            alpha_h=self.alpha_h,
            h0=None,
            J0=None,
            **_solver_options(self),
        )


def _cv_path(
    X_train: np.ndarray,
    X_test: np.ndarray,
    alphas: np.ndarray,
    params: dict,
    fold: int,
) -> list[dict]:
    """Fit along the alpha path (largest first, warm-started) and score on the held-out fold."""
    mom = Moments.from_samples(X_train)
    h0 = J0 = None
    rows = []
    for alpha in sorted(alphas, reverse=True):
        res = _fit_pl(X_train, mom.m, mom.C, alpha=float(alpha), h0=h0, J0=J0, **params)
        h0, J0 = res.h, res.J
        rows.append(
            {
                "alpha": float(alpha),
                "fold": fold,
                "test_score": mean_pseudo_log_likelihood(res.h, res.J, X_test),
                "train_score": mean_pseudo_log_likelihood(res.h, res.J, X_train),
                "n_iter": res.n_iter,
                "converged": res.converged,
            }
        )
    return rows


def _group_folds(groups: np.ndarray, k: int, seed: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """K folds of whole groups (shuffled groups dealt round-robin), as (train, test) row indices."""
    ids = np.unique(groups)
    if len(ids) < k:
        raise ValueError(f"cv={k} folds need at least {k} groups (runs), got {len(ids)}")
    perm = np.random.default_rng(seed).permutation(ids)
    fold_of = dict(zip(perm.tolist(), (np.arange(len(ids)) % k).tolist(), strict=True))
    f = np.array([fold_of[g] for g in np.asarray(groups).tolist()])
    return [(np.flatnonzero(f != i), np.flatnonzero(f == i)) for i in range(k)]


class PseudoLikelihoodCV(IsingEstimator):
    """Pseudo-likelihood with the penalty chosen by K-fold held-out pseudo-log-likelihood.

    For each fold, the model is fitted on the other folds along the grid of ``alphas``
    (from the largest, each fit warm-started from the previous one) and scored by the mean
    held-out pseudo-log-likelihood per sample (:func:`maxent.fit._likelihood.mean_pseudo_log_likelihood`).
    The alpha with the best mean score over folds is refitted on all the data.

    Parameters
    ----------
    alphas : int or sequence of float, default 8
        Grid of penalties; an int n gives n values log-spaced from 1e-5 to 1e-1.
    cv : int, default 5
        Number of folds (shuffled K-fold with ``random_state``).
    penalty, alpha_h, max_iter, tol, device, dtype, batch_size, precondition
        As for :class:`PseudoLikelihood` (``alpha_h=None`` follows each alpha).
    n_jobs : int or None
        Folds fitted in parallel with joblib.
    random_state : int, Generator or None
        Seed of the fold shuffling.
    max_extend : int, default 3
        When the best penalty is the largest or smallest of the grid, the grid is extended
        by the ratio of its outer neighbours (x10 for a one-point grid) in that direction, up
        to ``max_extend`` times; if the choice still sits on the edge a UserWarning says so
        (the optimum was not bracketed) and ``on_edge_`` is True.

    Groups: ``fit(X, groups=runs)`` makes the folds whole groups (runs of a weight-sample set:
    draws of one trained network never straddle a training and a held-out fold).

    Attributes
    ----------
    alpha_ : float
        The selected penalty.
    best_score_ : float
        Its mean held-out pseudo-log-likelihood per sample.
    score_se_ : float
        Standard error over folds of the held-out score at ``alpha_`` (a CV curve flatter
        than this does not select a penalty).
    on_edge_ : bool
        Whether ``alpha_`` is still an end of the (extended) grid.
    cv_results_ : DataFrame
        Tidy: one row per (alpha, fold) with ``test_score``, ``train_score``, ``n_iter``,
        ``converged``. ``cv_results_.groupby("alpha").test_score.mean()`` is the CV curve.
    h_, J_, model_, n_iter_, converged_, history_
        Of the final fit on all data.
    """

    supports_moments = False

    def __init__(
        self,
        alphas: int | Sequence[float] = 8,
        cv: int = 5,
        penalty: str = "l2",
        alpha_h: float | None = None,
        max_iter: int = 500,
        tol: float | str = 1e-4,
        device: str = "cpu",
        dtype: str = "float64",
        batch_size: int | None = None,
        precondition: bool = True,
        n_jobs: int | None = None,
        random_state: int | np.random.Generator | None = None,
        max_extend: int = 3,
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.max_extend = max_extend
        self.penalty = penalty
        self.alpha_h = alpha_h
        self.max_iter = max_iter
        self.tol = tol
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.precondition = precondition
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X: np.ndarray | Moments, y: None = None, groups: np.ndarray | None = None):
        """Fit as :meth:`IsingEstimator.fit`; ``groups`` (M,) keeps each group in one fold."""
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (np.shape(X)[0],):
                raise ValueError(f"groups must have shape ({np.shape(X)[0]},), got {groups.shape}")
        self._groups = groups
        try:
            return super().fit(X, y)
        finally:
            self._groups = None

    def _alpha_grid(self) -> np.ndarray:
        if isinstance(self.alphas, (int, np.integer)):
            if self.alphas < 1:
                raise ValueError(f"alphas must be a positive int or a list of penalties, got {self.alphas}")
            return np.logspace(-5, -1, int(self.alphas))
        grid = np.asarray(self.alphas, dtype=np.float64).ravel()
        if grid.size == 0 or np.any(~np.isfinite(grid)) or np.any(grid < 0):
            raise ValueError(f"alphas must be finite penalties >= 0, got {self.alphas!r}")
        return np.unique(grid)

    def _allows_constant_spins(self) -> bool:
        grid = self._alpha_grid()
        return (grid.min() if self.alpha_h is None else float(self.alpha_h)) > 0

    def _fit(self, moments: Moments, X: np.ndarray | None) -> FitResult:
        if X is None:  # pragma: no cover - the base refuses Moments for this estimator
            raise TypeError("PseudoLikelihoodCV needs the raw samples")
        grid = self._alpha_grid()
        k = int(self.cv)
        if k < 2 or k > X.shape[0]:
            raise ValueError(f"cv must be an int in [2, n_samples={X.shape[0]}], got {self.cv!r}")
        _check_pl_params(self.penalty, grid[0], self.alpha_h)
        seed = self.random_state
        if isinstance(seed, np.random.Generator):
            seed = int(seed.integers(2**31 - 1))
        ext = self.max_extend
        if isinstance(ext, bool) or not isinstance(ext, (int, np.integer)) or ext < 0:
            raise ValueError(f"max_extend must be an integer >= 0, got {ext!r}")
        groups = getattr(self, "_groups", None)
        if groups is None:
            folds = list(KFold(n_splits=k, shuffle=True, random_state=seed).split(X))
        else:
            folds = _group_folds(groups, k, seed)
        params = {"penalty": self.penalty, "alpha_h": self.alpha_h, **_solver_options(self)}

        def path(alphas: np.ndarray) -> list[dict]:
            out = Parallel(n_jobs=self.n_jobs)(
                delayed(_cv_path)(X[tr], X[te], alphas, params, fold) for fold, (tr, te) in enumerate(folds)
            )
            return [row for rows in out for row in rows]

        rows = path(grid)
        for _ in range(int(ext) + 1):
            df = pd.DataFrame(rows).sort_values(["alpha", "fold"], ignore_index=True)
            curve = df.groupby("alpha").test_score.mean()
            alphas = curve.index.to_numpy(float)
            best = float(curve.idxmax())
            on_top, on_bottom = best == alphas.max(), best == alphas.min() and best > 0
            if len(alphas) < 2 and best == 0:
                break
            if not (on_top or on_bottom) or _ == ext:
                break
            step = alphas[-1] / alphas[-2] if on_top and len(alphas) > 1 and alphas[-2] > 0 else 10.0
            if on_bottom:
                step = alphas[1] / alphas[0] if len(alphas) > 1 else 10.0
            new = best * step if on_top else best / step
            rows += path(np.array([new]))
        sd = df[df["alpha"] == best].test_score.std(ddof=1)
        self.score_se_ = float(sd / np.sqrt(k)) if np.isfinite(sd) else float("nan")
        self.on_edge_ = bool(on_top or on_bottom) and len(alphas) > 1
        if self.on_edge_:
            warnings.warn(
                f"{type(self).__name__}: the selected alpha={best:g} is still the "
                f"{'largest' if on_top else 'smallest'} of the grid after {ext} extension(s); the "
                "held-out optimum is not bracketed (a flat CV curve: the data do not select a penalty)",
                UserWarning,
                stacklevel=3,
            )
        self.alpha_ = best
        self.best_score_ = float(curve.max())
        self.cv_results_ = df
        return _fit_pl(X, moments.m, moments.C, alpha=self.alpha_, h0=None, J0=None, **params)

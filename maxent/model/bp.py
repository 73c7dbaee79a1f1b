r"""Dense belief propagation (BP) for the fully connected pairwise model; Bethe free energy.

Model (maxent convention): P(s) = exp(sum_{i<j} J_ij s_i s_j + sum_i h_i s_i) / Z, s_i = ±1.
Every pair with J_ij != 0 is an edge of the factor graph, so the graph is dense and loopy.

Messages
--------
The message from i to j is a cavity field u_{i->j}: the field that spin i, with j removed,
exerts on j. With the *cavity field* of i (the field on i when j is removed)

    g_{i->j} = H_i - u_{j->i},          H_i = h_i + sum_{k != i} u_{k->i}     (full field of i)

BP reads

    u_{i->j} = atanh( tanh(J_ij) tanh(g_{i->j}) ).                                       (1)

Implementation (matrix form, float64, no transcendental function on N x N arrays in the loop).
The state is V = tanh(U), V[i, j] = v_{i->j} = tanh u_{i->j}. With T = tanh(J) computed once
per model and M_i = tanh(H_i), the addition theorem of tanh gives the cavity magnetizations

    t_{i->j} = tanh(g_{i->j}) = (M_i - v_{j->i}) / (1 - M_i v_{j->i}),     v_{i->j} <- T_ij t_{i->j}

(one fused pass of arithmetic over the N x N array plus one transpose), and the full fields
follow from column products, exp(2 u) = (1 + v) / (1 - v):

    H_i = h_i + (1/2) log[ prod_k (1 + v_{k->i}) / prod_k (1 - v_{k->i}) ]               (2)

(only N logarithms per sweep). The products are used when they cannot over- or underflow
(max_i sum_k 2|T_ki| / (1 - |T_ki|) < 600, true for any realistic model); otherwise the sum of
atanh is taken. Updates are synchronous ("parallel"), with optional damping
v <- (1 - damping) v_new + damping v.

Convergence: the largest change of a message in one sweep, max_{i,j} |u_new - u_old| <= tol.
It is measured on v and scaled by 1 / (1 - max T^2), an upper bound on the change of u
(|d atanh(v)/dv| = 1/(1 - v^2) and |v| <= |T|), so the criterion is never looser than stated.
(For very strong couplings, |J| >~ 5, the float64 resolution of u = atanh(v) is ~1e-16/(1 - v^2),
so a tol far below ~1e-10 may be unreachable there; such a run is reported as unconverged.)

Bethe quantities at a fixed point
---------------------------------
Magnetizations m_i = tanh(H_i). The two-spin marginal (belief) of an edge is

    b_ij(s_i, s_j) ∝ exp(J_ij s_i s_j + g_{i->j} s_i + g_{j->i} s_j),

so with P_ij = t_{i->j} t_{j->i} the Bethe pair correlation is

    C_ij = <s_i s_j>_Bethe = (T_ij + P_ij) / (1 + T_ij P_ij)                             (3)

(C_ii = 1; for J_ij = 0 it reduces to m_i m_j). The Bethe free energy F = -log Z_Bethe,
log Z_Bethe = sum_i log Z_i - sum_{i<j} log Z_ij with the site and edge normalizations
Z_i = sum_s e^{h_i s} prod_k cosh(J_ik) (1 + s T_ik t_{k->i}),
Z_ij = cosh(J_ij) (1 + T_ij t_{i->j} t_{j->i}); using cosh(J)(1 + s v) = cosh(J) e^{s u}/cosh(u)
and 1/cosh^2(u) = 1 - v^2:

    log Z_Bethe = sum_i log(2 cosh H_i) + sum_{i<j} log cosh J_ij
                  + (1/2) sum_{i != j} log(1 - v_{i->j}^2) - sum_{i<j} log(1 + T_ij P_ij).   (4)

(Check: N = 2 gives log[4 cosh h_1 cosh h_2 cosh J (1 + T tanh h_1 tanh h_2)], the exact
log Z; on a tree (4) is exact.) (4) holds at a fixed point. What is evaluated is its message
form (Mezard & Montanari, ch. 14: log Z = sum_edges log Z_ij + sum_i log Z_i - sum_{i->j}
log Z_{i,ij}), a function of the messages v that is *stationary* at fixed points, so that a
message error delta (BP stopped at tol) moves log Z by O(delta^2) instead of O(delta):

    log Z_Bethe[v] = sum_i log(2 cosh H_i) + sum_{i<j} log cosh J_ij - (1/2) sum_{k != i} log(1 - v_{k->i}^2)
                     + sum_{i<j} log(1 + T_ij P_ij) + sum_{k != i} log(1 - M_i v_{k->i}),     (6)

with H, M = tanh H and t (hence P) computed from the same v (use
1 + t_{i->k} v_{k->i} = (1 - v_{k->i}^2)/(1 - M_i v_{k->i}); at a fixed point (6) = (4)). Measured:
BP stopped at tol 1e-5 gives log Z within 3e-9 of the converged value (N = 20).
The mean energy under the Bethe marginals and the Bethe entropy are

    <E> = -( sum_{i<j} J_ij C_ij + sum_i h_i m_i ),        S = <E> - F = <E> + log Z_Bethe.  (5)

(3), (5), (6) are evaluated in one pass after convergence (the logarithms again as column
products; sum log(1 - v^2) comes free from the products of eq. (2)).
All of these are exact on trees (tested to 1e-10 against enumeration).

Backends (``device``). On the CPU the default (None) runs the sweep and the observables as
compiled numba loops (:mod:`maxent._bp_numba`): one fused pass over the messages per sweep
instead of about a dozen numpy passes, the same float64 arithmetic (numbers equal to ~1e-14;
speed in benchmarks/results/landscape.md). Its products are folded into
logarithms every few rows, so it needs no atanh fallback for strong couplings. ``"numpy"`` forces
the numpy kernel (also used when numba is missing). A torch implementation of the same sweep
runs on CUDA (``device="cuda"``) or on a torch CPU device (``"cpu"``); same numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from maxent._threads import single_thread_blas
from maxent._validation import check_fields_couplings, check_nonnegative, check_positive

__all__ = ["BPResult", "DenseBP", "run_bp", "BPConvergenceWarning", "check_bp_options", "single_thread_blas"]

#: products of (1 ± v) are used for the fields when sum_k 2|T|/(1-|T|) stays below this
_PRODUCT_GUARD = 600.0
#: |tanh J| this close to 1 makes (1) ill-conditioned in float64 (|J| > ~14)
_MAX_TANH = 1.0 - 1e-12


def check_bp_options(
    tol: float, damping: float, max_iter: int, retry_damping: float | None = None, prefix: str = ""
) -> tuple[float, float, int, float | None]:
    """Checked BP options (``prefix`` names them as the caller does, e.g. "bp_"): tol > 0,
    damping in [0, 1), max_iter a positive integer, retry_damping in (0, 1) or None."""
    tol = check_positive(tol, f"{prefix}tol")
    damping = check_nonnegative(damping, f"{prefix}damping")
    if damping >= 1.0:
        raise ValueError(f"{prefix}damping must be in [0, 1), got {damping!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"{prefix}max_iter must be a positive integer, got {max_iter!r}")
    if retry_damping is not None and not 0.0 < float(retry_damping) < 1.0:
        raise ValueError(f"{prefix}retry_damping must be in (0, 1) or None, got {retry_damping!r}")
    return tol, damping, int(max_iter), retry_damping


class BPConvergenceWarning(ConvergenceWarning):
    """BP stopped before the largest message change fell below ``tol``."""


@dataclass
class BPResult:
    """Result of :func:`run_bp`.

    Attributes
    ----------
    m : ndarray (N,)
        Bethe magnetizations m_i = tanh(H_i).
    C : ndarray (N, N)
        Bethe pair correlations <s_i s_j> from the two-spin beliefs, eq. (3); unit diagonal.
    free_energy : float
        Total Bethe free energy F = -log Z_Bethe, eq. (4).
    energy : float
        Total mean energy <E> = -(sum_{i<j} J_ij C_ij + sum_i h_i m_i) under the Bethe marginals.
    entropy : float
        Total Bethe entropy S = energy - free_energy (nats).
    converged : bool
        Whether the largest message change fell below ``tol`` within ``max_iter`` sweeps.
    n_iter : int
        Number of synchronous BP sweeps performed.
    messages : ndarray (N, N)
        Cavity-field messages, ``messages[i, j] = u_{i->j}``; pass them back as ``messages=``
        to warm-start a later call (e.g. on a slightly changed model).
    max_change : float
        Largest message change of the last sweep (an upper bound on max |Δu|).
    fields : ndarray (N,)
        Full local fields H_i (m = tanh H).
    """

    m: np.ndarray
    C: np.ndarray
    free_energy: float
    energy: float
    entropy: float
    converged: bool
    n_iter: int
    messages: np.ndarray
    max_change: float
    fields: np.ndarray

    @property
    def log_z(self) -> float:
        """Bethe log-partition function, -free_energy."""
        return -self.free_energy


# ---------------------------------------------------------------------------------------------
# kernels: one synchronous sweep and the observables, for numpy / numba (CPU) and torch (any device)
# ---------------------------------------------------------------------------------------------


class _NumpyKernel:
    """Preallocated float64 buffers and the fused sweep for numpy."""

    backend = "numpy"

    def __init__(self, n: int) -> None:
        self.n = n
        self._a = np.empty((n, n))
        self._b = np.empty((n, n))  # after a sweep: tt[j, i] = t_{i->j}
        self._c = np.empty((n, n))  # after a sweep: Y[j, i] = T_ij t_{i->j} (new messages, transposed)
        self._d = np.empty((n, n))
        self._out: np.ndarray | None = None  # undamped new messages (= Y^T) of the last sweep

    def set_couplings(self, T: np.ndarray, use_products: bool, EJ: np.ndarray) -> None:
        """T = tanh(J) of the BP model and EJ, the couplings of the reported pair energy."""
        self.T = T
        self.use_products = use_products
        # pair energy without forming P (no transpose): with X = T P = tt * Y^T,
        # EJ * C = (EJ T + (EJ / T) X) / (1 + X); needs EJ = 0 wherever T = 0
        nz = T != 0.0
        self._fast_energy = bool(np.all(EJ[~nz] == 0.0))
        self.EJT = EJ * T
        self.EJoT = np.divide(EJ, T, out=np.zeros_like(EJ), where=nz)

    # array helpers
    def asarray(self, x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(x, dtype=np.float64)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x)

    def zeros(self) -> np.ndarray:
        return np.zeros((self.n, self.n))

    def empty_stack(self, k: int) -> np.ndarray:
        return np.empty((k, self.n, self.n))

    def copy_into(self, dst: np.ndarray, src: np.ndarray) -> None:
        np.copyto(dst, src)

    def combine(self, weights: np.ndarray, stack: np.ndarray, out: np.ndarray) -> bool:
        """out = sum_k weights[k] stack[k] (one BLAS pass); False if some |out| >= 1."""
        k = stack.shape[0]
        np.dot(weights, stack.reshape(k, -1), out=out.reshape(-1))
        return bool(max(out.max(), -out.min()) < 1.0)

    def fields(self, v: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Full fields H_i = h_i + sum_k atanh(v_{k->i}), eq. (2); also keeps
        sum_{k,i} log(1 - v_{k->i}^2) for the free energy (no extra pass)."""
        if self.use_products:
            a, b = self._a, self._b
            np.add(v, 1.0, out=a)
            np.subtract(1.0, v, out=b)
            pp, pm = np.log(a.prod(axis=0)), np.log(b.prod(axis=0))
            self._log1mv2 = float(pp.sum() + pm.sum())
            return h + 0.5 * (pp - pm)
        self._log1mv2 = float(np.log1p(-v * v).sum())
        return h + np.arctanh(v).sum(axis=0)

    def sweep(
        self, v: np.ndarray, h: np.ndarray, out: np.ndarray, damping: float
    ) -> tuple[np.ndarray, float]:
        """One synchronous sweep v -> out; returns the full fields of v and max |out - v|."""
        a, b, c = self._a, self._b, self._c
        H = self.fields(v, h)
        M = np.tanh(H)[None, :]
        np.multiply(M, v, out=a)  # a[j, i] = M_i v_{j->i}
        np.subtract(1.0, a, out=a)
        np.subtract(M, v, out=b)
        np.divide(b, a, out=b)  # b[j, i] = t_{i->j}
        np.multiply(b, self.T, out=c)  # c[j, i] = v_{i->j} new
        np.copyto(out, c.T)
        d = self._d  # a keeps 1 - M_i v_{j->i} for the free energy
        np.subtract(out, v, out=d)
        delta = float(max(d.max(), -d.min()))
        self._out = out
        if damping > 0.0:
            self._out = None
            d *= 1.0 - damping
            np.add(v, d, out=out)
        return H, delta

    def observables(
        self, H: np.ndarray, J: np.ndarray, want_C: bool
    ) -> tuple[float, float, np.ndarray | None]:
        """After a sweep: (sum_{i<j} EJ_ij C_ij, the message terms of log Z_Bethe, C or None).

        Everything refers to the messages v that *entered* the last sweep (H, t and the
        products are theirs): the message form (6) of the Bethe free energy, stationary at
        fixed points, so an error delta in the messages changes F by O(delta^2) only.
        ``J`` must be the ``EJ`` the kernel was built with (the energy couplings).
        """
        a, b, c, d = self._a, self._b, self._c, self._d
        C = None
        if want_C or self._out is None or not self._fast_energy:
            np.multiply(b, b.T, out=c)  # P_ij = t_{i->j} t_{j->i} (exactly symmetric)
            np.multiply(self.T, c, out=d)
            d += 1.0  # Q = 1 + T P
            c += self.T
            c /= d  # C, eq. (3) (diagonal: t_ii^2, unused: J_ii = 0)
            pair = 0.5 * float(np.vdot(J, c))
            if want_C:
                C = c.copy()
                np.fill_diagonal(C, 1.0)
        else:
            np.multiply(b, self._out, out=d)  # X = T P: tt[j,i] * v_{j->i} = T_ij t_{i->j} t_{j->i}
            np.multiply(self.EJoT, d, out=c)
            c += self.EJT
            d += 1.0  # Q
            c /= d  # EJ * C
            pair = 0.5 * float(c.sum())
        if self.use_products:
            log_q = float(np.log(d.prod(axis=0)).sum())
            log_a = float(np.log(a.prod(axis=0)).sum())
        else:
            log_q = float(np.log(d).sum())
            log_a = float(np.log(a).sum())
        return pair, 0.5 * log_q + log_a - 0.5 * self._log1mv2, C


class _NumbaKernel(_NumpyKernel):
    """The numpy kernel's sweep and observables as compiled loops (:mod:`maxent._bp_numba`):
    one fused pass per sweep (about 3x faster than the numpy kernel at N = 675), the same
    float64 arithmetic, no N x N temporaries. Array helpers are the numpy kernel's."""

    backend = "numba"

    def __init__(self, n: int) -> None:
        from maxent.model import _bp_numba

        self.n = n
        self._nb = _bp_numba
        self._no_C = np.empty((1, 1))
        self._tmp32: np.ndarray | None = None
        self._v_last: np.ndarray | None = None
        self._M_last: np.ndarray | None = None

    def set_couplings(self, T: np.ndarray, use_products: bool, EJ: np.ndarray) -> None:
        self.T = np.ascontiguousarray(T)
        self.EJ = np.ascontiguousarray(EJ)
        self.use_products = use_products
        self.block = self._nb.fold_block(self.T)

    def empty_stack(self, k: int) -> np.ndarray:
        """A float32 history of k messages, flattened (k, N*N): warm starts only need to be close
        (BP then converges in float64), and half the bytes halve the cost of extrapolating."""
        return np.empty((k, self.n * self.n), dtype=np.float32)

    def copy_into(self, dst: np.ndarray, src: np.ndarray) -> None:
        np.copyto(dst.reshape(src.shape) if dst.shape != src.shape else dst, src, casting="same_kind")

    def combine(self, weights: np.ndarray, stack: np.ndarray, out: np.ndarray) -> bool:
        """out = sum_k weights[k] stack[k], one float32 BLAS pass (a warm start: its ~1e-7
        relative rounding only costs BP sweeps, never accuracy); False if some |out| >= 1."""
        if stack.dtype != np.float32:
            return super().combine(weights, stack, out)
        if self._tmp32 is None or self._tmp32.size != stack.shape[1]:
            self._tmp32 = np.empty(stack.shape[1], dtype=np.float32)
        tmp = self._tmp32
        np.dot(np.asarray(weights, dtype=np.float32), stack, out=tmp)
        np.copyto(out.reshape(-1), tmp)
        return bool(max(tmp.max(), -tmp.min()) < 1.0)

    def fields(self, v: np.ndarray, h: np.ndarray) -> np.ndarray:
        half, self._log1mv2 = self._nb.half_log_ratio(v, self.block)
        return h + half

    def sweep(
        self, v: np.ndarray, h: np.ndarray, out: np.ndarray, damping: float
    ) -> tuple[np.ndarray, float]:
        H = self.fields(v, h)
        M = np.tanh(H)
        delta = float(self._nb.sweep(v, self.T, M, out, float(damping)))
        if not np.all(np.isfinite(M)):
            delta = np.inf
        self._v_last, self._M_last, self._out_last = v, M, out
        return H, delta

    def observables(
        self, H: np.ndarray, J: np.ndarray, want_C: bool
    ) -> tuple[float, float, np.ndarray | None]:
        C = np.empty((self.n, self.n)) if want_C else self._no_C
        pair, log_a, log_q = self._nb.observables(
            self._v_last, self.T, self._M_last, self.EJ, self.block, bool(want_C), C
        )
        if want_C:
            np.fill_diagonal(C, 1.0)
        return float(pair), 0.5 * float(log_q) + float(log_a) - 0.5 * self._log1mv2, C if want_C else None


def _numba_available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a dependency
        return False
    return True


class _TorchKernel:
    """The same sweep with torch tensors (float64) on ``device``."""

    backend = "torch"

    def __init__(self, n: int, device: str) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.n = n
        self._tt: Any = None
        self._A: Any = None

    def set_couplings(self, T: np.ndarray, use_products: bool, EJ: np.ndarray) -> None:
        self.T = self.torch.as_tensor(T, dtype=self.torch.float64, device=self.device)
        self.use_products = use_products

    def asarray(self, x: Any) -> Any:
        return self.torch.as_tensor(np.asarray(x, dtype=np.float64), device=self.device).contiguous()

    def to_numpy(self, x: Any) -> np.ndarray:
        return x.detach().cpu().numpy()

    def zeros(self) -> Any:
        return self.torch.zeros((self.n, self.n), dtype=self.torch.float64, device=self.device)

    def empty_stack(self, k: int) -> Any:
        return self.torch.empty((k, self.n, self.n), dtype=self.torch.float64, device=self.device)

    def copy_into(self, dst: Any, src: Any) -> None:
        dst.copy_(src)

    def combine(self, weights: np.ndarray, stack: Any, out: Any) -> bool:
        w = self.torch.as_tensor(weights, dtype=self.torch.float64, device=self.device)
        out.copy_(self.torch.tensordot(w, stack, dims=1))
        return bool(out.abs().max().item() < 1.0)

    def fields(self, v: Any, h: Any) -> Any:
        torch = self.torch
        if self.use_products:
            pp, pm = torch.log((1.0 + v).prod(dim=0)), torch.log((1.0 - v).prod(dim=0))
            self._log1mv2 = float((pp.sum() + pm.sum()).item())
            return h + 0.5 * (pp - pm)
        self._log1mv2 = float(torch.log1p(-v * v).sum().item())
        return h + torch.atanh(v).sum(dim=0)

    def sweep(self, v: Any, h: Any, out: Any, damping: float) -> tuple[Any, float]:
        H = self.fields(v, h)
        M = self.torch.tanh(H)[None, :]
        A = 1.0 - M * v
        tt = (M - v) / A
        Y = tt * self.T
        out.copy_(Y.T)
        diff = out - v
        delta = float(diff.abs().max().item())
        if damping > 0.0:
            out.copy_(v + (1.0 - damping) * diff)
        self._tt, self._A = tt, A
        return H, delta

    def observables(self, H: Any, J: Any, want_C: bool) -> tuple[float, float, np.ndarray | None]:
        torch = self.torch
        tt = self._tt
        P = tt * tt.T
        Q = 1.0 + self.T * P
        C = (self.T + P) / Q
        pair = 0.5 * float(torch.sum(J * C).item())
        if self.use_products:
            log_q = float(torch.log(Q.prod(dim=0)).sum().item())
            log_a = float(torch.log(self._A.prod(dim=0)).sum().item())
        else:
            log_q = float(torch.log(Q).sum().item())
            log_a = float(torch.log(self._A).sum().item())
        log_terms = 0.5 * log_q + log_a - 0.5 * self._log1mv2
        C_out = None
        if want_C:
            C_out = C.detach().cpu().numpy().copy()
            np.fill_diagonal(C_out, 1.0)
        return pair, log_terms, C_out


def _use_torch(device: str | None) -> bool:
    return device is not None and str(device) not in ("numpy", "numba")


# ---------------------------------------------------------------------------------------------
# the solver
# ---------------------------------------------------------------------------------------------


@dataclass
class _Solution:
    """Internal: state after :meth:`DenseBP.solve` (backend arrays)."""

    messages: Any  # v = tanh(u), owned by the solver: copy it to keep it
    H: Any
    converged: bool
    n_iter: int
    max_change: float


class DenseBP:
    """Reusable dense BP solver for fixed couplings; the fields may change between solves.

    tanh(J) and all N x N work buffers are computed/allocated once, so repeated solves with
    new fields (an entropy-landscape sweep) or warm starts cost only the sweeps themselves.

    Parameters
    ----------
    J : ndarray (N, N)
        Couplings of the BP model (symmetric, zero diagonal, finite).
    device : str or None
        None (default): compiled numba loops on the CPU (numpy if numba is missing); "numpy":
        the numpy kernel; a torch device string ("cpu", "cuda", "cuda:0")
        runs the torch implementation there (float64 throughout).
    energy_J : ndarray (N, N), optional
        Couplings used for the *reported* pair energy sum_{i<j} energy_J_ij C_ij (default J).
        The landscape uses the unscaled couplings when BP runs at beta * J.
    """

    def __init__(
        self, J: np.ndarray, *, device: str | None = None, energy_J: np.ndarray | None = None
    ) -> None:
        J = np.asarray(J, dtype=np.float64)
        if J.ndim != 2 or J.shape[0] != J.shape[1]:
            raise ValueError(f"J must be a square (N, N) array, got shape {J.shape}")
        self.n = J.shape[0]
        self.device = device
        if _use_torch(device):
            self.kernel: _NumpyKernel | _TorchKernel = _TorchKernel(self.n, str(device))
        elif device == "numpy" or (device is None and not _numba_available()):
            self.kernel = _NumpyKernel(self.n)
        else:
            self.kernel = _NumbaKernel(self.n)
        self.set_couplings(J, energy_J=energy_J)
        self._buf = [self.kernel.zeros(), self.kernel.zeros()]
        self._cur = 0  # index of the buffer holding the current messages

    def set_couplings(self, J: np.ndarray, *, energy_J: np.ndarray | None = None) -> None:
        """Change the couplings (tanh J recomputed once); the current messages are kept as a
        warm start. ``energy_J`` defaults to J."""
        J = np.asarray(J, dtype=np.float64)
        if J.shape != (self.n, self.n):
            raise ValueError(f"J must have shape ({self.n}, {self.n}), got {J.shape}")
        T = np.tanh(J)
        absT = np.abs(T)
        self.tmax = float(absT.max(initial=0.0))
        if self.tmax > _MAX_TANH:
            raise ValueError(
                f"couplings too strong for BP in float64: max |J| = {np.abs(J).max():.4g} "
                "(tanh J rounds to 1)"
            )
        bound = 2.0 * (absT / (1.0 - absT)).sum(axis=0)
        self.use_products = bool(bound.max(initial=0.0) < _PRODUCT_GUARD)
        EJ = J if energy_J is None else np.asarray(energy_J, dtype=np.float64)
        if EJ.shape != J.shape:
            raise ValueError(f"energy_J must have shape {J.shape}, got {EJ.shape}")
        self.kernel.set_couplings(T, self.use_products, EJ)
        self._energy_J = self.kernel.asarray(EJ)
        # sum_{i<j} log cosh J = -(1/4) sum_{i,j} log(1 - T^2) (column products when safe)
        if self.use_products:
            self.log_cosh_J = -0.25 * float(np.log(np.prod(1.0 - T * T, axis=0)).sum())
        else:
            self.log_cosh_J = 0.5 * float(np.sum(np.logaddexp(J, -J) - np.log(2.0)))

    # -------------------------------------------------------------- messages
    @property
    def work(self) -> Any:
        """The buffer holding the current messages v = tanh(u) (write a warm start here)."""
        return self._buf[self._cur]

    def set_messages(self, v: Any | None) -> None:
        """Load messages v = tanh(u) (backend array or None for zeros) into the work buffer."""
        if v is None:
            self._buf[self._cur] = self.kernel.zeros()
        else:
            self.kernel.copy_into(self._buf[self._cur], v)

    def tol_v(self, tol: float) -> float:
        """The tolerance on max |Δv| that bounds max |Δu| by ``tol``."""
        return tol * (1.0 - self.tmax**2)

    def solve(self, h: Any, *, tol: float = 1e-6, damping: float = 0.0, max_iter: int = 1000) -> _Solution:
        """Iterate from the messages in :attr:`work` until max |Δu| <= tol or ``max_iter`` sweeps.

        ``h`` is a backend array of fields (N,). After return, :meth:`observables` gives the
        Bethe quantities of the last sweep and :attr:`work` holds the newest messages.
        """
        kern = self.kernel
        tol_v = self.tol_v(tol)
        H = None
        delta = np.inf
        converged = False
        it = 0
        while it < max_iter:
            it += 1
            v = self._buf[self._cur]
            out = self._buf[1 - self._cur]
            H, delta = kern.sweep(v, h, out, damping)
            self._cur = 1 - self._cur
            if not np.isfinite(delta):
                break
            if delta <= tol_v:
                converged = True
                break
        if H is None:  # max_iter == 0: fields of the given messages only
            H = kern.fields(self._buf[self._cur], h)
        scale = 1.0 / (1.0 - self.tmax**2)
        return _Solution(self._buf[self._cur], H, converged, it, float(delta) * scale)

    def observables(self, H: Any, want_C: bool = True) -> dict[str, Any]:
        """Bethe quantities of the last sweep (eqs. 3-5), without the field-energy term.

        Returns m (N,) numpy, pair = sum_{i<j} energy_J_ij C_ij, log_z_bethe (needs the
        fields of the sweep: sum log 2cosh H is included), C (N, N) or None.
        """
        kern = self.kernel
        pair, log_terms, C = kern.observables(H, self._energy_J, want_C)
        Hn = kern.to_numpy(H)
        log_z = float(np.sum(np.logaddexp(Hn, -Hn))) + self.log_cosh_J + log_terms
        return {"m": np.tanh(Hn), "H": Hn, "pair": pair, "log_z": log_z, "C": C}


def _check_messages(messages: np.ndarray, n: int) -> np.ndarray:
    u = np.array(messages, dtype=np.float64)
    if u.shape != (n, n):
        raise ValueError(f"messages must have shape ({n}, {n}), got {u.shape}")
    if not np.all(np.isfinite(u)):
        raise ValueError("messages contain NaN or inf")
    np.fill_diagonal(u, 0.0)
    return u


def run_bp(
    h: np.ndarray,
    J: np.ndarray,
    *,
    messages: np.ndarray | None = None,
    damping: float = 0.0,
    tol: float = 1e-6,
    max_iter: int = 1000,
    device: str | None = None,
    correlations: bool = True,
    warn: bool = True,
) -> BPResult:
    """Belief propagation on the dense pairwise model; Bethe marginals and free energy.

    See the module docstring for the equations (1)-(5).

    Parameters
    ----------
    h : ndarray (N,)
        Fields.
    J : ndarray (N, N)
        Couplings (symmetric, zero diagonal, finite).
    messages : ndarray (N, N), optional
        Warm start: cavity-field messages u_{i->j} (``BPResult.messages`` of an earlier call).
        Default: all zero.
    damping : float in [0, 1)
        v <- (1 - damping) v_new + damping v_old on v = tanh(u).
    tol : float
        Stop when the largest message change of a sweep, max |Δu|, is <= tol.
    max_iter : int
        Maximum number of synchronous sweeps.
    device : str, optional
        None: compiled (numba) loops on the CPU; "numpy": the numpy kernel. A torch device
        ("cpu", "cuda") uses the torch implementation. All give the same numbers.
    correlations : bool
        Return the (N, N) pair correlations (False: ``C`` is None and a copy is saved).
    warn : bool
        Emit :class:`BPConvergenceWarning` when BP does not converge (``converged`` is False
        either way).

    Returns
    -------
    BPResult
    """
    h, J = check_fields_couplings(h, J)
    tol, damping, _, _ = check_bp_options(tol, damping, max_iter)
    n = h.shape[0]
    with single_thread_blas():
        solver = DenseBP(J, device=device)
        kern = solver.kernel
        if messages is not None:
            solver.set_messages(kern.asarray(np.tanh(_check_messages(messages, n))))
        sol = solver.solve(kern.asarray(h), tol=tol, damping=damping, max_iter=int(max_iter))
        obs = solver.observables(sol.H, want_C=correlations)
    m = obs["m"]
    energy = -(obs["pair"] + float(h @ m))
    log_z = obs["log_z"]
    u = np.arctanh(kern.to_numpy(sol.messages))
    if not sol.converged and warn:
        warnings.warn(
            f"BP did not converge in {sol.n_iter} sweeps (last max message change "
            f"{sol.max_change:.3g} > tol={tol:g}); try damping > 0 or a larger max_iter",
            BPConvergenceWarning,
            stacklevel=2,
        )
    return BPResult(
        m=m,
        C=obs["C"],
        free_energy=-log_z,
        energy=energy,
        entropy=energy + log_z,
        converged=sol.converged,
        n_iter=sol.n_iter,
        messages=u,
        max_change=sol.max_change,
        fields=obs["H"],
    )

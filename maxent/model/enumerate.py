"""Exact enumeration of all 2^N states: the one engine behind every exact quantity.

Two ways through the states, for two uses:

- :func:`exact_moments` streams over all 2^N states in chunks (memory O(chunk x N)) with a running
  log-sum-exp: one-off log Z, m, C of a model (``IsingModel.log_partition``/``moments``), N <= 24;
- :class:`ExactMoments` stores the 2^(N-1) states with s_0 = +1 once and reuses them for many
  models (Boltzmann learning evaluates thousands): a state and its global flip share the quadratic
  term q(s) = s^T J s / 2 and have opposite linear terms r(s) = ±h^T s, so one pass over half the
  states with weights e^q cosh r (for Z, C) and e^q sinh r (for m) gives everything; it also gives
  the Fisher information (covariance of the features s_i, s_i s_j) for Newton steps.

State index k maps to s_i = 1 - 2 * bit_i(k) (bit 0 is spin 0). Products (chunk x N) @ (N x N) run
on one BLAS thread: the inner dimension is N <= 24, threads only add overhead.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from maxent._threads import single_thread_blas

__all__ = ["MAX_EXACT_SPINS", "check_exact_size", "enumerate_states", "exact_moments", "ExactMoments"]

MAX_EXACT_SPINS = 24
_CHUNK_BITS = 16
_CHUNK = 1 << _CHUNK_BITS


def check_exact_size(n: int, what: str = "exact enumeration", limit: int = MAX_EXACT_SPINS) -> None:
    """Raise ValueError if 2^n states are too many to enumerate."""
    if n > limit:
        raise ValueError(
            f"{what} needs all 2^{n} states; N={n} exceeds the limit of {limit} spins. "
            "Use belief propagation or MCMC for larger models."
        )


def enumerate_states(n: int, chunk_bits: int = _CHUNK_BITS) -> Iterator[np.ndarray]:
    """Yield all 2^n spin configurations in chunks of float64 arrays (B, n).

    State index k maps to s_i = 1 - 2 * bit_i(k) (bit 0 is spin 0), so the first state is all +1.
    """
    check_exact_size(n)
    total = 1 << n
    chunk = 1 << min(n, chunk_bits)
    shifts = np.arange(n, dtype=np.int64)
    for start in range(0, total, chunk):
        k = np.arange(start, min(start + chunk, total), dtype=np.int64)
        bits = (k[:, None] >> shifts[None, :]) & 1
        yield 1.0 - 2.0 * bits


def exact_moments(h: np.ndarray, J: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """log Z, m (N,) and C (N, N, unit diagonal) of the model (h, J) in one streaming pass over all
    2^N states (N <= ``MAX_EXACT_SPINS``)."""
    n = h.shape[0]
    check_exact_size(n)
    log_z = -np.inf
    m_acc = np.zeros(n)
    C_acc = np.zeros((n, n))
    shift = -np.inf  # accumulators are stored as sum(w * exp(-shift))
    z_acc = 0.0
    with single_thread_blas():  # N <= 24: small products, threads only add overhead
        for S in enumerate_states(n):
            logw = 0.5 * np.einsum("bi,bi->b", S @ J, S) + S @ h
            cmax = float(logw.max())
            if cmax > shift:
                scale = np.exp(shift - cmax) if np.isfinite(shift) else 0.0
                z_acc *= scale
                m_acc *= scale
                C_acc *= scale
                shift = cmax
            w = np.exp(logw - shift)
            z_acc += w.sum()
            m_acc += w @ S
            C_acc += (S * w[:, None]).T @ S
    log_z = shift + np.log(z_acc)
    m = m_acc / z_acc
    C = C_acc / z_acc
    C = 0.5 * (C + C.T)
    np.fill_diagonal(C, 1.0)
    return float(log_z), m, C


class ExactMoments:
    """Exact log Z, m and C of pairwise models on N spins, reusing one enumeration of the states.

    Parameters
    ----------
    n_spins : int
        N; the 2^(N-1) states with s_0 = +1 are stored as float64 (2^(N-1), N).
    max_spins : int
        Refuse larger N (ValueError).
    """

    def __init__(self, n_spins: int, max_spins: int = 20) -> None:
        limit = min(int(max_spins), MAX_EXACT_SPINS)
        check_exact_size(n_spins, "exact Boltzmann learning", limit=limit)
        self.n_spins = n = int(n_spins)
        if n == 1:
            self.S = np.ones((1, 1))
        else:
            # states of spins 1..N-1 (all 2^(N-1)), spin 0 fixed to +1
            rest = np.concatenate(list(enumerate_states(n - 1)), axis=0)
            self.S = np.concatenate([np.ones((rest.shape[0], 1)), rest], axis=1)

    def _weights(self, h: np.ndarray, J: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """log Z and the normalized weights w = e^q 2cosh(r) / Z, t = e^q 2sinh(r) / Z of the
        stored half of the states (see the module docstring)."""
        S = self.S
        n_states = S.shape[0]
        q = np.empty(n_states)
        r = np.empty(n_states)
        for a in range(0, n_states, _CHUNK):
            Sc = S[a : a + _CHUNK]
            q[a : a + _CHUNK] = 0.5 * np.einsum("bi,bi->b", Sc @ J, Sc)
            r[a : a + _CHUNK] = Sc @ h
        # log(e^{q+r} + e^{q-r}) = q + |r| + log1p(e^{-2|r|})
        ar = np.abs(r)
        logw = q + ar + np.log1p(np.exp(-2.0 * ar))
        shift = float(logw.max())
        w = np.exp(logw - shift)
        z = float(w.sum())
        w /= z
        return shift + float(np.log(z)), w, np.tanh(r) * w

    def __call__(self, h: np.ndarray, J: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Return log Z, m (N,), C (N, N) (unit diagonal) of the model (h, J)."""
        S = self.S
        log_z, w, t = self._weights(h, J)
        m = t @ S
        C = np.zeros((self.n_spins, self.n_spins))
        for a in range(0, S.shape[0], _CHUNK):
            Sc = S[a : a + _CHUNK]
            C += (Sc * w[a : a + _CHUNK, None]).T @ Sc
        C = 0.5 * (C + C.T)
        np.fill_diagonal(C, 1.0)
        return log_z, m, C

    def fisher(self, h: np.ndarray, J: np.ndarray) -> np.ndarray:
        """Fisher information (the Hessian of log Z) in the parameters (h, J_ij for i < j).

        The covariance under the model of the features phi(s) = (s_i, s_i s_j (i<j)), shape
        (P, P) with P = N + N(N-1)/2. Costs 2^(N-1) P^2 operations (~4e10 at N = 20).
        """
        n = self.n_spins
        S = self.S
        _, w, t = self._weights(h, J)
        iu = np.triu_indices(n, 1)
        k = iu[0].size
        ll = np.zeros((n, n))
        lp = np.zeros((n, k))
        pp = np.zeros((k, k))
        for a in range(0, S.shape[0], _CHUNK >> 2):
            sl = slice(a, a + (_CHUNK >> 2))
            Sc, wc, tc = S[sl], w[sl, None], t[sl, None]
            Qc = Sc[:, iu[0]] * Sc[:, iu[1]]
            ll += (Sc * wc).T @ Sc
            lp += (Sc * tc).T @ Qc
            Qw = Qc * wc
            pp += Qw.T @ Qc
        mean = np.concatenate([t @ S, ll[iu]])
        E = np.block([[ll, lp], [lp.T, pp]])
        F = E - np.outer(mean, mean)
        return 0.5 * (F + F.T)

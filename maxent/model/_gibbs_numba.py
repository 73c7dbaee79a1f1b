r"""Compiled (numba) sweeps of :class:`maxent.model.sampling.PersistentChains` on CPU.

The same chain as the torch sweep (same order, same pre-drawn thresholds) in two kernels:

* :func:`sweep_block`: one block of B spins, from block fields computed by the caller with one
  GEMM (as the torch sweep does), each change added to the later block spins' fields inside the
  kernel -- the torch sweep without its Python loop over spins;
* :func:`sweep`: every chain keeps float64 local fields H_c = h + J s_c (one contiguous row per
  chain); a spin update costs O(1) unless the spin changes, when the fields of all spins move by
  J_{:, i} (s_i^new - s_i^old), one contiguous axpy of length N (J is symmetric). A sweep costs
  O(N C) comparisons plus O(N) per change: far less than a GEMM when few spins change
  (strongly coupled, slowly mixing models), more when many do.

For :func:`sweep` the caller computes the fields by one GEMM in the chains' dtype whenever the
parameters change (every learning step of the Boltzmann machine); between refreshes they move
by float64 axpys, whose accumulated round-off (~1e-13) is far below the float32 error (~1e-7)
of a float32 GEMM. Decisions can differ from the torch sweep's only where |H_i - T| is below
that round-off, so the engines agree exactly on the same thresholds except with probability
~1e-7 per update in float32 (the tests compare them in float64, where they agree bit for bit).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_FLAGS = {"nsz", "arcp", "contract", "reassoc"}


@njit(cache=True, inline="always")
def _new_spin(s, h, t, metropolis):  # pragma: no cover - compiled
    """Value of a spin after its update: state s, local field h, threshold t (see :func:`sweep`)."""
    if metropolis:
        return -s if s * h < t else s
    return np.copysign(1.0, h - t)


@njit(cache=True, fastmath=_FLAGS)
def sweep(S, H, J, thr, metropolis):  # pragma: no cover - compiled
    """One sequential sweep i = 0..N-1 of every chain, in place.

    S : (N, C) spins ±1 (float32 or float64), column c is chain c.
    H : (C, N) float64 local fields h + J s of every chain, kept consistent with S.
    J : (N, N) symmetric couplings, zero diagonal (float64 or float32).
    thr : (N, C) thresholds: Gibbs sets s_i = sign(H_i - thr) (a tie, +-0, keeps the sign of
        the zero as the torch sweep's copysign does); Metropolis flips iff s_i H_i < thr.
    Returns the number of spin changes.
    """
    n, c_total = S.shape
    changes = 0
    for c in range(c_total):
        Hc = H[c]
        for i in range(n):
            s = S[i, c]
            new = _new_spin(s, Hc[i], thr[i, c], metropolis)
            if new != s:
                S[i, c] = new
                d = new - s
                Ji = J[i]
                for j in range(n):
                    Hc[j] += d * Ji[j]
                changes += 1
    return changes


@njit(cache=True, fastmath=_FLAGS)
def sweep_block(S, Hb, Jbb, thr, b0, metropolis):  # pragma: no cover - compiled
    """Sequential updates of spins b0..b0+B-1 of every chain, in place, from their block fields.

    S : (N, C) spins; Hb : (B, C) fields h_k + sum_j J_kj s_j of the block's spins at the start
    of the block (float32 or float64); Jbb : (B, B) couplings inside the block; thr : (N, C).
    Each change of a block spin is added to the fields of the block spins after it (B - k
    operations), so the fields stay exact within the block. Returns the number of changes.
    """
    nb, c_total = Hb.shape
    corr = np.zeros(nb)
    changes = 0
    for c in range(c_total):
        for k in range(nb):
            corr[k] = 0.0
        for k in range(nb):
            i = b0 + k
            s = S[i, c]
            new = _new_spin(s, Hb[k, c] + corr[k], thr[i, c], metropolis)
            if new != s:
                S[i, c] = new
                d = new - s
                Jk = Jbb[k]
                for k2 in range(k + 1, nb):
                    corr[k2] += d * Jk[k2]
                changes += 1
    return changes

r"""Compiled (numba) sequential-scan sweep of :class:`maxent.model.sampling.PersistentChains` on CPU.

The same chain as the torch sweep (same order, same pre-drawn thresholds), organised for a
CPU: each chain keeps its local fields H_c = h + J s_c (float64, one contiguous row per chain)
and a spin update costs O(1) unless the spin changes, when the fields of all spins move by
J_{:, i} (s_i^new - s_i^old) -- one contiguous axpy of length N (J is symmetric). A sweep
therefore costs O(N C) comparisons plus O(N) per accepted change, instead of one
(N x N) @ (N x C) product and N vector operations of the torch sweep; in strongly coupled,
slowly mixing models most updates change nothing and the sweep is almost free.

The caller computes the fields from the spins by one GEMM in the chains' dtype whenever the
parameters change (every learning step of the Boltzmann machine), as the torch sweep does at
every block; between refreshes they move by float64 axpys, whose accumulated round-off
(~1e-13) is far below the float32 error (~1e-7) of a float32 GEMM. Decisions can differ from
the torch sweep's only where |H_i - T| is below that round-off, so the two agree exactly on the
same thresholds except with probability ~1e-7 per update in float32 (the tests compare them in
float64, where they agree bit for bit).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, fastmath={"nsz", "arcp", "contract", "reassoc"})
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
            if metropolis:
                new = -s if s * Hc[i] < thr[i, c] else s
            else:
                new = np.copysign(1.0, Hc[i] - thr[i, c])
            if new != s:
                S[i, c] = new
                d = new - s
                Ji = J[i]
                for j in range(n):
                    Hc[j] += d * Ji[j]
                changes += 1
    return changes

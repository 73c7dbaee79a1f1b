r"""Exact enumeration of small p-spin instances (the oracle for BP and Monte Carlo).

For P(w) = exp(-beta E(w)) / Z over all 2^n configurations (n <= 22):

    log Z,   <E>,   S = log Z + beta <E>,   m_i = <w_i>,   and the pair overlap distribution
    P(q) of two independent replicas, q = (1/n) sum_i w_i w'_i.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from maxent.model.enumerate import check_exact_size, enumerate_states

from .instances import PathInstance, _check_beta

__all__ = ["ExactResult", "exact_enumeration", "MAX_EXACT_VARS"]

MAX_EXACT_VARS = 22


@dataclass(frozen=True)
class ExactResult:
    """Exact thermodynamics of one instance at inverse temperature beta (extensive totals)."""

    log_z: float
    energy: float
    entropy: float
    magnetizations: np.ndarray  # (n,)
    overlap_values: np.ndarray  # (n + 1,) q = -1 .. 1
    overlap_probs: np.ndarray  # (n + 1,)


def exact_enumeration(instance: PathInstance, beta: float) -> ExactResult:
    """Exact log Z, energy, entropy, magnetizations and P(q) of ``instance`` at ``beta``."""
    beta = _check_beta(beta)
    n = instance.n_vars
    check_exact_size(n, "exact enumeration of the active path model", MAX_EXACT_VARS)
    logw, Es, Ws = [], [], []
    for S in enumerate_states(n):
        E = instance.energy(S)
        logw.append(-beta * E)
        Es.append(E)
        Ws.append(S)
    lw = np.concatenate(logw)
    E = np.concatenate(Es)
    W = np.concatenate(Ws)
    log_z = float(logsumexp(lw))
    P = np.exp(lw - log_z)
    energy = float(P @ E)
    m = P @ W
    # P(q) of two replicas: distribution of the Hamming distance; sum over pairs via the
    # gauge trick q(w, w') = mean(w * w'): histogram of k = #disagreements, computed from the
    # distribution of the XOR of the state indices (2^n x 2^n is too big), by Walsh-Hadamard
    idx_bits = (W < 0).astype(np.int64) @ (1 << np.arange(n, dtype=np.int64))
    p_state = np.zeros(1 << n)
    p_state[idx_bits] = P
    f = _walsh_hadamard(p_state)
    p_xor = _walsh_hadamard(f * f) / (1 << n)  # P(w XOR w' = k)
    popcount = _popcount(n)
    probs = np.bincount(popcount, weights=np.clip(p_xor, 0, None), minlength=n + 1)
    q_vals = 1.0 - 2.0 * np.arange(n + 1) / n
    return ExactResult(log_z, energy, log_z + beta * energy, m, q_vals, probs / probs.sum())


def _popcount(n: int) -> np.ndarray:
    k = np.arange(1 << n, dtype=np.int64)
    c = np.zeros_like(k)
    for b in range(n):
        c += (k >> b) & 1
    return c


def _walsh_hadamard(a: np.ndarray) -> np.ndarray:
    """Unnormalized fast Walsh-Hadamard transform of a length-2^n vector."""
    a = a.astype(np.float64).copy()
    h = 1
    n = a.size
    while h < n:
        a = a.reshape(-1, 2, h)
        a = np.stack([a[:, 0] + a[:, 1], a[:, 0] - a[:, 1]], axis=1).reshape(n)
        h *= 2
    return a

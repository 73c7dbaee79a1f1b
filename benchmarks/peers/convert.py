"""Exact parameter conversions between the peers' conventions and maxent's.

maxent's convention (the target of every conversion here)::

    P(s) = exp( sum_{i<j} J_ij s_i s_j + sum_i h_i s_i ) / Z,   s_i = ±1,  beta = 1,

with J symmetric and zero on the diagonal.

This module needs numpy only, so that it runs unchanged inside every peer's virtual environment
(ConIII's pins numpy<2) and in maxent's own environment, where ``tests/test_peer_conversion.py``
checks each conversion on synthetic parameters by exact enumeration.

Conventions converted
---------------------
ConIII, ±1 basis (``Ising`` model, ``Pseudo``, ``MCH``, ``MPF`` outputs)
    multipliers = concat(h (N,), J upper triangle (N(N-1)/2,) in row-major order i<j), and
    E(s) = -sum_i h_i s_i - sum_{i<j} J_ij s_i s_j (``utils.define_ising_helper_functions``),
    P ∝ exp(-E). This *is* maxent's convention: only the vector layout changes.
0/1 basis
    P(x) ∝ exp( sum_i a_i x_i + sum_{i<j} b_ij x_i x_j ), x_i = (1 + s_i)/2. Substituting
    x_i x_j = (1 + s_i + s_j + s_i s_j)/4 gives J_ij = b_ij / 4 and
    h_i = a_i / 2 + sum_{j≠i} b_ij / 4.
ConIII's mean-field matrix (``mean_field_ising.JmeanField``, B. Daniels' code)
    One symmetric (N, N) matrix D with fields on the diagonal and *half* couplings off it, for
    P(x) ∝ exp( -sum_i D_ii x_i - sum_{i≠j} D_ij x_i x_j ) in the 0/1 basis, i.e. a_i = -D_ii,
    b_ij = -2 D_ij; then the 0/1 -> ±1 rule above. (``RegularizedMeanField.solve`` adds D to its
    transpose before the same conversion, which doubles h and J in its output: we convert D
    ourselves.)
q = 2 Potts (adabmDCA)
    E(a) = -sum_i h_i(a_i) - (1/2) sum_{i,j} J_ij(a_i, a_j) over all ordered pairs (i, j) with
    bias h (L, 2) and coupling matrix J (L, 2, L, 2) (``adabmDCA.statmech.compute_energy``).
    State ``plus_state`` (default 0) stands for s = +1 and the other for s = -1. Any function of
    a two-state variable is affine in s: f(a(s)) = (f_+ + f_-)/2 + s (f_+ - f_-)/2, and a pair
    function g(a_i, a_j) = const + s_i alpha_ij + s_j alpha_ji + s_i s_j gamma_ij with
    gamma_ij = (g_{++} - g_{+-} - g_{-+} + g_{--})/4 and
    alpha_ij = (g_{++} + g_{+-} - g_{-+} - g_{--})/4 (first index + or -). With the symmetrized
    pair function G_ij(a, b) = (J_ij(a, b) + J_ji(b, a))/2 (which is what the ordered double sum
    with its 1/2 weighs each unordered pair by), and the diagonal blocks folded into the fields
    (f_i(a) = h_i(a) + J_ii(a, a)/2), the Ising parameters are
    J_ij = gamma_ij (from G), h_i = (f_i(+) - f_i(-))/2 + sum_{j≠i} alpha_ij. The conversion is
    exact for any gauge: the dropped terms are constants.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "vec_to_ising",
    "ising_to_vec",
    "zero_one_to_ising",
    "daniels_matrix_to_ising",
    "potts2_to_ising",
    "ising_to_potts2",
    "ising_log_weights",
    "potts_log_weights",
    "all_spin_states",
]


def _check_square(J: np.ndarray, name: str) -> np.ndarray:
    J = np.asarray(J, dtype=np.float64)
    if J.ndim != 2 or J.shape[0] != J.shape[1]:
        raise ValueError(f"{name} must be a square (N, N) matrix, got shape {J.shape}")
    return J


def vec_to_ising(multipliers: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """ConIII multipliers (h then J_{i<j} row-major) -> (h (n,), J (n, n) symmetric, zero diagonal)."""
    p = np.asarray(multipliers, dtype=np.float64).ravel()
    n_pairs = n * (n - 1) // 2
    if p.size != n + n_pairs:
        raise ValueError(f"expected {n} + {n_pairs} multipliers for n={n}, got {p.size}")
    h = p[:n].copy()
    J = np.zeros((n, n))
    iu = np.triu_indices(n, 1)
    J[iu] = p[n:]
    return h, J + J.T


def ising_to_vec(h: np.ndarray, J: np.ndarray) -> np.ndarray:
    """Inverse of :func:`vec_to_ising`: concat(h, J[triu_indices(n, 1)])."""
    J = _check_square(J, "J")
    return np.concatenate([np.asarray(h, dtype=np.float64), J[np.triu_indices(J.shape[0], 1)]])


def zero_one_to_ising(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """0/1-basis parameters -> ±1 basis.

    Parameters
    ----------
    a : (N,) fields and b : (N, N) symmetric couplings of P(x) ∝ exp(a·x + sum_{i<j} b_ij x_i x_j),
        x ∈ {0, 1}^N (the diagonal of b is ignored).

    Returns
    -------
    h, J : (N,), (N, N) with J = b/4, h = a/2 + (row sums of b off the diagonal)/4.
    """
    b = _check_square(b, "b").copy()
    np.fill_diagonal(b, 0.0)
    b = 0.5 * (b + b.T)
    return np.asarray(a, dtype=np.float64) / 2.0 + b.sum(axis=1) / 4.0, b / 4.0


def daniels_matrix_to_ising(D: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ConIII ``mean_field_ising.JmeanField`` matrix (fields on the diagonal, half couplings off it,
    0/1 basis, P ∝ exp(-x^T D x) with x_i^2 = x_i) -> maxent's (h, J)."""
    D = _check_square(D, "D")
    D = 0.5 * (D + D.T)
    b = -2.0 * D
    np.fill_diagonal(b, 0.0)
    return zero_one_to_ising(-np.diag(D), b)


def potts2_to_ising(
    bias: np.ndarray, coupling: np.ndarray, plus_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """q = 2 Potts parameters (adabmDCA layout) -> maxent's Ising (h, J); exact in any gauge.

    Parameters
    ----------
    bias : (L, 2)
        Fields h_i(a) of E(a) = -sum_i h_i(a_i) - 1/2 sum_{i,j} J_ij(a_i, a_j).
    coupling : (L, 2, L, 2)
        Couplings J[i, a, j, b]; need not be symmetric, diagonal blocks allowed (folded into h).
    plus_state : {0, 1}
        The Potts state that stands for spin s = +1.

    Returns
    -------
    h : (L,), J : (L, L) symmetric with zero diagonal, such that for every configuration
    sum_{i<j} J_ij s_i s_j + sum_i h_i s_i = -E(a(s)) + constant.
    """
    bias = np.asarray(bias, dtype=np.float64)
    coupling = np.asarray(coupling, dtype=np.float64)
    if bias.ndim != 2 or bias.shape[1] != 2:
        raise ValueError(f"bias must have shape (L, 2), got {bias.shape}")
    L = bias.shape[0]
    if coupling.shape != (L, 2, L, 2):
        raise ValueError(f"coupling must have shape ({L}, 2, {L}, 2), got {coupling.shape}")
    if plus_state not in (0, 1):
        raise ValueError(f"plus_state must be 0 or 1, got {plus_state!r}")
    p, m = plus_state, 1 - plus_state
    # symmetrized pair function G_ij(a, b) = (J[i,a,j,b] + J[j,b,i,a]) / 2
    G = 0.5 * (coupling + coupling.transpose(2, 3, 0, 1))
    idx = np.arange(L)
    diag = G[idx, :, idx, :]  # (L, 2, 2): the i = j blocks
    f = bias + 0.5 * np.stack([diag[:, 0, 0], diag[:, 1, 1]], axis=1)
    gpp, gpm, gmp, gmm = G[:, p, :, p], G[:, p, :, m], G[:, m, :, p], G[:, m, :, m]
    J = (gpp - gpm - gmp + gmm) / 4.0
    alpha = (gpp + gpm - gmp - gmm) / 4.0  # alpha[i, j]: the s_i term of pair (i, j)
    np.fill_diagonal(J, 0.0)
    np.fill_diagonal(alpha, 0.0)
    h = (f[:, p] - f[:, m]) / 2.0 + alpha.sum(axis=1)
    return h, 0.5 * (J + J.T)


def ising_to_potts2(h: np.ndarray, J: np.ndarray, plus_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Ising (h, J) -> q = 2 Potts (bias (L, 2), coupling (L, 2, L, 2)) in the 'spin' gauge:
    h_i(a) = h_i s(a), J_ij(a, b) = J_ij s(a) s(b); the inverse of :func:`potts2_to_ising`."""
    J = _check_square(J, "J")
    spin = np.array([1.0, -1.0]) if plus_state == 0 else np.array([-1.0, 1.0])
    bias = np.asarray(h, dtype=np.float64)[:, None] * spin[None, :]
    coupling = J[:, None, :, None] * spin[None, :, None, None] * spin[None, None, None, :]
    return bias, coupling


def all_spin_states(n: int) -> np.ndarray:
    """All 2^n ±1 configurations, (2^n, n) float64 (state k: s_i = 1 - 2 bit_i(k))."""
    if n > 22:
        raise ValueError(f"refusing to enumerate 2^{n} states")
    k = np.arange(1 << n)[:, None]
    return 1.0 - 2.0 * ((k >> np.arange(n)[None, :]) & 1)


def ising_log_weights(S: np.ndarray, h: np.ndarray, J: np.ndarray) -> np.ndarray:
    """Unnormalized log P of ±1 rows S (M, N): sum_{i<j} J_ij s_i s_j + h·s."""
    S = np.asarray(S, dtype=np.float64)
    return 0.5 * np.einsum("mi,ij,mj->m", S, J, S) + S @ np.asarray(h, dtype=np.float64)


def potts_log_weights(A: np.ndarray, bias: np.ndarray, coupling: np.ndarray) -> np.ndarray:
    """Unnormalized log P = -E of Potts configurations A (M, L) of integer states (adabmDCA's E)."""
    A = np.asarray(A, dtype=np.int64)
    M, L = A.shape
    q = bias.shape[1]
    onehot = np.zeros((M, L * q))
    onehot[np.arange(M)[:, None], np.arange(L)[None, :] * q + A] = 1.0
    Jf = np.asarray(coupling, dtype=np.float64).reshape(L * q, L * q)
    return onehot @ np.asarray(bias, dtype=np.float64).ravel() + 0.5 * np.einsum(
        "mk,kl,ml->m", onehot, Jf, onehot
    )

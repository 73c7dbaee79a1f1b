"""Sufficient statistics of ±1 samples: magnetizations, pair correlations, three-point terms.

For samples X (M, N) with entries ±1:

    m_i   = <s_i>            = (1/M) sum_mu X_mu,i
    C_ij  = <s_i s_j>        = (1/M) sum_mu X_mu,i X_mu,j      (raw; C_ii = 1)
    c_ij  = C_ij - m_i m_j                                     (connected)
    T_ijk = <(s_i - m_i)(s_j - m_j)(s_k - m_k)>                (connected three-point)

The pairwise maximum-entropy model matches exactly (m, C), so every estimator that needs
no more than that can fit from a :class:`Moments` object alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maxent._threads import single_thread_if_small
from maxent._validation import check_spins

_FLOAT32_EXACT = 1 << 24  # float32 holds every integer up to 2^24 exactly

__all__ = ["Moments", "three_point"]


@dataclass(frozen=True)
class Moments:
    """First and second moments of ±1 spins.

    Attributes
    ----------
    m : ndarray, shape (N,)
        Magnetizations, each in [-1, 1].
    C : ndarray, shape (N, N)
        Raw second moments <s_i s_j>, symmetric, unit diagonal, positive semidefinite.
    n_samples : int
        Number of samples M the moments were computed from (sets the sampling noise ~ 1/sqrt(M));
        0 if they are exact model moments.
    """

    m: np.ndarray
    C: np.ndarray
    n_samples: int = 0

    def __post_init__(self) -> None:
        m = np.array(self.m, dtype=np.float64)
        C = np.array(self.C, dtype=np.float64)
        if m.ndim != 1 or m.size == 0:
            raise ValueError(f"m must be a non-empty 1-D array, got shape {m.shape}")
        n = m.size
        if C.shape != (n, n):
            raise ValueError(f"C must have shape ({n}, {n}) to match m, got {C.shape}")
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(C))):
            raise ValueError("moments contain NaN or inf")
        tol = 1e-9
        if np.any(np.abs(m) > 1 + tol):
            bad = np.flatnonzero(np.abs(m) > 1 + tol)
            raise ValueError(f"|m_i| must be <= 1 for ±1 spins; violated at i={bad[:10].tolist()}")
        if np.max(np.abs(C - C.T), initial=0.0) > 1e-9:
            raise ValueError("C must be symmetric")
        if np.max(np.abs(np.diag(C) - 1.0), initial=0.0) > 1e-9:
            raise ValueError("C must have a unit diagonal (s_i^2 = 1 for ±1 spins)")
        if np.any(np.abs(C) > 1 + tol):
            raise ValueError("|C_ij| must be <= 1 for ±1 spins")
        # The covariance C - m m^T of any distribution on ±1 spins is PSD.
        cov = C - np.outer(m, m)
        with single_thread_if_small(n, work=n**3):  # small LAPACK call: threads only add overhead
            lam_min = float(np.linalg.eigvalsh(0.5 * (cov + cov.T))[0])
        if lam_min < -1e-8 * max(1.0, n):
            raise ValueError(
                f"inconsistent moments: the covariance C - m m^T is not positive semidefinite "
                f"(smallest eigenvalue {lam_min:.3g}); no distribution has these moments"
            )
        if int(self.n_samples) != self.n_samples or self.n_samples < 0:
            raise ValueError(f"n_samples must be a non-negative integer, got {self.n_samples!r}")
        C = 0.5 * (C + C.T)
        np.fill_diagonal(C, 1.0)
        object.__setattr__(self, "m", np.clip(m, -1.0, 1.0))
        object.__setattr__(self, "C", C)
        object.__setattr__(self, "n_samples", int(self.n_samples))

    @property
    def n_spins(self) -> int:
        return self.m.shape[0]

    @classmethod
    def from_samples(cls, X: np.ndarray) -> Moments:
        """Moments of ±1 samples X (M, N); refuses anything but exact ±1 entries and M < 1.

        X^T X is computed in float32, which is exact here: every partial sum is an integer of
        magnitude <= M, and float32 represents all integers up to 2^24 (float64 is used for
        M >= 2^24); it is twice as fast as float64. For N < 256 the product runs on one BLAS
        thread (threads only add overhead there; see :mod:`maxent._threads`).
        """
        arr = np.asarray(X)
        exact32 = arr.ndim == 2 and arr.shape[0] < _FLOAT32_EXACT
        return cls._from_checked(
            check_spins(X, name="X", min_samples=1, dtype=np.float32 if exact32 else np.float64)
        )

    @classmethod
    def _from_checked(cls, Xf: np.ndarray) -> Moments:
        """Moments of samples already validated by ``check_spins`` (any float/int dtype)."""
        M, N = Xf.shape
        if M < _FLOAT32_EXACT:
            Xf = Xf.astype(np.float32, copy=False)
        m = Xf.mean(axis=0, dtype=np.float64)
        with single_thread_if_small(N, work=M * N * N):
            C = (Xf.T @ Xf).astype(np.float64) / M
        return cls(m, C, M)

    def connected(self) -> np.ndarray:
        """Connected correlations c_ij = C_ij - m_i m_j (N, N); diagonal 1 - m_i^2."""
        return self.C - np.outer(self.m, self.m)

    def upper(self) -> np.ndarray:
        """The N(N-1)/2 raw pair correlations C_ij, i < j, in row-major order."""
        return self.C[np.triu_indices(self.n_spins, 1)]


def three_point(
    X: np.ndarray,
    triplets: np.ndarray | None = None,
    *,
    n_triplets: int = 2000,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Connected three-point correlations T_ijk = <(s_i-m_i)(s_j-m_j)(s_k-m_k)>.

    Parameters
    ----------
    X : array (M, N) of ±1
    triplets : int array (K, 3), optional
        Index triplets (i, j, k), pairwise distinct. If omitted, ``n_triplets`` distinct random
        triplets are drawn with ``random_state`` (all of them if N choose 3 is smaller).

    Returns
    -------
    triplets : (K, 3) int64, T : (K,) float64
    """
    Xf = check_spins(X, name="X", min_samples=1)
    M, N = Xf.shape
    if triplets is None:
        if N < 3:
            raise ValueError(f"three-point correlations need at least 3 spins, got {N}")
        rng = np.random.default_rng(random_state)
        total = N * (N - 1) * (N - 2) // 6
        if total <= n_triplets:
            i, j, k = np.meshgrid(np.arange(N), np.arange(N), np.arange(N), indexing="ij")
            mask = (i < j) & (j < k)
            triplets = np.stack([i[mask], j[mask], k[mask]], axis=1)
        else:
            t = np.sort(np.stack([rng.choice(N, 3, replace=False) for _ in range(n_triplets)]), axis=1)
            triplets = np.unique(t, axis=0)
    triplets = np.asarray(triplets, dtype=np.int64)
    if triplets.ndim != 2 or triplets.shape[1] != 3:
        raise ValueError(f"triplets must have shape (K, 3), got {triplets.shape}")
    if triplets.size and (triplets.min() < 0 or triplets.max() >= N):
        raise ValueError(f"triplet indices must lie in [0, {N})")
    # spins in rows (N, M) so that gathering a spin reads contiguous memory
    DT = np.array(Xf.T, order="C")
    DT -= Xf.mean(axis=0)[:, None]
    T = np.empty(triplets.shape[0])
    step = max(1, (1 << 22) // M)  # triplets per chunk: (step, M) temporaries of <= 32 MB
    for a in range(0, triplets.shape[0], step):
        t = triplets[a : a + step]
        T[a : a + step] = np.einsum("km,km->k", DT[t[:, 0]] * DT[t[:, 1]], DT[t[:, 2]]) / M
    return triplets, T

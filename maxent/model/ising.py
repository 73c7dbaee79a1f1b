"""The pairwise maximum-entropy (Ising) model.

Convention used everywhere in maxent (and converted at every border: exports, peers)::

    P(s) = exp( sum_{i<j} J_ij s_i s_j + sum_i h_i s_i ) / Z,      s_i in {-1, +1},  beta = 1

with J symmetric and zero on the diagonal. The *energy* is E(s) = -(sum_{i<j} J_ij s_i s_j +
sum_i h_i s_i) = -(s^T J s / 2 + h^T s), so P(s) = exp(-E(s)) / Z and
log P(s) = -E(s) - log Z.

Exact quantities (log Z, magnetizations, correlations, exact samples) enumerate all 2^N states
in vectorized chunks and are refused for N > ``MAX_EXACT_SPINS`` (= 24: 16.7 M states); their
products (chunk x N) @ (N x N) run on one BLAS thread (threads only add overhead at this size). MCMC
sampling (Gibbs, Metropolis) is vectorized over independent chains (see :mod:`maxent.model.sampling`).
"""

from __future__ import annotations

import os

import numpy as np

from maxent._atomic import atomic_savez, load_npz
from maxent._threads import single_thread_blas
from maxent._validation import check_fields_couplings, check_spins
from maxent.model.enumerate import (  # noqa: F401  (re-exported for old imports)
    MAX_EXACT_SPINS,
    check_exact_size,
    enumerate_states,
    exact_moments,
)

__all__ = ["IsingModel"]

class IsingModel:
    """Pairwise Ising model P(s) ∝ exp(sum_{i<j} J_ij s_i s_j + sum_i h_i s_i).

    Parameters
    ----------
    h : array-like, shape (N,)
        External fields.
    J : array-like, shape (N, N)
        Couplings; symmetric, zero diagonal, finite (checked to 1e-10, then exactly symmetrized).
    """

    def __init__(self, h: np.ndarray, J: np.ndarray) -> None:
        self.h, self.J = check_fields_couplings(h, J)
        self._exact_cache: dict[str, object] | None = None

    # ------------------------------------------------------------------ basics
    @property
    def n_spins(self) -> int:
        """Number of spins N."""
        return self.h.shape[0]

    def __repr__(self) -> str:
        iu = np.triu_indices(self.n_spins, 1)
        rms = float(np.sqrt(np.mean(self.J[iu] ** 2))) if self.n_spins > 1 else 0.0
        rms_h = float(np.sqrt(np.mean(self.h**2)))
        return f"IsingModel(n_spins={self.n_spins}, rms_J={rms:.4g}, rms_h={rms_h:.4g})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IsingModel):
            return NotImplemented
        return np.array_equal(self.h, other.h) and np.array_equal(self.J, other.J)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def random_sk(
        cls,
        n: int,
        beta: float = 1.0,
        h_std: float = 0.1,
        random_state: int | np.random.Generator | None = None,
    ) -> IsingModel:
        """Sherrington-Kirkpatrick-like model: J_ij ~ N(0, beta^2 / N), h_i ~ N(0, h_std^2)."""
        rng = np.random.default_rng(random_state)
        A = rng.normal(0.0, beta / np.sqrt(n), size=(n, n))
        J = np.triu(A, 1)
        J = J + J.T
        return cls(rng.normal(0.0, h_std, size=n), J)

    def energy(self, S: np.ndarray) -> np.ndarray:
        """Energy E(s) = -(s^T J s / 2 + h^T s) of each row of S (M, N); returns (M,) float64.

        A single configuration of shape (N,) gives a 0-d result.
        """
        S_arr = np.asarray(S)
        single = S_arr.ndim == 1
        X = check_spins(S_arr[None, :] if single else S_arr, name="S", n_spins=self.n_spins)
        e = -(0.5 * np.einsum("mi,mi->m", X @ self.J, X) + X @ self.h)
        return e[0] if single else e

    # ------------------------------------------------------------------ exact
    def _exact(self) -> dict[str, object]:
        """log Z, m, C by enumeration (cached; the model is immutable in use)."""
        if self._exact_cache is None:
            log_z, m, C = exact_moments(self.h, self.J)
            self._exact_cache = {"log_z": log_z, "m": m, "C": C}
        return self._exact_cache

    def log_partition(self) -> float:
        """Exact log Z by enumeration of all 2^N states (N <= 24)."""
        return float(self._exact()["log_z"])  # type: ignore[arg-type]

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact magnetizations m = <s_i> (N,) and raw correlations C = <s_i s_j> (N, N), unit diagonal."""
        ex = self._exact()
        return ex["m"].copy(), ex["C"].copy()  # type: ignore[union-attr]

    def log_prob(self, S: np.ndarray) -> np.ndarray:
        """Exact log P(s) = -E(s) - log Z of each row of S (N <= 24)."""
        return -self.energy(S) - self.log_partition()

    def entropy(self) -> float:
        """Exact Shannon entropy S = log Z - sum_{i<j} J_ij C_ij - sum_i h_i m_i (nats, total)."""
        m, C = self.moments()
        return float(self.log_partition() - 0.5 * np.sum(self.J * C) - self.h @ m)

    # ------------------------------------------------------------------ sampling
    def sample(
        self,
        n: int,
        method: str = "exact",
        *,
        n_chains: int = 64,
        burn: int = 200,
        thin: int = 1,
        random_state: int | np.random.Generator | None = None,
        device: str = "cpu",
        init: np.ndarray | None = None,
    ) -> np.ndarray:
        """Draw ``n`` samples, returned as int8 (n, N) ±1.

        Parameters
        ----------
        n : int
            Number of samples.
        method : {"exact", "gibbs", "metropolis"}
            "exact" draws i.i.d. states from the enumerated distribution (N <= 24).
            "gibbs" / "metropolis" run ``n_chains`` independent Markov chains in parallel
            (vectorized over chains); each chain is burned in for ``burn`` sweeps, then
            records one sample every ``thin`` sweeps (one sweep = N single-spin updates).
        random_state : int or Generator
            Seed; the same seed gives the same samples.
        device : str
            torch device for MCMC ("cpu" or "cuda").
        init : array-like (n_chains, N) of ±1, optional
            MCMC only: the initial state of each chain (row c starts chain c; burn-in still
            applies); by default uniformly random. Chains started at data rows sample a model
            with several valleys (e.g. the mirrored states s and -s of an ordered model) where
            the data live. See :func:`maxent.model.sampling.sample_chains`.
        """
        if int(n) != n or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        n = int(n)
        rng = np.random.default_rng(random_state)
        if method == "exact":
            if init is not None:
                raise ValueError("init (initial chain states) applies to MCMC only, not to method='exact'")
            return self._sample_exact(n, rng)
        if method in ("gibbs", "metropolis"):
            from maxent.model.sampling import sample_chains

            return sample_chains(
                self.h,
                self.J,
                n,
                method=method,
                n_chains=n_chains,
                burn=burn,
                thin=thin,
                rng=rng,
                device=device,
                init=init,
            )
        raise ValueError(f"unknown sampling method {method!r}; use 'exact', 'gibbs' or 'metropolis'")

    def _sample_exact(self, n: int, rng: np.random.Generator) -> np.ndarray:
        nspin = self.n_spins
        check_exact_size(nspin, "exact sampling")
        log_z = self.log_partition()
        u = np.sort(rng.random(n))
        order = np.argsort(rng.random(n))  # random output order, independent of the draw
        out = np.empty((n, nspin), dtype=np.int8)
        cum = 0.0
        filled = 0
        with single_thread_blas():  # N <= 24: small products, threads only add overhead
            for S in enumerate_states(nspin):
                p = np.exp(0.5 * np.einsum("bi,bi->b", S @ self.J, S) + S @ self.h - log_z)
                cp = cum + np.cumsum(p)
                end = np.searchsorted(u, cp[-1], side="right") if filled < n else filled
                if end > filled:
                    idx = np.searchsorted(cp, u[filled:end], side="right")
                    idx = np.minimum(idx, S.shape[0] - 1)
                    out[filled:end] = S[idx].astype(np.int8)
                    filled = end
                cum = cp[-1]
        if filled < n:  # rounding: u above the float sum of probabilities -> last state
            out[filled:] = S[-1].astype(np.int8)
        return out[order]

    # ------------------------------------------------------------------ I/O
    def save(self, path: str | os.PathLike, meta: dict | None = None) -> None:
        """Save h and J (and JSON ``meta``) to a compressed .npz, atomically, without pickle."""
        atomic_savez(path, {"h": self.h, "J": self.J}, meta={"convention": CONVENTION, **(meta or {})})

    @classmethod
    def load(cls, path: str | os.PathLike) -> IsingModel:
        """Load a model saved by :meth:`save` (no pickle; clear errors on corrupt files)."""
        arrays, _ = load_npz(path, required=("h", "J"))
        return cls(arrays["h"], arrays["J"])


CONVENTION = (
    "P(s) = exp(sum_{i<j} J_ij s_i s_j + sum_i h_i s_i) / Z, s_i = +-1, J symmetric, zero diagonal, beta = 1"
)

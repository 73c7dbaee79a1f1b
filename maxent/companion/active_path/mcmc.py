r"""Monte Carlo for p-spin instances: single-flip heat-bath chains and parallel tempering (numba).

Flipping w_i changes E by  Delta E_i = 2 w_i ( sum_{a ∋ i} J_a prod_{j in a \ i} w_j + f_i )
= 2 ( sum_{a ∋ i} P_a + f_i w_i ),  with the factor values P_a = J_a prod_{j in a} w_j kept up to
date (a flip negates P_a for a ∋ i). One sweep visits the variables in order, flipping with the
heat-bath (Glauber) probability 1 / (1 + exp(beta Delta E)) -- not Metropolis, whose always
accepted Delta E = 0 moves flip free weights deterministically every sweep; uniforms come from
a numpy Generator, so runs are reproducible from ``seed``. Parallel tempering runs R replicas
at inverse temperatures beta_1 < ... < beta_R and after every sweep proposes swaps of
neighbours (r, r+1), accepted with probability min(1, exp((beta_{r+1} - beta_r)(E_{r+1} - E_r)))
(alternating even/odd pairs).
Two independent PT runs give the replica overlap q = (1/n) sum_i w_i^(1) w_i^(2) at each beta.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from maxent._validation import check_int

from .instances import PathInstance

__all__ = ["PTResult", "heat_bath", "parallel_tempering"]


@njit(cache=True)
def _sweeps(W, P, betas, ptr, fac, fields, U):  # pragma: no cover - compiled
    """One heat-bath sweep of each replica r (W[r], P[r]) at betas[r]; U (R, n) uniforms."""
    R, n = W.shape
    for r in range(R):
        b = betas[r]
        for i in range(n):
            loc = fields[i] * W[r, i]
            for k in range(ptr[i], ptr[i + 1]):
                loc += P[r, fac[k]]
            dE = 2.0 * loc
            if U[r, i] * (1.0 + np.exp(b * dE)) < 1.0:
                W[r, i] = -W[r, i]
                for k in range(ptr[i], ptr[i + 1]):
                    P[r, fac[k]] = -P[r, fac[k]]


def _adjacency(instance: PathInstance) -> tuple[np.ndarray, np.ndarray]:
    F = instance.factors
    flat = F.ravel()
    order = np.argsort(flat, kind="stable")
    fac = (order // F.shape[1]).astype(np.int64)
    ptr = np.zeros(instance.n_vars + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(flat, minlength=instance.n_vars))
    return ptr, fac


def _factor_values(instance: PathInstance, W: np.ndarray) -> np.ndarray:
    return instance.J[None, :] * np.prod(W[:, instance.factors], axis=2)


def _energy(instance: PathInstance, W: np.ndarray, P: np.ndarray) -> np.ndarray:
    return -P.sum(axis=1) - W @ instance.fields


def _init(instance: PathInstance, R: int, init: object, rng: np.random.Generator) -> np.ndarray:
    n = instance.n_vars
    if isinstance(init, str) and init == "random":
        return rng.choice(np.array([-1.0, 1.0]), size=(R, n))
    if isinstance(init, str) and init == "planted":
        if instance.planted is None:
            raise ValueError("init='planted' needs a planted instance")
        return np.tile(instance.planted.astype(np.float64), (R, 1))
    if isinstance(init, str):
        raise ValueError(f"init must be 'random', 'planted' or an array (n,), got {init!r}")
    w = np.asarray(init, dtype=np.float64)
    if w.shape != (n,) or not np.all(np.abs(w) == 1):
        raise ValueError(f"init array must be ±1 of shape ({n},), got shape {w.shape}")
    return np.tile(w, (R, 1))


def heat_bath(
    instance: PathInstance,
    beta: float,
    n_sweeps: int,
    *,
    n_chains: int = 1,
    init: str | np.ndarray = "random",
    record_every: int = 1,
    seed: int | np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    """Independent heat-bath chains at one beta.

    Returns a dict: ``energy`` (n_records, n_chains) energies after every ``record_every``
    sweeps, ``samples`` int8 (n_records, n_chains, n), and ``overlap_planted`` (n_records,
    n_chains) = (1/n) w . w* when the instance is planted (else absent).
    """
    beta = float(beta)
    if not np.isfinite(beta) or beta < 0:
        raise ValueError(f"beta must be a finite float >= 0, got {beta!r}")
    n_sweeps = check_int(n_sweeps, "n_sweeps", 1)
    R = check_int(n_chains, "n_chains", 1)
    record_every = check_int(record_every, "record_every", 1)
    rng = np.random.default_rng(seed)
    W = _init(instance, R, init, rng)
    P = _factor_values(instance, W)
    ptr, fac = _adjacency(instance)
    betas = np.full(R, beta)
    E, S = [], []
    for t in range(1, n_sweeps + 1):
        _sweeps(W, P, betas, ptr, fac, instance.fields, rng.random(W.shape))
        if t % record_every == 0:
            E.append(_energy(instance, W, P))
            S.append(W.astype(np.int8))
    out = {"energy": np.array(E), "samples": np.array(S)}
    if instance.planted is not None:
        out["overlap_planted"] = (
            out["samples"].astype(np.float64) @ instance.planted.astype(np.float64) / instance.n_vars
        )
    return out


@dataclass(frozen=True)
class PTResult:
    """Parallel tempering records: betas (R,), energy (T, 2, R), samples int8 (T, 2, R, n) (two
    independent PT runs), swap_rate (R - 1,) acceptance of neighbour swaps."""

    betas: np.ndarray
    energy: np.ndarray
    samples: np.ndarray
    swap_rate: np.ndarray

    def summary(self) -> pd.DataFrame:
        """Per beta: mean energy and its standard error (over records and both runs, treated as
        independent), and the replica overlap <q>, <|q|>, <q^2> between the two runs."""
        E = self.energy
        S = self.samples.astype(np.float64)
        q = np.einsum("trn,trn->tr", S[:, 0], S[:, 1]) / S.shape[-1]
        rows = []
        for r, b in enumerate(self.betas):
            e = E[:, :, r].ravel()
            rows.append(
                {
                    "beta": b,
                    "T": 1.0 / b,
                    "energy": e.mean(),
                    "energy_err": e.std(ddof=1) / np.sqrt(e.size),
                    "q": q[:, r].mean(),
                    "abs_q": np.abs(q[:, r]).mean(),
                    "q2": (q[:, r] ** 2).mean(),
                }
            )
        return pd.DataFrame(rows)


def parallel_tempering(
    instance: PathInstance,
    betas: np.ndarray,
    n_sweeps: int,
    *,
    burn_in: int | None = None,
    record_every: int = 1,
    seed: int | np.random.Generator | None = None,
) -> PTResult:
    """Two independent parallel-tempering runs over the increasing ``betas`` (R,).

    ``burn_in`` sweeps (default n_sweeps // 4) are discarded; afterwards states are recorded
    every ``record_every`` sweeps.
    """
    b = np.asarray(betas, dtype=np.float64)
    if b.ndim != 1 or b.size < 2 or not np.all(np.isfinite(b)) or np.any(b < 0) or np.any(np.diff(b) <= 0):
        raise ValueError(
            f"betas must be a strictly increasing finite array of >= 2 values >= 0, got {betas!r}"
        )
    n_sweeps = check_int(n_sweeps, "n_sweeps", 1)
    burn_in = n_sweeps // 4 if burn_in is None else check_int(burn_in, "burn_in", 0)
    if burn_in >= n_sweeps:
        raise ValueError(f"burn_in={burn_in} must be smaller than n_sweeps={n_sweeps}")
    rng = np.random.default_rng(seed)
    R = b.size
    W = rng.choice(np.array([-1.0, 1.0]), size=(2 * R, instance.n_vars))
    P = _factor_values(instance, W)
    ptr, fac = _adjacency(instance)
    betas2 = np.concatenate([b, b])
    acc = np.zeros(R - 1)
    tried = np.zeros(R - 1)
    E_rec, S_rec = [], []
    for t in range(1, n_sweeps + 1):
        _sweeps(W, P, betas2, ptr, fac, instance.fields, rng.random(W.shape))
        E = _energy(instance, W, P)
        for run in range(2):
            off = run * R
            for r in range((t + run) % 2, R - 1, 2):
                i, j = off + r, off + r + 1
                tried[r] += 1
                if rng.random() < np.exp(min(0.0, (b[r + 1] - b[r]) * (E[j] - E[i]))):
                    W[[i, j]] = W[[j, i]]
                    P[[i, j]] = P[[j, i]]
                    E[[i, j]] = E[[j, i]]
                    acc[r] += 1
        if t > burn_in and (t - burn_in) % record_every == 0:
            E_rec.append(E.reshape(2, R).copy())
            S_rec.append(W.reshape(2, R, -1).astype(np.int8))
    return PTResult(b, np.array(E_rec), np.array(S_rec), acc / np.maximum(tried, 1))

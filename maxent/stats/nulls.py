r"""Null models of weight samples: data with the same single-spin statistics and no correlations.

A conclusion about couplings (a liquid-like block, a first-order jump, several TAP states) is
only worth stating when data *without* couplings would not produce it too. Two nulls:

* :func:`column_shuffle` permutes each spin's column across runs independently. Every spin keeps
  its exact empirical magnetization m_i and the same number of samples; every connected
  correlation c_ij = <s_i s_j> - m_i m_j is destroyed up to its sampling noise (E c_ij = O(1/M)).
  With several draws per run the permutation acts on whole runs (the draws of run r of spin i
  move together to another run), so the null keeps the run structure that the run-level
  bootstrap resamples.
* :func:`independent_samples` draws fresh spins independently with given magnetizations (a
  parametric null: the maximum-entropy model of the magnetizations alone).

Both are exact nulls for "no pairwise structure"; the shuffle is the one used by the pipeline,
because it keeps every spin's empirical distribution bit for bit.
"""

from __future__ import annotations

import numpy as np

from maxent._validation import check_spins

__all__ = ["column_shuffle", "independent_samples", "NULLS"]

NULLS = ("column_shuffle", "independent")


def _groups_or_rows(groups: np.ndarray | None, n_rows: int) -> np.ndarray:
    if groups is None:
        return np.arange(n_rows)
    g = np.asarray(groups)
    if g.shape != (n_rows,):
        raise ValueError(f"groups must have shape ({n_rows},) (one run id per sample), got {g.shape}")
    return g


def column_shuffle(
    X: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    random_state: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Column-shuffled copy of ±1 samples: each column permuted independently across runs.

    Parameters
    ----------
    X : array (M, N) of ±1
        Samples (rows) of N spins.
    groups : array (M,), optional
        Run id of every row. When every run holds the same number of rows (draws), each column
        is permuted at the level of runs: run r's rows of column i become run pi_i(r)'s, draw
        order kept. Otherwise (or without groups) rows are permuted individually.
    random_state : int or Generator, optional

    Returns
    -------
    ndarray (M, N) int8
        Same column multisets (hence the same magnetizations), independent columns.
    """
    X = check_spins(X, name="X", dtype=np.int8)
    M, N = X.shape
    rng = np.random.default_rng(random_state)
    g = _groups_or_rows(groups, M)
    ids, inverse, counts = np.unique(g, return_inverse=True, return_counts=True)
    if groups is not None and len(ids) < M and np.all(counts == counts[0]):
        # rows of run k, in their original order: (R, D) table of row indices
        order = np.argsort(inverse, kind="stable").reshape(len(ids), counts[0])
        perm = rng.permuted(np.tile(np.arange(len(ids)), (N, 1)), axis=1)  # (N, R)
        rows = order[perm]  # (N, R, D): new run k of column i takes old run perm[i, k]
        src = np.empty((M, N), dtype=np.int64)
        src[order.reshape(-1), :] = rows.reshape(N, -1).T
        return np.take_along_axis(X, src, axis=0)
    src = rng.permuted(np.tile(np.arange(M), (N, 1)), axis=1).T  # (M, N)
    return np.take_along_axis(X, src, axis=0)


def independent_samples(
    m: np.ndarray, n_samples: int, *, random_state: int | np.random.Generator | None = None
) -> np.ndarray:
    """``n_samples`` rows of independent ±1 spins with P(s_i = +1) = (1 + m_i) / 2.

    Parameters
    ----------
    m : array (N,)
        Magnetizations in [-1, 1].
    n_samples : int >= 1

    Returns
    -------
    ndarray (n_samples, N) int8
    """
    m = np.asarray(m, dtype=np.float64)
    if m.ndim != 1 or not np.all(np.isfinite(m)) or np.any(np.abs(m) > 1):
        raise ValueError("m must be a 1-D array of finite magnetizations in [-1, 1]")
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    rng = np.random.default_rng(random_state)
    up = rng.random((int(n_samples), m.size)) < (1.0 + m) / 2.0
    return np.where(up, 1, -1).astype(np.int8)

"""One inverse-Ising fit per weight block (W1, W2, ..., and the full network), in parallel.

The same (unfitted) estimator is cloned for every block (``sklearn.base.clone``: same
hyperparameters, fresh state) and fitted on that block's spins, the fits running through
``joblib.Parallel`` (``n_jobs``; any joblib backend, e.g. dask via
``joblib.parallel_config(backend="dask")``). Nothing is skipped: a block that cannot be
fitted (a constant spin without regularization, too many spins for an exact method, ...)
raises an error naming the block.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import clone

from maxent.data.samples import WeightSamples
from maxent.fit._base import IsingEstimator

__all__ = ["fit_blocks", "BlockFitError"]


class BlockFitError(RuntimeError):
    """Fitting one block failed; the message names the block, the cause is chained."""


def _fit_one(name: str, estimator: IsingEstimator, X: np.ndarray) -> IsingEstimator:
    try:
        return estimator.fit(X)
    except Exception as exc:
        raise BlockFitError(
            f"fitting block {name!r} ({X.shape[1]} spins, {X.shape[0]} samples) with "
            f"{type(estimator).__name__} failed: {type(exc).__name__}: {exc}"
        ) from exc


def fit_blocks(
    samples: WeightSamples,
    estimator: IsingEstimator,
    blocks: Sequence[str] | None = None,
    n_jobs: int | None = None,
    include_full: bool = True,
    verbose: int = 0,
) -> dict[str, IsingEstimator]:
    """Fit a clone of ``estimator`` to each block of ``samples``.

    Parameters
    ----------
    samples : WeightSamples
        ±1 weight samples (M, N) with their layer layout.
    estimator : IsingEstimator
        An estimator instance (fitted or not: it is cloned, never modified).
    blocks : sequence of str, optional
        Block names ("W1", "W2", ..., "full"); default: every layer block of ``samples``.
    n_jobs : int, optional
        Number of parallel joblib workers (None: 1, -1: all cores).
    include_full : bool, default True
        Also fit the whole network ("full"), if not already listed in ``blocks``.
    verbose : int, default 0
        joblib verbosity (progress of the parallel fits).

    Returns
    -------
    dict
        Block name -> fitted estimator, in the order W1, W2, ..., full (as listed).

    Raises
    ------
    KeyError
        An unknown block name (the message lists the available ones).
    ValueError
        Duplicate block names, or an empty list of blocks.
    BlockFitError
        A fit failed; the message names the block and the cause is chained.
    """
    if not isinstance(samples, WeightSamples):
        raise TypeError(f"samples must be a maxent.WeightSamples, got {type(samples).__name__}")
    if not isinstance(estimator, IsingEstimator):
        raise TypeError(f"estimator must be a maxent.fit.IsingEstimator, got {type(estimator).__name__}")
    available = list(samples.blocks)
    names = list(available) if blocks is None else [str(b) for b in blocks]
    if include_full and "full" not in names:
        names.append("full")
    if not names:
        raise ValueError("no blocks to fit: pass block names or include_full=True")
    unknown = [b for b in names if b != "full" and b not in available]
    if unknown:
        raise KeyError(f"unknown block(s) {unknown}; available: {available} and 'full'")
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate block names in {names}")
    fitted = Parallel(n_jobs=n_jobs, verbose=verbose)(
        delayed(_fit_one)(name, clone(estimator), samples.block(name)) for name in names
    )
    return dict(zip(names, fitted, strict=True))

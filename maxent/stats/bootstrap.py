r"""Run-level bootstrap: resample training *runs*, never the draws of one run.

Draws of one trained network (several binary networks sampled from one LR-net's Bernoulli
weights) are not independent of each other: the unit of independent replication is the run.
Every resampling here acts on run ids (``groups``): a replicate is made of R runs drawn with
replacement from the R runs of the data, each contributing all of its rows.

Confidence intervals are *basic* (reverse-percentile) bootstrap intervals,

    [2 theta_hat - q_{1 - a/2},  2 theta_hat - q_{a/2}],   q_p = p-quantile of the replicates,

which, unlike plain percentile intervals, correct an additive bias of the replicates. That
matters for the statistics of this library: a bootstrap replicate repeats runs, so pair
statistics such as mean_{i<j} c_ij^2 come out larger on replicates than on the data by about
the sampling-noise floor (E* c*^2 ~ c^2 + 2 sigma^2 / M against E c^2 ~ c^2 + sigma^2 / M); the
percentile interval would then exclude the null where there is no signal. The interval is an
approximation (first order in the bias); its coverage is tested against known answers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "BootstrapResult",
    "run_groups",
    "resample_runs",
    "subsample_runs",
    "basic_interval",
    "run_bootstrap",
]


@dataclass(frozen=True)
class BootstrapResult:
    """A statistic on the data with its run-level bootstrap replicates and interval.

    Attributes
    ----------
    value : ndarray or float
        The statistic on the data (shape S, or a scalar).
    replicates : ndarray (B, *S)
        The statistic on B run-level bootstrap replicates (NaN where it failed).
    ci_low, ci_high : ndarray or float
        Basic bootstrap interval at ``level`` (see the module docstring).
    level : float
        Nominal coverage, e.g. 0.95.
    n_runs : int
        Number of runs resampled.
    """

    value: np.ndarray | float
    replicates: np.ndarray
    ci_low: np.ndarray | float
    ci_high: np.ndarray | float
    level: float
    n_runs: int

    @property
    def se(self) -> np.ndarray | float:
        """Bootstrap standard error (sd of the replicates, ddof 1)."""
        return np.nanstd(self.replicates, axis=0, ddof=1)


def run_groups(runs: np.ndarray) -> list[np.ndarray]:
    """Row indices of each run, in order of the sorted run ids."""
    runs = np.asarray(runs)
    if runs.ndim != 1 or runs.size == 0:
        raise ValueError(f"runs must be a non-empty 1-D array of run ids, got shape {runs.shape}")
    order = np.argsort(runs, kind="stable")
    _, starts = np.unique(runs[order], return_index=True)
    return np.split(order, starts[1:])


def resample_runs(runs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Row indices of one bootstrap replicate: R runs drawn with replacement, all rows of each."""
    groups = run_groups(runs)
    pick = rng.integers(0, len(groups), size=len(groups))
    return np.concatenate([groups[k] for k in pick])


def subsample_runs(runs: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Row indices of a random ``fraction`` of the runs (without replacement), sorted."""
    if not (0.0 < fraction <= 1.0):
        raise ValueError(f"fraction must lie in (0, 1], got {fraction!r}")
    groups = run_groups(runs)
    k = max(2, int(round(fraction * len(groups))))
    pick = np.sort(rng.choice(len(groups), size=min(k, len(groups)), replace=False))
    return np.sort(np.concatenate([groups[i] for i in pick]))


def basic_interval(value: np.ndarray | float, replicates: np.ndarray, level: float = 0.95):
    """Basic bootstrap interval (2 value - q_hi, 2 value - q_lo) over axis 0 of ``replicates``."""
    if not (0.0 < level < 1.0):
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    rep = np.asarray(replicates, dtype=np.float64)
    a = (1.0 - level) / 2.0
    with np.errstate(invalid="ignore"):
        q_lo = np.nanquantile(rep, a, axis=0) if np.isfinite(rep).any() else np.nan
        q_hi = np.nanquantile(rep, 1.0 - a, axis=0) if np.isfinite(rep).any() else np.nan
    v = np.asarray(value, dtype=np.float64)
    lo, hi = 2.0 * v - q_hi, 2.0 * v - q_lo
    if np.ndim(lo) == 0:
        return float(lo), float(hi)
    return lo, hi


def run_bootstrap(
    statistic: Callable[[np.ndarray], np.ndarray | float],
    runs: np.ndarray,
    *,
    n_boot: int = 200,
    level: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> BootstrapResult:
    """Bootstrap a statistic of the rows over runs.

    Parameters
    ----------
    statistic : callable
        ``statistic(rows)`` gets an index array into the data's rows (all rows for the value, a
        run-level replicate otherwise) and returns a float or an array of fixed shape.
    runs : array (M,)
        Run id of every row.
    n_boot : int >= 2
        Number of replicates B.
    level : float in (0, 1)
        Coverage of the interval.

    Returns
    -------
    BootstrapResult
    """
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    runs = np.asarray(runs)
    rng = np.random.default_rng(random_state)
    value = np.asarray(statistic(np.arange(runs.size)), dtype=np.float64)
    reps = np.empty((int(n_boot), *value.shape))
    for b in range(int(n_boot)):
        reps[b] = statistic(resample_runs(runs, rng))
    lo, hi = basic_interval(value, reps, level)
    scalar = value.ndim == 0
    return BootstrapResult(
        value=float(value) if scalar else value,
        replicates=reps,
        ci_low=lo,
        ci_high=hi,
        level=float(level),
        n_runs=len(run_groups(runs)),
    )

"""Statistics of claims: null models, run-level bootstrap, and the claims table.

- :mod:`maxent.stats.nulls`: column-shuffled and independent-spin nulls (same magnetizations,
  no correlations);
- :mod:`maxent.stats.bootstrap`: resampling of training *runs* (never of the draws of one run),
  basic bootstrap intervals;
- :mod:`maxent.stats.claims`: one statistic per kind of conclusion (pair structure, entropy gap,
  liquidity ranking, first-order jump, TAP states, generalization), with its interval, its null
  distribution and a verdict.
"""

from maxent.stats.bootstrap import (
    BootstrapResult,
    basic_interval,
    resample_runs,
    run_bootstrap,
    run_groups,
    subsample_runs,
)
from maxent.stats.claims import CLAIM_COLUMNS, ClaimSettings, hysteresis_area, pearson_upper
from maxent.stats.nulls import column_shuffle, independent_samples

__all__ = [
    "BootstrapResult",
    "basic_interval",
    "resample_runs",
    "run_bootstrap",
    "run_groups",
    "subsample_runs",
    "CLAIM_COLUMNS",
    "ClaimSettings",
    "hysteresis_area",
    "pearson_upper",
    "column_shuffle",
    "independent_samples",
]

"""Statistics of claims: null models, run-level bootstrap, and the claims table.

- :mod:`maxent.stats.nulls`: column-shuffled and independent-spin nulls (same magnetizations,
  no correlations);
- :mod:`maxent.stats.bootstrap`: resampling of training *runs* (never of the draws of one run),
  basic bootstrap intervals;
- :mod:`maxent.stats.claims`: one statistic per kind of conclusion (pair structure, entropy gap,
  liquidity ranking, first-order jump, TAP states, generalization), with its interval, its null
  distribution and a verdict; :mod:`maxent.stats.settings` holds its settings.

The names below are importable from ``maxent.stats``; each module is imported on first use
(the pipeline config extends :class:`ClaimSettings` without paying for scipy.stats at start-up).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "bootstrap": (
        "BootstrapResult",
        "basic_interval",
        "resample_runs",
        "run_bootstrap",
        "run_groups",
        "subsample_runs",
    ),
    "claims": ("CLAIM_COLUMNS", "hysteresis_area", "pearson_upper"),
    "nulls": ("column_shuffle", "independent_samples"),
    "settings": ("ClaimSettings",),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"maxent.stats.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'maxent.stats' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))

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

from maxent._lazy import attach

__getattr__, __dir__ = attach(__name__, __file__, ["nulls", "bootstrap", "claims", "settings"])

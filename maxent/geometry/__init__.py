"""Geometry of weight space read from fitted models: landscapes, clustering, liquidity.

``from maxent.geometry import entropy_landscape`` works for every name below; each module is
imported on first use (so that the code a pipeline stage depends on stays the module it uses).

- :mod:`~maxent.geometry.landscape`: entropy landscape s(d) around a reference by BP sweeps over
  the tilt x, its exact counterpart for small N, first-order transitions, references;
- :mod:`~maxent.geometry.clustering`: TAP states and free energies, overlap distribution P(q),
  hierarchical clustering and embeddings of samples;
- :mod:`~maxent.geometry.liquid`: liquidity of blocks (couplings, entropy gap, landscape area
  averaged over references).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "landscape": (
        "entropy_landscape",
        "exact_entropy_landscape",
        "independent_bound",
        "find_transitions",
        "choose_references",
        "default_grid",
    ),
    "clustering": (
        "tap_states",
        "TapStates",
        "tap_free_energy",
        "overlap_distribution",
        "hierarchical_clustering",
        "HierarchicalClustering",
        "embedding",
        "binary_entropy",
    ),
    "liquid": (
        "liquidity",
        "landscape_area",
        "landscape_max_gap",
        "entropy_gap",
        "reference_classes",
        "landscape_liquidity",
    ),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"maxent.geometry.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'maxent.geometry' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))

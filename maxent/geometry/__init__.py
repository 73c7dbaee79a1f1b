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

from maxent._lazy import attach

__getattr__, __dir__ = attach(__name__, __file__, ["landscape", "clustering", "liquid"])

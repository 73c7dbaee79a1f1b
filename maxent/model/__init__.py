"""The pairwise Ising model and the engines that compute with it.

- :mod:`~maxent.model.ising`: :class:`IsingModel` (h, J): energy, exact quantities, sampling, I/O;
- :mod:`~maxent.model.enumerate`: the one exact-enumeration engine (log Z, m, C, Fisher information);
- :mod:`~maxent.model.sampling`: Gibbs / Metropolis chains vectorized over chains (torch);
- :mod:`~maxent.model.bp`: dense belief propagation, Bethe free energy, energy and entropy;
- :mod:`~maxent.model.tap`: TAP free energy and its stationary states.

Names below are importable from ``maxent.model``; each module is imported on first use.
"""

from __future__ import annotations

from maxent._lazy import attach

__getattr__, __dir__ = attach(__name__, __file__, ["ising", "enumerate", "sampling", "bp", "tap"])

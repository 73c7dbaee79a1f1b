"""maxent: maximum-entropy (pairwise Ising) models of the weight space of binary-synapse networks.

The folders follow the data:

- :mod:`maxent.data`: where data enters (datasets, networks, the trainer, :class:`WeightSamples`,
  :class:`Moments`);
- :mod:`maxent.model`: the :class:`IsingModel` and its engines (enumeration, MCMC, BP, TAP);
- :mod:`maxent.fit`: inverse-Ising estimators (samples or moments -> model);
- :mod:`maxent.geometry`: what a fitted model says (landscapes, clustering, liquidity);
- :mod:`maxent.stats`: whether the data back a conclusion (run bootstrap, nulls, claims);
- :mod:`maxent.pipeline`: config -> stages -> results -> tables, figures, report;
- :mod:`maxent.companion`: the companion analyses; :mod:`maxent.formats` and :mod:`maxent.plots`:
  where results leave.
"""

from maxent.data.moments import Moments
from maxent.data.samples import WeightSamples
from maxent.model.ising import IsingModel

__version__ = "0.1.0"

__all__ = ["IsingModel", "Moments", "WeightSamples", "__version__"]

#: subpackages and modules reachable as attributes (``maxent.fit.PseudoLikelihood``), imported on
#: first use (scipy style): ``import maxent`` stays light
SUBMODULES = frozenset(
    {"companion", "data", "fit", "formats", "geometry", "model", "pipeline", "plots", "stats"}
)


def __getattr__(name: str):
    if name in SUBMODULES:
        import importlib

        return importlib.import_module(f"maxent.{name}")
    raise AttributeError(f"module 'maxent' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | SUBMODULES)

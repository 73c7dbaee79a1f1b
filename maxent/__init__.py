"""maxent: maximum-entropy (pairwise Ising) models of the weight space of binary-synapse networks.

Data enters as weight samples (:mod:`maxent.train` -> :class:`WeightSamples`), is summarized by
moments (:class:`Moments`) and fitted by inverse-Ising estimators (:mod:`maxent.fit`) into an
:class:`IsingModel`, whose geometry is read by :mod:`maxent.bp` and :mod:`maxent.geometry`.
"""

from maxent.ising import IsingModel
from maxent.moments import Moments
from maxent.samples import WeightSamples

__version__ = "0.1.0"

__all__ = ["IsingModel", "Moments", "WeightSamples", "__version__"]

#: subpackages and modules reachable as attributes (``maxent.fit.PseudoLikelihood``), imported on
#: first use (scipy style): ``import maxent`` stays light
SUBMODULES = frozenset(
    {
        "bp",
        "config",
        "datasets",
        "fit",
        "geometry",
        "ising",
        "mcmc",
        "moments",
        "nets",
        "pipeline",
        "plots",
        "samples",
        "stats",
        "train",
    }
)


def __getattr__(name: str):
    if name in SUBMODULES:
        import importlib

        return importlib.import_module(f"maxent.{name}")
    raise AttributeError(f"module 'maxent' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | SUBMODULES)

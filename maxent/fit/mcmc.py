"""Deprecated alias of :mod:`maxent.fit.boltzmann_mcmc` (kept for one release)."""

from maxent._deprecated import alias

alias(__name__, "maxent.fit.boltzmann_mcmc")

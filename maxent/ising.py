"""Deprecated alias of :mod:`maxent.model.ising` (kept for one release)."""

from maxent._deprecated import alias

alias(__name__, "maxent.model.ising")

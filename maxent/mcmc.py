"""Deprecated alias of :mod:`maxent.model.sampling` (kept for one release)."""

from maxent._deprecated import alias

alias(__name__, "maxent.model.sampling")

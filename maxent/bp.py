"""Deprecated alias of :mod:`maxent.model.bp` (kept for one release)."""

from maxent._deprecated import alias

alias(__name__, "maxent.model.bp")

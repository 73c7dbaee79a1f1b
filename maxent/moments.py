"""Deprecated alias of :mod:`maxent.data.moments` (kept for one release)."""

from maxent._deprecated import alias

alias(__name__, "maxent.data.moments")

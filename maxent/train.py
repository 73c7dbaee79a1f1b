"""Deprecated alias of :mod:`maxent.data.train` (kept for one release)."""

from maxent._deprecated import alias

alias(__name__, "maxent.data.train")

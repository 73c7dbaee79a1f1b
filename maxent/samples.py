"""Deprecated alias of :mod:`maxent.data.samples` (kept for one release)."""

from maxent._deprecated import alias

alias(__name__, "maxent.data.samples")

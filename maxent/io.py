"""Deprecated alias of :mod:`maxent.formats` (kept for one release)."""

from maxent._deprecated import alias

alias(__name__, "maxent.formats")

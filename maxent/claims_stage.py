"""Deprecated alias of :mod:`maxent.pipeline.claims` (kept for one release)."""

from maxent._deprecated import alias

alias(__name__, "maxent.pipeline.claims")

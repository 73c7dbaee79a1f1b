"""Deprecated alias of :mod:`maxent.pipeline.report` (kept for one release)."""

from maxent._deprecated import alias

alias(__name__, "maxent.pipeline.report")

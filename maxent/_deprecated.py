"""Old import paths kept for one release: each is an alias of the module that replaced it.

``maxent/ising.py`` and its siblings hold one line, ``alias(__name__, "maxent.model.ising")``: the
old name then *is* the new module in ``sys.modules`` (private names, monkeypatching and
``isinstance`` behave identically) and importing it warns once with a DeprecationWarning that
names the new path.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from types import ModuleType

#: the release that drops the aliases
REMOVED_IN = "0.3"


def alias(old: str, new: str) -> ModuleType:
    """Make module ``old`` an alias of ``new`` and warn that ``old`` is deprecated."""
    warnings.warn(
        f"{old} moved to {new}; the old path is an alias that goes away in maxent {REMOVED_IN}",
        DeprecationWarning,
        stacklevel=3,
    )
    module = importlib.import_module(new)
    sys.modules[old] = module
    return module

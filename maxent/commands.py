"""Deprecated: the commands live in :mod:`maxent.cli`, one module per command (kept one release)."""

import warnings

from maxent._deprecated import REMOVED_IN
from maxent.cli.errors import BadInput
from maxent.cli.export import export
from maxent.cli.fit import fit
from maxent.cli.info import info
from maxent.cli.landscape import landscape
from maxent.cli.run import run

warnings.warn(
    "maxent.commands moved to maxent.cli (one module per command); "
    f"the old path goes away in maxent {REMOVED_IN}",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["run", "fit", "landscape", "export", "info", "BadInput"]

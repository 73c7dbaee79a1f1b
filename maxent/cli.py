"""The ``maxent`` command line.

Each sub-command is usable on its own, on files written by the others. Exit codes: 0 success,
1 a failure while running, 2 bad usage or bad input (click's convention).
"""

from __future__ import annotations

import click

from maxent import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="maxent")
def main() -> None:
    """maxent: maximum-entropy models of binary-synapse network weight spaces.

    Typical flow: `maxent sample` (train many binary networks, save their weights as ±1 spins)
    -> `maxent fit` (pairwise Ising model per block) -> `maxent landscape` (entropy landscape);
    `maxent run CONFIG` does all stages from a YAML pipeline config.
    """

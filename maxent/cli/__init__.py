"""The ``maxent`` command line: one group, one error mapper (:mod:`~maxent.cli.errors`), one module
per command.

Each sub-command is usable on its own, on files written by the others: ``sample`` (train, save ±1
weights), ``fit`` (a model per block), ``landscape``, ``export``, ``info``, ``run`` (the whole
pipeline of a YAML config), ``report`` (rebuild a run's report from its folder) and
``active-path`` (phase diagram of the random active path model). Exit codes:
0 success, 1 a failure while running, 2 bad usage or bad input, 130 interrupted.
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
    `maxent run CONFIG` does all stages from a YAML pipeline config; `maxent report OUT` rebuilds
    its report.
    """


from maxent.cli.active_path import active_path  # noqa: E402
from maxent.cli.export import export  # noqa: E402
from maxent.cli.fit import fit  # noqa: E402
from maxent.cli.info import info  # noqa: E402
from maxent.cli.landscape import landscape  # noqa: E402
from maxent.cli.report import report  # noqa: E402
from maxent.cli.run import run  # noqa: E402
from maxent.cli.sample import sample  # noqa: E402

for _command in (sample, run, fit, landscape, export, info, report, active_path):
    main.add_command(_command)

"""``maxent report OUT``: rebuild a run's report.md from its output folder (no cache needed)."""

from __future__ import annotations

from pathlib import Path

import click

from maxent.cli.errors import script_errors

__all__ = ["report"]


@click.command()
@click.argument("out", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--to",
    "dest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report here instead of OUT/report.md.",
)
@click.option(
    "--cards",
    "cards_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Also rebuild the data cards (<setting>.md) into this folder.",
)
@script_errors
def report(out: Path, dest: Path | None, cards_dir: Path | None) -> None:
    """Render the report of the run in OUT from its tables, samples and config.

    The report and the data cards are functions of the run's results (OUT/tables/*.csv,
    OUT/samples/*.npz, the config in OUT/.maxent/run.json and OUT/.maxent/results.json); this
    rebuilds them, e.g. after editing the report code, without the cache or any computation.

    \b
    Example:
      maxent report results/ --to /tmp/report.md --cards /tmp/cards
    """
    from maxent._atomic import atomic_write_text
    from maxent.pipeline.report import render_report
    from maxent.pipeline.results import Results

    res = Results.load(out)
    text = render_report(res)
    target = dest if dest is not None else out / "report.md"
    atomic_write_text(target, text)
    click.echo(f"{target}: {len(text.splitlines())} lines")
    if cards_dir is not None:
        from maxent.pipeline.cards import setting_card

        cards_dir.mkdir(parents=True, exist_ok=True)
        for s in res.config.settings:
            if s.name in res.samples:
                atomic_write_text(cards_dir / f"{s.name}.md", setting_card(res.samples[s.name], s))
        click.echo(f"{cards_dir}: {len(res.samples)} data card(s)")

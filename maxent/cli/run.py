"""``maxent run CONFIG --out OUT``: the whole pipeline of a YAML config."""

from __future__ import annotations

from pathlib import Path

import click

from maxent.cli.errors import BadInput, script_errors

__all__ = ["run"]


@click.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (report.md, figures/, tables/, models/, samples/, data_cards/, run.log).",
)
@click.option(
    "--n-jobs",
    "-j",
    default=-1,
    show_default=True,
    type=int,
    help="Parallel tasks per stage (-1: one per core). Results do not depend on it.",
)
@click.option(
    "--backend",
    type=click.Choice(["loky", "dask"]),
    default="loky",
    show_default=True,
    help="joblib backend; 'dask' runs the tasks on a dask.distributed cluster.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="dask scheduler address (tcp://host:8786); without it --backend dask starts a LocalCluster.",
)
@click.option(
    "--force",
    is_flag=True,
    help="If OUT holds a different run's results (or other files), run there anyway: only files that "
    "maxent wrote are replaced, and the log names them; your own files are never touched (default: refuse).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache folder (default OUT/.cache); can be shared between output folders and concurrent runs. "
    "A non-empty folder that is not a maxent cache is refused.",
)
@click.option(
    "--threads-per-task",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="BLAS/torch threads of each task; parallelism comes from --n-jobs.",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress bars or log lines on stderr (run.log is still written)."
)
@script_errors
def run(
    config: Path,
    out: Path,
    n_jobs: int,
    backend: str,
    scheduler: str | None,
    force: bool,
    cache_dir: Path | None,
    threads_per_task: int,
    quiet: bool,
) -> None:
    """Run the whole pipeline of a YAML CONFIG into the folder OUT.

    Stages: samples -> fit per block -> quality -> landscape -> clustering -> liquidity ->
    tables, figures, report.md, model exports, data cards. Every task is cached under OUT/.cache:
    a rerun is near instant and an interrupted run (even killed) resumes where it stopped.

    OUT holds one run only: a folder with another config's results is refused unless --force.

    \b
    Example:
      maxent run pipelines/default.yaml --out results/ --n-jobs 2
      maxent run pipelines/default.yaml --out results/ --backend dask --scheduler tcp://10.0.0.5:8786
    """
    from maxent.pipeline import run_pipeline

    if scheduler is not None and backend != "dask":
        raise BadInput("--scheduler needs --backend dask")
    if n_jobs == 0 or n_jobs < -1:
        raise BadInput(f"--n-jobs must be a positive integer or -1, got {n_jobs}")
    summary = run_pipeline(
        config,
        out,
        n_jobs=n_jobs,
        backend=backend,
        scheduler=scheduler,
        force=force,
        progress=not quiet,
        verbose=not quiet,
        cache_dir=cache_dir,
        threads_per_task=threads_per_task,
    )
    click.echo(
        f"{out}: report.md written in {summary.seconds:.1f} s "
        f"({summary.cached} task(s) from cache, {summary.computed} computed)"
    )
    if summary.skipped_outputs:
        click.echo(
            f"  not written (a file that maxent did not write is there): {', '.join(summary.skipped_outputs)}"
        )

"""``maxent active-path``: phase diagram of the random active path model (companion analysis 2).

Independent of the pipeline: no samples needed. Writes a table with error bars and a figure.
"""

from __future__ import annotations

from pathlib import Path

import click

from maxent.cli.errors import BadInput, script_errors

__all__ = ["active_path"]


def _floats(text: str, name: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise BadInput(f"{name} must be comma-separated numbers like 0,0.5,1, got {text!r}") from None
    if not values:
        raise BadInput(f"{name} is empty")
    return values


@click.command("active-path")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for active_path_phase_diagram.csv and .png (created).",
)
@click.option(
    "--temperatures",
    default="0,0.25,0.5,0.75,1",
    show_default=True,
    help="Temperatures T = 1/beta, comma-separated (0 uses the T = 0 XORSAT solver).",
)
@click.option(
    "--layers", "n_layers", default=3, show_default=True, type=int, help="Depth L (p-weight factors)."
)
@click.option(
    "--path-density",
    default=1.5,
    show_default=True,
    type=float,
    help="Active paths per possible edge, M/N^2.",
)
@click.option("--pop-size", default=4000, show_default=True, type=int, help="Population size.")
@click.option(
    "--iterations", "n_iter", default=200, show_default=True, type=int, help="Equilibration sweeps."
)
@click.option(
    "--repeats", "n_repeats", default=3, show_default=True, type=int, help="Populations per T (errors)."
)
@click.option("--grid/--no-grid", default=False, help="Also compute the order-parameter background (slower).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--jobs", "n_jobs", default=1, show_default=True, type=int, help="Parallel populations.")
@script_errors
def active_path(
    out: Path,
    temperatures: str,
    n_layers: int,
    path_density: float,
    pop_size: int,
    n_iter: int,
    n_repeats: int,
    grid: bool,
    seed: int,
    n_jobs: int,
) -> None:
    """Critical removal probabilities rho_d(T) (clustering) and rho_s(T) (condensation) of the
    random active path model (inferred model, see maxent.companion.active_path), with error bars
    over independent populations, and the phase-diagram figure.

    \b
    Example:
      maxent active-path --out results-active-path/ --temperatures 0,0.5,1 --jobs 2
    """
    import numpy as np

    from maxent._atomic import atomic_write_text
    from maxent.companion.active_path import order_parameter_grid, phase_diagram, plot_phase_diagram
    from maxent.pipeline.report import save_figure

    temps = _floats(temperatures, "--temperatures")
    df = phase_diagram(
        temps,
        n_layers=n_layers,
        path_density=path_density,
        pop_size=pop_size,
        n_iter=n_iter,
        n_repeats=n_repeats,
        seed=seed,
        n_jobs=n_jobs,
    )
    background = None
    if grid:
        positive = [t for t in temps if t > 0] or [0.5]
        background = order_parameter_grid(
            np.linspace(0.0, 0.9, 19),
            np.linspace(min(positive), max(positive), 9),
            n_layers=n_layers,
            path_density=path_density,
            seed=seed,
        )
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "active_path_phase_diagram.csv", df.to_csv(index=False))
    save_figure(plot_phase_diagram(df, background), out / "active_path_phase_diagram.png", dpi=110)
    for row in df.itertuples(index=False):
        click.echo(f"T = {row.T:g}: rho_{row.transition} = {row.rho:.3f} ± {row.rho_err:.3f} ({row.order})")
    click.echo(f"-> {out / 'active_path_phase_diagram.csv'}, {out / 'active_path_phase_diagram.png'}")

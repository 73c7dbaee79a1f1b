"""``maxent landscape MODEL``: the entropy landscape s(d) of a fitted model around a reference."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from maxent.cli.errors import BadInput, script_errors

__all__ = ["landscape"]


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV table: x, sweep, q, d, entropy, energy, converged, n_iter (one row per x and sweep).",
)
@click.option(
    "--samples",
    "-s",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Samples to pick the reference from (needed for low/medium/high/INDEX references).",
)
@click.option(
    "--block",
    "-b",
    default=None,
    help="Block of a WeightSamples file matching the model (default: the model file's 'block' metadata).",
)
@click.option(
    "--reference",
    "-r",
    default="low",
    show_default=True,
    help="low | medium | high (model-energy rank among the samples) or a row INDEX of the samples.",
)
@click.option(
    "--reference-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A ±1 vector (.npy, or text with one value per line/space) used as the reference instead.",
)
@click.option("--x-start", default=-3.0, show_default=True, type=float)
@click.option("--x-stop", default=3.0, show_default=True, type=float)
@click.option("--x-step", default=0.05, show_default=True, type=float)
@click.option("--sweep", type=click.Choice(["both", "down", "up"]), default="both", show_default=True)
@click.option("--tol", default=1e-6, show_default=True, type=float, help="BP tolerance.")
@click.option(
    "--figure",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also draw s(d) with the independent bound to this PNG.",
)
@script_errors
def landscape(
    model: Path,
    out: Path,
    samples: Path | None,
    block: str | None,
    reference: str,
    reference_file: Path | None,
    x_start: float,
    x_stop: float,
    x_step: float,
    sweep: str,
    tol: float,
    figure: Path | None,
) -> None:
    """Entropy landscape s(d) of a fitted MODEL around a reference configuration (belief propagation).

    The model is tilted toward the reference s*: P_x(s) ∝ exp(Σ J s s + Σ (h_i + x s*_i) s_i), and x
    is swept over the grid in both directions (warm-started), so first-order jumps and hysteresis show.

    \b
    Examples:
      maxent landscape results/models/shallow-under/W1.npz \
          -s results/samples/shallow-under.npz -r low -o land.csv
      maxent landscape model.json --reference-file ref.npy -o land.csv --figure land.png
    """
    from maxent import formats as mio
    from maxent._atomic import atomic_write_text
    from maxent._validation import check_spin_vector
    from maxent.formats import load_spins
    from maxent.geometry.landscape import choose_references, entropy_landscape, find_transitions
    from maxent.pipeline.config import GridConfig

    m, meta = mio.load_model(model, return_meta=True)
    grid = GridConfig(x_start, x_stop, x_step)
    grid._check("--x-start/--x-stop/--x-step")
    x = np.asarray(grid.values())
    if reference_file is not None:
        if reference_file.suffix == ".npy":
            from maxent._atomic import load_npy

            ref = load_npy(reference_file)
        else:
            if not reference_file.is_file():
                raise FileNotFoundError(f"no such file: {reference_file}")
            ref = np.loadtxt(reference_file).reshape(-1)
        ref = check_spin_vector(ref, n_spins=m.n_spins, name=f"reference in {reference_file.name}")
        ref_name = reference_file.name
    else:
        if samples is None:
            raise BadInput("--samples is needed to choose a reference (or give --reference-file)")
        X, _ = load_spins(samples, block or meta.get("block"))
        if X.shape[1] != m.n_spins:
            raise BadInput(
                f"the samples have {X.shape[1]} spins but the model has {m.n_spins}; "
                "choose the matching --block"
            )
        if reference in ("low", "medium", "high"):
            ref = choose_references(m, X)[reference]
        else:
            try:
                idx = int(reference)
            except ValueError:
                raise BadInput(
                    f"--reference must be low, medium, high or an integer row, got {reference!r}"
                ) from None
            if not -X.shape[0] <= idx < X.shape[0]:
                raise BadInput(f"--reference {idx} is out of range for {X.shape[0]} samples")
            ref = X[idx]
        ref_name = reference
    df = entropy_landscape(m, np.asarray(ref, dtype=np.float64), x=x, sweep=sweep, tol=tol)
    atomic_write_text(out, df.to_csv(index=False))
    n_bad = int((~df["converged"].astype(bool)).sum())
    click.echo(
        f"landscape of {model.name} around reference {ref_name}: {len(df)} rows -> {out}"
        + (f" ({n_bad} rows where BP did not converge)" if n_bad else "")
    )
    tr = find_transitions(df)
    jumps = tr[tr["kind"] == "jump"] if len(tr) else tr
    if len(jumps):
        for r in jumps.itertuples():
            unconverged = "" if bool(r.converged) else "UNCONVERGED "
            note = (
                ""
                if bool(r.converged)
                else " (BP did not converge at one or both points: not evidence of a transition)"
            )
            click.echo(
                f"  {unconverged}jump ({r.sweep} sweep) between x={r.x_from:g} and x={r.x_to:g}: "
                f"d {r.d_from:.4f} -> {r.d_to:.4f}{note}"
            )
    else:
        click.echo("  no jump in d: s(d) is continuous on this grid")
    if figure is not None:
        from maxent import plots
        from maxent.pipeline.report import _use_agg, save_figure

        _use_agg()
        plot_df = df.assign(reference=str(ref_name), block=str(meta.get("block", "model")), setting="model")
        save_figure(plots.plot_landscape(plot_df), figure, dpi=110)
        click.echo(f"  figure -> {figure}")

"""``maxent fit SAMPLES``: one inverse-Ising model per block of a samples file."""

from __future__ import annotations

from pathlib import Path

import click

from maxent.cli.errors import BadInput, script_errors
from maxent.cli.options import parse_params

__all__ = ["fit"]


@click.command()
@click.argument("samples", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Model file (one block; format from the suffix) or folder (several blocks: <block>.npz).",
)
@click.option(
    "--block",
    "-b",
    "blocks",
    multiple=True,
    help="Block(s) to fit: W1, W2, ..., full, or 'all' (W1..WL and full). Default: full.",
)
@click.option(
    "--estimator",
    "-e",
    default="pseudolikelihood",
    show_default=True,
    type=click.Choice(["exact", "mean_field", "pseudolikelihood", "pseudolikelihood_cv", "bethe", "mcmc"]),
    help="Inverse-Ising estimator.",
)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Estimator parameter (repeatable), e.g. -p alpha=0.01 -p penalty=l1.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["npz", "json", "csv", "txt"]),
    default=None,
    help="Model file format (default: from the suffix of --out, npz for folders).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="random_state of stochastic estimators.")
@click.option(
    "--quality",
    "quality_csv",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also check each fit on statistics it did not see; write the tidy table to this CSV.",
)
@script_errors
def fit(
    samples: Path,
    out: Path,
    blocks: tuple[str, ...],
    estimator: str,
    params: tuple[str, ...],
    fmt: str | None,
    seed: int,
    quality_csv: Path | None,
) -> None:
    """Fit a pairwise Ising model to ±1 SAMPLES (one model per block).

    SAMPLES: a weight-sample file from `maxent sample` / `maxent run` (OUT/samples/<setting>.npz),
    or any .npz/.npy holding an (M, N) array of ±1 (key 'spins' or 'X', or its only 2-D array).

    \b
    Examples:
      maxent fit results/samples/deep-under.npz --block all --out models/
      maxent fit my_spins.npz --out model.json -e pseudolikelihood -p alpha=0.005
    """
    import pandas as pd

    from maxent import formats as mio
    from maxent._atomic import atomic_write_text
    from maxent.fit.registry import check_estimator, make_estimator
    from maxent.formats import load_spins

    kw = parse_params(params)
    check_estimator(estimator, kw)  # bad parameters fail before any file is read or written
    X_all, smp = load_spins(samples)
    if smp is not None:
        names = list(smp.blocks) + (["full"] if len(smp.blocks) > 1 else [])
    else:
        names = ["full"]
    chosen = list(blocks) or ["full"]
    if "all" in chosen:
        chosen = names
    bad = [b for b in chosen if b not in names and not (b == "full")]
    if bad:
        raise BadInput(f"unknown block(s) {bad}; {samples.name} has {names}")
    several = len(chosen) > 1
    if several and out.suffix in mio.FORMATS.values():
        raise BadInput(f"--out {out} looks like a file but {len(chosen)} blocks are fitted; give a folder")
    quality_frames = []
    for b in chosen:
        X = X_all if smp is None else smp.block(b)
        est = make_estimator(estimator, kw, random_state=seed)
        est.fit(X)
        if several or (out.suffix not in mio.FORMATS.values() and fmt is None and not out.suffix):
            target = out / f"{b}{mio.FORMATS[fmt or 'npz']}"
        else:
            target = out
        meta = {
            "block": b,
            "estimator": estimator,
            "params": kw,
            "samples_file": str(samples),
            "n_samples": int(X.shape[0]),
        }
        mio.export(est.model_, target, format=fmt, meta=meta)
        conv = "converged" if getattr(est, "converged_", True) else "NOT converged"
        click.echo(
            f"{b}: {X.shape[1]} spins, {X.shape[0]} samples, {estimator} {conv} "
            f"({getattr(est, 'n_iter_', 0)} iterations) -> {target}"
        )
        if quality_csv is not None:
            from maxent.fit.quality import fit_quality

            q = fit_quality(est.model_, X, random_state=seed)
            q.insert(0, "block", b)
            quality_frames.append(q)
    if quality_csv is not None:
        atomic_write_text(quality_csv, pd.concat(quality_frames, ignore_index=True).to_csv(index=False))
        click.echo(f"fit quality -> {quality_csv}")

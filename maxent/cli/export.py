"""``maxent export MODEL DEST``: convert a model file between formats."""

from __future__ import annotations

from pathlib import Path

import click

from maxent.cli.errors import BadInput, script_errors

__all__ = ["export"]


@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["npz", "json", "csv", "txt"]),
    default=None,
    help="Format of DEST (default: from its suffix).",
)
@click.option("--force", is_flag=True, help="Replace DEST if it exists (default: refuse).")
@script_errors
def export(model: Path, dest: Path, fmt: str | None, force: bool) -> None:
    """Convert a model file MODEL to DEST in another format (npz, json, csv edge list, txt matrices).

    Metadata (convention, provenance) is carried over. Formats are described in `maxent.formats`.

    \b
    Example:
      maxent export results/models/deep-under/W2.npz W2.csv
    """
    from maxent import formats as mio

    _check_destination(dest, fmt, force)
    m, meta = mio.load_model(model, return_meta=True)
    meta = {k: v for k, v in meta.items() if k != "convention"}
    mio.export(m, dest, format=fmt, meta={**meta, "converted_from": model.name})
    click.echo(f"{model} -> {dest} ({mio.infer_format(dest, fmt)}, {m.n_spins} spins)")


def _check_destination(dest: Path, fmt: str | None, force: bool) -> None:
    """Refuse a DEST that exists (unless ``force``), is a symlink or folder, or whose suffix
    names another format than ``--format``."""
    from maxent import formats as mio

    suffix_fmt = next((f for f, suf in mio.FORMATS.items() if dest.suffix.lower() == suf), None)
    if fmt is not None and suffix_fmt is not None and suffix_fmt != fmt:
        raise BadInput(f"--format {fmt} does not match the suffix of {dest} (a {suffix_fmt} file name)")
    if dest.is_symlink():
        raise BadInput(f"{dest} is a symbolic link; give the real path (a link is never replaced)")
    if dest.is_dir():
        raise BadInput(f"{dest} is a folder, not a file name")
    if dest.exists() and not force:
        raise BadInput(f"{dest} exists; pass --force to replace it")

"""Parsing shared by commands: KEY=VALUE parameters, layer widths, writable output files."""

from __future__ import annotations

import contextlib
from typing import Any

from maxent.cli.errors import BadInput, one_line

__all__ = ["parse_params", "parse_widths", "check_output_file"]


def parse_params(items: tuple[str, ...]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--param expects KEY=VALUE, got {item!r}")
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise BadInput(f"--param {item!r}: cannot parse the value ({one_line(exc)})") from None
        if isinstance(parsed, str):  # YAML 1.1 reads 1e3 as a string: it is the number 1000
            with contextlib.suppress(ValueError):
                parsed = float(parsed)
        out[key.strip()] = parsed
    return out


def parse_widths(text: str) -> tuple[int, ...]:
    try:
        widths = tuple(int(w) for w in text.replace(" ", "").split(",") if w)
    except ValueError:
        raise BadInput(f"--widths must be comma-separated integers like 20,15,15,10, got {text!r}") from None
    if len(widths) < 2 or min(widths) < 1:
        raise BadInput(f"--widths needs at least two positive layer sizes, got {text!r}")
    return widths


def check_output_file(out: str) -> None:
    """Refuse, before any training, an --out that cannot be written: a folder, a symlink, or a
    place (its nearest existing parent folder) where this process cannot create files."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(out)
    if path.is_dir():
        raise BadInput(f"--out {out} is a folder; give a file name such as {path / 'samples.npz'}")
    parent = path.parent if str(path.parent) else Path(".")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise BadInput(f"--out {out}: {probe} is a file, not a folder")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise BadInput(f"--out {out}: cannot write in {probe} ({exc.strerror or exc})") from None
    if path.exists() and not os.access(path, os.W_OK):
        raise BadInput(f"--out {out} exists and is not writable")

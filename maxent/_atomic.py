"""Atomic file writes and pickle-free loading.

Outputs are written to a temporary file in the destination folder, flushed and fsynced, then
renamed over the target (``os.replace`` is atomic on POSIX). An interrupted or failed write
never leaves a half file under the final name, and never destroys an existing good file.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["atomic_open", "atomic_write_text", "atomic_savez", "load_npz", "CorruptFileError"]


class CorruptFileError(ValueError):
    """A file exists but is truncated, corrupt or not in the expected format."""


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on success rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w") as fh:
        fh.write(text)


def atomic_savez(
    path: str | os.PathLike, arrays: Mapping[str, np.ndarray], meta: Mapping | None = None
) -> None:
    """Save arrays (and optional JSON metadata under key ``__meta__``) to a compressed .npz atomically.

    The metadata is stored as a 0-d unicode array holding JSON, so loading needs no pickle.
    """
    payload = {k: np.asarray(v) for k, v in arrays.items()}
    for k, v in payload.items():
        if v.dtype == object:
            raise TypeError(f"array {k!r} has dtype object, which would need pickle")
    if meta is not None:
        payload["__meta__"] = np.array(json.dumps(meta, sort_keys=True, default=_json_default))
    with atomic_open(path, "wb") as fh:
        np.savez_compressed(fh, **payload)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in JSON metadata")


def load_npz(path: str | os.PathLike, required: tuple[str, ...] = ()) -> tuple[dict[str, np.ndarray], dict]:
    """Load an .npz without pickle; return (arrays, meta).

    Raises FileNotFoundError if absent and CorruptFileError (naming the file) if it is
    truncated, not a zip/npz, holds pickled objects, or lacks one of ``required`` arrays.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError) as exc:
        raise CorruptFileError(f"{path} is truncated or not a valid .npz file ({exc})") from exc
    missing = [k for k in required if k not in arrays]
    if missing:
        raise CorruptFileError(f"{path} lacks required arrays {missing} (has {sorted(arrays)})")
    meta: dict = {}
    if "__meta__" in arrays:
        try:
            meta = json.loads(str(arrays.pop("__meta__")))
        except json.JSONDecodeError as exc:
            raise CorruptFileError(f"{path} has corrupt JSON metadata ({exc})") from exc
    return arrays, meta

"""Atomic file writes and pickle-free loading.

Outputs are written to a temporary file in the destination folder, flushed and fsynced, then
renamed over the target (``os.replace`` is atomic on POSIX). An interrupted or failed write
never leaves a half file under the final name, and never destroys an existing good file.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = [
    "atomic_open",
    "atomic_write_text",
    "atomic_savez",
    "load_npz",
    "load_npy",
    "check_npz_size",
    "max_load_bytes",
    "CorruptFileError",
    "FileTooLargeError",
]

#: default cap on the memory an input file may unpack to (bytes): 768 MiB holds the largest
#: files a run writes (10^6 weight samples of a 675-weight network as int8: 0.7 GB; a model of
#: N = 2000 spins: 32 MB). Override with the environment variable MAXENT_MAX_LOAD_BYTES
#: (e.g. ``MAXENT_MAX_LOAD_BYTES=8e9``).
DEFAULT_MAX_LOAD_BYTES = 768 * 1024**2


class CorruptFileError(ValueError):
    """A file exists but is truncated, corrupt or not in the expected format."""


class FileTooLargeError(CorruptFileError):
    """A file declares arrays larger than the load limit (:func:`max_load_bytes`)."""


def max_load_bytes() -> int:
    """The load limit in bytes: ``$MAXENT_MAX_LOAD_BYTES`` if set, else :data:`DEFAULT_MAX_LOAD_BYTES`."""
    raw = os.environ.get("MAXENT_MAX_LOAD_BYTES", "").strip()
    if not raw:
        return DEFAULT_MAX_LOAD_BYTES
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"MAXENT_MAX_LOAD_BYTES must be a number of bytes, got {raw!r}") from None
    if not value > 0 or value != value:
        raise ValueError(f"MAXENT_MAX_LOAD_BYTES must be > 0, got {raw!r}")
    return int(value)


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process umask (read once, without changing it for longer than a moment)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _npy_header(fh: IO[bytes], where: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype declared by the header of the .npy stream ``fh`` (nothing else is read)."""
    from numpy.lib import format as npf

    try:
        version = npf.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = npf.read_array_header_1_0(fh)
        else:
            shape, _, dtype = npf.read_array_header_2_0(fh)
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise CorruptFileError(f"{where} has a corrupt .npy header ({exc})") from exc
    return tuple(int(n) for n in shape), np.dtype(dtype)


def _declared_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    n = 1
    for d in shape:
        n *= max(int(d), 0)
    return n * max(dtype.itemsize, 1)


def _refuse_large(path: Path, total: int, limit: int, detail: str) -> None:
    if total > limit:
        raise FileTooLargeError(
            f"{path} declares {total / 1e6:.1f} MB of arrays ({detail}), more than the load limit of "
            f"{limit / 1e6:.1f} MB; raise it with the environment variable MAXENT_MAX_LOAD_BYTES if "
            "the file is trusted"
        )


def check_npz_size(
    path: str | os.PathLike, limit: int | None = None
) -> dict[str, tuple[tuple[int, ...], str]]:
    """Read only the .npy headers inside an .npz; refuse it if they declare more than ``limit``
    bytes in all (default :func:`max_load_bytes`). Returns {name: (shape, dtype str)}.

    A small compressed file can unpack to gigabytes (a zip bomb, or a hostile header); this
    check costs a few hundred bytes of reading per array.
    """
    path = Path(path)
    limit = max_load_bytes() if limit is None else int(limit)
    declared: dict[str, tuple[tuple[int, ...], str]] = {}
    total = 0
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                name = info.filename
                if not name.endswith(".npy"):
                    continue
                with zf.open(info) as fh:
                    shape, dtype = _npy_header(fh, f"{path}[{name}]")
                if dtype.hasobject:
                    raise CorruptFileError(f"{path}: array {name[:-4]!r} holds Python objects (needs pickle)")
                declared[name[:-4]] = (shape, dtype.str)
                total += _declared_bytes(shape, dtype)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise CorruptFileError(f"{path} is truncated or not a valid .npz file ({exc})") from exc
    biggest = max(
        declared.items(), key=lambda kv: _declared_bytes(kv[1][0], np.dtype(kv[1][1])), default=None
    )
    detail = f"largest {biggest[0]!r} of shape {biggest[1][0]}" if biggest else "no arrays"
    _refuse_large(path, total, limit, detail)
    return declared


def load_npy(path: str | os.PathLike, limit: int | None = None) -> np.ndarray:
    """Load an .npy file without pickle after checking its declared size against the limit."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    limit = max_load_bytes() if limit is None else int(limit)
    try:
        with open(path, "rb") as fh:
            shape, dtype = _npy_header(fh, str(path))
    except OSError as exc:
        raise CorruptFileError(f"{path} cannot be read ({exc})") from exc
    _refuse_large(path, _declared_bytes(shape, dtype), limit, f"shape {shape}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise CorruptFileError(f"{path} is truncated or not a valid .npy file ({exc})") from exc


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on success rename it onto ``path``.

    On any exception the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp creates 0600; a finished output gets the usual 0666 & ~umask
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o666 & ~_umask())
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
    truncated, not a zip/npz, holds pickled objects, or lacks one of ``required`` arrays;
    FileTooLargeError (a CorruptFileError) if its arrays' headers declare more than
    :func:`max_load_bytes` in all (checked before anything is decompressed).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise CorruptFileError(f"{path} is a folder, not an .npz file")
    check_npz_size(path)
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
        except (json.JSONDecodeError, RecursionError) as exc:
            raise CorruptFileError(f"{path} has corrupt JSON metadata ({type(exc).__name__})") from exc
        if not isinstance(meta, dict):
            raise CorruptFileError(
                f"{path}: its metadata (__meta__) must be a JSON object, got {type(meta).__name__}"
            )
    return arrays, meta

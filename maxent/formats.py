"""Export and import of fitted pairwise models (h, J) in four file formats.

Every format stores the model in maxent's convention (see :mod:`maxent.model.ising`)::

    P(s) = exp( sum_{i<j} J_ij s_i s_j + sum_i h_i s_i ) / Z,   s_i = ±1, J symmetric, J_ii = 0

and records that convention in the file where the format has room for it, together with
free-form provenance metadata (a JSON-serializable dict: estimator, block, sample set, ...).
Spins are numbered 0..N-1.

Formats
-------
``"npz"`` (``.npz``)
    Compressed NumPy archive with float64 arrays ``h`` (N,) and ``J`` (N, N) and the metadata
    as JSON in a 0-d string array ``__meta__``. Readable with
    ``np.load(path, allow_pickle=False)``; identical to :meth:`maxent.IsingModel.save`.
``"json"`` (``.json``)
    One object: ``{"format": "maxent.IsingModel", "format_version": 1, "convention": ...,
    "n_spins": N, "h": [N floats], "J": [[N floats] x N], "meta": {...}}``. Floats are
    written with Python's shortest round-trip repr, so the round trip is exact.
``"csv"`` (``.csv``)
    A tidy edge list with columns ``kind,i,j,value``: one row ``h,i,i,h_i`` per spin (all N
    of them, so N is known from the file) followed by one row ``J,i,j,J_ij`` per non-zero
    coupling with ``i < j``. Couplings not listed are zero. Rows with ``kind == "h"`` (also
    marked by ``i == j``) hold fields. A few leading lines starting with ``#`` carry the
    format tag (with ``n_spins`` and ``n_couplings``), the convention and the metadata
    (``# meta: {json}``); read the table with ``pandas.read_csv(path, comment="#")``.
``"txt"`` (``.txt``)
    Plain-text matrices: ``#`` header lines (format tag, convention, metadata), then N+1 rows
    of N numbers separated by spaces: row 0 is h, rows 1..N are J. So
    ``A = np.loadtxt(path); h, J = A[0], A[1:]``. Numbers use the shortest round-trip repr.

Both text formats end with the line ``# end: maxent.IsingModel``. A file that carries the
maxent header but not this last line was cut short and is refused (a cut inside a number would
otherwise still parse). Hand-written files without the maxent header need no end line.

All writes are atomic (temporary file + rename): an interrupted export never leaves a half
file. Loaders never unpickle, and raise :class:`maxent._atomic.CorruptFileError` (a
``ValueError``) naming the file and the problem when it is truncated, corrupt, of the wrong
shape or not a valid model (J not symmetric, non-finite values, ...).
"""

from __future__ import annotations

import io as _io
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from maxent._atomic import (
    CorruptFileError,
    FileTooLargeError,
    _json_default,
    atomic_savez,
    atomic_write_text,
    load_npy,
    load_npz,
    max_load_bytes,
)
from maxent.model.ising import CONVENTION, IsingModel

__all__ = ["FORMATS", "export", "load_model", "load_spins", "infer_format", "describe", "CorruptFileError"]

#: supported formats and their file suffixes
FORMATS: dict[str, str] = {"npz": ".npz", "json": ".json", "csv": ".csv", "txt": ".txt"}
FORMAT_TAG = "maxent.IsingModel"
FORMAT_VERSION = 1
END_LINE = f"# end: {FORMAT_TAG}"


def infer_format(path: str | os.PathLike, format: str | None = None) -> str:
    """Return the file format: ``format`` if given (validated), else from the suffix of ``path``."""
    if format is not None:
        fmt = str(format).lower()
        if fmt not in FORMATS:
            raise ValueError(f"unknown model file format {format!r}; choose one of {sorted(FORMATS)}")
        return fmt
    suffix = Path(path).suffix.lower()
    for fmt, suf in FORMATS.items():
        if suffix == suf:
            return fmt
    raise ValueError(
        f"cannot infer the model file format from the suffix {suffix!r} of {str(path)!r}; "
        f"use one of {sorted(FORMATS.values())} or pass format= one of {sorted(FORMATS)}"
    )


def _float_repr(x: float) -> str:
    """Shortest string that round-trips a finite float exactly (Python's repr)."""
    return repr(float(x))


def _meta_json(meta: dict) -> str:
    text = json.dumps(meta, sort_keys=True, default=_json_default)
    if "\n" in text:  # json.dumps without indent never emits raw newlines; keep the guard explicit
        raise ValueError("metadata must serialize to a single line")
    return text


def _header_lines(kind: str, n: int, meta: dict, extra: str = "") -> list[str]:
    return [
        f"# {FORMAT_TAG} {kind} format_version={FORMAT_VERSION} n_spins={n}{extra}",
        f"# convention: {CONVENTION}",
        f"# meta: {_meta_json(meta)}",
    ]


def export(
    model: IsingModel,
    path: str | os.PathLike,
    format: str | None = None,
    *,
    meta: dict | None = None,
) -> Path:
    """Write ``model`` to ``path`` in one of the formats of :data:`FORMATS`, atomically.

    Parameters
    ----------
    model : IsingModel
        The fitted model (h (N,), J (N, N)).
    path : str or PathLike
        Destination file; parent folders are created.
    format : {"npz", "json", "csv", "txt"}, optional
        File format; inferred from the suffix of ``path`` when omitted.
    meta : dict, optional
        JSON-serializable provenance stored with the model (all formats). The convention
        string is always added under ``"convention"``.

    Returns
    -------
    Path
        The written path.
    """
    if not isinstance(model, IsingModel):
        raise TypeError(f"model must be an IsingModel, got {type(model).__name__}")
    fmt = infer_format(path, format)
    path = Path(path)
    meta = {"convention": CONVENTION, **(meta or {})}
    h, J = model.h, model.J
    n = h.shape[0]
    if fmt == "npz":
        atomic_savez(path, {"h": h, "J": J}, meta=meta)
    elif fmt == "json":
        doc = {
            "format": FORMAT_TAG,
            "format_version": FORMAT_VERSION,
            "convention": CONVENTION,
            "n_spins": n,
            "h": h.tolist(),
            "J": J.tolist(),
            "meta": meta,
        }
        atomic_write_text(path, json.dumps(doc, default=_json_default, allow_nan=False) + "\n")
    elif fmt == "csv":
        iu, ju = np.triu_indices(n, 1)
        vals = J[iu, ju]
        nz = vals != 0.0
        lines = _header_lines("csv", n, meta, f" n_couplings={int(nz.sum())}")
        lines.append("kind,i,j,value")
        lines.extend(f"h,{i},{i},{_float_repr(v)}" for i, v in enumerate(h.tolist()))
        lines.extend(
            f"J,{i},{j},{_float_repr(v)}"
            for i, j, v in zip(iu[nz].tolist(), ju[nz].tolist(), vals[nz].tolist(), strict=True)
        )
        lines.append(END_LINE)
        atomic_write_text(path, "\n".join(lines) + "\n")
    else:  # txt
        lines = _header_lines("txt", n, meta)
        lines.append("# row 0: h (N values); rows 1..N: J (N x N), symmetric, zero diagonal")
        lines.append(" ".join(map(_float_repr, h.tolist())))
        lines.extend(" ".join(map(_float_repr, row)) for row in J.tolist())
        lines.append(END_LINE)
        atomic_write_text(path, "\n".join(lines) + "\n")
    return path


# ---------------------------------------------------------------------------------- loading
def load_model(
    path: str | os.PathLike,
    format: str | None = None,
    *,
    return_meta: bool = False,
) -> IsingModel | tuple[IsingModel, dict]:
    """Read a model written by :func:`export` (or by :meth:`IsingModel.save`).

    Parameters
    ----------
    path : str or PathLike
        The model file.
    format : {"npz", "json", "csv", "txt"}, optional
        File format; inferred from the suffix when omitted.
    return_meta : bool
        Also return the stored metadata dict (with ``"convention"`` where the file has it).

    Returns
    -------
    model : IsingModel
    meta : dict
        Only when ``return_meta`` is true.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    CorruptFileError
        Truncated or corrupt file, pickled content, missing arrays, wrong shapes, or values
        that do not form a valid model; the message names the file and the problem.
    """
    fmt = infer_format(path, format)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if fmt == "npz":
        arrays, meta = load_npz(path, required=("h", "J"))
        h, J = arrays["h"], arrays["J"]
        for name, arr in (("h", h), ("J", J)):
            if arr.dtype.kind not in "iuf":
                raise CorruptFileError(f"{path}: array {name!r} has non-numeric dtype {arr.dtype}")
    else:
        text = _read_text(path)
        if fmt == "json":
            h, J, meta = _parse_json(path, text)
        elif fmt == "csv":
            h, J, meta = _parse_csv(path, text)
        else:
            h, J, meta = _parse_txt(path, text)
    try:
        model = IsingModel(h, J)
    except (ValueError, TypeError) as exc:
        raise CorruptFileError(f"{path} does not hold a valid Ising model: {exc}") from exc
    return (model, meta) if return_meta else model


def _read_text(path: Path) -> str:
    limit = max_load_bytes()
    size = path.stat().st_size
    if size > limit:
        raise FileTooLargeError(
            f"{path} is {size / 1e6:.1f} MB, more than the load limit of {limit / 1e6:.1f} MB; raise it "
            "with the environment variable MAXENT_MAX_LOAD_BYTES if the file is trusted"
        )
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"{path} is not a UTF-8 text file ({exc})") from exc


def _parse_header(path: Path, text: str, kind: str) -> tuple[dict[str, int], dict, list[str]]:
    """Split '#' header lines from data lines; return (declared sizes, meta, data lines).

    Declared sizes are the ``key=int`` tokens of the format line (``n_spins``, ``n_couplings``).
    A file with the maxent format line must end with :data:`END_LINE` (else it was truncated).
    """
    declared: dict[str, int] = {}
    tagged = False
    meta: dict = {}
    data: list[str] = []
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for s in lines:
        if s.startswith("#"):
            body = s[1:].strip()
            if body.startswith(FORMAT_TAG):
                tagged = True
                for tok in body.split()[1:]:
                    if "=" in tok:
                        key, _, val = tok.partition("=")
                        try:
                            declared[key] = int(val)
                        except ValueError as exc:
                            raise CorruptFileError(f"{path}: bad {key} in header {s!r}") from exc
            elif body.startswith("meta:"):
                try:
                    meta = json.loads(body[len("meta:") :])
                except json.JSONDecodeError as exc:
                    raise CorruptFileError(f"{path} has corrupt JSON metadata in its header ({exc})") from exc
                if not isinstance(meta, dict):
                    raise CorruptFileError(f"{path}: header metadata must be a JSON object")
            continue
        data.append(s)
    if tagged and (not lines or lines[-1] != END_LINE):
        raise CorruptFileError(f"{path} is truncated: it lacks the closing line {END_LINE!r}")
    if not data:
        raise CorruptFileError(f"{path} holds no {kind} data (empty or truncated file)")
    return declared, meta, data


def _parse_json(path: Path, text: str) -> tuple[np.ndarray, np.ndarray, dict]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(f"{path} is truncated or not valid JSON ({exc})") from exc
    except RecursionError:
        raise CorruptFileError(f"{path} is not a maxent model file: its JSON is nested too deeply") from None
    if not isinstance(doc, dict) or "h" not in doc or "J" not in doc:
        raise CorruptFileError(
            f"{path} is not a maxent model file: expected a JSON object with keys 'h' and 'J'"
        )
    try:
        h = np.array(doc["h"], dtype=np.float64)
        J = np.array(doc["J"], dtype=np.float64)
    except (ValueError, TypeError, RecursionError) as exc:
        raise CorruptFileError(f"{path}: 'h' and 'J' must be numeric arrays ({exc})") from exc
    if h.ndim != 1:
        raise CorruptFileError(f"{path}: 'h' must be a list of N numbers, got shape {h.shape}")
    n = h.shape[0]
    if J.shape != (n, n):
        raise CorruptFileError(
            f"{path}: 'J' must be an N x N matrix with N = len(h) = {n}, got shape {J.shape}"
        )
    if "n_spins" in doc and doc["n_spins"] != n:
        raise CorruptFileError(f"{path}: n_spins = {doc['n_spins']!r} but h has {n} entries")
    meta = doc.get("meta") or {}
    if not isinstance(meta, dict):
        raise CorruptFileError(f"{path}: 'meta' must be a JSON object")
    meta = dict(meta)
    if "convention" in doc:
        meta.setdefault("convention", doc["convention"])
    return h, J, meta


def _parse_csv(path: Path, text: str) -> tuple[np.ndarray, np.ndarray, dict]:
    declared, meta, data = _parse_header(path, text, "csv")
    n_decl = declared.get("n_spins")
    header = [c.strip() for c in data[0].split(",")]
    if header != ["kind", "i", "j", "value"]:
        raise CorruptFileError(f"{path}: expected the CSV header 'kind,i,j,value', got {data[0]!r}")
    kinds: list[str] = []
    rows: list[tuple[int, int, float]] = []
    for lineno, line in enumerate(data[1:], start=2):
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != 4:
            raise CorruptFileError(f"{path}: data row {lineno} has {len(parts)} fields, expected 4: {line!r}")
        try:
            i, j, v = int(parts[1]), int(parts[2]), float(parts[3])
        except ValueError as exc:
            raise CorruptFileError(
                f"{path}: data row {lineno} is not 'kind,int,int,float': {line!r}"
            ) from exc
        if parts[0] not in ("h", "J"):
            raise CorruptFileError(f"{path}: data row {lineno} has kind {parts[0]!r}; expected 'h' or 'J'")
        if not math.isfinite(v):
            raise CorruptFileError(f"{path}: data row {lineno} holds a non-finite value: {line!r}")
        kinds.append(parts[0])
        rows.append((i, j, v))
    is_h = np.array([k == "h" for k in kinds], dtype=bool)
    arr = np.array(rows, dtype=np.float64).reshape(-1, 3)
    hi = arr[is_h, 0].astype(np.int64)
    if np.any(arr[is_h, 0] != arr[is_h, 1]):
        raise CorruptFileError(f"{path}: field rows (kind 'h') must have i == j")
    n = hi.size
    if n == 0:
        raise CorruptFileError(f"{path} lists no fields (kind 'h' rows): truncated or not a maxent model")
    if n_decl is not None and n != n_decl:
        raise CorruptFileError(
            f"{path}: header declares n_spins={n_decl} but {n} field rows are present (truncated?)"
        )
    if not np.array_equal(np.sort(hi), np.arange(n)):
        raise CorruptFileError(f"{path}: field rows must list every spin 0..{n - 1} exactly once")
    h = np.empty(n)
    h[hi] = arr[is_h, 2]
    n_coup = int((~is_h).sum())
    if "n_couplings" in declared and declared["n_couplings"] != n_coup:
        raise CorruptFileError(
            f"{path}: header declares n_couplings={declared['n_couplings']} "
            f"but {n_coup} coupling rows are present"
        )
    J = np.zeros((n, n))
    ji = arr[~is_h, 0].astype(np.int64)
    jj = arr[~is_h, 1].astype(np.int64)
    if ji.size:
        if ji.min() < 0 or jj.min() < 0 or ji.max() >= n or jj.max() >= n:
            raise CorruptFileError(f"{path}: coupling indices must lie in 0..{n - 1}")
        if np.any(ji == jj):
            raise CorruptFileError(f"{path}: coupling rows (kind 'J') must have i != j")
        lo, hi_ = np.minimum(ji, jj), np.maximum(ji, jj)
        pair = lo * n + hi_
        if np.unique(pair).size != pair.size:
            raise CorruptFileError(f"{path}: a coupling pair is listed more than once")
        J[lo, hi_] = arr[~is_h, 2]
        J[hi_, lo] = arr[~is_h, 2]
    return h, J, meta


def _parse_txt(path: Path, text: str) -> tuple[np.ndarray, np.ndarray, dict]:
    declared, meta, data = _parse_header(path, text, "txt")
    n_decl = declared.get("n_spins")
    try:
        A = np.loadtxt(_io.StringIO("\n".join(data)), dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise CorruptFileError(f"{path}: rows must hold equally many numbers ({exc})") from exc
    n = A.shape[1]
    if A.shape != (n + 1, n):
        raise CorruptFileError(
            f"{path}: expected N+1 rows of N numbers (h, then J), got {A.shape[0]} rows of {n} (truncated?)"
        )
    if n_decl is not None and n != n_decl:
        raise CorruptFileError(f"{path}: header declares n_spins={n_decl} but rows hold {n} numbers")
    return A[0], A[1:], meta


def describe(path: str | os.PathLike) -> dict[str, Any]:
    """Summary of a model file: format, N, rms/max |J|, rms h, number of non-zero couplings, meta."""
    model, meta = load_model(path, return_meta=True)
    n = model.n_spins
    iu = np.triu_indices(n, 1)
    Jv = model.J[iu]
    return {
        "path": str(path),
        "format": infer_format(path),
        "n_spins": n,
        "rms_J": float(np.sqrt(np.mean(Jv**2))) if Jv.size else 0.0,
        "max_abs_J": float(np.max(np.abs(Jv), initial=0.0)),
        "nonzero_couplings": int(np.count_nonzero(Jv)),
        "rms_h": float(np.sqrt(np.mean(model.h**2))),
        "meta": meta,
    }


def load_spins(path: str | os.PathLike, block: str | None = None) -> tuple[np.ndarray, Any]:
    """±1 samples (M, N) int8 from a file, and the :class:`~maxent.WeightSamples` when it is one.

    Accepts a ``WeightSamples`` .npz (``block`` then selects "W1", "W2", ... or "full"), any
    .npz holding an array ``spins`` or ``X`` or exactly one 2-D array, or an .npy file. No pickle;
    entries must be exactly ±1 (the error names the offending values).

    Returns
    -------
    X : ndarray (M, N) int8
    samples : WeightSamples or None
    """
    from maxent._atomic import load_npz
    from maxent._validation import check_spins
    from maxent.data.samples import WeightSamples

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix == ".npy":
        X = load_npy(path)
    elif path.suffix == ".npz":
        arrays, _ = load_npz(path)
        if {"spins", "widths", "accuracy", "train_accuracy"} <= set(arrays):
            smp = WeightSamples.load(path)
            return (smp.spins if block is None else smp.block(block)), smp
        two_d = [k for k, v in arrays.items() if v.ndim == 2]
        key = next((k for k in ("spins", "X") if k in arrays), two_d[0] if len(two_d) == 1 else None)
        if key is None:
            raise CorruptFileError(
                f"{path} holds no array named 'spins' or 'X' and not exactly one 2-D array "
                f"(has {sorted(arrays)})"
            )
        X = arrays[key]
    else:
        raise ValueError(f"samples must be an .npz or .npy file, got {path.name}")
    if block not in (None, "full"):
        raise ValueError(
            f"block {block!r} needs a WeightSamples file (with layer widths); {path.name} is a plain array"
        )
    return check_spins(X, name=f"spins in {path.name}", dtype=np.int8, min_samples=2), None

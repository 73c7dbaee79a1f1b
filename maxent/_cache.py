"""Content-addressed on-disk cache of pipeline stage results (no pickle, crash safe).

An *entry* is a folder ``ROOT/<stage>/<key>/`` holding the result's files and a
``manifest.json`` with the SHA-256 of every file. The key is a hash of everything the result
depends on (config subsection, upstream keys, library version), so an entry is never stale:
a different input gives a different key.

Writes are atomic at the level of the entry: files go to a temporary sibling folder, are
fsynced, the manifest is written last, and the folder is renamed onto its final name. A run
killed at any point (even SIGKILL) leaves either no entry or a complete one; leftover temporary
folders are removed by :meth:`Cache.clean_partial`. Reading verifies every checksum; an entry
that fails (disk corruption, a hand-edited file, a truncated copy) is reported through the
logger, deleted and recomputed by the caller.

Items of an entry (a ``dict[str, object]``) are stored by type, none of them with pickle:
``pandas.DataFrame`` -> .npz of column arrays (strings as fixed-width unicode, dtypes recorded
in the manifest, so the round trip is exact); ``IsingModel`` -> .npz (h, J); ``WeightSamples`` ->
.npz; ``numpy.ndarray`` -> .npy
(``allow_pickle=False``); anything else JSON-serializable -> .json.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from maxent._atomic import _json_default, atomic_write_text
from maxent.ising import IsingModel
from maxent.samples import WeightSamples

__all__ = ["Cache", "OutputManifest", "sha256_file"]

_MANIFEST = "manifest.json"


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_write(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _encode_item(name: str, obj: Any) -> tuple[str, str, bytes, dict]:
    """(file name, kind, bytes, extra manifest info) of one item."""
    if isinstance(obj, pd.DataFrame):
        # one array per column (strings as fixed-width unicode): exact, fast, and no pickle
        cols = [str(c) for c in obj.columns]
        if len(set(cols)) != len(cols):
            raise ValueError(f"cache item {name!r} has duplicate column names {cols}")
        arrays, dtypes = {}, {}
        for k, c in enumerate(obj.columns):
            series = obj[c]
            dtypes[cols[k]] = str(series.dtype)
            if series.dtype.kind in "biuf":
                arrays[f"c{k}"] = series.to_numpy()
            else:
                arrays[f"c{k}"] = np.array(["" if v is None else str(v) for v in series.tolist()], dtype=str)
                if series.isna().any():
                    arrays[f"na{k}"] = series.isna().to_numpy()
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return (
            f"{name}.frame.npz",
            "dataframe",
            buf.getvalue(),
            {"dtypes": dtypes, "columns": cols, "n_rows": len(obj)},
        )
    if isinstance(obj, IsingModel):
        buf = io.BytesIO()
        np.savez_compressed(buf, h=obj.h, J=obj.J)
        return f"{name}.model.npz", "model", buf.getvalue(), {}
    if isinstance(obj, WeightSamples):
        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            spins=obj.spins.astype(np.int8),
            widths=np.asarray(obj.widths, dtype=np.int64),
            accuracy=obj.accuracy,
            train_accuracy=obj.train_accuracy,
            run=obj.run,
            __meta__=np.array(json.dumps(obj.meta, sort_keys=True, default=_json_default)),
        )
        return f"{name}.samples.npz", "samples", buf.getvalue(), {}
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError(f"cache item {name!r} is an object array (would need pickle)")
        buf = io.BytesIO()
        np.save(buf, obj, allow_pickle=False)
        return f"{name}.npy", "array", buf.getvalue(), {}
    text = json.dumps(obj, sort_keys=True, default=_json_default, allow_nan=True)
    return f"{name}.json", "json", text.encode(), {}


def _decode_item(path: Path, kind: str, info: dict) -> Any:
    if kind == "dataframe":
        cols = info["columns"]
        dtypes = info["dtypes"]
        data = {}
        with np.load(path, allow_pickle=False) as d:
            for k, c in enumerate(cols):
                arr = d[f"c{k}"]
                if arr.dtype.kind in "biuf":
                    data[c] = pd.Series(arr, dtype=dtypes[c])
                else:
                    ser = pd.Series(arr.astype(object), dtype=object)
                    if f"na{k}" in d.files:
                        ser[d[f"na{k}"]] = None
                    data[c] = ser.astype(dtypes[c]) if dtypes[c] != "object" else ser
        df = pd.DataFrame(data, columns=cols)
        if len(df) != info.get("n_rows", len(df)):
            raise ValueError(f"{path.name} has {len(df)} rows, the manifest says {info.get('n_rows')}")
        return df
    if kind == "model":
        with np.load(path, allow_pickle=False) as d:
            return IsingModel(d["h"], d["J"])
    if kind == "samples":
        with np.load(path, allow_pickle=False) as d:
            meta = json.loads(str(d["__meta__"]))
            return WeightSamples(
                d["spins"], tuple(d["widths"].tolist()), d["accuracy"], d["train_accuracy"], d["run"], meta
            )
    if kind == "array":
        return np.load(path, allow_pickle=False)
    if kind == "json":
        return json.loads(path.read_text(encoding="utf-8"))
    raise ValueError(f"unknown item kind {kind!r}")


class Cache:
    """Content-addressed store of stage results under ``root``.

    Parameters
    ----------
    root : path
        Cache folder (created on first store).
    logger : logging.Logger, optional
        Where corrupted entries are reported (warning level).
    """

    def __init__(self, root: str | os.PathLike, logger: logging.Logger | None = None) -> None:
        self.root = Path(root)
        self.log = logger or logging.getLogger("maxent.cache")
        self.n_corrupt = 0

    def entry_dir(self, stage: str, key: str) -> Path:
        return self.root / stage / key

    def clean_partial(self) -> int:
        """Remove temporary folders left by interrupted stores; return how many."""
        n = 0
        if not self.root.exists():
            return 0
        for tmp in self.root.glob("*/.tmp-*"):
            shutil.rmtree(tmp, ignore_errors=True)
            n += 1
        return n

    def contains(self, stage: str, key: str) -> bool:
        return (self.entry_dir(stage, key) / _MANIFEST).exists()

    def info(self, stage: str, key: str) -> dict:
        """The manifest's ``info`` dict of an entry ({} if absent or unreadable)."""
        try:
            return json.loads((self.entry_dir(stage, key) / _MANIFEST).read_text())["info"]
        except (OSError, ValueError, KeyError):
            return {}

    def load(self, stage: str, key: str) -> dict[str, Any] | None:
        """The stored items of an entry, or None if absent or corrupted (then it is deleted)."""
        d = self.entry_dir(stage, key)
        if not d.exists():
            return None
        try:
            manifest = json.loads((d / _MANIFEST).read_text(encoding="utf-8"))
            if manifest.get("key") != key or manifest.get("stage") != stage:
                raise ValueError("manifest names another entry")
            items: dict[str, Any] = {}
            for name, rec in manifest["items"].items():
                path = d / rec["file"]
                if sha256_file(path) != rec["sha256"]:
                    raise ValueError(f"checksum mismatch in {rec['file']}")
                items[name] = _decode_item(path, rec["kind"], rec)
            return items
        except Exception as exc:  # noqa: BLE001 - any failure means: recompute
            self.n_corrupt += 1
            self.log.warning("corrupted cache entry %s/%s (%s): deleting it and recomputing", stage, key, exc)
            shutil.rmtree(d, ignore_errors=True)
            return None

    def store(self, stage: str, key: str, items: dict[str, Any], info: dict | None = None) -> None:
        """Write an entry atomically (temporary folder, fsync, manifest last, rename)."""
        final = self.entry_dir(stage, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            records = {}
            for name, obj in items.items():
                fname, kind, data, extra = _encode_item(name, obj)
                _fsync_write(tmp / fname, data)
                records[name] = {
                    "file": fname,
                    "kind": kind,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    **extra,
                }
            manifest = {
                "stage": stage,
                "key": key,
                "items": records,
                "info": info or {},
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
            _fsync_write(tmp / _MANIFEST, json.dumps(manifest, indent=1, default=_json_default).encode())
            with contextlib.suppress(OSError):
                fd = os.open(tmp, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
            if final.exists():  # written meanwhile by someone else, or a stale corrupt entry
                shutil.rmtree(final, ignore_errors=True)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


class OutputManifest:
    """Which final output files were produced from which inputs (``OUT/.maxent/outputs.json``).

    ``up_to_date(rel, key)`` is true when the file exists, was written for ``key`` and still has
    the recorded checksum; writers call ``record(rel, key)`` after writing and ``save()`` at the
    end of a stage.
    """

    def __init__(self, out: Path, path: Path) -> None:
        self.out = out
        self.path = path
        try:
            self.entries: dict[str, dict] = json.loads(path.read_text())
            if not isinstance(self.entries, dict):
                self.entries = {}
        except (OSError, ValueError):
            self.entries = {}

    def up_to_date(self, rel: str, key: str) -> bool:
        rec = self.entries.get(rel)
        p = self.out / rel
        return bool(rec) and rec.get("key") == key and p.exists() and sha256_file(p) == rec.get("sha256")

    def record(self, rel: str, key: str) -> None:
        self.entries[rel] = {"key": key, "sha256": sha256_file(self.out / rel)}

    def save(self) -> None:
        atomic_write_text(self.path, json.dumps(self.entries, indent=1, sort_keys=True))

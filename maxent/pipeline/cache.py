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

Sharing. One cache may serve several runs at once (different output folders). A writer holds
the entry's lock (``ROOT/.locks/<stage>-<key>.lock``, :mod:`filelock`: cross-platform, released
by the OS when its process dies) while it writes: of two writers of the same entry the first
stores it and the second finds it complete and keeps it. :meth:`Cache.clean_partial` removes a
temporary folder only when it can take that entry's lock (its writer is gone).

Ownership. The cache root holds a marker file (``.maxent-cache``). A folder that is not empty
and has no marker (and does not look like a cache written before markers existed) is refused
(:class:`CacheFolderError`): cleaning only ever touches folders the cache itself created
(``<stage>/.tmp-<key>-<8 hex>``) inside a marked root.

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
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from maxent._atomic import _json_default, atomic_write_text
from maxent.data.samples import WeightSamples
from maxent.model.ising import IsingModel

__all__ = ["Cache", "CacheFolderError", "OutputManifest", "sha256_file"]

_MANIFEST = "manifest.json"
#: marker file of a cache root: only a folder holding it (or an empty / new one) is used as a cache
MARKER = ".maxent-cache"
_LOCKS = ".locks"
#: seconds a writer waits for another writer of the same entry before giving up
LOCK_TIMEOUT = 600.0
_TMP_RE = re.compile(r"^\.tmp-(?P<key>[0-9a-f]+)-[0-9a-f]{8}$")
_STAGE_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


class CacheFolderError(ValueError):
    """The cache folder is not a maxent cache (a non-empty folder without the marker file)."""


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

    # ------------------------------------------------------------------ ownership and locks
    def _looks_like_old_cache(self) -> bool:
        """A cache written before markers existed: only stage folders holding entries (folders
        with a manifest.json), temporary folders of the cache's own pattern, and checkpoints."""
        for child in self.root.iterdir():
            if not child.is_dir() or not _STAGE_RE.match(child.name):
                return False
            if child.name == "checkpoints":
                continue
            for entry in child.iterdir():
                if _TMP_RE.match(entry.name):
                    continue
                if not (entry.is_dir() and (entry / _MANIFEST).is_file()):
                    return False
        return True

    def check_root(self) -> None:
        """Refuse a root that is not a cache; writes nothing.

        Raises
        ------
        CacheFolderError
            ``root`` is a file, or a non-empty folder without the marker file that does not look
            like a maxent cache.
        """
        root = self.root
        if not root.exists():
            return
        if not root.is_dir():
            raise CacheFolderError(f"cache folder {root} exists and is not a folder")
        if (root / MARKER).is_file():
            return
        # the cache's own names, which may precede the marker while another process creates it
        children = sorted(
            p.name for p in root.iterdir() if p.name != _LOCKS and not p.name.startswith(f"{MARKER}.")
        )
        if children and not self._looks_like_old_cache():
            shown = ", ".join(children[:5]) + (" ..." if len(children) > 5 else "")
            raise CacheFolderError(
                f"cache folder {root} is not empty and is not a maxent cache (it has no {MARKER} "
                f"marker; found {shown}). Give a new or empty folder, or an existing maxent cache."
            )

    def ensure_root(self) -> None:
        """Check the root (:meth:`check_root`), create it if needed and write the marker."""
        self.check_root()
        marker = self.root / MARKER
        if marker.is_file():
            return
        text = json.dumps({"maxent_cache": 1}) + "\n"
        if not self.root.exists():  # create the folder with its marker in one rename
            self.root.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.root.parent / f".{self.root.name}.tmp-{uuid.uuid4().hex[:8]}"
            tmp.mkdir()
            try:
                atomic_write_text(tmp / MARKER, text)
                os.rename(tmp, self.root)
                return
            except OSError:  # created meanwhile by another process
                shutil.rmtree(tmp, ignore_errors=True)
        atomic_write_text(marker, text)

    def _entry_lock(self, stage: str, key: str) -> Any:
        from filelock import FileLock

        locks = self.root / _LOCKS
        locks.mkdir(parents=True, exist_ok=True)
        return FileLock(str(locks / f"{stage}-{key}.lock"), timeout=LOCK_TIMEOUT)

    def clean_partial(self) -> int:
        """Remove temporary folders left by interrupted stores; return how many.

        Only folders of the cache's own pattern (``<stage>/.tmp-<key>-<8 hex>``) in a marked root
        are removed, and only when no live writer holds the entry's lock.
        """
        from filelock import Timeout

        if not self.root.exists():
            return 0
        self.ensure_root()
        n = 0
        for stage_dir in sorted(self.root.iterdir()):
            if not stage_dir.is_dir() or not _STAGE_RE.match(stage_dir.name):
                continue
            for tmp in sorted(stage_dir.iterdir()):
                m = _TMP_RE.match(tmp.name)
                if m is None or not tmp.is_dir():
                    continue
                lock = self._entry_lock(stage_dir.name, m["key"])
                try:
                    lock.acquire(timeout=0)
                except Timeout:
                    continue  # being written right now by another run
                try:
                    shutil.rmtree(tmp, ignore_errors=True)
                    n += 1
                finally:
                    lock.release()
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

    def _complete(self, stage: str, key: str) -> bool:
        """Whether the entry exists and verifies (without deleting or counting it when not)."""
        d = self.entry_dir(stage, key)
        try:
            manifest = json.loads((d / _MANIFEST).read_text(encoding="utf-8"))
            return manifest.get("key") == key and all(
                sha256_file(d / rec["file"]) == rec["sha256"] for rec in manifest["items"].values()
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False

    def store(self, stage: str, key: str, items: dict[str, Any], info: dict | None = None) -> None:
        """Write an entry atomically (temporary folder, fsync, manifest last, rename).

        Concurrent writers of one entry (runs sharing the cache) are serialized by the entry's
        lock: the first stores it, a later one finds it complete and keeps it.
        """
        self.ensure_root()
        with self._entry_lock(stage, key):
            if self._complete(stage, key):
                return
            self._store_locked(stage, key, items, info)

    def _store_locked(self, stage: str, key: str, items: dict[str, Any], info: dict | None) -> None:
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
            if final.exists():  # a stale corrupt entry (a complete one was kept by store)
                shutil.rmtree(final, ignore_errors=True)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


class OutputManifest:
    """Which final output files maxent wrote, from which inputs (``OUT/.maxent/outputs.json``).

    ``up_to_date(rel, key)`` is true when the file exists, was written for ``key`` and still has
    the recorded checksum. Writers call ``pending(rel, key)`` before writing (saved at once, so a
    run killed between the write and the next save still knows the file is its own), then
    ``record(rel, key)`` after writing and ``save()`` at the end of a stage. ``owned(rel)`` tells
    whether maxent wrote the file (``--force`` replaces only those).
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
        self.entries = {k: v for k, v in self.entries.items() if isinstance(v, dict)}

    def up_to_date(self, rel: str, key: str) -> bool:
        rec = self.entries.get(rel)
        p = self.out / rel
        return (
            bool(rec)
            and rec.get("key") == key
            and rec.get("sha256") is not None
            and p.exists()
            and sha256_file(p) == rec.get("sha256")
        )

    def pending(self, rel: str, key: str) -> None:
        """Mark ``rel`` as about to be written by maxent (saved immediately)."""
        rec = self.entries.get(rel)
        if rec is not None and rec.get("sha256") is None:
            return
        self.entries[rel] = {"key": key, "sha256": None}
        self.save()

    def record(self, rel: str, key: str) -> None:
        self.entries[rel] = {"key": key, "sha256": sha256_file(self.out / rel)}

    def owned(self, rel: str) -> bool:
        """Whether maxent wrote ``rel`` and it still holds what maxent wrote (or a write was
        under way: no checksum yet)."""
        rec = self.entries.get(rel)
        if rec is None:
            return False
        p = self.out / rel
        if rec.get("sha256") is None or not p.is_file():
            return True
        return sha256_file(p) == rec["sha256"]

    def save(self) -> None:
        atomic_write_text(self.path, json.dumps(self.entries, indent=1, sort_keys=True))

"""Problem/result file I/O shared by the peer runners (numpy only: runs in every peer venv).

Problem file (.npz, written by ``bench_inverse_ising.py``): ``X`` (M, N) int8 ±1 samples, ``h``
(N,) and ``J`` (N, N) of the true model (never shown to a method), ``__meta__`` JSON.

Result file (.npz): ``h`` (N,), ``J`` (N, N) in maxent's convention, ``fit_time`` (s, the
peer's fit call only, measured inside the peer process), ``__meta__`` JSON (method, options,
convergence details, notes on conversions). Written atomically (temp file + rename), read
without pickle.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def load_problem(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """Return (X int8 (M, N), meta) from a problem .npz; refuse anything but ±1 samples."""
    with np.load(path, allow_pickle=False) as data:
        X = np.asarray(data["X"])
        meta = json.loads(str(data["__meta__"])) if "__meta__" in data.files else {}
    if X.ndim != 2:
        raise ValueError(f"{path}: X must be 2-d (M, N), got shape {X.shape}")
    bad = ~np.isin(X, (-1, 1))
    if bad.any():
        raise ValueError(f"{path}: X holds values other than ±1: {np.unique(X[bad])[:5].tolist()}")
    return X.astype(np.int8), meta


def save_result(path: str | os.PathLike, h: np.ndarray, J: np.ndarray, fit_time: float, meta: dict) -> None:
    """Write h, J, fit_time and JSON meta atomically to ``path`` (.npz)."""
    path = Path(path)
    h = np.asarray(h, dtype=np.float64)
    J = np.asarray(J, dtype=np.float64)
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(J))):
        meta = {**meta, "nonfinite": True}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(
                fh,
                h=h,
                J=J,
                fit_time=np.float64(fit_time),
                __meta__=np.array(json.dumps(meta, default=_json_default)),
            )
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def parser(description: str, methods: tuple[str, ...]) -> argparse.ArgumentParser:
    """Command line shared by the runners: PROBLEM METHOD OUT [--options JSON] [--seed S]."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("problem", help="problem .npz (X int8 ±1, true h, J)")
    p.add_argument("method", choices=methods)
    p.add_argument("out", help="result .npz to write (h, J in maxent's convention, fit_time, meta)")
    p.add_argument("--options", default="{}", help="JSON dict of method options")
    p.add_argument("--seed", type=int, default=0)
    return p

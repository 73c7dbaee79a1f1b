"""Shared output helpers of the companion benchmarks: machine info, JSON + markdown results.

``machine_info()`` records what the existing benchmarks record by hand (CPU count, platform,
versions, the thread limits in force and the 1-min load average); ``write_results`` writes
``<out>/<name>.json`` and ``<out>/<name>.md`` atomically (maxent's own atomic writer), and
``md_table`` renders a DataFrame as a pipe table without the optional ``tabulate`` dependency.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def machine_info() -> dict:
    """CPU count, platform, versions, thread limits and the load average (call at start and end)."""
    import maxent

    info = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "maxent": getattr(maxent, "__version__", None),
        "threads": {k: os.environ.get(k) for k in THREAD_VARS},
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        import numba

        info["numba"] = numba.__version__
    except ImportError:  # pragma: no cover - numba is a dependency
        info["numba"] = None
    return info


@contextmanager
def timer(store: dict, key: str):
    """Record wall and process CPU seconds of the block in ``store[key + '_wall_s' / '_cpu_s']``."""
    t0, c0 = time.perf_counter(), time.process_time()
    yield
    store[f"{key}_wall_s"] = time.perf_counter() - t0
    store[f"{key}_cpu_s"] = time.process_time() - c0


def _default(obj: object) -> object:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def records(df: pd.DataFrame) -> list[dict]:
    """Rows of a DataFrame as JSON-ready dicts (NaN -> None)."""
    d = df.reset_index() if not isinstance(df.index, pd.RangeIndex) else df
    d = d.astype(object).where(pd.notna(d), None)
    d.columns = [" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in d.columns]
    return d.to_dict(orient="records")


def _esc(text: str) -> str:
    return text.replace("|", "\\|")


def md_table(df: pd.DataFrame, index: bool = True, digits: int = 4) -> str:
    """A pipe table (no tabulate dependency); floats with ``digits`` significant digits."""
    d = df.reset_index() if index else df
    d.columns = [_esc(" ".join(map(str, c)) if isinstance(c, tuple) else str(c)) for c in d.columns]
    cells = [
        [f"{v:.{digits}g}" if isinstance(v, float) else _esc(str(v)) for v in row]
        for row in d.itertuples(index=False)
    ]
    lines = ["| " + " | ".join(d.columns) + " |", "|" + "---|" * len(d.columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells])


def new_doc(benchmark: str, options: dict) -> dict:
    """The common head of a results document."""
    return {
        "benchmark": benchmark,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", *sys.argv]),
        "options": options,
        "machine": machine_info(),
    }


def _clean(obj: object) -> object:
    """NaN / inf -> None, recursively (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float | np.floating) and not np.isfinite(obj):
        return None
    return obj


def write_results(name: str, doc: dict, markdown, out: Path | None = None) -> tuple[Path, Path]:
    """Write ``<out>/<name>.json`` and ``<out>/<name>.md`` atomically; returns both paths.

    ``markdown`` is a function of the document, called after the end load average is recorded.
    """
    from maxent._atomic import atomic_write_text

    doc["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    out = Path(out) if out is not None else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    jp, mp = out / f"{name}.json", out / f"{name}.md"
    text = json.dumps(_clean(json.loads(json.dumps(doc, default=_default))), indent=1, allow_nan=False)
    atomic_write_text(jp, text + "\n")
    atomic_write_text(mp, markdown(doc).rstrip() + "\n")
    return jp, mp


def machine_line(doc: dict) -> str:
    """One markdown sentence on where and how the numbers were taken."""
    m = doc["machine"]
    thr = ", ".join(f"{k}={v}" for k, v in m["threads"].items() if v is not None) or "library defaults"
    return (
        f"Generated {doc['created']} by `{doc['command']}` on a shared {m['cpus']}-CPU machine "
        f"({m['platform']}, Python {m['python']}, numpy {m['numpy']}, numba {m['numba']}; threads: {thr}); "
        f"1/5/15-min load {m['load_avg_start']} at start, {m.get('load_avg_end')} at end. "
        "Wall times are indicative only; ratios are taken within this one run."
    )

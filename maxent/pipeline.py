"""The pipeline: one YAML config -> samples, fits, geometry, figures, report, exports, data cards.

Stages, in order (each one a set of independent *tasks*)::

    samples     train n_runs networks per setting, collect their ±1 weights   (maxent.data.train)
    fit         one inverse-Ising fit per (setting, block), blocks W1..WL and "full"  (maxent.fit)
    quality     held-out checks of every fit                                  (maxent.fit.quality)
    references  low / medium / high model-energy reference configurations     (geometry.landscape)
    landscape   entropy landscape s(d) per (setting, block, reference), both sweeps
    clustering  TAP states and the overlap distribution P(q) per (setting, block)
    liquidity   per-block liquidity profile per setting                       (geometry.liquid)
    tables -> figures -> report -> exports -> data cards                       (OUT/...)

Caching and resuming. Every task's result is stored in a content-addressed cache
(:mod:`maxent._cache`, default ``OUT/.cache``) under a key that hashes the config subsection it
depends on, the keys of its upstream results and the library version. A rerun finds every
entry and is near instant; a run killed at any point (even SIGKILL) keeps every finished entry
(writes are atomic) and resumes where it stopped; sample collection also checkpoints chunks of
runs inside a setting. Every downstream stage reads its inputs back from the cache, so a resumed
run and an uninterrupted one compute from identical bytes and write identical tables. A cache
entry that fails its checksums is reported in the log, deleted and recomputed. The final
outputs (figures, report, exports, cards) are skipped when the file on disk was produced from
the same inputs (``OUT/.maxent/outputs.json``).

Randomness. Every task gets its own seed, a hash of (config seed, stage, setting, block, ...),
so results depend neither on the order in which tasks run nor on the parallel backend.

Parallelism. Tasks of a stage run through joblib (``n_jobs``; backend "loky" by default). With
``backend="dask"`` the same tasks run on a dask.distributed cluster through joblib's dask
backend: the cluster at ``scheduler`` (an address such as ``tcp://host:8786``), or a
``LocalCluster`` started for the run when no address is given. Results come back to the main
process, which alone writes the cache and the outputs (workers need no shared file system).

Output folder. ``OUT`` holds exactly one run: ``OUT/.maxent/run.json`` records the config hash.
Running a different config into a folder that holds another run's results is refused
(:class:`OutputFolderError`); ``force=True`` deletes the previous run's outputs first (the
content-addressed cache is kept: it cannot mix results, and it lets shared stages be reused).
A lock (``OUT/.maxent/lock``) refuses two concurrent runs on one folder.

Layout of ``OUT``: ``report.md``, ``run.log``, ``figures/*.png``, ``tables/*.csv``,
``models/<setting>/<block>.npz`` (plus other ``outputs.export_formats``),
``samples/<setting>.npz``, ``data_cards/<setting>.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import json
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from maxent import __version__
from maxent._atomic import atomic_write_text
from maxent._cache import Cache, OutputManifest
from maxent.config import (
    ESTIMATORS,
    ConfigError,
    PipelineConfig,
    SettingConfig,
    config_hash,
    load_config,
    stable_hash,
)
from maxent.data.samples import WeightSamples
from maxent.model.ising import IsingModel

__all__ = [
    "run_pipeline",
    "RunSummary",
    "StageStats",
    "PipelineError",
    "OutputFolderError",
    "OUTPUT_DIRS",
    "make_estimator",
    "task_seed",
]

#: sub-folders of OUT written by a run (removed by ``force=True`` before a different run)
OUTPUT_DIRS = ("figures", "tables", "models", "samples", "data_cards")
_OUTPUT_FILES = ("report.md", "run.log")
_STATE_DIR = ".maxent"
#: runs trained together and checkpointed as one chunk: a killed collection loses at most one
#: chunk of a setting (the spins do not depend on it: each run's randomness is its own)
SAMPLES_CHUNK = 64
#: bump when this module changes how results are computed (task inputs, splits, seeds): it is
#: part of every cache key, as is the code of the library modules a stage uses (STAGE_CODE)
PIPELINE_LOGIC_VERSION = 1
LOGGER_NAME = "maxent.pipeline"


class PipelineError(RuntimeError):
    """A stage failed while running (the log holds the traceback)."""


class OutputFolderError(ValueError):
    """The output folder holds another run's results, or is in use by another run."""


# ============================================================================ summary
@dataclass
class StageStats:
    """Bookkeeping of one stage: tasks served from the cache vs computed, and wall time."""

    name: str
    n_tasks: int = 0
    cached: int = 0
    computed: int = 0
    corrupt: int = 0
    seconds: float = 0.0


@dataclass
class RunSummary:
    """What :func:`run_pipeline` did."""

    out: Path
    config_hash: str
    stages: dict[str, StageStats] = field(default_factory=dict)
    seconds: float = 0.0
    #: tasks that failed ({"stage", "task", "error"}); run_pipeline raises PipelineError after
    #: writing the other results when there are any
    failures: list[dict[str, str]] = field(default_factory=list)
    #: output paths left alone because a file maxent did not write was there
    skipped_outputs: list[str] = field(default_factory=list)

    @property
    def computed(self) -> int:
        return sum(s.computed for s in self.stages.values())

    @property
    def cached(self) -> int:
        return sum(s.cached for s in self.stages.values())

    def __str__(self) -> str:
        rows = [
            f"{s.name:<12} {s.n_tasks:>5} tasks  {s.cached:>5} cached  {s.computed:>5} computed  "
            f"{s.seconds:7.1f} s"
            for s in self.stages.values()
        ]
        return "\n".join([f"run {self.config_hash} -> {self.out} in {self.seconds:.1f} s", *rows])


# ============================================================================ helpers
def task_seed(*parts: object) -> int:
    """A 32-bit seed determined by ``parts`` only (stable across runs, orders and backends)."""
    return int(stable_hash(list(parts), 8), 16)


#: library modules whose code determines each stage's results. The cache key of a task holds a
#: hash of their source and of every maxent module they import (transitively, found by reading
#: the import statements, lazy ones included), so editing the code a stage runs invalidates
#: exactly its entries (downstream stages follow through the upstream keys). The fit stage adds
#: the module of the estimator a block uses.
STAGE_CODE: dict[str, tuple[str, ...]] = {
    "samples": ("maxent.data.train", "maxent.data.datasets"),
    "fit": (),
    "quality": ("maxent.fit.quality",),
    "references": ("maxent.geometry.landscape",),
    "landscape": ("maxent.geometry.landscape",),
    "tap": ("maxent.geometry.clustering",),
    "overlap": ("maxent.geometry.clustering",),
    "liquidity": ("maxent.geometry.liquid",),
    "claims-block": ("maxent.stats.claims", "maxent.claims_stage"),
    "claims-jump": ("maxent.stats.claims", "maxent.claims_stage"),
    "claims-tap": ("maxent.stats.claims", "maxent.claims_stage", "maxent.geometry.clustering"),
    "figure": ("maxent.plots", "maxent.report", "maxent.fit.quality"),
    "report": ("maxent.report",),
    "card": ("maxent.data_cards",),
    "export": ("maxent.formats",),
    "export-samples": ("maxent.data.samples",),
    "table": (),
}
_PKG_DIR = Path(__file__).resolve().parent
_CODE_CACHE: dict[tuple[str, ...], str] = {}


def _module_file(name: str) -> Path | None:
    """Source file of a maxent module name (package -> its __init__.py), or None."""
    parts = name.split(".")
    if parts[0] != "maxent":
        return None
    base = _PKG_DIR.joinpath(*parts[1:])
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _maxent_imports(path: Path, name: str) -> set[str]:
    """maxent modules imported in a source file (top level and inside functions; imports under
    ``if TYPE_CHECKING:`` are skipped, they never run)."""
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def type_checking(node: ast.AST) -> bool:
        test = getattr(node, "test", None)
        return isinstance(node, ast.If) and (
            (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
            or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
        )

    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if type_checking(node):
            todo.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "maxent")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] == "maxent":
                found.add(mod)
                found.update(f"{mod}.{a.name}" for a in node.names)  # submodules imported by name
        todo.extend(ast.iter_child_nodes(node))
    return found


def code_closure(modules: tuple[str, ...]) -> list[Path]:
    """Source files of ``modules`` and of every maxent module they import, transitively."""
    seen: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if path is None or name in seen:
            continue
        seen[name] = path
        parent = name.rpartition(".")[0]
        if parent:  # importing a submodule runs its packages' __init__ too
            todo.append(parent)
        todo.extend(_maxent_imports(path, name))
    return sorted(set(seen.values()))


def code_fingerprint(stage: str, extra: tuple[str, ...] = ()) -> str:
    """Hash of the version and the source of the code ``stage`` runs (see :data:`STAGE_CODE`)."""
    modules = tuple(STAGE_CODE.get(stage, ())) + tuple(extra)
    if modules not in _CODE_CACHE:
        import hashlib

        h = hashlib.sha256(__version__.encode())
        for path in code_closure(modules):
            h.update(path.relative_to(_PKG_DIR).as_posix().encode())
            h.update(path.read_bytes())
        _CODE_CACHE[modules] = h.hexdigest()[:16]
    return _CODE_CACHE[modules]


def _import(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_estimator(name: str, params: dict | None = None, random_state: int | None = None) -> Any:
    """Instantiate the estimator registered as ``name`` (see :data:`maxent.config.ESTIMATORS`).

    ``params`` are its ``__init__`` arguments (unknown ones raise ConfigError naming the allowed
    ones). ``random_state`` is set when the estimator takes one and ``params`` does not.
    """
    if name not in ESTIMATORS:
        raise ConfigError(f"unknown estimator {name!r}; choose one of {sorted(ESTIMATORS)}")
    try:
        cls = _import(ESTIMATORS[name])
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"estimator {name!r} is not available ({ESTIMATORS[name]}: {exc})") from exc
    params = dict(params or {})
    allowed = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {unknown} for estimator {name!r}; allowed: {sorted(allowed)}"
        )
    from maxent._validation import check_hyperparams

    try:
        params = check_hyperparams(params, allowed, where=f"estimator {name!r}")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if "random_state" in allowed and "random_state" not in params and random_state is not None:
        params["random_state"] = random_state
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"estimator {name!r} rejects its parameters {params}: {exc}") from exc


#: caps applied to a dry-run fit's budget (the values themselves were checked first)
_DRY_RUN_CAPS = {"max_iter": 3, "bp_max_iter": 20, "n_chains": 8, "max_sweeps": 4, "n_sweeps": 1, "window": 3}


def check_estimator(name: str, params: dict | None = None) -> None:
    """Fail now, not after training, when an estimator's parameters are invalid.

    Checks the parameter names and types (:func:`make_estimator`), then fits the estimator on
    a tiny well-posed data set (all 8 configurations of 3 spins, twice) with its iteration
    budgets capped, so that the estimator's own range checks (``alpha >= 0``, a known
    ``penalty``, ...) run too. Raises ConfigError naming the estimator and the problem.
    """
    import itertools

    params = dict(params or {})
    make_estimator(name, params)  # names and types
    dry = {
        k: (min(v, _DRY_RUN_CAPS[k]) if k in _DRY_RUN_CAPS and isinstance(v, int) and v > 0 else v)
        for k, v in params.items()
    }
    est = make_estimator(name, dry, random_state=0)
    X = np.array(list(itertools.product([-1, 1], repeat=3)) * 2, dtype=np.int8)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise ConfigError(f"estimator {name!r} rejects its parameters {params}: {exc}") from None


def _md_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    from maxent.report import markdown_table

    return markdown_table(df, floatfmt=floatfmt)


# ============================================================================ tasks
# Module-level functions (picklable for loky and dask). Each returns a dict of cache items.
def _task_samples(
    dataset: dict,
    n_train: int | None,
    train: dict,
    n_runs: int,
    draws_per_run: int,
    gauge: str,
    seed: int,
    device: str,
    checkpoint_dir: str | None,
    setting_meta: dict,
    samples_file: str | None = None,
    widths: tuple[int, ...] = (),
    null: str = "none",
    min_accuracy: float | None = None,
) -> dict[str, Any]:
    from maxent._atomic import CorruptFileError, load_npz
    from maxent.data import datasets
    from maxent.data.train import TrainConfig, sample_weights

    if samples_file is not None:
        from maxent.data.samples import load_spins_file

        samples = load_spins_file(samples_file, widths)
        samples.meta["setting"] = {**setting_meta, "n_train": None, "samples_file": samples_file}
        return {"samples": _apply_null(samples, null, seed)}
    ds = datasets.load(dataset["name"], n_train=n_train, **{k: v for k, v in dataset.items() if k != "name"})

    def collect() -> WeightSamples:
        return sample_weights(
            ds,
            TrainConfig.from_dict(train),
            n_runs=n_runs,
            draws_per_run=draws_per_run,
            seed=seed,
            device=device,
            gauge=gauge,
            checkpoint_dir=checkpoint_dir,
            progress=False,
            chunk_size=SAMPLES_CHUNK,
            min_accuracy=min_accuracy,
        )

    try:
        samples = collect()
    except CorruptFileError:
        # a damaged checkpoint chunk (the checkpoint folder belongs to the cache): drop the chunks
        # that do not load and retrain them, as a corrupted cache entry is recomputed
        if checkpoint_dir is None:
            raise
        for chunk in sorted(Path(checkpoint_dir).glob("chunk_*.npz")):
            try:
                load_npz(chunk)
            except CorruptFileError:
                chunk.unlink()
        samples = collect()
    samples.meta["setting"] = {**setting_meta, "n_train": ds.n_train}
    return {"samples": _apply_null(samples, null, seed)}


def _apply_null(samples: WeightSamples, null: str, seed: int) -> WeightSamples:
    """The samples, or their column-shuffled null (whole runs move together; same magnetizations)."""
    if null == "none":
        return samples
    from maxent.stats.nulls import column_shuffle

    spins = column_shuffle(samples.spins, groups=samples.run, random_state=task_seed(seed, "null", null))
    meta = {**samples.meta, "null": null}
    return WeightSamples(spins, samples.widths, samples.accuracy, samples.train_accuracy, samples.run, meta)


def _task_fit(
    X: np.ndarray, name: str, params: dict, seed: int, groups: np.ndarray | None = None
) -> dict[str, Any]:
    est = make_estimator(name, params, random_state=seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if groups is not None and "groups" in inspect.signature(est.fit).parameters:
            est.fit(X, groups=groups)  # CV folds of whole runs
        else:
            est.fit(X)
    info = {
        "estimator": name,
        "params": params,
        "n_samples": int(X.shape[0]),
        "n_spins": int(X.shape[1]),
        "n_iter": int(getattr(est, "n_iter_", 0)),
        "converged": bool(getattr(est, "converged_", True)),
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
        # penalties chosen by cross-validation (PseudoLikelihoodCV), when the estimator has one
        "alpha": float(est.alpha_) if hasattr(est, "alpha_") else est.get_params().get("alpha"),
        # a cross-validated penalty still on the edge of its (extended) grid was not selected
        "alpha_on_edge": bool(getattr(est, "on_edge_", False)),
        "seconds": time.perf_counter() - t0,
    }
    history = getattr(est, "history_", None)
    items: dict[str, Any] = {"model": est.model_, "info": info}
    if isinstance(history, pd.DataFrame) and len(history):
        items["history"] = history.reset_index(drop=True)
    return items


def _task_quality(model: IsingModel, X: np.ndarray, X_test: np.ndarray | None, q: dict, seed: int):
    from maxent.fit.quality import fit_quality, quality_summary

    df = fit_quality(
        model,
        X,
        X_test=X_test,
        n_model_samples=q["n_model_samples"],
        n_chains=q["n_chains"],
        burn=q["burn"],
        thin=q["thin"],
        n_triplets=q["n_triplets"],
        random_state=seed,
    )
    return {"quality": df.reset_index(drop=True), "summary": quality_summary(df).reset_index(drop=True)}


def _task_references(model: IsingModel, X: np.ndarray) -> dict[str, Any]:
    from maxent.geometry.landscape import choose_references

    refs = choose_references(model, X)
    names = list(refs)
    R = np.stack([np.asarray(refs[k], dtype=np.int8) for k in names])
    energies = model.energy(R.astype(np.float64))
    return {
        "references": R,
        "info": {"names": names, "energies": [float(e) for e in np.atleast_1d(energies)]},
    }


def _task_landscape(
    model: IsingModel, reference: np.ndarray, x: list[float], tol: float, max_iter: int, damping: float
) -> dict[str, Any]:
    from maxent.geometry.landscape import entropy_landscape

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-convergence is flagged per row in `converged`
        df = entropy_landscape(
            model,
            reference.astype(np.float64),
            x=np.asarray(x),
            sweep="both",
            tol=tol,
            max_iter=max_iter,
            damping=damping,
        )
    return {"landscape": df.reset_index(drop=True)}


def _task_tap(model: IsingModel, n_starts: int, seed: int) -> dict[str, Any]:
    from maxent.model.tap import tap_states

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unconverged starts are flagged in the table
        res = tap_states(model, n_starts, random_state=seed)
    table = res.table if hasattr(res, "table") else res
    return {"tap": table.reset_index(drop=True)}


def _task_overlap(X: np.ndarray) -> dict[str, Any]:
    from maxent.geometry.clustering import overlap_distribution

    return {"overlap": overlap_distribution(X, bins=min(101, X.shape[1] + 1)).reset_index(drop=True)}


def _task_liquidity(
    models: dict[str, IsingModel],
    data: dict[str, np.ndarray],
    landscapes: dict[str, pd.DataFrame] | None,
    reference: str,
    x: list[float],
    tol: float,
    max_iter: int,
    damping: float,
    n_references: int = 0,
    accuracy: np.ndarray | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Liquidity table of one setting's layers; the landscape area is taken from the landscape
    stage's "down" sweep around ``reference`` when it ran (else computed here on grid ``x``).

    With ``n_references`` > 0, the landscape area and largest gap are also averaged over
    ``n_references`` references per energy class drawn among the well-performing samples
    (:func:`maxent.geometry.liquid.reference_classes`), as the reference study reads liquidity:
    columns ``landscape_area_mean``, ``landscape_area_sd``, ``landscape_max_gap_mean``,
    ``n_references``."""
    from maxent.geometry.liquid import landscape_area, landscape_liquidity, liquidity, reference_classes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BP non-convergence is a column of the table
        df = liquidity(
            models,
            data,
            references=reference,
            x=np.asarray(x),
            tol=tol,
            max_iter=max_iter,
            damping=damping,
            landscape=landscapes is None,
        )
    if landscapes is not None:
        df = df.copy()
        df["reference"] = reference
        df["landscape_area"] = [landscape_area(landscapes[b]) for b in df["block"]]
        df["landscape_converged"] = [
            bool(landscapes[b].loc[landscapes[b]["sweep"] == "down", "converged"].astype(bool).all())
            for b in df["block"]
        ]
    if n_references > 0:
        df = df.copy()
        stats = []
        for k, b in enumerate(df["block"]):
            refs = reference_classes(
                models[b], data[b], n_references, accuracy=accuracy, random_state=seed + k
            )
            t = landscape_liquidity(
                models[b], refs, x=np.asarray(x), tol=tol, max_iter=max_iter, damping=damping
            )
            stats.append(t)
        df["landscape_area_mean"] = [float(t["landscape_area"].mean()) for t in stats]
        df["landscape_area_sd"] = [float(t["landscape_area"].std(ddof=1)) for t in stats]
        df["landscape_max_gap_mean"] = [float(t["landscape_max_gap"].mean()) for t in stats]
        df["n_references"] = [len(t) for t in stats]
    return {"liquidity": df.reset_index(drop=True)}


# ============================================================================ folder guard
class _OutputFolder:
    """Guard, lock and bookkeeping of the output folder.

    maxent replaces only files it wrote itself: those recorded in ``OUT/.maxent/outputs.json``
    that still hold what it wrote. ``force`` deletes those of a different previous run
    (:attr:`replaced` lists them; files edited since are kept, :attr:`kept`), and every other
    file found at a path maxent writes to is protected (:attr:`protected`): the runner leaves it
    as it is and says so. A user's ``report.md`` or ``run.log`` (which every run writes) in a
    folder without a maxent run is refused even with ``force``.
    """

    def __init__(self, out: Path, config: PipelineConfig, force: bool) -> None:
        self.out = out
        self.config = config
        self.force = force
        self.state = out / _STATE_DIR
        self._lock_obj: Any = None
        self.replaced: list[str] = []
        self.kept: list[str] = []
        self.protected: set[str] = set()

    def __enter__(self) -> _OutputFolder:
        out = self.out
        if out.exists() and not out.is_dir():
            raise OutputFolderError(f"--out {out} exists and is not a folder")
        created_out = not out.exists()
        created_state = not self.state.exists()
        try:
            self._lock()  # first: the checks below must not race with another run
        except BaseException:
            self._undo(created_out, created_state)
            raise
        try:
            self._check_and_claim()
        except BaseException:
            self.__exit__()
            self._undo(created_out, created_state)
            raise
        return self

    def _undo(self, created_out: bool, created_state: bool) -> None:
        if created_state:
            shutil.rmtree(self.state, ignore_errors=True)
        if created_out:
            with contextlib.suppress(OSError):
                self.out.rmdir()  # only if still empty

    def _maxent_files(self) -> list[str]:
        """Paths (relative to OUT) of the existing files at places a run writes to."""
        found = [f for f in _OUTPUT_FILES if (self.out / f).is_file()]
        for d in OUTPUT_DIRS:
            base = self.out / d
            if base.is_dir():
                found.extend(p.relative_to(self.out).as_posix() for p in base.rglob("*") if p.is_file())
        return sorted(found)

    def _check_and_claim(self) -> None:
        out = self.out
        chash = config_hash(self.config)
        run_json = self.state / "run.json"
        outputs = OutputManifest(out, self.state / "outputs.json")
        if run_json.exists():
            try:
                prev = json.loads(run_json.read_text())
                if not isinstance(prev, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError):
                prev = {"config_hash": "unreadable"}
            if prev.get("config_hash") != chash:
                if not self.force:
                    raise OutputFolderError(
                        f"{out} holds the results of a different run (config {prev.get('name')!r}, "
                        f"hash {prev.get('config_hash')}; this config's hash is {chash}). Choose another "
                        "--out folder, or pass --force to replace that run's outputs (only files maxent "
                        "wrote are replaced)."
                    )
                self._remove_outputs(outputs, with_log=True)
                outputs = OutputManifest(out, self.state / "outputs.json")
        else:
            foreign = [p.name for p in out.iterdir() if p.name not in (".cache", _STATE_DIR)]
            if foreign and not self.force:
                raise OutputFolderError(
                    f"{out} is not empty and holds no maxent run ({', '.join(sorted(foreign)[:5])} ...). "
                    "Choose a new or empty folder, or pass --force to write into it anyway "
                    "(only maxent's own outputs are replaced; your files are left as they are)."
                )
            clash = [f for f in _OUTPUT_FILES if (out / f).exists()]
            if clash:
                raise OutputFolderError(
                    f"{out} holds {', '.join(clash)}, which maxent did not write and every run writes; "
                    "move it away or choose another --out folder (--force never replaces your files)."
                )
            # a manifest without run.json is a leftover of an aborted claim: it proves nothing
            with contextlib.suppress(FileNotFoundError):
                (self.state / "outputs.json").unlink()
            outputs = OutputManifest(out, self.state / "outputs.json")
        ours_log = run_json.exists()  # the log of the run resumed here
        self.protected = {
            f for f in self._maxent_files() if not outputs.owned(f) and not (f == "run.log" and ours_log)
        }
        doc = {
            "config_hash": chash,
            "name": self.config.name,
            "config": self.config.to_dict(),
            "maxent": __version__,
        }
        atomic_write_text(run_json, json.dumps(doc, indent=1, sort_keys=True))

    def _lock(self) -> None:
        from filelock import FileLock, Timeout

        if self._lock_obj is not None:
            return
        self.state.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.state / "lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise OutputFolderError(f"{self.out} is in use by another running maxent pipeline") from None
        self._lock_obj = lock

    def _remove_outputs(self, outputs: OutputManifest, with_log: bool) -> None:
        """Delete the files the previous run wrote (per its manifest) and its bookkeeping."""
        for rel in sorted(outputs.entries):
            path = self.out / rel
            if not path.is_file() or path.is_symlink():
                continue
            if outputs.owned(rel):
                path.unlink()
                self.replaced.append(rel)
                with contextlib.suppress(OSError):  # prune folders left empty (never OUT itself)
                    parent = path.parent
                    while parent != self.out and not any(parent.iterdir()):
                        parent.rmdir()
                        parent = parent.parent
            else:
                self.kept.append(rel)
        if with_log and (self.out / "run.log").is_file():
            (self.out / "run.log").unlink()
            self.replaced.append("run.log")
        for f in ("run.json", "outputs.json"):
            with contextlib.suppress(FileNotFoundError):
                (self.state / f).unlink()

    def log_changes(self, log: logging.Logger) -> None:
        """Say what the claim replaced and what it leaves alone."""
        if self.replaced:
            log.info(
                "--force: replaced %d file(s) of the previous run: %s",
                len(self.replaced),
                ", ".join(self.replaced[:20]) + (" ..." if len(self.replaced) > 20 else ""),
            )
        if self.kept:
            log.warning(
                "kept %d file(s) of the previous run that were edited since maxent wrote them: %s",
                len(self.kept),
                ", ".join(self.kept[:20]),
            )
        if self.protected:
            log.info(
                "%d file(s) in %s are not maxent's and are left untouched: %s",
                len(self.protected),
                self.out,
                ", ".join(sorted(self.protected)[:20]),
            )

    def __exit__(self, *exc: object) -> None:
        if self._lock_obj is not None:
            with contextlib.suppress(OSError):
                self._lock_obj.release()
            self._lock_obj = None


@contextlib.contextmanager
def _logging_to(path: Path, verbose: bool) -> Iterator[logging.Logger]:
    log = logging.getLogger(LOGGER_NAME)
    log.setLevel(logging.INFO)
    log.propagate = False
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = logging.FileHandler(path, encoding="utf-8")
    fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    handlers: list[logging.Handler] = [fh]
    if verbose:
        sh = logging.StreamHandler(sys.stderr)
        sh.setFormatter(logging.Formatter("[maxent] %(message)s"))
        handlers.append(sh)
    for h in handlers:
        log.addHandler(h)
    try:
        yield log
    finally:
        for h in handlers:
            log.removeHandler(h)
            h.close()


@contextlib.contextmanager
def _parallel(
    backend: str, scheduler: str | None, n_jobs: int, cluster_kwargs: dict | None, log: logging.Logger
) -> Iterator[None]:
    """Configure joblib for the run: loky (default) or dask through joblib's dask backend."""
    import joblib

    if backend == "loky":
        if scheduler is not None:
            raise ValueError("--scheduler applies to --backend dask only")
        with joblib.parallel_config(backend="loky", n_jobs=n_jobs):
            yield
        return
    if backend != "dask":
        raise ValueError(f"unknown backend {backend!r}; choose 'loky' or 'dask'")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask is in the 'distributed' extra
        raise ValueError("backend 'dask' needs dask.distributed: pip install 'maxent[distributed]'") from exc
    with contextlib.ExitStack() as stack:
        if scheduler:
            log.info("dask: connecting to the scheduler at %s", scheduler)
            client = stack.enter_context(Client(scheduler))
        else:
            kw = {
                "n_workers": max(1, n_jobs),
                "threads_per_worker": 1,
                "dashboard_address": None,
                **(cluster_kwargs or {}),
            }
            log.info("dask: starting a LocalCluster (%s)", ", ".join(f"{k}={v}" for k, v in kw.items()))
            cluster = stack.enter_context(LocalCluster(**kw))
            client = stack.enter_context(Client(cluster))
        log.info("dask: %d workers", len(client.scheduler_info().get("workers", {})))
        with joblib.parallel_config(backend="dask", n_jobs=-1):
            yield


# ============================================================================ the runner
@dataclass
class _Task:
    stage: str
    label: str
    key: str
    fn: Callable[..., dict[str, Any]]
    args: tuple
    kwargs: dict = field(default_factory=dict)


class _Runner:
    def __init__(
        self,
        config: PipelineConfig,
        out: Path,
        cache: Cache,
        log: logging.Logger,
        n_jobs: int,
        progress: bool,
        summary: RunSummary,
        threads: int | None = 1,
    ) -> None:
        self.cfg = config
        self.threads = threads
        self.out = out
        self.cache = cache
        self.log = log
        self.n_jobs = n_jobs
        self.progress = progress
        self.summary = summary
        self.outputs = OutputManifest(out, out / _STATE_DIR / "outputs.json")
        self.seed = config.seed
        # results, filled stage by stage
        self.samples: dict[str, WeightSamples] = {}
        self.samples_key: dict[str, str] = {}
        self.split: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.models: dict[tuple[str, str], IsingModel] = {}
        self.fit_key: dict[tuple[str, str], str] = {}
        self.fit_info: dict[tuple[str, str], dict] = {}
        self.tables: dict[str, pd.DataFrame] = {}
        self.table_keys: dict[str, str] = {}
        self.references: dict[tuple[str, str], tuple[list[str], np.ndarray, list[float]]] = {}
        self.cache_keys_by_stage: dict[str, list[str]] = {}
        self.figure_failures: dict[str, str] = {}
        # files at output paths that maxent did not write (set by the folder guard): never replaced
        self.protected: set[str] = set()
        self.skipped_outputs: list[str] = []
        self._planned = False
        # tasks that raised: {"stage", "task" (setting/block[/reference]), "error"}; their results
        # are missing downstream and the report lists them
        self.failures: list[dict[str, str]] = []
        self.failed_blocks: set[tuple[str, str]] = set()
        # pid of this process when tasks run in local loky workers (they exit if it dies)
        self.owner_pid: int | None = None
        self.quality_full: dict[tuple[str, str], pd.DataFrame] = {}
        # fault injection for the kill-and-resume tests: SIGKILL this process right after the
        # N-th durable write (cache entry or output file) when MAXENT_FAULT_AFTER_WRITES=N
        self._writes = 0
        self._fault_after = int(os.environ.get("MAXENT_FAULT_AFTER_WRITES", "0") or 0)

    def _written(self) -> None:
        self._writes += 1
        if self._fault_after and self._writes >= self._fault_after:
            import signal

            self.log.info("fault injection: SIGKILL after %d writes", self._writes)
            os.kill(os.getpid(), signal.SIGKILL)

    # ------------------------------------------------------------------ generic stage runner
    def run_stage(self, stage: str, tasks: Sequence[_Task]) -> dict[str, dict[str, Any]]:
        """Serve each task from the cache or compute it (in parallel); return key -> items."""
        from joblib import Parallel, delayed
        from tqdm.auto import tqdm

        st = self.summary.stages.setdefault(stage, StageStats(stage))
        self.cache_keys_by_stage.setdefault(stage, []).extend(t.key for t in tasks)
        t0 = time.perf_counter()
        results: dict[str, dict[str, Any]] = {}
        todo: list[_Task] = []
        corrupt_before = self.cache.n_corrupt
        for t in tasks:
            items = self.cache.load(stage, t.key)
            if items is None:
                todo.append(t)
            else:
                results[t.key] = items
        st.n_tasks += len(tasks)
        st.cached += len(tasks) - len(todo)
        st.corrupt += self.cache.n_corrupt - corrupt_before
        self.log.info(
            "stage %s: %d task(s), %d from cache, %d to compute",
            stage,
            len(tasks),
            len(tasks) - len(todo),
            len(todo),
        )
        if todo:
            n_jobs = min(self.n_jobs, len(todo)) if self.n_jobs > 0 else self.n_jobs
            gen = Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(_guarded)(t.fn, t.args, t.kwargs, self.threads, self.owner_pid) for t in todo
            )
            bar = tqdm(total=len(todo), desc=stage, unit="task", disable=not self.progress, leave=False)
            failed: set[str] = set()
            try:
                for t, (items, seconds, cpu) in zip(todo, gen, strict=True):
                    bar.update(1)
                    if isinstance(items, _TaskError):
                        # one failing task must not cost the others: record it, name it, go on
                        failed.add(t.key)
                        self.failures.append(
                            {"stage": stage, "task": t.label, "error": f"{items.kind}: {items.message}"}
                        )
                        self.log.error(
                            "  %s %s FAILED: %s: %s\n%s",
                            stage,
                            t.label,
                            items.kind,
                            items.message,
                            items.trace,
                        )
                        continue
                    info = {
                        "label": t.label,
                        "seconds": round(seconds, 3),
                        "cpu_seconds": round(cpu, 3),
                        "maxent": __version__,
                    }
                    self.cache.store(stage, t.key, items, info)
                    self._written()
                    self.log.info("  %s %s: computed in %.1f s (CPU %.1f s)", stage, t.label, seconds, cpu)
                    st.computed += 1
            except Exception as exc:
                self.log.exception("stage %s failed", stage)
                raise PipelineError(f"stage {stage!r} failed: {type(exc).__name__}: {exc}") from exc
            finally:
                bar.close()
            for t in todo:  # read back what was stored: identical bytes to a resumed run
                if t.key in failed:
                    continue
                items = self.cache.load(stage, t.key)
                if items is None:
                    raise PipelineError(
                        f"cache entry {stage}/{t.key} could not be read back right after writing"
                    )
                results[t.key] = items
        st.seconds += time.perf_counter() - t0
        return results

    def key(self, stage: str, *parts: object, code: tuple[str, ...] = ()) -> str:
        return stable_hash(
            {
                "stage": stage,
                "code": code_fingerprint(stage, code),
                "logic": PIPELINE_LOGIC_VERSION,
                "parts": list(parts),
            }
        )

    # ------------------------------------------------------------------ stages
    def stage_samples(self) -> None:
        cfg = self.cfg
        tasks = []
        for s in cfg.settings:
            seed = task_seed(cfg.seed, "samples", s.name)
            params = {
                "dataset": cfg.dataset,
                "n_train": s.n_train,
                "train": cfg.train_config(s).to_dict(),
                "n_runs": s.n_runs,
                "draws_per_run": s.draws_per_run,
                "gauge": s.gauge,
                "seed": seed,
                "device": cfg.device,
                "null": s.null_model,
            }
            if s.min_accuracy is not None:  # only when set: unfiltered settings' keys do not mention it
                params["min_accuracy"] = s.min_accuracy
            if s.samples is not None:  # existing samples: the key is the file's content
                from maxent._cache import sha256_file

                params = {
                    "file_sha256": sha256_file(s.samples),
                    "widths": s.widths,
                    "null": s.null_model,
                    "seed": seed,
                    "train": params["train"],
                }
            key = self.key("samples", params)
            self.samples_key[s.name] = key
            ckpt = str(self.cache.root / "checkpoints" / f"samples-{key}")
            dataset = {"name": cfg.dataset.name, **cfg.dataset.load_kwargs()}
            meta = {"name": s.name, "regime": s.regime, "pipeline": cfg.name}
            tasks.append(
                _Task(
                    "samples",
                    s.name,
                    key,
                    _task_samples,
                    (
                        dataset,
                        s.n_train,
                        params["train"],
                        s.n_runs,
                        s.draws_per_run,
                        s.gauge,
                        seed,
                        cfg.device,
                        ckpt,
                        meta,
                        s.samples,
                        s.widths,
                        s.null_model,
                        s.min_accuracy,
                    ),
                )
            )
        res = self.run_stage("samples", tasks)
        if any(self.samples_key[s.name] not in res for s in cfg.settings):
            # a setting whose samples failed is dropped from the rest of the run (it is listed
            # under the report's failures)
            kept = tuple(s for s in cfg.settings if self.samples_key[s.name] in res)
            if not kept:
                raise PipelineError(f"no setting could be sampled: {self._failure_text()}")
            self.cfg = cfg = dataclasses.replace(cfg, settings=kept)
        for s in cfg.settings:
            key = self.samples_key[s.name]
            self.samples[s.name] = res[key]["samples"]
            shutil.rmtree(self.cache.root / "checkpoints" / f"samples-{key}", ignore_errors=True)
            smp = self.samples[s.name]
            self.log.info(
                "  %s: %d samples x %d spins, mean test accuracy %.3f",
                s.name,
                smp.n_samples,
                smp.n_spins,
                smp.accuracy.mean(),
            )
            self.split[s.name] = self._split(s, smp)

    def _split(self, s: SettingConfig, smp: WeightSamples) -> tuple[np.ndarray, np.ndarray]:
        """Rows used for fitting and rows held out (all draws of a held-out run go together).

        Runs are drawn among those present in the samples (after an accuracy filter some runs
        may have no network left); without a filter these are 0..n_runs-1.
        """
        present = np.unique(smp.run)
        n_hold = int(round(self.cfg.fit.holdout * present.size))
        rng = np.random.default_rng(task_seed(self.cfg.seed, "holdout", s.name))
        held = np.sort(rng.choice(present, size=n_hold, replace=False)) if n_hold else np.array([], int)
        is_test = np.isin(smp.run, held)
        return np.flatnonzero(~is_test), np.flatnonzero(is_test)

    def blocks(self, s: SettingConfig) -> list[str]:
        """Blocks of setting ``s`` (without those whose fit failed)."""
        return [b for b in s.block_names(self.cfg.fit.include_full) if (s.name, b) not in self.failed_blocks]

    def _failure_text(self) -> str:
        return "; ".join(f"{f['stage']} {f['task']}: {f['error']}" for f in self.failures)

    def X(self, setting: str, block: str, part: str = "train") -> np.ndarray:
        smp = self.samples[setting]
        rows = self.split[setting][0 if part == "train" else 1]
        return smp.block(block)[rows]

    def stage_fit(self) -> None:
        cfg = self.cfg
        tasks = []
        for s in cfg.settings:
            for b in self.blocks(s):
                est = cfg.fit.estimator_for(b)
                seed = task_seed(cfg.seed, "fit", s.name, b)
                est_module = ESTIMATORS[est.name].partition(":")[0]
                key = self.key(
                    "fit", self.samples_key[s.name], b, est, cfg.fit.holdout, seed, code=(est_module,)
                )
                self.fit_key[(s.name, b)] = key
                tasks.append(
                    _Task(
                        "fit",
                        f"{s.name}/{b}",
                        key,
                        _task_fit,
                        (
                            self.X(s.name, b),
                            est.name,
                            dict(est.params),
                            seed,
                            self.samples[s.name].run[self.split[s.name][0]],
                        ),
                    )
                )
        res = self.run_stage("fit", tasks)
        for (sname, b), key in list(self.fit_key.items()):
            if key not in res:  # failed: named in self.failures, left out downstream
                self.failed_blocks.add((sname, b))
                del self.fit_key[(sname, b)]
                continue
            self.models[(sname, b)] = res[key]["model"]
            info = res[key]["info"]
            self.fit_info[(sname, b)] = info
            if not info.get("converged", True):
                self.log.warning(
                    "  fit %s/%s did not converge (%s)", sname, b, "; ".join(info.get("warnings", []))
                )

    def stage_quality(self) -> None:
        cfg = self.cfg
        if not cfg.quality.enabled:
            return
        tasks, index = [], []
        for s in cfg.settings:
            for b in self.blocks(s):
                seed = task_seed(cfg.seed, "quality", s.name, b)
                key = self.key("quality", self.fit_key[(s.name, b)], cfg.quality, seed)
                X_test = self.X(s.name, b, "test")
                tasks.append(
                    _Task(
                        "quality",
                        f"{s.name}/{b}",
                        key,
                        _task_quality,
                        (
                            self.models[(s.name, b)],
                            self.X(s.name, b),
                            X_test if X_test.shape[0] >= 2 else None,
                            dataclasses.asdict(cfg.quality),
                            seed,
                        ),
                    )
                )
                index.append((s.name, b, key))
        res = self.run_stage("quality", tasks)
        index = [(s, b, k) for s, b, k in index if k in res]  # failed tasks are in self.failures
        self.quality_full = {(s, b): res[k]["quality"] for s, b, k in index}
        self._collect("fit_quality", [(s, b, res[k]["summary"]) for s, b, k in index], [k for *_, k in index])

    def _collect(
        self,
        name: str,
        parts: list[tuple[str, str, pd.DataFrame]],
        keys: list[str],
        extra: dict[str, list] | None = None,
    ) -> None:
        frames = []
        for i, (s, b, df) in enumerate(parts):
            df = df.copy()
            front = {"setting": s, "block": b}
            for col, vals in (extra or {}).items():
                front[col] = vals[i]
            for k, (col, val) in enumerate(front.items()):
                if col in df.columns:
                    df = df.drop(columns=col)
                df.insert(k, col, val)
            frames.append(df)
        self.tables[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        self.table_keys[name] = stable_hash(keys)

    def landscape_blocks(self, s: SettingConfig) -> list[str]:
        spec = self.cfg.landscape.blocks
        return self.blocks(s) if spec == "all" else [b for b in self.blocks(s) if b in spec]

    def stage_landscape(self) -> None:
        cfg = self.cfg
        lc = cfg.landscape
        if not lc.enabled:
            return
        tasks, ref_keys = [], {}
        for s in cfg.settings:
            for b in self.landscape_blocks(s):
                key = self.key("references", self.fit_key[(s.name, b)])
                ref_keys[(s.name, b)] = key
                tasks.append(
                    _Task(
                        "references",
                        f"{s.name}/{b}",
                        key,
                        _task_references,
                        (self.models[(s.name, b)], self.X(s.name, b)),
                    )
                )
        res = self.run_stage("references", tasks)
        for sb, key in ref_keys.items():
            if key not in res:  # failed: in self.failures
                continue
            info = res[key]["info"]
            self.references[sb] = (info["names"], res[key]["references"], info["energies"])
        tasks, index = [], []
        x = lc.x.values()
        for s in cfg.settings:
            for b in self.landscape_blocks(s):
                if (s.name, b) not in self.references:
                    continue
                names, R, energies = self.references[(s.name, b)]
                for r in lc.references:
                    if r not in names:
                        raise PipelineError(
                            f"choose_references gave {names}, not the configured reference {r!r}"
                        )
                    ref = R[names.index(r)]
                    key = self.key(
                        "landscape",
                        self.fit_key[(s.name, b)],
                        ref_keys[(s.name, b)],
                        r,
                        x,
                        lc.tol,
                        lc.max_iter,
                        lc.damping,
                    )
                    tasks.append(
                        _Task(
                            "landscape",
                            f"{s.name}/{b}/{r}",
                            key,
                            _task_landscape,
                            (self.models[(s.name, b)], ref, x, lc.tol, lc.max_iter, lc.damping),
                        )
                    )
                    index.append((s.name, b, r, energies[names.index(r)] / len(ref), key))
        res = self.run_stage("landscape", tasks)
        index = [row for row in index if row[-1] in res]  # failed tasks are in self.failures
        self._collect(
            "landscape",
            [(s, b, res[k]["landscape"]) for s, b, _, _, k in index],
            [k for *_, k in index],
            extra={
                "reference": [r for _, _, r, _, _ in index],
                "reference_energy": [e for *_, e, _ in index],
            },
        )
        self._transitions()

    def _transitions(self) -> None:
        from maxent.geometry.landscape import find_transitions

        frames = []
        df = self.tables["landscape"]
        if df.empty:
            df = pd.DataFrame(columns=["setting", "block", "reference", "reference_energy"])
        for (s, b, r), g in df.groupby(["setting", "block", "reference"], sort=False):
            t = find_transitions(g.drop(columns=["setting", "block", "reference", "reference_energy"]))
            if len(t):
                t = t.copy()
                t.insert(0, "reference", r)
                t.insert(0, "block", b)
                t.insert(0, "setting", s)
                frames.append(t)
        empty = find_transitions(pd.DataFrame(columns=["x", "sweep", "d", "entropy", "converged"]))
        self.tables["transitions"] = (
            pd.concat(frames, ignore_index=True)
            if frames
            else pd.DataFrame(columns=["setting", "block", "reference", *empty.columns])
        )
        self.table_keys["transitions"] = self.table_keys["landscape"]

    def clustering_blocks(self, s: SettingConfig) -> list[str]:
        spec = self.cfg.clustering.blocks
        return self.blocks(s) if spec == "all" else [b for b in self.blocks(s) if b in spec]

    def stage_clustering(self) -> None:
        cfg = self.cfg
        cc = cfg.clustering
        if not cc.enabled:
            return
        tap_tasks, tap_index, ov_tasks, ov_index = [], [], [], []
        for s in cfg.settings:
            smp = self.samples[s.name]
            rows = np.arange(smp.n_samples)
            if rows.size > cc.max_samples:
                rng = np.random.default_rng(task_seed(cfg.seed, "overlap-rows", s.name))
                rows = np.sort(rng.choice(rows, size=cc.max_samples, replace=False))
            for b in self.clustering_blocks(s):
                seed = task_seed(cfg.seed, "tap", s.name, b)
                key = self.key("tap", self.fit_key[(s.name, b)], cc.n_starts, seed)
                tap_tasks.append(
                    _Task(
                        "tap", f"{s.name}/{b}", key, _task_tap, (self.models[(s.name, b)], cc.n_starts, seed)
                    )
                )
                tap_index.append((s.name, b, key))
                key = self.key("overlap", self.samples_key[s.name], b, cc.max_samples)
                ov_tasks.append(_Task("overlap", f"{s.name}/{b}", key, _task_overlap, (smp.block(b)[rows],)))
                ov_index.append((s.name, b, key))
        res = self.run_stage("tap", tap_tasks)
        tap_index = [row for row in tap_index if row[-1] in res]
        self._collect("tap", [(s, b, res[k]["tap"]) for s, b, k in tap_index], [k for *_, k in tap_index])
        res = self.run_stage("overlap", ov_tasks)
        ov_index = [row for row in ov_index if row[-1] in res]
        self._collect(
            "overlap", [(s, b, res[k]["overlap"]) for s, b, k in ov_index], [k for *_, k in ov_index]
        )

    def stage_liquidity(self) -> None:
        cfg = self.cfg
        lc = cfg.landscape
        ref = "medium" if "medium" in lc.references else lc.references[0]
        land = self.tables.get("landscape")
        tasks, index = [], []
        for s in cfg.settings:
            layers = [b for b in s.block_names(include_full=False) if (s.name, b) in self.models]
            if not layers:
                continue
            models = {b: self.models[(s.name, b)] for b in layers}
            data = {b: self.X(s.name, b) for b in layers}
            have = land is not None and all(b in self.landscape_blocks(s) for b in layers)
            if have:
                sel = land[(land["setting"] == s.name) & (land["reference"] == ref)]
                landscapes = {
                    b: sel[sel["block"] == b]
                    .drop(columns=["setting", "block", "reference", "reference_energy"])
                    .reset_index(drop=True)
                    for b in layers
                }
                upstream = self.table_keys["landscape"]
            else:
                landscapes, upstream = None, None
            key = self.key(
                "liquidity",
                [self.fit_key[(s.name, b)] for b in layers],
                upstream,
                ref,
                lc.x,
                lc.tol,
                lc.max_iter,
                lc.damping,
                lc.liquidity_references,
            )
            acc = self.samples[s.name].accuracy[self.split[s.name][0]]
            seed = task_seed(cfg.seed, "liquidity-references", s.name)
            tasks.append(
                _Task(
                    "liquidity",
                    s.name,
                    key,
                    _task_liquidity,
                    (models, data, landscapes, ref, lc.x.values(), lc.tol, lc.max_iter, lc.damping),
                    {"n_references": lc.liquidity_references, "accuracy": acc, "seed": seed},
                )
            )
            index.append((s.name, key))
        res = self.run_stage("liquidity", tasks)
        frames = []
        for sname, key in [(sn, k) for sn, k in index if k in res]:
            df = res[key]["liquidity"].copy()
            if "setting" in df.columns:
                df = df.drop(columns="setting")
            df.insert(0, "setting", sname)
            frames.append(df)
        self.tables["liquidity"] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        self.table_keys["liquidity"] = stable_hash([k for _, k in index])

    # ------------------------------------------------------------------ outputs
    def samples_table(self) -> None:
        frames = []
        for s in self.cfg.settings:
            smp = self.samples[s.name]
            test_rows = set(self.split[s.name][1].tolist())
            frames.append(
                pd.DataFrame(
                    {
                        "setting": s.name,
                        "sample": np.arange(smp.n_samples),
                        "run": smp.run,
                        "accuracy": smp.accuracy,
                        "train_accuracy": smp.train_accuracy,
                        "held_out": [i in test_rows for i in range(smp.n_samples)],
                    }
                )
            )
        self.tables["samples"] = pd.concat(frames, ignore_index=True)
        self.table_keys["samples"] = stable_hash([self.samples_key[s.name] for s in self.cfg.settings])
        rows = []
        for (sname, b), info in self.fit_info.items():
            rows.append(
                {
                    "setting": sname,
                    "block": b,
                    "estimator": info["estimator"],
                    "n_samples": info["n_samples"],
                    "n_spins": info["n_spins"],
                    "alpha": info.get("alpha"),
                    "alpha_on_edge": info.get("alpha_on_edge", False),
                    "n_iter": info["n_iter"],
                    "converged": info["converged"],
                }
            )
        self.tables["fits"] = pd.DataFrame(rows)
        self.table_keys["fits"] = stable_hash(sorted(self.fit_key.values()))

    def write_tables(self) -> None:
        st = self.summary.stages.setdefault("tables", StageStats("tables"))
        t0 = time.perf_counter()
        for name, df in self.tables.items():
            rel = f"tables/{name}.csv"
            key = self.key("table", name, self.table_keys[name])
            st.n_tasks += 1
            if self.outputs.up_to_date(rel, key):
                st.cached += 1
                continue
            if self._protected(rel):
                continue
            self.outputs.pending(rel, key)
            atomic_write_text(self.out / rel, df.to_csv(index=False))
            self.outputs.record(rel, key)
            self._written()
            st.computed += 1
        self.outputs.save()
        st.seconds += time.perf_counter() - t0

    def write_output(self, stage: str, rel: str, key: str, writer: Callable[[Path], None]) -> None:
        st = self.summary.stages.setdefault(stage, StageStats(stage))
        st.n_tasks += 1
        if self.outputs.up_to_date(rel, key):
            st.cached += 1
            return
        if self._protected(rel):
            return
        t0 = time.perf_counter()
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        self.outputs.pending(rel, key)
        writer(path)
        self.outputs.record(rel, key)
        self._written()
        st.computed += 1
        st.seconds += time.perf_counter() - t0

    def _protected(self, rel: str) -> bool:
        """True (and logged) when ``rel`` is a file maxent did not write: it is left as it is."""
        if rel not in self.protected:
            return False
        self.log.warning("%s exists and is not a maxent output: left as it is, not written", rel)
        self.skipped_outputs.append(rel)
        return True

    def stage_figures(self) -> None:
        if not self.cfg.outputs.figures:
            return
        from maxent import report

        for rel, key, writer in report.figure_writers(self):
            try:
                self.write_output("figures", rel, key, writer)
            except Exception as exc:  # noqa: BLE001 - a broken figure must not cost the other outputs
                self.log.exception("figure %s failed (the run goes on without it)", rel)
                self.figure_failures[rel] = f"{type(exc).__name__}: {exc}"
        self.outputs.save()

    def stage_report(self) -> None:
        from maxent import report

        key = self.key(
            "report",
            sorted(self.table_keys.items()),
            config_hash(self.cfg),
            self.cfg.outputs,
            sorted(self.figure_failures.items()),
            self.failures,
            sorted(self.skipped_outputs),
        )
        self.write_output(
            "report", "report.md", key, lambda p: atomic_write_text(p, report.render_report(self))
        )
        self.outputs.save()

    def stage_exports(self) -> None:
        from maxent import formats as mio

        for (sname, b), model in self.models.items():
            info = self.fit_info[(sname, b)]
            meta = {
                "setting": sname,
                "block": b,
                "estimator": info["estimator"],
                "params": info["params"],
                "n_samples": info["n_samples"],
                "samples_file": f"samples/{sname}.npz",
                "pipeline": self.cfg.name,
                "maxent": __version__,
            }
            for fmt in self.cfg.outputs.export_formats:
                rel = f"models/{sname}/{b}{mio.FORMATS[fmt]}"
                key = self.key("export", self.fit_key[(sname, b)], fmt, meta)
                self.write_output(
                    "exports",
                    rel,
                    key,
                    lambda p, m=model, f=fmt, mt=meta: mio.export(m, p, format=f, meta=mt),
                )
        for s in self.cfg.settings:
            rel = f"samples/{s.name}.npz"
            key = self.key("export-samples", self.samples_key[s.name])
            self.write_output("exports", rel, key, lambda p, smp=self.samples[s.name]: smp.save(p))
        self.outputs.save()

    def stage_data_cards(self) -> None:
        from maxent.data_cards import render_card

        for s in self.cfg.settings:
            rel = f"data_cards/{s.name}.md"
            key = self.key("card", self.samples_key[s.name], s, self.cfg.fit.holdout)
            text = render_card(self.samples[s.name], file_name=f"samples/{s.name}.npz", setting=s)
            self.write_output("data_cards", rel, key, lambda p, t=text: atomic_write_text(p, t))
        self.outputs.save()

    # ------------------------------------------------------------------ plan
    def plan(self) -> None:
        """Fail early, before anything is trained (see :func:`plan_config`)."""
        if not self._planned:
            plan_config(self.cfg)
            self._planned = True

    def run(self) -> None:
        self.plan()
        self.stage_samples()
        self.stage_fit()
        self.stage_quality()
        self.stage_landscape()
        self.stage_clustering()
        self.stage_liquidity()
        from maxent.claims_stage import stage_claims

        stage_claims(self)
        self.samples_table()
        self.write_tables()
        self.stage_figures()
        self.stage_report()
        self.stage_exports()
        self.stage_data_cards()


def check_estimators(cfg: PipelineConfig) -> None:
    """Check every estimator of ``cfg.fit`` (names, parameters, a dry-run fit); ConfigError names
    the config key (``fit.estimator`` or ``fit.blocks.<block>``)."""
    for b, est in [("(default)", cfg.fit.estimator), *cfg.fit.blocks.items()]:
        try:
            check_estimator(est.name, est.params)
        except ConfigError as exc:
            where = "fit.estimator" if b == "(default)" else f"fit.blocks.{b}"
            raise ConfigError(f"{where}: {exc}") from None


def plan_config(cfg: PipelineConfig) -> None:
    """Fail early, before anything is trained or the output folder is claimed: estimators (names,
    parameter types and values, by a dry-run fit), data sizes, architectures. Raises ConfigError."""
    check_estimators(cfg)
    for k, s in enumerate(cfg.settings):
        if s.samples is not None:
            from maxent.data.samples import load_spins_file

            try:
                smp = load_spins_file(s.samples, s.widths)
            except (OSError, ValueError, TypeError) as exc:
                raise ConfigError(f"settings[{k}].samples: {exc}") from None
            if len(np.unique(smp.run)) < 4:
                raise ConfigError(f"settings[{k}].samples: {s.samples} holds fewer than 4 runs")
    from maxent.data import datasets

    try:
        ds = datasets.load(cfg.dataset.name, **cfg.dataset.load_kwargs())
    except (ValueError, TypeError, FileNotFoundError) as exc:
        raise ConfigError(f"dataset: {exc}") from None
    for k, s in enumerate(cfg.settings):
        if s.widths[-1] != ds.n_classes:
            raise ConfigError(
                f"settings[{k}].widths ends with {s.widths[-1]} outputs but the dataset "
                f"{cfg.dataset.name!r} has {ds.n_classes} classes"
            )
        if s.n_train is not None and cfg.dataset.name != "teacher" and s.n_train > ds.n_train:
            raise ConfigError(
                f"settings[{k}].n_train={s.n_train} exceeds the {ds.n_train} training examples "
                f"of {cfg.dataset.name!r}"
            )
        if s.regime == "under" and s.n_train is None and ds.n_train < s.n_weights:
            raise ConfigError(
                f"settings[{k}]: regime 'under' but all {ds.n_train} training examples are fewer "
                f"than the {s.n_weights} weights"
            )


@dataclass
class _TaskError:
    """What a failed task sends back instead of its items (picklable, no exception object)."""

    kind: str
    message: str
    trace: str


_WATCHDOG: list[int] = []


def _exit_with_parent() -> None:
    """In a worker process: exit as soon as the process that started it is gone.

    A run killed with SIGKILL cannot stop its loky workers; without this they would finish
    (possibly hours of) work for nobody. A daemon thread polls the parent's pid once a second
    (POSIX reparents an orphan, so ``getppid`` changes) and ends the worker with ``os._exit``.
    """
    import threading

    if _WATCHDOG:
        return
    parent = os.getppid()
    _WATCHDOG.append(parent)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(70)

    threading.Thread(target=watch, name="maxent-parent-watchdog", daemon=True).start()


def _guarded(
    fn: Callable[..., dict[str, Any]],
    args: tuple,
    kwargs: dict,
    threads: int | None,
    owner_pid: int | None = None,
) -> tuple[dict[str, Any] | _TaskError, float, float]:
    """:func:`_timed`, with an exception of the task returned as a :class:`_TaskError`.

    ``owner_pid``: the pid of the run's main process when the tasks run in local worker
    processes (loky); a worker that is not that process exits when its parent dies.
    """
    import traceback

    if owner_pid is not None and os.getpid() != owner_pid and os.getppid() == owner_pid:
        _exit_with_parent()
    t0, c0 = time.perf_counter(), time.thread_time()
    try:
        return _timed(fn, args, kwargs, threads)
    except Exception as exc:  # noqa: BLE001 - reported by the runner, with the task's name
        err = _TaskError(type(exc).__name__, " ".join(str(exc).split()), traceback.format_exc())
        return err, time.perf_counter() - t0, time.thread_time() - c0


def _timed(
    fn: Callable[..., dict[str, Any]], args: tuple, kwargs: dict, threads: int | None
) -> tuple[dict[str, Any], float, float]:
    """Run one task with at most ``threads`` BLAS/OpenMP/torch threads.

    Returns (items, wall seconds, CPU seconds of the calling thread — all of the task's work
    when it runs single-threaded).

    A fixed thread count per task keeps results independent of the backend and of n_jobs
    (multithreaded reductions may sum in another order), and avoids oversubscription (BLAS
    threads that spin while other processes hold the cores are many times slower).
    """
    t0, c0 = time.perf_counter(), time.thread_time()
    if threads is None:
        out = fn(*args, **kwargs)
    else:
        from maxent._threads import limit_threads

        with limit_threads(threads):
            out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0, time.thread_time() - c0


# ============================================================================ entry point
def run_pipeline(
    config: PipelineConfig | str | os.PathLike,
    out: str | os.PathLike,
    *,
    n_jobs: int = 1,
    backend: str = "loky",
    scheduler: str | None = None,
    force: bool = False,
    progress: bool = True,
    verbose: bool = True,
    cache_dir: str | os.PathLike | None = None,
    cluster_kwargs: dict | None = None,
    threads_per_task: int | None = 1,
) -> RunSummary:
    """Run every stage of the pipeline described by ``config`` into the folder ``out``.

    Parameters
    ----------
    config : PipelineConfig or path to a YAML file
    out : path
        Output folder (created). See the module docstring for its layout and its guard.
    n_jobs : int
        Parallel tasks per stage (joblib; -1 = all cores). Results do not depend on it.
    backend : {"loky", "dask"}
        joblib backend. "dask" runs the tasks on a dask.distributed cluster.
    scheduler : str, optional
        Address of a running dask scheduler; without it a LocalCluster is started.
    force : bool
        Replace the results of a different run found in ``out`` instead of refusing.
    progress, verbose : bool
        tqdm progress bars; log lines on stderr (the log file ``out/run.log`` is always written).
    cache_dir : path, optional
        Cache folder (default ``out/.cache``). May be shared between runs and folders.
    cluster_kwargs : dict, optional
        Extra ``LocalCluster`` arguments (e.g. ``{"processes": False}``) for backend "dask".
    threads_per_task : int or None
        BLAS/OpenMP/torch threads of each task (default 1: parallelism comes from ``n_jobs``,
        and results are identical whatever the backend). None leaves the libraries' defaults.

    Returns
    -------
    RunSummary
        Per-stage counts of cached and computed tasks, and wall times.

    Raises
    ------
    ConfigError
        Invalid config (also impossible sizes found when planning, before any training).
    OutputFolderError
        ``out`` holds another run's results (and ``force`` is false), or is in use.
    PipelineError
        A stage failed while running, or some tasks failed (each named by stage, setting and
        block; the other tasks' results, tables and report are written first, the report lists
        the failures); ``out/run.log`` has the tracebacks. Rerunning resumes.
    """
    t0 = time.perf_counter()
    cfg = config if isinstance(config, PipelineConfig) else load_config(config)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
    if backend not in ("loky", "dask"):
        raise ValueError(f"unknown backend {backend!r}; choose 'loky' or 'dask'")
    if scheduler is not None and backend != "dask":
        raise ValueError("scheduler applies to backend 'dask' only")
    if threads_per_task is not None and (
        isinstance(threads_per_task, bool) or not isinstance(threads_per_task, int) or threads_per_task < 1
    ):
        raise ValueError(f"threads_per_task must be a positive integer or None, got {threads_per_task!r}")
    out = Path(out)
    summary = RunSummary(out=out, config_hash=config_hash(cfg))
    # everything that can be checked is checked before the output folder is claimed: a config
    # error must not leave a folder that the corrected rerun then refuses
    plan_config(cfg)
    Cache(cache_dir if cache_dir is not None else out / ".cache").check_root()
    with _OutputFolder(out, cfg, force) as folder, _logging_to(out / "run.log", verbose) as log:
        log.info("maxent %s: pipeline %r (config %s) -> %s", __version__, cfg.name, summary.config_hash, out)
        log.info("n_jobs=%s backend=%s%s", n_jobs, backend, f" scheduler={scheduler}" if scheduler else "")
        folder.log_changes(log)
        cache = Cache(cache_dir if cache_dir is not None else out / ".cache", log)
        cache.ensure_root()
        n_tmp = cache.clean_partial()
        if n_tmp:
            log.info(
                "removed %d partial cache entr%s left by an interrupted run",
                n_tmp,
                "y" if n_tmp == 1 else "ies",
            )
        runner = _Runner(
            cfg,
            out,
            cache,
            log,
            n_jobs if n_jobs > 0 else (os.cpu_count() or 1),
            progress,
            summary,
            threads_per_task,
        )
        runner._planned = True
        runner.protected = set(folder.protected)
        runner.owner_pid = os.getpid() if backend == "loky" else None
        with contextlib.ExitStack() as stack:
            if threads_per_task is not None:
                from threadpoolctl import threadpool_limits

                stack.enter_context(threadpool_limits(limits=threads_per_task))
            stack.enter_context(
                _parallel(
                    backend, scheduler, n_jobs if n_jobs > 0 else (os.cpu_count() or 1), cluster_kwargs, log
                )
            )
            runner.run()
        summary.seconds = time.perf_counter() - t0
        log.info(
            "done in %.1f s: %d task(s) from cache, %d computed",
            summary.seconds,
            summary.cached,
            summary.computed,
        )
        for line in str(summary).splitlines()[1:]:
            log.info("  %s", line)
        summary.failures = list(runner.failures)
        summary.skipped_outputs = list(runner.skipped_outputs)
        if runner.failures:
            raise PipelineError(
                f"{len(runner.failures)} task(s) failed (the other results were written; report.md "
                f"lists the failures, run.log has the tracebacks; a rerun retries only these): "
                f"{runner._failure_text()}"
            )
    return summary

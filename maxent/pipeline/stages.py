"""The stages of the pipeline, each one declaration: :class:`Stage` (inputs -> tasks -> results).

A stage *plans* its tasks from the config and the results so far (one :class:`Task` per setting,
block or reference: the function to run, its arguments, and a cache key that hashes every input),
the runner serves each task from the cache or computes it, and the stage *collects* the finished
tasks into :class:`~maxent.pipeline.results.Results`. Adding a stage is one ``Stage(...)`` in
:data:`STAGES`, its task function (:mod:`maxent.pipeline.tasks`) and, if it shows something, a
report section. The library modules a stage's tasks run (``code``) are hashed into their keys,
so editing them invalidates exactly those results (:mod:`maxent.pipeline.keys`).

Stages, in order::

    samples     train n_runs networks per setting, collect their ±1 weights   (maxent.data.train)
    fit         one inverse-Ising fit per (setting, block), blocks W1..WL and "full"  (maxent.fit)
    quality     held-out checks of every fit                                  (maxent.fit.quality)
    references  low / medium / high model-energy reference configurations     (geometry.landscape)
    landscape   entropy landscape s(d) per (setting, block, reference), both sweeps
    tap         TAP states per (setting, block)                               (maxent.model.tap)
    overlap     overlap distribution P(q) of the samples per (setting, block) (geometry.clustering)
    liquidity   per-block liquidity profile per setting                       (geometry.liquid)
    claims-*    intervals, nulls and verdicts of every conclusion             (maxent.stats.claims)
    sensitivity function sensitivity of the trained networks per block     (companion.sensitivity)
    dimension   dimension of hidden layers: trained vs fitted-model networks (companion.correlated)
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from maxent.pipeline import tasks as task_fns
from maxent.pipeline.claims import CLAIM_STAGES
from maxent.pipeline.companion import COMPANION_STAGES
from maxent.pipeline.config import PipelineConfig, SettingConfig, stable_hash
from maxent.pipeline.keys import task_seed
from maxent.pipeline.stage import Done, Stage, Task, setting_table
from maxent.pipeline.summary import PipelineError

if TYPE_CHECKING:  # pragma: no cover
    from maxent.pipeline.runner import Runner

__all__ = ["STAGES", "STAGE_CODE", "OUTPUT_CODE"]


# ============================================================================ samples
def _plan_samples(run: Runner) -> list[Task]:
    cfg = run.cfg
    tasks = []
    for s in cfg.settings:
        seed = task_seed(cfg.seed, "samples", s.name)
        train = cfg.train_config(s).to_dict()
        params = {
            "dataset": cfg.dataset,
            "n_train": s.n_train,
            "train": train,
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
            from maxent.pipeline.cache import sha256_file

            params = {
                "file_sha256": sha256_file(s.samples),
                "widths": s.widths,
                "null": s.null_model,
                "seed": seed,
                "train": train,
            }
        key = run.key("samples", params)
        run.res.samples_key[s.name] = key
        dataset = {"name": cfg.dataset.name, **cfg.dataset.load_kwargs()}
        meta = {"name": s.name, "regime": s.regime, "pipeline": cfg.name}
        args = (
            dataset,
            s.n_train,
            train,
            s.n_runs,
            s.draws_per_run,
            s.gauge,
            seed,
            cfg.device,
            str(_checkpoints(run, key)),
            meta,
            s.samples,
            s.widths,
            s.null_model,
            s.min_accuracy,
        )
        tasks.append(Task("samples", (s.name,), key, task_fns._task_samples, args))
    return tasks


def _checkpoints(run: Runner, key: str):
    return run.cache.root / "checkpoints" / f"samples-{key}"


def _collect_samples(run: Runner, done: Done) -> None:
    res = run.res
    got = {t.where[0]: items for t, items in done}
    if len(got) < len(res.config.settings):
        # a setting whose samples failed is dropped from the rest of the run (it is listed
        # under the report's failures)
        kept = tuple(s for s in res.config.settings if s.name in got)
        if not kept:
            raise PipelineError(f"no setting could be sampled: {res.failure_text()}")
        res.config = dataclasses.replace(res.config, settings=kept)
    for s in res.config.settings:
        smp = res.samples[s.name] = got[s.name]["samples"]
        shutil.rmtree(_checkpoints(run, res.samples_key[s.name]), ignore_errors=True)
        run.log.info(
            "  %s: %d samples x %d spins, mean test accuracy %.3f",
            s.name,
            smp.n_samples,
            smp.n_spins,
            smp.accuracy.mean(),
        )
        res.split[s.name] = _split(res.config, s, smp)


def _split(cfg: PipelineConfig, s: SettingConfig, smp) -> tuple[np.ndarray, np.ndarray]:
    """Rows used for fitting and rows held out (all draws of a held-out run go together).

    Runs are drawn among those present in the samples (after an accuracy filter some runs
    may have no network left); without a filter these are 0..n_runs-1.
    """
    present = np.unique(smp.run)
    n_hold = int(round(cfg.fit.holdout * present.size))
    rng = np.random.default_rng(task_seed(cfg.seed, "holdout", s.name))
    held = np.sort(rng.choice(present, size=n_hold, replace=False)) if n_hold else np.array([], int)
    is_test = np.isin(smp.run, held)
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


# ============================================================================ fit
def _plan_fit(run: Runner) -> list[Task]:
    from maxent.fit.registry import ESTIMATORS

    cfg, res = run.cfg, run.res
    tasks = []
    for s in cfg.settings:
        for b in res.blocks(s):
            est = cfg.fit.estimator_for(b)
            seed = task_seed(cfg.seed, "fit", s.name, b)
            est_module = ESTIMATORS[est.name].partition(":")[0]
            key = run.key("fit", res.samples_key[s.name], b, est, cfg.fit.holdout, seed, code=(est_module,))
            res.fit_key[(s.name, b)] = key
            args = (res.X(s.name, b), est.name, dict(est.params), seed, res.runs(s.name))
            tasks.append(Task("fit", (s.name, b), key, task_fns._task_fit, args))
    return tasks


def _collect_fit(run: Runner, done: Done) -> None:
    res = run.res
    got = {t.where: items for t, items in done}
    for sb in list(res.fit_key):
        if sb not in got:  # failed: named in res.failures, left out downstream
            res.failed_blocks.add(sb)
            del res.fit_key[sb]
            continue
        res.models[sb] = got[sb]["model"]
        info = res.fit_info[sb] = got[sb]["info"]
        if not info.get("converged", True):
            run.log.warning("  fit %s/%s did not converge (%s)", *sb, "; ".join(info.get("warnings", [])))


# ============================================================================ quality
def _plan_quality(run: Runner) -> list[Task]:
    cfg, res = run.cfg, run.res
    tasks = []
    for s in cfg.settings:
        for b in res.blocks(s):
            seed = task_seed(cfg.seed, "quality", s.name, b)
            key = run.key("quality", res.fit_key[(s.name, b)], cfg.quality, seed)
            X_test = res.X(s.name, b, "test")
            args = (
                res.models[(s.name, b)],
                res.X(s.name, b),
                X_test if X_test.shape[0] >= 2 else None,
                dataclasses.asdict(cfg.quality),
                seed,
            )
            tasks.append(Task("quality", (s.name, b), key, task_fns._task_quality, args))
    return tasks


def _collect_quality(run: Runner, done: Done) -> None:
    run.res.quality_full = {t.where: items["quality"] for t, items in done}
    collect_table(run, "fit_quality", [(t, items["summary"]) for t, items in done])


def collect_table(run: Runner, name: str, parts: list[tuple[Task, pd.DataFrame]], columns=()) -> None:
    """Concatenate the per-task frames of a table, each led by its ``where`` columns (setting,
    block, then ``columns`` taken from the tasks' ``extra``); the table's key hashes the tasks'."""
    frames = []
    for t, df in parts:
        df = df.copy()
        front = {"setting": t.where[0], "block": t.where[1], **{c: t.extra[c] for c in columns}}
        for k, (col, val) in enumerate(front.items()):
            if col in df.columns:
                df = df.drop(columns=col)
            df.insert(k, col, val)
        frames.append(df)
    run.res.tables[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    run.res.table_keys[name] = stable_hash([t.key for t, _ in parts])


# ============================================================================ landscape
def selected_blocks(run: Runner, s: SettingConfig, spec: str | tuple) -> list[str]:
    """Blocks of ``s`` named by a stage's ``blocks`` option ("all" or a list), fit not failed."""
    return run.res.blocks(s) if spec == "all" else [b for b in run.res.blocks(s) if b in spec]


def _plan_references(run: Runner) -> list[Task]:
    res = run.res
    tasks = []
    for s in run.cfg.settings:
        for b in selected_blocks(run, s, run.cfg.landscape.blocks):
            key = run.key("references", res.fit_key[(s.name, b)])
            args = (res.models[(s.name, b)], res.X(s.name, b))
            tasks.append(Task("references", (s.name, b), key, task_fns._task_references, args))
    return tasks


def _collect_references(run: Runner, done: Done) -> None:
    for t, items in done:
        info = items["info"]
        run.res.references[t.where] = (info["names"], items["references"], info["energies"])
        run.res.reference_keys[t.where] = t.key


def _plan_landscape(run: Runner) -> list[Task]:
    lc, res = run.cfg.landscape, run.res
    x = lc.x.values()
    tasks = []
    for s in run.cfg.settings:
        for b in selected_blocks(run, s, lc.blocks):
            if (s.name, b) not in res.references:
                continue
            names, R, energies = res.references[(s.name, b)]
            ref_key = res.reference_keys[(s.name, b)]
            for r in lc.references:
                if r not in names:
                    raise PipelineError(f"choose_references gave {names}, not the configured reference {r!r}")
                ref = R[names.index(r)]
                key = run.key(
                    "landscape", res.fit_key[(s.name, b)], ref_key, r, x, lc.tol, lc.max_iter, lc.damping
                )
                args = (res.models[(s.name, b)], ref, x, lc.tol, lc.max_iter, lc.damping)
                extra = {"reference": r, "reference_energy": energies[names.index(r)] / len(ref)}
                tasks.append(
                    Task("landscape", (s.name, b, r), key, task_fns._task_landscape, args, extra=extra)
                )
    return tasks


def _collect_landscape(run: Runner, done: Done) -> None:
    parts = [(t, items["landscape"]) for t, items in done]
    collect_table(run, "landscape", parts, columns=("reference", "reference_energy"))
    _transitions(run)


def _transitions(run: Runner) -> None:
    """``transitions``: first-order jumps of every landscape (geometry.landscape.find_transitions)."""
    from maxent.geometry.landscape import find_transitions

    tables = run.res.tables
    frames = []
    df = tables["landscape"]
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
    tables["transitions"] = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=["setting", "block", "reference", *empty.columns])
    )
    run.res.table_keys["transitions"] = run.res.table_keys["landscape"]


# ============================================================================ clustering
def _plan_tap(run: Runner) -> list[Task]:
    cc, res = run.cfg.clustering, run.res
    tasks = []
    for s in run.cfg.settings:
        for b in selected_blocks(run, s, cc.blocks):
            seed = task_seed(run.cfg.seed, "tap", s.name, b)
            key = run.key("tap", res.fit_key[(s.name, b)], cc.n_starts, seed)
            args = (res.models[(s.name, b)], cc.n_starts, seed)
            tasks.append(Task("tap", (s.name, b), key, task_fns._task_tap, args))
    return tasks


def _plan_overlap(run: Runner) -> list[Task]:
    cc, res = run.cfg.clustering, run.res
    tasks = []
    for s in run.cfg.settings:
        smp = res.samples[s.name]
        rows = np.arange(smp.n_samples)
        if rows.size > cc.max_samples:
            rng = np.random.default_rng(task_seed(run.cfg.seed, "overlap-rows", s.name))
            rows = np.sort(rng.choice(rows, size=cc.max_samples, replace=False))
        for b in selected_blocks(run, s, cc.blocks):
            key = run.key("overlap", res.samples_key[s.name], b, cc.max_samples)
            tasks.append(Task("overlap", (s.name, b), key, task_fns._task_overlap, (smp.block(b)[rows],)))
    return tasks


# ============================================================================ liquidity
def _plan_liquidity(run: Runner) -> list[Task]:
    cfg, res = run.cfg, run.res
    lc = cfg.landscape
    ref = "medium" if "medium" in lc.references else lc.references[0]
    land = res.tables.get("landscape")
    tasks = []
    for s in cfg.settings:
        layers = [b for b in s.block_names(include_full=False) if (s.name, b) in res.models]
        if not layers:
            continue
        models = {b: res.models[(s.name, b)] for b in layers}
        data = {b: res.X(s.name, b) for b in layers}
        landscapes, upstream = None, None
        if land is not None and all(b in selected_blocks(run, s, lc.blocks) for b in layers):
            sel = land[(land["setting"] == s.name) & (land["reference"] == ref)]
            landscapes = {
                b: sel[sel["block"] == b]
                .drop(columns=["setting", "block", "reference", "reference_energy"])
                .reset_index(drop=True)
                for b in layers
            }
            upstream = res.table_keys["landscape"]
        fit_keys = [res.fit_key[(s.name, b)] for b in layers]
        x_spec = (lc.x, lc.tol, lc.max_iter, lc.damping, lc.liquidity_references)
        key = run.key("liquidity", fit_keys, upstream, ref, *x_spec)
        kwargs = {
            "n_references": lc.liquidity_references,
            "accuracy": res.samples[s.name].accuracy[res.split[s.name][0]],
            "seed": task_seed(cfg.seed, "liquidity-references", s.name),
        }
        args = (models, data, landscapes, ref, lc.x.values(), lc.tol, lc.max_iter, lc.damping)
        tasks.append(Task("liquidity", (s.name,), key, task_fns._task_liquidity, args, kwargs))
    return tasks


def _collect_liquidity(run: Runner, done: Done) -> None:
    run.res.tables["liquidity"] = setting_table([(t, items["liquidity"]) for t, items in done])
    run.res.table_keys["liquidity"] = stable_hash([t.key for t, _ in done])


def _table_of(name: str) -> Callable[[Runner, Done], None]:
    def collect(run: Runner, done: Done) -> None:
        collect_table(run, name, [(t, items[name]) for t, items in done])

    return collect


def _core_stages() -> tuple[Stage, ...]:
    landscape_on: Callable[[PipelineConfig], bool] = lambda cfg: cfg.landscape.enabled  # noqa: E731
    clustering_on: Callable[[PipelineConfig], bool] = lambda cfg: cfg.clustering.enabled  # noqa: E731
    return (
        Stage("samples", ("maxent.data.train", "maxent.data.datasets"), _plan_samples, _collect_samples),
        Stage("fit", (), _plan_fit, _collect_fit),
        Stage(
            "quality", ("maxent.fit.quality",), _plan_quality, _collect_quality, lambda c: c.quality.enabled
        ),
        Stage(
            "references", ("maxent.geometry.landscape",), _plan_references, _collect_references, landscape_on
        ),
        Stage("landscape", ("maxent.geometry.landscape",), _plan_landscape, _collect_landscape, landscape_on),
        Stage("tap", ("maxent.model.tap",), _plan_tap, _table_of("tap"), clustering_on),
        Stage("overlap", ("maxent.geometry.clustering",), _plan_overlap, _table_of("overlap"), clustering_on),
        Stage("liquidity", ("maxent.geometry.liquid",), _plan_liquidity, _collect_liquidity),
    )


#: every stage, in the order they run
STAGES: tuple[Stage, ...] = (*_core_stages(), *CLAIM_STAGES, *COMPANION_STAGES)

#: code of the outputs written after the stages (figures, report, cards, exports, tables)
OUTPUT_CODE: dict[str, tuple[str, ...]] = {
    "figure": ("maxent.plots", "maxent.pipeline.report", "maxent.fit.quality"),
    "report": ("maxent.pipeline.report",),
    "card": ("maxent.pipeline.cards",),
    "export": ("maxent.formats",),
    "export-samples": ("maxent.data.samples",),
    "table": (),
}

#: library modules whose code determines each stage's (and output's) results
STAGE_CODE: dict[str, tuple[str, ...]] = {**{s.name: s.code for s in STAGES}, **OUTPUT_CODE}

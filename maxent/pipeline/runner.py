"""The runner: serves each task from the cache or computes it, stage after stage."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from maxent import __version__
from maxent._atomic import atomic_write_text
from maxent.data.samples import WeightSamples
from maxent.model.ising import IsingModel
from maxent.pipeline import tasks as task_fns
from maxent.pipeline.cache import Cache, OutputManifest
from maxent.pipeline.config import (
    ESTIMATORS,
    PipelineConfig,
    SettingConfig,
    config_hash,
    stable_hash,
)
from maxent.pipeline.keys import PIPELINE_LOGIC_VERSION, code_fingerprint, task_seed
from maxent.pipeline.outdir import _STATE_DIR
from maxent.pipeline.parallel import _guarded, _TaskError
from maxent.pipeline.plan import plan_config
from maxent.pipeline.summary import PipelineError, RunSummary, StageStats


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
                from maxent.pipeline.cache import sha256_file

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
                    task_fns._task_samples,
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
                        task_fns._task_fit,
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
                        task_fns._task_quality,
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
                        task_fns._task_references,
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
                            task_fns._task_landscape,
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
                        "tap",
                        f"{s.name}/{b}",
                        key,
                        task_fns._task_tap,
                        (self.models[(s.name, b)], cc.n_starts, seed),
                    )
                )
                tap_index.append((s.name, b, key))
                key = self.key("overlap", self.samples_key[s.name], b, cc.max_samples)
                ov_tasks.append(
                    _Task("overlap", f"{s.name}/{b}", key, task_fns._task_overlap, (smp.block(b)[rows],))
                )
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
                    task_fns._task_liquidity,
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
        from maxent.pipeline import report

        for rel, key, writer in report.figure_writers(self):
            try:
                self.write_output("figures", rel, key, writer)
            except Exception as exc:  # noqa: BLE001 - a broken figure must not cost the other outputs
                self.log.exception("figure %s failed (the run goes on without it)", rel)
                self.figure_failures[rel] = f"{type(exc).__name__}: {exc}"
        self.outputs.save()

    def stage_report(self) -> None:
        from maxent.pipeline import report

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
        from maxent.pipeline.cards import render_card

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
        from maxent.pipeline.claims import stage_claims

        stage_claims(self)
        self.samples_table()
        self.write_tables()
        self.stage_figures()
        self.stage_report()
        self.stage_exports()
        self.stage_data_cards()

"""The runner: serves each task of a stage from the cache or computes it, stage after stage.

Generic: what a stage does is declared in :mod:`maxent.pipeline.stages`; what is written after
the stages in :mod:`maxent.pipeline.outputs`. The runner owns the cache, the parallel backend's
tasks, the bookkeeping of written outputs and the run's :class:`Results`.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from maxent import __version__
from maxent.pipeline.cache import Cache, OutputManifest
from maxent.pipeline.config import PipelineConfig, config_hash, stable_hash
from maxent.pipeline.keys import PIPELINE_LOGIC_VERSION, code_fingerprint
from maxent.pipeline.outdir import _STATE_DIR
from maxent.pipeline.parallel import _guarded, _TaskError
from maxent.pipeline.results import Results
from maxent.pipeline.stage import Done, Task
from maxent.pipeline.summary import PipelineError, RunSummary, StageStats

__all__ = ["Runner"]


class Runner:
    """Runs the stages of ``config`` into ``out``, serving tasks from ``cache`` when it can.

    ``res`` (:class:`Results`) fills stage by stage; ``summary`` counts cached and computed
    tasks per stage; ``protected`` (set by the folder guard) lists output paths holding files
    maxent did not write, which are never replaced.
    """

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
        self.res = Results(config=config, config_hash=config_hash(config))
        self.threads = threads
        self.out = out
        self.cache = cache
        self.log = log
        self.n_jobs = n_jobs
        self.progress = progress
        self.summary = summary
        self.outputs = OutputManifest(out, out / _STATE_DIR / "outputs.json")
        self.cache_keys_by_stage: dict[str, list[str]] = {}
        self.protected: set[str] = set()
        # pid of this process when tasks run in local loky workers (they exit if it dies)
        self.owner_pid: int | None = None
        # fault injection for the kill-and-resume tests: SIGKILL this process right after the
        # N-th durable write (cache entry or output file) when MAXENT_FAULT_AFTER_WRITES=N
        self._writes = 0
        self._fault_after = int(os.environ.get("MAXENT_FAULT_AFTER_WRITES", "0") or 0)

    @property
    def cfg(self) -> PipelineConfig:
        """The config of the run (settings whose samples failed are dropped)."""
        return self.res.config

    def _written(self) -> None:
        self._writes += 1
        if self._fault_after and self._writes >= self._fault_after:
            import signal

            self.log.info("fault injection: SIGKILL after %d writes", self._writes)
            os.kill(os.getpid(), signal.SIGKILL)

    def run_stage(self, stage: str, tasks: Sequence[Task]) -> Done:
        """Serve each task from the cache or compute it (in parallel).

        Returns (task, items) of every task that did not fail, in the order planned; a failing
        task is recorded in ``res.failures`` (named, with its error) and the others go on.
        """
        from joblib import Parallel, delayed
        from tqdm.auto import tqdm

        st = self.summary.stages.setdefault(stage, StageStats(stage))
        self.cache_keys_by_stage.setdefault(stage, []).extend(t.key for t in tasks)
        t0 = time.perf_counter()
        results: dict[str, dict[str, Any]] = {}
        todo: list[Task] = []
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
                        self.res.failures.append(
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
        return [(t, results[t.key]) for t in tasks if t.key in results]

    def key(self, stage: str, *parts: object, code: tuple[str, ...] = ()) -> str:
        """Cache key of a task of ``stage`` with inputs ``parts`` (and extra ``code`` modules)."""
        from maxent.pipeline.stages import STAGE_CODE

        return stable_hash(
            {
                "stage": stage,
                "code": code_fingerprint(STAGE_CODE.get(stage, ()) + tuple(code)),
                "logic": PIPELINE_LOGIC_VERSION,
                "parts": list(parts),
            }
        )

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
        self.res.skipped_outputs.append(rel)
        return True

    def run(self) -> None:
        """Every stage, then the outputs (tables, figures, report, exports, data cards)."""
        from maxent.pipeline import outputs
        from maxent.pipeline.stages import STAGES

        for stage in STAGES:
            stage.run(self)
        outputs.write_all(self)

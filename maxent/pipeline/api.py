"""The entry point: :func:`run_pipeline` (config -> OUT)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from maxent import __version__
from maxent.pipeline.cache import Cache
from maxent.pipeline.config import (
    PipelineConfig,
    config_hash,
    load_config,
)
from maxent.pipeline.outdir import _logging_to, _OutputFolder
from maxent.pipeline.parallel import _parallel
from maxent.pipeline.plan import plan_config
from maxent.pipeline.runner import Runner
from maxent.pipeline.summary import PipelineError, RunSummary

__all__ = ["run_pipeline"]


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
        runner = Runner(
            cfg,
            out,
            cache,
            log,
            n_jobs if n_jobs > 0 else (os.cpu_count() or 1),
            progress,
            summary,
            threads_per_task,
        )
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
        summary.failures = list(runner.res.failures)
        summary.skipped_outputs = list(runner.res.skipped_outputs)
        if runner.res.failures:
            raise PipelineError(
                f"{len(runner.res.failures)} task(s) failed (the other results were written; report.md "
                f"lists the failures, run.log has the tracebacks; a rerun retries only these): "
                f"{runner.res.failure_text()}"
            )
    return summary

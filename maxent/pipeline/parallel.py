"""Running tasks: joblib (loky) or dask.distributed, thread limits, failures sent back as values."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


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

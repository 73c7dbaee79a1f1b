"""Thread limits for small dense linear algebra (private helpers shared by the library).

Multithreaded BLAS pays a fork/join (and, on a busy or shared CPU, a spin-wait) per call. For the
small products of this library (N below a few hundred spins: moments of samples, the chunks of
exact enumeration, BP sweeps) that overhead dominates: measured 5-50x slower with 2 threads than
with 1 on a loaded 2-core machine. These helpers limit BLAS to one thread for the duration of a
block and restore the previous setting afterwards. The limit is process-wide (threadpoolctl sets
the library's thread count), so it also applies to other Python threads while the block runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = [
    "single_thread_blas",
    "single_thread_if_small",
    "torch_threads",
    "limit_threads",
    "SMALL_PROBLEM_SPINS",
    "MIN_THREADED_WORK",
]

#: problems with fewer spins than this run their BLAS work single-threaded
SMALL_PROBLEM_SPINS = 256
#: below this much work (~flops) OpenBLAS uses one thread by itself (its GEMM threshold 4 * 65536)
MIN_THREADED_WORK = 1 << 18

_CONTROLLER: Any = None


def _controller() -> Any:
    """A cached threadpoolctl controller (building one scans the loaded libraries: ~ms)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


@contextlib.contextmanager
def single_thread_blas() -> Iterator[None]:
    """Limit BLAS to one thread inside the block (cheap: a cached threadpoolctl controller).

    The BP hot loop calls BLAS only for level-1/2 work on N^2 elements (dot products, the
    warm-start combination), where threads bring nothing and, on a busy machine, cost up to
    an order of magnitude or more in spin-waiting.
    """
    with _controller().limit(limits=1, user_api="blas"):
        yield


@contextlib.contextmanager
def single_thread_if_small(
    n_spins: int, work: float = float("inf"), threshold: int = SMALL_PROBLEM_SPINS
) -> Iterator[None]:
    """Limit BLAS to one thread inside the block for a small problem; else do nothing.

    The limit applies when ``n_spins < threshold`` and ``work`` (about the flop count of the
    block, e.g. M N^2 for X^T X) is at least ``MIN_THREADED_WORK``: below that OpenBLAS runs
    single-threaded anyway, and entering the limit (~10 us) would be pure overhead.
    For numpy work only (torch keeps its own thread pool, set with ``torch.set_num_threads``).
    """
    if n_spins < threshold and work >= MIN_THREADED_WORK:
        with single_thread_blas():
            yield
    else:
        yield


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op thread count (None: leave it unchanged).

    On a machine shared by more processes than cores, multi-threaded small operations stall on
    thread barriers (tens of milliseconds each); one thread is then much faster.
    """
    if n_threads is None:
        yield
        return
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


@contextlib.contextmanager
def limit_threads(n_threads: int) -> Iterator[None]:
    """Limit both torch and BLAS (threadpoolctl) to ``n_threads`` inside the block."""
    from threadpoolctl import threadpool_limits

    with torch_threads(n_threads), threadpool_limits(limits=int(n_threads)):
        yield

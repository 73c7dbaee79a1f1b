"""Benchmark: the batched ensemble trainer against a plain loop of single-run training.

For R = 1, 8, 64, 256 runs of the deep 20-15-15-10 LR-net on digits (1437 examples, batch 200,
``--epochs`` epochs = 8 steps each), measured in one process:

* **batched**: ``maxent.train.train_runs(run_ids=range(R))`` -- all R runs as one tensor program;
* **loop**: ``for r in range(R): train_runs(run_ids=[r])`` -- the same code, one run at a time
  (what a user would write around a single-run trainer).

Both give identical parameters (checked: bit for bit on CPU). The table reports the per-run
cost (seconds per run, wall and process CPU time), the speed-up loop/batched, and the achieved
matmul throughput of the batched trainer: the FLOPs of its batched products (forward mean and
variance products, their weight gradients, and the input gradients of layers 2..L; 2 B n_in
n_out each per run and step) divided by the time, against the machine's sgemm peak measured
here with ``torch.mm`` on 4096 x 4096 float32 matrices (same thread count, and all threads).
Elementwise work (counter-based noise, activations, Adam) is not counted, so the GFLOP/s
figure understates the work done; it shows how far these narrow layers are from BLAS peak.

Threads: ``--threads 1`` by default. The machine has 2 cores shared with other jobs; torch's
OpenMP parallel regions stall badly when cores are oversubscribed (tens of times slower per
op), so single-threaded numbers are the reproducible ones. The 1-minute load average before and
after is recorded. torch uses MKL here (not OpenBLAS), so OPENBLAS_CORETYPE (see
/work/.library/env/README.md) does not affect these timings; its value is recorded anyway.

Run:  .venv/bin/python benchmarks/bench_trainer.py   (writes benchmarks/results/trainer.{json,md})
      --quick for a smoke run (R = 1, 8; 1 epoch).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maxent import datasets  # noqa: E402
from maxent._atomic import atomic_write_text  # noqa: E402
from maxent.train import TrainConfig, train_runs  # noqa: E402


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(t0: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - t0[0], cpu - t0[1]


def sgemm_peak(threads: int, n: int = 4096, repeats: int = 3) -> float:
    """Best GFLOP/s of torch.mm on n x n float32 matrices with ``threads`` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        g = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=g)
        b = torch.randn(n, n, generator=g)
        torch.mm(a, b)
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - t)
        return 2 * n**3 / best / 1e9
    finally:
        torch.set_num_threads(before)


def matmul_flops_per_run(config: TrainConfig, n_train: int) -> float:
    """FLOPs of the batched products of one run over its whole training (see the docstring)."""
    per_example = 0.0  # every product scales with the number of examples in the minibatch
    for layer, (n_in, n_out) in enumerate(zip(config.widths[:-1], config.widths[1:], strict=True)):
        products = 2 + 2 + (2 if layer > 0 else 0)  # forward (mean, var), weight grads, input grads
        per_example += products * 2 * n_in * n_out
    return per_example * n_train * config.epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="1,8,64,256", help="comma-separated R values")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="batched timings: best of this many")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="R = 1, 8 and 1 epoch (smoke run)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    Rs = [1, 8] if args.quick else [int(r) for r in args.runs.split(",")]
    epochs = 1 if args.quick else args.epochs
    torch.set_num_threads(args.threads)

    load_before = os.getloadavg()[0]
    ds = datasets.load("digits")
    config = TrainConfig(widths=(20, 15, 15, 10), epochs=epochs)
    flops_run = matmul_flops_per_run(config, ds.n_train)
    train_runs(ds, config, run_ids=[0])  # warm-up (allocator, MKL init)

    peak_threads = sgemm_peak(args.threads)
    rows = []
    for R in Rs:
        best = (float("inf"), float("inf"))
        batched = None
        for _ in range(args.repeats):
            t0 = _clock()
            batched = train_runs(ds, config, run_ids=range(R), seed=0)
            wall, cpu = _since(t0)
            best = (min(best[0], wall), min(best[1], cpu))
        t0 = _clock()
        single = [train_runs(ds, config, run_ids=[r], seed=0).params for r in range(R)]
        loop_wall, loop_cpu = _since(t0)
        identical = bool(torch.equal(batched.params, torch.cat(single)))
        rows.append(
            {
                "R": R,
                "batched_wall_s": best[0],
                "batched_cpu_s": best[1],
                "loop_wall_s": loop_wall,
                "loop_cpu_s": loop_cpu,
                "batched_per_run_ms": 1e3 * best[0] / R,
                "loop_per_run_ms": 1e3 * loop_wall / R,
                "speedup_wall": loop_wall / best[0],
                "speedup_cpu": loop_cpu / best[1],
                "batched_matmul_gflops": flops_run * R / best[0] / 1e9,
                "loop_matmul_gflops": flops_run * R / loop_wall / 1e9,
                "identical_params": identical,
            }
        )
        print(
            f"R={R:4d}: batched {1e3 * best[0] / R:8.2f} ms/run, loop {1e3 * loop_wall / R:8.2f} ms/run, "
            f"speed-up {loop_wall / best[0]:5.1f}x wall / {loop_cpu / best[1]:5.1f}x CPU, "
            f"{flops_run * R / best[0] / 1e9:6.2f} GFLOP/s, identical={identical}",
            flush=True,
        )
    load_after = os.getloadavg()[0]
    # measured last: a larger OpenMP pool left behind would spin and perturb the timings above
    peak_all = sgemm_peak(os.cpu_count() or 1)

    result = {
        "benchmark": "batched ensemble trainer vs loop of single runs",
        "workload": {
            "dataset": "digits (1437 train, PCA 20)",
            "config": config.to_dict(),
            "steps_per_run": epochs * -(-ds.n_train // config.batch_size),
            "matmul_flops_per_run": flops_run,
        },
        "threads": args.threads,
        "sgemm_peak_gflops": {"threads_used": peak_threads, "all_threads": peak_all, "n": 4096},
        "rows": rows,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor(),
            "load_1min_before": load_before,
            "load_1min_after": load_after,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "blas": "MKL" if torch.backends.mkl.is_available() else "other",
        },
    }
    out = Path(args.out)
    suffix = "_quick" if args.quick else ""
    atomic_write_text(out / f"trainer{suffix}.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(out / f"trainer{suffix}.md", render(result))
    print(render(result))


def render(result: dict) -> str:
    w = result["workload"]
    peak = result["sgemm_peak_gflops"]
    m = result["machine"]
    lines = [
        "# Batched ensemble trainer benchmark",
        "",
        f"Deep 20-15-15-10 LR-net on digits, {w['steps_per_run']} steps of batch "
        f"{w['config']['batch_size']} per run; {result['threads']} torch thread(s); "
        f"{m['cpu_count']} cores, 1-min load {m['load_1min_before']:.1f} -> {m['load_1min_after']:.1f}.",
        f"sgemm peak (torch.mm 4096², float32): {peak['threads_used']:.1f} GFLOP/s with "
        f"{result['threads']} thread(s), {peak['all_threads']:.1f} GFLOP/s with all threads.",
        "",
        "| R | batched ms/run | loop ms/run | speed-up (wall) | speed-up (CPU) | batched matmul GFLOP/s "
        "| % of sgemm peak | same params |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['R']} | {r['batched_per_run_ms']:.1f} | {r['loop_per_run_ms']:.1f} | "
            f"{r['speedup_wall']:.1f}x | {r['speedup_cpu']:.1f}x | {r['batched_matmul_gflops']:.2f} | "
            f"{100 * r['batched_matmul_gflops'] / peak['threads_used']:.1f}% | {r['identical_params']} |"
        )
    lines += [
        "",
        "Per-run cost = time / R (batched: best of repeats; loop: one pass over R single-run trainings).",
        "GFLOP/s counts only the batched matrix products (see benchmarks/bench_trainer.py).",
        "",
        "Reproduce: `.venv/bin/python benchmarks/bench_trainer.py`",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

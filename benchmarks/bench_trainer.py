"""Benchmark: the ensemble trainer, now vs before (same run), batched vs one run at a time.

Workload: R = 1, 8, 64, 256 runs of the deep 20-15-15-10 LR-net on digits (1437 examples, batch
200, ``--epochs`` epochs = 8 steps each). Variants, each timed in its own fresh subprocess (so
one variant's allocator state cannot help or hurt another's):

* **new batched**: ``maxent.data.train.train_runs(run_ids=range(R))``;
* **old batched**: the trainer step before the heap fix, kept verbatim in
  ``benchmarks/_trainer_baseline.py`` (same layer, loss, noise, minibatches and Adam);
* **old loop** / **new loop**: ``for r in range(R): train_runs(run_ids=[r])`` (R <= 64; what a
  user would write around a single-run trainer).

Per-run-step cost = batched wall time / (R x steps). Results: the parameters of the new and old
batched trainers and of the loops are compared bit for bit (sha256 of the float32 bytes).
Matmul throughput: the FLOPs of the batched products (forward mean and variance products,
their weight gradients, and the input gradients of layers 2..L; 2 B n_in n_out each per run and
step) divided by the time, against the machine's sgemm peak measured here (torch.mm on 4096 x
4096 float32, same thread count). Elementwise work (counter-based noise, activations, Adam)
is not counted, so the GFLOP/s figure understates the work done.

Threads: ``--threads 1`` by default (the machine has 2 cores shared with other jobs; torch's
OpenMP regions stall when cores are oversubscribed). The 1-minute load average before and after
is recorded; ratios are measured in the same run, so shared load mostly cancels.

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

from maxent._atomic import atomic_write_text  # noqa: E402
from maxent.data import datasets  # noqa: E402
from maxent.data.train import TrainConfig, train_runs  # noqa: E402


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


def _worker(variant: str, R: int, epochs: int, repeats: int, threads: int) -> dict:
    """Time one variant in this (fresh) process; returns timings and a hash of the parameters."""
    import hashlib

    torch.set_num_threads(threads)
    ds = datasets.load("digits")
    config = TrainConfig(widths=(20, 15, 15, 10), epochs=epochs)
    if variant.startswith("old"):
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from _trainer_baseline import train_runs as old_train

        fn = lambda ids: old_train(ds, config, run_ids=ids, seed=0)  # noqa: E731
    else:
        fn = lambda ids: train_runs(ds, config, run_ids=ids, seed=0).params  # noqa: E731
    fn([0])  # warm-up (allocator, MKL init)
    best = (float("inf"), float("inf"))
    for _ in range(repeats if variant.endswith("batched") else 1):
        t0 = _clock()
        if variant.endswith("batched"):
            params = fn(list(range(R)))
        else:
            params = torch.cat([fn([r]) for r in range(R)])
        wall, cpu = _since(t0)
        best = (min(best[0], wall), min(best[1], cpu))
    digest = hashlib.sha256(params.contiguous().numpy().tobytes()).hexdigest()
    return {"wall_s": best[0], "cpu_s": best[1], "params_sha256": digest}


def _components(R: int, threads: int, repeats: int = 20) -> dict:
    """Per-run-step time of the pieces of one training step at R runs (digits batch of 200).

    * ``step``: the whole step (forward, backward, Adam) as ``train_runs`` does it;
    * ``products``: only its 16 batched products (per layer: forward mean and variance, the two
      weight-gradient products, and the two input-gradient products of layers 2..L), with the
      step's shapes, as ``torch.bmm`` calls on preallocated tensors;
    * ``noise``: only the counter-based normal numbers of one step (n_1 + ... + n_L rows of B).

    ``products + noise`` is what a step would cost if every elementwise pass were free (perfect
    fusion) while the products stay torch's and the random stream stays the same: step / (products
    + noise) bounds what fusing the rest can gain.
    """
    from maxent.data import _counter_rng as crng

    torch.set_num_threads(threads)
    widths, B = (20, 15, 15, 10), 200
    g = torch.Generator().manual_seed(0)
    shapes = list(zip(widths[:-1], widths[1:], strict=True))
    W = [torch.randn(R, o, i, generator=g) for i, o in shapes]
    A = [torch.randn(R, i, B, generator=g) for i, _ in shapes]
    G = [torch.randn(R, o, B, generator=g) for _, o in shapes]

    def products() -> None:
        for layer, (w, a, gz) in enumerate(zip(W, A, G, strict=True)):
            torch.bmm(w, a)  # mean
            torch.bmm(w, a)  # variance (same shapes)
            torch.bmm(gz, a.transpose(1, 2))  # weight gradients, two products
            torch.bmm(gz, a.transpose(1, 2))
            if layer:
                torch.bmm(w.transpose(1, 2), gz)  # input gradients, two products
                torch.bmm(w.transpose(1, 2), gz)

    keys = crng.run_keys(0, torch.arange(R))

    def noise() -> None:
        offset = 0
        for _, o in shapes:
            crng.normal(keys, (o, B), offset=offset * B)
            offset += o

    def timed(fn) -> float:
        fn()
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        return 1e6 * best / R

    ds = datasets.load("digits")
    config = TrainConfig(widths=widths, epochs=1)
    steps = -(-ds.n_train // config.batch_size)
    train_runs(ds, config, run_ids=list(range(R)), seed=0)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        train_runs(ds, config, run_ids=list(range(R)), seed=0)
        best = min(best, time.perf_counter() - t)
    return {"step_us": 1e6 * best / (R * steps), "products_us": timed(products), "noise_us": timed(noise)}


def _run_worker(variant: str, R: int, args) -> dict:
    import subprocess

    cmd = [sys.executable, __file__, "--worker", variant, "--runs", str(R), "--epochs", str(args.epochs)]
    cmd += ["--repeats", str(args.repeats), "--threads", str(args.threads)]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="1,8,64,256", help="comma-separated R values")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3, help="batched timings: best of this many")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--loop-max", type=int, default=64, help="loops of single runs up to this R")
    parser.add_argument("--quick", action="store_true", help="R = 1, 8 and 1 epoch (smoke run)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    if args.worker == "components":
        print(json.dumps(_components(int(args.runs), args.threads)))
        return
    if args.worker:
        print(json.dumps(_worker(args.worker, int(args.runs), args.epochs, args.repeats, args.threads)))
        return
    if args.quick:
        args.runs, args.epochs = "1,8", 1
    Rs = [int(r) for r in args.runs.split(",")]
    torch.set_num_threads(args.threads)

    load_before = os.getloadavg()[0]
    ds = datasets.load("digits")
    config = TrainConfig(widths=(20, 15, 15, 10), epochs=args.epochs)
    steps = args.epochs * -(-ds.n_train // config.batch_size)
    flops_run = matmul_flops_per_run(config, ds.n_train)
    peak_threads = sgemm_peak(args.threads)
    rows = []
    for R in Rs:
        res = {v: _run_worker(v, R, args) for v in ("new-batched", "old-batched")}
        if R <= args.loop_max:
            res.update({v: _run_worker(v, R, args) for v in ("old-loop", "new-loop")})
        new, old = res["new-batched"], res["old-batched"]
        row = {
            "R": R,
            "new_batched_wall_s": new["wall_s"],
            "old_batched_wall_s": old["wall_s"],
            "new_us_per_run_step": 1e6 * new["wall_s"] / (R * steps),
            "old_us_per_run_step": 1e6 * old["wall_s"] / (R * steps),
            "speedup_vs_old_wall": old["wall_s"] / new["wall_s"],
            "speedup_vs_old_cpu": old["cpu_s"] / new["cpu_s"],
            "new_matmul_gflops": flops_run * R / new["wall_s"] / 1e9,
            "old_matmul_gflops": flops_run * R / old["wall_s"] / 1e9,
            "identical_to_old": new["params_sha256"] == old["params_sha256"],
        }
        if "old-loop" in res:
            row.update(
                old_loop_wall_s=res["old-loop"]["wall_s"],
                new_loop_wall_s=res["new-loop"]["wall_s"],
                speedup_vs_old_loop=res["old-loop"]["wall_s"] / new["wall_s"],
                speedup_vs_new_loop=res["new-loop"]["wall_s"] / new["wall_s"],
                loops_identical=res["old-loop"]["params_sha256"]
                == res["new-loop"]["params_sha256"]
                == new["params_sha256"],
            )
        rows.append(row)
        print(json.dumps(row), flush=True)
    comp = _run_worker("components", max(Rs), args)
    comp["R"] = max(Rs)
    comp["fusion_bound"] = comp["step_us"] / (comp["products_us"] + comp["noise_us"])
    comp["products_gflops"] = flops_run / steps / comp["products_us"] / 1e3
    print(json.dumps(comp), flush=True)
    load_after = os.getloadavg()[0]
    # measured last: a larger OpenMP pool left behind would spin and perturb the timings above
    peak_all = sgemm_peak(os.cpu_count() or 1)

    result = {
        "benchmark": "ensemble trainer: now vs before, batched vs one run at a time",
        "workload": {
            "dataset": "digits (1437 train, PCA 20)",
            "config": config.to_dict(),
            "steps_per_run": steps,
            "matmul_flops_per_run": flops_run,
            "matmul_flops_per_run_step": flops_run / steps,
        },
        "threads": args.threads,
        "sgemm_peak_gflops": {"threads_used": peak_threads, "all_threads": peak_all, "n": 4096},
        "rows": rows,
        "components": comp,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "processor": platform.processor(),
            "load_1min_before": load_before,
            "load_1min_after": load_after,
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
    peak = result["sgemm_peak_gflops"]["threads_used"]
    m = result["machine"]
    lines = [
        "# Ensemble trainer benchmark",
        "",
        f"Deep 20-15-15-10 LR-net on digits, {w['steps_per_run']} steps of batch "
        f"{w['config']['batch_size']} per run ({w['matmul_flops_per_run_step'] / 1e6:.2f} MFLOP of matrix "
        f"products per run-step); {result['threads']} torch thread(s); {m['cpu_count']} cores, 1-min load "
        f"{m['load_1min_before']:.1f} -> {m['load_1min_after']:.1f}. sgemm peak (torch.mm 4096², float32): "
        f"{peak:.1f} GFLOP/s with {result['threads']} thread(s), "
        f"{result['sgemm_peak_gflops']['all_threads']:.1f} GFLOP/s with all threads.",
        "",
        "| R | µs/run-step now | µs/run-step before | now vs before (wall) | (CPU) | now vs old loop "
        "| now vs new loop | GFLOP/s now | % of sgemm peak | same params |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in result["rows"]:
        loop_old = f"{r['speedup_vs_old_loop']:.1f}x" if "speedup_vs_old_loop" in r else "-"
        loop_new = f"{r['speedup_vs_new_loop']:.1f}x" if "speedup_vs_new_loop" in r else "-"
        same = r["identical_to_old"] and r.get("loops_identical", True)
        lines.append(
            f"| {r['R']} | {r['new_us_per_run_step']:.0f} | {r['old_us_per_run_step']:.0f} | "
            f"{r['speedup_vs_old_wall']:.2f}x | {r['speedup_vs_old_cpu']:.2f}x | {loop_old} | {loop_new} | "
            f"{r['new_matmul_gflops']:.2f} | {100 * r['new_matmul_gflops'] / peak:.1f}% | {same} |"
        )
    c = result.get("components")
    if c:
        lines += [
            "",
            f"## Where a step's time goes (R = {c['R']}, one process, best of repeats)",
            "",
            "| piece | µs per run-step | share of the step |",
            "| --- | ---: | ---: |",
            f"| whole step | {c['step_us']:.0f} | 100% |",
            f"| the 16 batched products alone ({c['products_gflops']:.1f} GFLOP/s, "
            f"{100 * c['products_gflops'] / peak:.0f}% of sgemm peak) | {c['products_us']:.0f} | "
            f"{100 * c['products_us'] / c['step_us']:.0f}% |",
            f"| the step's normal numbers alone | {c['noise_us']:.0f} | "
            f"{100 * c['noise_us'] / c['step_us']:.0f}% |",
            "",
            f"Fusing every elementwise pass into the products at no cost would give at most "
            f"{c['fusion_bound']:.1f}x (step / (products + noise)) with torch's batched products and the "
            "same random numbers; beyond that the products themselves must run nearer the sgemm peak.",
        ]
    lines += [
        "",
        "Each variant runs in its own fresh process; batched: best of repeats; loops: one pass over R "
        "single-run trainings. 'same params': new batched, old batched and both loops give bit-identical "
        "parameters. GFLOP/s counts only the batched matrix products (see benchmarks/bench_trainer.py).",
        "",
        "Reproduce: `.venv/bin/python benchmarks/bench_trainer.py`",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

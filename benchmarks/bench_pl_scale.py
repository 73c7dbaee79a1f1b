"""Scale benchmark of PseudoLikelihood (and MeanField): time and peak memory at N = 100 .. 2000.

Configurations (``--configs``, default all): ``N:M:dtype`` triples, by default

    100:50000:float64  100:50000:float32  675:100000:float32  2000:20000:float32
    675:100000:float64 2000:20000:float64

Data: SK-like truth J_ij ~ N(0, beta^2/N) (beta = 0.5), h_i ~ N(0, 0.1^2), Gibbs samples
(IsingModel.sample(method="gibbs"), burn 100 sweeps, one sample per sweep from many chains),
generated once per (N, M) in a separate process and cached as int8 .npz under ``--cache``.

Each fit runs in its own fresh process, so its peak resident memory (ru_maxrss, which
includes the Python/torch runtime, ~0.3-0.4 GB, and the samples) belongs to that fit alone;
the baseline RSS just before the fit is reported too. Reported: wall time and process CPU time
of ``PseudoLikelihood(alpha=1e-4, dtype=...).fit(X)`` (validation and moments included),
L-BFGS iterations, the time per objective evaluation, rmse of J against the truth, and the
time of ``MeanField().fit(X)`` on the same data. The machine is a shared 2-core CPU: the load
average is recorded with each run, and CPU time is the steadier number.

Run:  .venv/bin/python benchmarks/bench_pl_scale.py [--configs 100:50000:float64 ...]
      (writes benchmarks/results/pl_scale.{json,md})
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CONFIGS = [
    "100:50000:float64",
    "100:50000:float32",
    "675:100000:float32",
    "2000:20000:float32",
    "675:100000:float64",
    "2000:20000:float64",
]
BETA = 0.5


def data_path(cache: Path, n: int, M: int) -> Path:
    return cache / f"sk_N{n}_M{M}_beta{BETA}.npz"


def make_data(cache: Path, n: int, M: int) -> None:
    from maxent.model.ising import IsingModel

    path = data_path(cache, n, M)
    if path.exists():
        return
    truth = IsingModel.random_sk(n, beta=BETA, h_std=0.1, random_state=n)
    n_chains = min(M, 5000)
    t0 = time.perf_counter()
    X = truth.sample(M, method="gibbs", n_chains=n_chains, burn=100, thin=1, random_state=0)
    print(f"generated N={n} M={M} in {time.perf_counter() - t0:.1f} s", flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, X=X, h=truth.h, J=truth.J)
    os.replace(tmp, path)


def rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB on Linux


def current_rss_gb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**30


def child(cache: Path, n: int, M: int, dtype: str) -> dict:
    import torch

    from maxent.fit.mean_field import MeanField
    from maxent.fit.pseudolikelihood import _DTYPES, PseudoLikelihood, _PLObjective

    d = np.load(data_path(cache, n, M))
    X, J_true = d["X"], d["J"]
    iu = np.triu_indices(n, 1)
    base = current_rss_gb()
    load = os.getloadavg()
    est = PseudoLikelihood(alpha=1e-4, dtype=dtype)
    t0, c0 = time.perf_counter(), time.process_time()
    est.fit(X)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = rss_gb()
    n_eval = int(est.history_.shape[0])
    obj = _PLObjective(
        X.astype(np.float64), np.zeros(n), np.zeros((n, n)), torch.device("cpu"), _DTYPES[dtype], None
    )
    eval_times = []
    for _ in range(3):
        te = time.perf_counter()
        obj(est.h_, est.J_)
        eval_times.append(time.perf_counter() - te)
    del obj
    t1, c1 = time.perf_counter(), time.process_time()
    mf = MeanField().fit(X)
    mf_wall, mf_cpu = time.perf_counter() - t1, time.process_time() - c1
    return {
        "N": n,
        "M": M,
        "dtype": dtype,
        "pl_wall_s": wall,
        "pl_cpu_s": cpu,
        "pl_n_iter": est.n_iter_,
        "pl_converged": est.converged_,
        "pl_wall_per_iter_s": wall / max(n_eval, 1),
        "pl_eval_s_min_of_3": min(eval_times),
        "pl_rmse_J": float(np.sqrt(np.mean((est.J_[iu] - J_true[iu]) ** 2))),
        "pl_grad_max": float(est.history_["grad_max"].iloc[-1]),
        "peak_rss_gb": peak,
        "rss_before_fit_gb": base,
        "mf_wall_s": mf_wall,
        "mf_cpu_s": mf_cpu,
        "mf_rmse_J": float(np.sqrt(np.mean((mf.J_[iu] - J_true[iu]) ** 2))),
        "load_avg_1min_start": load[0],
        "load_avg_1min_end": os.getloadavg()[0],
        "torch_threads": torch.get_num_threads(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", nargs="*", default=DEFAULT_CONFIGS)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "maxent_bench_cache")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--child", nargs=3, metavar=("N", "M", "DTYPE"), help=argparse.SUPPRESS)
    ap.add_argument("--make-data", nargs=2, metavar=("N", "M"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.make_data:
        make_data(args.cache, int(args.make_data[0]), int(args.make_data[1]))
        return
    if args.child:
        n, M, dtype = int(args.child[0]), int(args.child[1]), args.child[2]
        print("RESULT " + json.dumps(child(args.cache, n, M, dtype)), flush=True)
        return

    results = []
    for cfg in args.configs:
        n, M, dtype = cfg.split(":")
        me = [sys.executable, __file__, "--cache", str(args.cache)]
        subprocess.run([*me, "--make-data", n, M], check=True)
        out = subprocess.run([*me, "--child", n, M, dtype], check=True, capture_output=True, text=True)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        res = json.loads(line[len("RESULT ") :])
        print(res, flush=True)
        results.append(res)
        write(args.out, results)  # after every configuration: a long run leaves partial results


def write(out: Path, results: list[dict]) -> None:
    from maxent._atomic import atomic_write_text

    meta = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "beta": BETA,
        "estimator": "PseudoLikelihood(alpha=1e-4, tol=1e-4, penalty='l2')",
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "pl_scale.json", json.dumps({"meta": meta, "runs": results}, indent=1))
    lines = [
        "# PseudoLikelihood at scale (SK-like truth, beta=0.5, Gibbs samples)",
        "",
        f"{meta['estimator']} on a shared {meta['cpus']}-core CPU; one fresh process per fit.",
        "Peak RSS includes the Python/torch runtime and the samples (baseline = RSS just before the fit).",
        "'eval s' is one objective + gradient evaluation (min of 3, the least load-dependent number);",
        "wall times depend on the machine load (1-min load average in the last column).",
        "",
        "| N | M | dtype | PL wall s | PL CPU s | iters | eval s | rmse J (PL) | peak RSS GB | "
        "baseline GB | MF wall s | rmse J (MF) | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['N']} | {r['M']} | {r['dtype']} | {r['pl_wall_s']:.1f} | {r['pl_cpu_s']:.1f} | "
            f"{r['pl_n_iter']} | {r['pl_eval_s_min_of_3']:.3f} | {r['pl_rmse_J']:.4f} | "
            f"{r['peak_rss_gb']:.2f} | {r['rss_before_fit_gb']:.2f} | {r['mf_wall_s']:.2f} | "
            f"{r['mf_rmse_J']:.4f} | {r['load_avg_1min_start']:.1f} |"
        )
    atomic_write_text(out / "pl_scale.md", "\n".join(lines) + "\n")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()

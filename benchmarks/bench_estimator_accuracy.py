"""Accuracy of maxent's ExactBoltzmann, MeanField and PseudoLikelihood on SK-like truths.

Problems (the test problems of issue 4): J_ij ~ N(0, beta^2/N), h_i ~ N(0, 0.1^2),

* N = 20, beta = 0.5 and 1.5, M = 2e4 exact samples (IsingModel.sample(method="exact"));
* N = 100, beta = 0.5, M = 5e4 Gibbs samples (IsingModel.sample(method="gibbs"), 5000 chains,
  burn 100 sweeps, then one sample per sweep).

Each problem is repeated over ``--seeds`` independent truths + samples; the table gives the mean
and standard deviation over seeds of rmse(J) over the pairs i < j and of rmse(h), and the mean
process CPU time and wall time of the fit (this shared 2-core machine: wall times depend on the
load, which is recorded).

Run:  .venv/bin/python benchmarks/bench_estimator_accuracy.py [--seeds 3] [--quick]
      (writes benchmarks/results/estimator_accuracy.{json,md})
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
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maxent._atomic import atomic_write_text  # noqa: E402
from maxent.fit.exact import ExactBoltzmann  # noqa: E402
from maxent.fit.mean_field import MeanField  # noqa: E402
from maxent.fit.pseudolikelihood import PseudoLikelihood, PseudoLikelihoodCV  # noqa: E402
from maxent.model.ising import IsingModel  # noqa: E402


def rmse_upper(A: np.ndarray, B: np.ndarray) -> float:
    iu = np.triu_indices(A.shape[0], 1)
    return float(np.sqrt(np.mean((A[iu] - B[iu]) ** 2)))


def estimators(n: int) -> dict:
    est = {
        "MeanField(nmf)": MeanField("nmf"),
        "MeanField(tap)": MeanField("tap"),
        "PseudoLikelihood(l2, alpha=1e-4)": PseudoLikelihood(alpha=1e-4),
        "PseudoLikelihood(l2, alpha=1e-3)": PseudoLikelihood(alpha=1e-3),
        "PseudoLikelihood(l1, alpha=1e-3)": PseudoLikelihood(penalty="l1", alpha=1e-3),
        "PseudoLikelihoodCV(l2, 5 alphas, 3 folds)": PseudoLikelihoodCV(
            alphas=np.logspace(-5, -2, 5), cv=3, random_state=0
        ),
    }
    if n <= 20:
        est = {"ExactBoltzmann": ExactBoltzmann(), **est}
    return est


def run(seeds: int, quick: bool) -> pd.DataFrame:
    problems = [(20, 0.5, 20_000, "exact"), (20, 1.5, 20_000, "exact"), (100, 0.5, 50_000, "gibbs")]
    rows = []
    for n, beta, M, how in problems:
        for seed in range(seeds):
            truth = IsingModel.random_sk(n, beta=beta, h_std=0.1, random_state=1000 + seed)
            if how == "exact":
                X = truth.sample(M, random_state=seed)
            else:
                X = truth.sample(M, method="gibbs", n_chains=5000, burn=100, thin=1, random_state=seed)
            for name, est in estimators(n).items():
                if quick and "CV" in name:
                    continue
                t0, c0 = time.perf_counter(), time.process_time()
                est.fit(X)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                rows.append(
                    {
                        "N": n,
                        "beta": beta,
                        "M": M,
                        "samples": how,
                        "seed": seed,
                        "method": name,
                        "rmse_J": rmse_upper(est.J_, truth.J),
                        "rmse_h": float(np.sqrt(np.mean((est.h_ - truth.h) ** 2))),
                        "cpu_s": cpu,
                        "wall_s": wall,
                        "n_iter": est.n_iter_,
                        "converged": est.converged_,
                        "alpha_cv": getattr(est, "alpha_", np.nan),
                    }
                )
                print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="skip the CV estimator")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    load0 = os.getloadavg()
    df = run(args.seeds, args.quick)
    summary = (
        df.groupby(["N", "beta", "M", "samples", "method"], sort=False)
        .agg(
            rmse_J=("rmse_J", "mean"),
            rmse_J_sd=("rmse_J", "std"),
            rmse_h=("rmse_h", "mean"),
            cpu_s=("cpu_s", "mean"),
            wall_s=("wall_s", "mean"),
            converged=("converged", "all"),
        )
        .reset_index()
    )
    meta = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_start": load0,
        "load_avg_end": os.getloadavg(),
        "seeds": args.seeds,
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(
        args.out / "estimator_accuracy.json",
        json.dumps({"meta": meta, "runs": df.to_dict("records")}, indent=1, default=float),
    )
    lines = [
        "# Estimator accuracy on SK-like truths (J ~ N(0, beta^2/N), h ~ N(0, 0.1^2))",
        "",
        f"{args.seeds} seeds per problem; rmse over pairs i<j (mean ± sd over seeds); times are means.",
        f"Machine: {meta['cpus']} CPUs, load average {load0[0]:.1f} at start (shared machine).",
        "",
        "| N | beta | M | samples | method | rmse J | sd | rmse h | CPU s | wall s | converged |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(
            f"| {r.N} | {r.beta} | {r.M} | {r.samples} | {r.method} | {r.rmse_J:.4f} | {r.rmse_J_sd:.4f} | "
            f"{r.rmse_h:.4f} | {r.cpu_s:.2f} | {r.wall_s:.2f} | {r.converged} |"
        )
    atomic_write_text(args.out / "estimator_accuracy.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

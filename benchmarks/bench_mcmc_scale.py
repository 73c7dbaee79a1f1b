"""Accuracy and scale benchmark of MCMCBoltzmann (persistent-chain Boltzmann learning).

Configurations (``--configs``, default all):

* ``n20_b0.5``, ``n20_b1.5``: N = 20, SK-like truth (beta = 0.5, 1.5), M = 2e4 exact samples;
  MCMCBoltzmann against the truth and against the exact maximum-likelihood fit
  (ExactBoltzmann), whose own error against the truth is the statistical floor.
* ``n100``: N = 100, beta = 0.5, M = 5e4 Gibbs samples; rmse of J against the truth.
* ``n675``: N = 675 (one full 20-15-15-10 network), beta = 0.5, M = 1e5 Gibbs samples: the
  scale of the reference study. MCMCBoltzmann is fitted from the moments alone (what it needs);
  also with ``n_sweeps=1`` (cheaper per update, fine for weak couplings); the quality of the
  default fit is checked on model samples (connected correlations) with ``fit_quality``.

Data: truth J_ij ~ N(0, beta^2/N), h_i ~ N(0, 0.1^2) from ``IsingModel.random_sk(N, beta,
random_state=N)``; Gibbs samples as in benchmarks/bench_pl_scale.py (same cache files, so the
two benchmarks fit identical data): ``n_chains = min(M, 5000)``, burn 100, thin 1, seed 0.

Each configuration runs in a fresh process (peak RSS belongs to it). Reported: wall and CPU
time, iterations, convergence, rmse of J and h against the truth (and the ML fit at N = 20), the
naive mean-field starting point's rmse, the final mismatch/noise statistics, torch threads and
the load average. The machine is a shared 2-core CPU: CPU time is the steadier number.

Run:  .venv/bin/python benchmarks/bench_mcmc_scale.py [--configs n20_b0.5 n675] [--threads 1]
      (writes benchmarks/results/mcmc_scale.{json,md})
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

CONFIGS = {
    "n20_b0.5": {"N": 20, "M": 20_000, "beta": 0.5, "sampler": "exact"},
    "n20_b1.5": {"N": 20, "M": 20_000, "beta": 1.5, "sampler": "exact"},
    "n100": {"N": 100, "M": 50_000, "beta": 0.5, "sampler": "gibbs"},
    "n675": {"N": 675, "M": 100_000, "beta": 0.5, "sampler": "gibbs"},
}


def data_path(cache: Path, cfg: dict) -> Path:
    if cfg["sampler"] == "gibbs":  # same file name as benchmarks/bench_pl_scale.py
        return cache / f"sk_N{cfg['N']}_M{cfg['M']}_beta{cfg['beta']}.npz"
    return cache / f"sk_exact_N{cfg['N']}_M{cfg['M']}_beta{cfg['beta']}.npz"


def make_data(cache: Path, cfg: dict) -> None:
    from maxent.model.ising import IsingModel

    path = data_path(cache, cfg)
    if path.exists():
        return
    n, M = cfg["N"], cfg["M"]
    truth = IsingModel.random_sk(n, beta=cfg["beta"], h_std=0.1, random_state=n)
    t0 = time.perf_counter()
    if cfg["sampler"] == "gibbs":
        X = truth.sample(M, method="gibbs", n_chains=min(M, 5000), burn=100, thin=1, random_state=0)
    else:
        X = truth.sample(M, random_state=0)
    print(f"generated {path.name} in {time.perf_counter() - t0:.1f} s", flush=True)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, X=X, h=truth.h, J=truth.J)
    os.replace(tmp, path)


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB on Linux


def rmse_upper(A: np.ndarray, B: np.ndarray) -> float:
    iu = np.triu_indices(A.shape[0], 1)
    return float(np.sqrt(np.mean((A[iu] - B[iu]) ** 2)))


def timed_fit(est, data) -> tuple[object, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    est.fit(data)
    return est, time.perf_counter() - t0, time.process_time() - c0


def child(cache: Path, name: str, threads: int | None) -> dict:
    import warnings

    import torch

    from maxent import IsingModel, Moments
    from maxent.fit.boltzmann_mcmc import MCMCBoltzmann, initial_parameters

    cfg = CONFIGS[name]
    d = np.load(data_path(cache, cfg))
    X, h_true, J_true = d["X"], d["h"], d["J"]
    moments = Moments.from_samples(X)
    load0 = os.getloadavg()[0]
    out: dict = {"config": name, **cfg, "torch_threads": threads or torch.get_num_threads()}
    out["nmf_rmse_J"] = rmse_upper(initial_parameters(moments, "nmf")[1], J_true)

    variants = {"default": {}}
    if name == "n675":
        variants["n_sweeps=1"] = {"n_sweeps": 1}
    runs, fitted = {}, {}
    for label, kw in variants.items():
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            est, wall, cpu = timed_fit(
                MCMCBoltzmann(random_state=0, n_threads=threads, max_iter=5000, **kw), moments
            )
        last = est.history_.iloc[-1]
        switch = est.history_["phase"].eq("average")
        runs[label] = {
            "params": kw,
            "wall_s": wall,
            "cpu_s": cpu,
            "n_iter": est.n_iter_,
            "learn_iters": int(switch.idxmax()) if switch.any() else est.n_iter_,
            "converged": est.converged_,
            "max_sweeps": int(est.history_["n_sweeps"].max()),
            "n_verify": int((est.history_["phase"] == "verify").sum()),
            "wall_per_iter_s": wall / est.n_iter_,
            "rmse_J": rmse_upper(est.J_, J_true),
            "rmse_h": float(np.sqrt(np.mean((est.h_ - h_true) ** 2))),
            **{k: float(last[k]) for k in ("z_m", "z_C", "noise_m", "noise_C", "err_m", "err_C")},
        }
        fitted[label] = est
    out["runs"] = runs
    best = fitted["default"]

    if cfg["N"] <= 20:
        from maxent.fit.exact import ExactBoltzmann

        ml, wall, cpu = timed_fit(ExactBoltzmann(), moments)
        out["exact_wall_s"] = wall
        out["exact_rmse_J"] = rmse_upper(ml.J_, J_true)
        out["exact_rmse_h"] = float(np.sqrt(np.mean((ml.h_ - h_true) ** 2)))
        # Fisher metric M dtheta^T F dtheta / P (F: feature covariance of the data, P params):
        # ~1 for the ML fit against the truth; insensitive to the poorly determined directions
        # that dominate the rmse in strongly coupled models
        n = cfg["N"]
        iu = np.triu_indices(n, 1)
        Xf = X.astype(np.float64)
        F = np.cov(np.concatenate([Xf, Xf[:, iu[0]] * Xf[:, iu[1]]], axis=1), rowvar=False)

        def fisher(a, b) -> float:
            d = np.concatenate([a.h_ - b[0], a.J_[iu] - b[1][iu]])
            return float(X.shape[0] * d @ F @ d / d.size)

        out["exact_fisher_vs_truth"] = fisher(ml, (h_true, J_true))
        for label, r in runs.items():
            r["rmse_J_vs_ml"] = rmse_upper(fitted[label].J_, ml.J_)
            r["fisher_vs_ml"] = fisher(fitted[label], (ml.h_, ml.J_))
    if name == "n675":
        from maxent.fit.quality import fit_quality, quality_summary

        t0 = time.perf_counter()
        q = fit_quality(
            best.model_,
            X,
            n_model_samples=20_000,
            n_chains=1000,
            burn=200,
            thin=2,
            n_triplets=2000,
            random_state=0,
        )
        s = quality_summary(q).set_index("statistic")
        truth_q = fit_quality(
            IsingModel(h_true, J_true),
            X,
            n_model_samples=20_000,
            n_chains=1000,
            burn=200,
            thin=2,
            n_triplets=2000,
            random_state=0,
        )
        st = quality_summary(truth_q).set_index("statistic")
        out["quality_wall_s"] = time.perf_counter() - t0
        out["quality"] = {
            who: {
                stat: {k: float(src.loc[stat, k]) for k in ("rmse", "noise_rmse", "rmse_ratio")}
                for stat in ("m", "C_connected", "T_three_point")
            }
            for who, src in (("fit", s), ("truth", st))
        }
    out["peak_rss_gb"] = peak_rss_gb()
    out["load_avg_1min_start"] = load0
    out["load_avg_1min_end"] = os.getloadavg()[0]
    return out


def to_markdown(meta: dict, results: list[dict]) -> str:
    lines = [
        "# MCMCBoltzmann: accuracy and scale (SK-like truth, h ~ N(0, 0.1^2))",
        "",
        f"{meta['estimator']}; shared {meta['cpus']}-core CPU ({meta['date']}), torch threads "
        f"{meta['threads']}; one fresh process per configuration; fit from the moments.",
        "rmse J/h against the truth; 'vs ML' against ExactBoltzmann's exact maximum-likelihood fit",
        "(N = 20), whose own error against the truth is the statistical floor ('ML rmse J').",
        "Fisher: M dtheta^T F dtheta / P (F the data's feature covariance, P parameters): ~1 for the ML",
        "fit against the truth; it weighs directions by how well the data determine them, unlike the rmse.",
        "",
        "| config | N | M | samples | variant | wall s | CPU s | iters (learn) | s / iter | converged | "
        "rmse J | rmse h | ML rmse J | rmse J vs ML | Fisher: ML vs truth | Fisher: fit vs ML | nMF rmse J | "
        "max sweeps | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for label, v in r["runs"].items():
            ml = f"{r['exact_rmse_J']:.4f}" if "exact_rmse_J" in r else "-"
            vs = f"{v['rmse_J_vs_ml']:.4f}" if "rmse_J_vs_ml" in v else "-"
            f_ml = f"{r['exact_fisher_vs_truth']:.2f}" if "exact_fisher_vs_truth" in r else "-"
            f_vs = f"{v['fisher_vs_ml']:.2f}" if "fisher_vs_ml" in v else "-"
            lines.append(
                f"| {r['config']} | {r['N']} | {r['M']} | {r['sampler']} | {label} | {v['wall_s']:.1f} | "
                f"{v['cpu_s']:.1f} | {v['n_iter']} ({v['learn_iters']}) | {v['wall_per_iter_s']:.3f} | "
                f"{v['converged']} | {v['rmse_J']:.4f} | {v['rmse_h']:.4f} | {ml} | {vs} | {f_ml} | {f_vs} | "
                f"{r['nmf_rmse_J']:.4f} | {v['max_sweeps']} | {r['load_avg_1min_start']:.1f} |"
            )
    for r in results:
        if "quality" in r:
            lines += [
                "",
                f"Fit quality at N = {r['N']} (fit_quality, 2e4 Gibbs model samples vs the {r['M']} data; "
                "rmse / noise rmse, about 1 when consistent; se assumes independent samples, so "
                "correlated Gibbs samples push it above 1 even for the truth):",
                "",
                "| model | m | C connected | T three-point |",
                "|---|---|---|---|",
            ]
            for who, q in r["quality"].items():
                cells = " | ".join(
                    f"{q[s]['rmse']:.4f} ({q[s]['rmse_ratio']:.2f}x)"
                    for s in ("m", "C_connected", "T_three_point")
                )
                lines.append(f"| {who} | {cells} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    ap.add_argument("--threads", type=int, default=1, help="torch threads during the fit (0: torch default)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "maxent_bench_cache")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--make-data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    threads = args.threads or None
    if args.make_data:
        import torch

        torch.set_num_threads(threads or torch.get_num_threads())
        make_data(args.cache, CONFIGS[args.make_data])
        return
    if args.child:
        print("RESULT " + json.dumps(child(args.cache, args.child, threads)), flush=True)
        return

    from maxent._atomic import atomic_write_text

    results = []
    me = [sys.executable, __file__, "--cache", str(args.cache), "--threads", str(args.threads)]
    for name in args.configs:
        subprocess.run([*me, "--make-data", name], check=True)
        proc = subprocess.run([*me, "--child", name], check=True, capture_output=True, text=True)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
        res = json.loads(line[len("RESULT ") :])
        print(json.dumps(res), flush=True)
        results.append(res)
    meta = {
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "torch": __import__("torch").__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "threads": args.threads or "default",
        "estimator": "MCMCBoltzmann(random_state=0) defaults: 1000 chains, 3 sweeps/update (doubled on a "
        "failed fixed-parameter check), Adam lr 0.01, window 100, tol 0.5, Gibbs + global flip, "
        "Rao-Blackwell, float32 chains",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "mcmc_scale.json", json.dumps({"meta": meta, "runs": results}, indent=1))
    md = to_markdown(meta, results)
    atomic_write_text(args.out / "mcmc_scale.md", md)
    print(md)


if __name__ == "__main__":
    main()

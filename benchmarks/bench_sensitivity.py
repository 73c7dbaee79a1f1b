"""Accuracy of the inferred sensitivity theory against simulation, and the cost of the trained stage.

Measures (not timed tests; nothing asserts):

1. Mean field vs direct simulation of random networks, N = 100..2000, depth 6: the rms deviation
   of single-network overlaps from the recursion (expected ~ 1/sqrt(N); the fitted log-log slope
   is reported) and the largest |bias| of the mean.
2. Large deviations vs the unit-level tilted particle sampler, N = 50, 100, 200, depth 3: the
   largest |lambda_N(theta) - lambda(theta)| over theta in [-3, 3] (expected O(1/N)) with its
   standard error over repeats, and the mean of -(1/N) ln P - Phi_L over covered tail bins
   (expected O(ln N / N) from the prefactor).
3. Wall time of the trained-ensemble stage on a samples file (``--samples``, optional).

Usage::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sensitivity.py [--quick]
        [--samples results/samples/deep-over.npz] [--out benchmarks/results/sensitivity.md]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from maxent.companion import sensitivity as sens


def finite_size(widths: tuple[int, ...]) -> pd.DataFrame:
    df = sens.random_network_overlaps(widths=widths, depth=6, n_inputs=16, random_state=0)
    rows = []
    for (act, pert), g in df.groupby(["activation", "perturbation"]):
        rmse = g.groupby("width")["rmse"].mean()
        slope = np.polyfit(np.log(rmse.index.to_numpy(float)), np.log(rmse.to_numpy()), 1)[0]
        rows.append(
            {
                "activation": act,
                "perturbation": pert,
                **{f"rmse N={w}": round(float(v), 4) for w, v in rmse.items()},
                "log-log slope": round(float(slope), 3),
                "max |bias|": round(float(g["bias"].abs().max()), 4),
            }
        )
    return pd.DataFrame(rows)


def large_deviations(widths: tuple[int, ...], repeats: int, particles: int) -> pd.DataFrame:
    thetas = np.array([-3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0])
    rows = []
    for act, pert, level in sens.simulate.DEFAULT_CONDITIONS:
        for N in widths:
            t = time.perf_counter()
            s, r = sens.tilted_tails(
                act,
                pert,
                level,
                thetas=thetas,
                width=N,
                depth=3,
                n_particles=particles,
                n_repeats=repeats,
                random_state=1,
            )
            d = (r["rate_sim"] - r["rate_theory"]).dropna()
            worst = s["error"].abs().idxmax()
            rows.append(
                {
                    "activation": act,
                    "perturbation": pert,
                    "N": N,
                    "max |scgf error|": round(float(s["error"].abs().max()), 4),
                    "its sem": round(float(s.loc[worst, "lambda_sem"]), 4),
                    "mean rate diff": round(float(d.mean()), 4),
                    "ln N / 2N": round(np.log(N) / (2 * N), 4),
                    "min P reached": f"{np.exp(-N * r['rate_sim'].max()):.1e}",
                    "seconds": round(time.perf_counter() - t, 1),
                }
            )
            print(rows[-1], flush=True)
    return pd.DataFrame(rows)


def trained_timing(path: str) -> pd.DataFrame:
    from maxent.data import datasets
    from maxent.data.samples import WeightSamples

    smp = WeightSamples.load(path)
    d = smp.meta["dataset"]
    ds = datasets.load(d["name"], n_components=d["n_components"], n_train=d.get("n_train"), seed=d["seed"])
    if ds.provenance["fingerprint"] != d["fingerprint"]:
        raise SystemExit("could not rebuild the samples' dataset (fingerprint differs)")
    t = time.perf_counter()
    per = sens.per_network_sensitivity(smp, ds, n_draws=4, seed=0)
    t_per = time.perf_counter() - t
    t = time.perf_counter()
    sens.summarize_sensitivity(per, n_boot=200)
    con = sens.block_contrasts(per, n_boot=200)
    t_boot = time.perf_counter() - t
    print(con.round(3).to_string())
    return pd.DataFrame(
        [
            {
                "samples": path,
                "networks": smp.n_samples,
                "per-network s": round(t_per, 1),
                "bootstrap s": round(t_boot, 2),
            }
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller widths and fewer repeats")
    ap.add_argument("--samples", help="a WeightSamples .npz to time the trained stage on")
    ap.add_argument("--out", default="benchmarks/results/sensitivity.md")
    args = ap.parse_args()
    parts = []
    fs_widths = (100, 400) if args.quick else (100, 200, 500, 1000, 2000)
    parts.append(("Mean field vs simulation (depth 6)", finite_size(fs_widths)))
    ld_widths = (50,) if args.quick else (50, 100, 200)
    parts.append(
        (
            "Large deviations vs tilted simulation (depth 3)",
            large_deviations(ld_widths, 2 if args.quick else 4, 400),
        )
    )
    if args.samples:
        parts.append(("Trained stage", trained_timing(args.samples)))
    text = "# Sensitivity benchmark\n\n" + "\n\n".join(
        f"## {title}\n\n```\n{df.to_string(index=False)}\n```" for title, df in parts
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

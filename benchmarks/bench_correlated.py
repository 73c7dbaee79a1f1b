"""Correlated synapses (#17): theory-vs-simulation error over N, timings, and (optionally) the
trained-ensemble comparison on a finished pipeline run.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_correlated.py [--Ns 64,128,256,512] [--networks 16]
        [--results /path/to/results]   # also compare trained networks with their fitted models

Prints markdown tables (errors are simulation - theory; `sem` the simulations' standard error).
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from maxent.companion.correlated import (
    SynapseEnsemble,
    compare_over_width,
    coupling_share,
    error_scaling,
    input_covariance,
    simulate_depth,
    theory_depth,
    trained_dimension,
    weight_sources,
)

ENSEMBLES = [
    SynapseEnsemble("gaussian"),
    SynapseEnsemble("binary"),
    SynapseEnsemble("gaussian", c_pre=1.0),
    SynapseEnsemble("gaussian", c_post=1.0),
    SynapseEnsemble("gaussian", c_pre=0.5, c_post=0.5),
    SynapseEnsemble("binary", c_pre=1.0),
    SynapseEnsemble("orthogonal"),
]


def _md(df: pd.DataFrame, index: bool = True) -> str:
    """A pipe table (no tabulate dependency); floats with 4 significant digits."""
    d = df.reset_index() if index else df
    d.columns = [" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in d.columns]
    cells = [
        [f"{v:.4g}" if isinstance(v, float) else str(v) for v in row] for row in d.itertuples(index=False)
    ]
    lines = ["| " + " | ".join(d.columns) + " |", "|" + "---|" * len(d.columns)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in cells])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--Ns", default="64,128,256,512")
    ap.add_argument("--networks", type=int, default=16)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--results", default=None)
    args = ap.parse_args()
    Ns = [int(n) for n in args.Ns.split(",")]

    t = time.perf_counter()
    comp = compare_over_width(
        Ns, ENSEMBLES, depth=args.depth, activation="tanh", n_networks=args.networks, random_state=0
    )
    print(
        f"## Theory vs simulation, tanh, depth {args.depth}, {args.networks} networks per point "
        f"({time.perf_counter() - t:.0f} s)\n"
    )
    last = comp[comp["layer"] == args.depth]
    tab = last.pivot_table(index=["statistic", "synapses"], columns="N", values=["simulation", "theory"])
    print("### last layer\n")
    print(_md(tab))
    sc = error_scaling(comp)
    print("\n### mean |error| over layers 1..L (slope: log-log fit against N)\n")
    wide = sc.pivot_table(index=["statistic", "synapses"], columns="N", values="abs_error")
    wide["sem(max N)"] = sc[sc["N"] == max(Ns)].set_index(["statistic", "synapses"])["sem"]
    wide["slope"] = sc.groupby(["statistic", "synapses"])["slope"].first()
    print(_md(wide))

    print("\n## Timings\n")
    rows = []
    for N in Ns:
        C0 = input_covariance(N, alpha=0.5, random_state=0)
        t = time.perf_counter()
        simulate_depth(
            [N] * 5,
            [SynapseEnsemble("gaussian", c_pre=1.0)],
            input_cov=C0,
            n_inputs=4 * N,
            n_networks=4,
            random_state=0,
        )
        t_sim = time.perf_counter() - t
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theory_depth([N] * 5, SynapseEnsemble("gaussian", c_pre=1.0), input_cov=C0)
        rows.append(dict(N=N, simulate_4_networks_4_layers_s=t_sim, theory_s=time.perf_counter() - t))
    print(_md(pd.DataFrame(rows), index=False))

    if args.results:
        from maxent.data import datasets
        from maxent.data.samples import WeightSamples
        from maxent.model.ising import IsingModel

        res = Path(args.results)
        for path in sorted((res / "samples").glob("*.npz")):
            setting = path.stem
            samples = WeightSamples.load(path)
            models = {b: IsingModel.load(res / "models" / setting / f"{b}.npz") for b in samples.blocks}
            prov = samples.meta.get("dataset", {})
            data = datasets.load(
                prov.get("name", "digits"),
                n_components=samples.widths[0],
                n_train=prov.get("n_train"),
                seed=prov.get("seed", 0),
                scaling=prov.get("scaling", "global"),
            )
            t = time.perf_counter()
            src = weight_sources(samples, models, random_state=0)
            t_sample = time.perf_counter() - t
            t = time.perf_counter()
            df = trained_dimension(samples, models, data, n_boot=200, seed=0, sources=src)
            t_stats = time.perf_counter() - t
            df["interval"] = [
                f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
                for v, lo, hi in zip(df["value"], df["ci_low"], df["ci_high"], strict=True)
            ]
            print(f"\n## {setting}: sampling {t_sample:.1f} s, statistics + bootstrap {t_stats:.1f} s\n")
            table = df[df["layer"] > 0].pivot_table(
                index=["statistic", "layer"], columns="source", values="interval", aggfunc="first"
            )
            print(_md(table))
            share = coupling_share(samples, models, data, n_boot=400, seed=0, sources=src)
            print("\nshare of the trained networks' reduction (vs J = 0) reproduced by the couplings:\n")
            print(
                _md(
                    share.set_index("layer")[
                        ["gap", "gap_ci_low", "gap_ci_high", "share", "share_ci_low", "share_ci_high"]
                    ]
                )
            )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()

"""Correlated synapses (#17): theory-vs-simulation error over N, timings, and (optionally) the
trained-ensemble comparison on a finished pipeline run.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 .venv/bin/python \
        benchmarks/bench_correlated.py [--Ns 64,128,256,512] [--networks 16] [--depth 4]
        [--results /path/to/results]   # also compare trained networks with their fitted models
        [--out DIR]

Measures (errors are simulation - theory; ``sem`` the simulations' standard error over networks):

1. Theory (``theory_depth``) vs simulation (``simulate_depth``) of the dimension D/N and the
   off-diagonal correlation N <c^2> of tanh layers, for 7 synapse ensembles, over N; the mean
   |error| over layers and its log-log slope against N.
2. Cost: the simulation of 4 networks x 5 layers against the theory it replaces, per N (ratio).
3. With ``--results``: per setting of a finished pipeline run, the trained networks' statistics
   against networks drawn from the fitted models and from independent synapses (bootstrap
   intervals over runs), and the share of the reduction reproduced by the couplings.

Writes ``<out>/correlated.json`` (every row, options, timings, machine) and
``<out>/correlated.md`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _report import machine_line, md_table, new_doc, records, write_results  # noqa: E402

from maxent.companion.correlated import (  # noqa: E402
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


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--Ns", default="64,128,256,512")
    ap.add_argument("--networks", type=int, default=16)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--results", default=None, help="a finished pipeline run's results folder")
    ap.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples of the trained part")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="results folder")
    args = ap.parse_args(argv)
    Ns = [int(n) for n in args.Ns.split(",")]
    options = {
        "Ns": Ns,
        "networks": args.networks,
        "depth": args.depth,
        "activation": "tanh",
        "ensembles": [str(e) for e in ENSEMBLES],
        "timing": {"layers": 5, "networks": 4, "ensemble": "gaussian, c_pre=1", "input_alpha": 0.5},
        "results": args.results,
        "n_boot": args.n_boot,
        "random_state": 0,
    }
    doc = new_doc(
        "correlated synapses: theory vs simulation over N; trained vs fitted-model networks", options
    )

    t = time.perf_counter()
    comp = compare_over_width(
        Ns, ENSEMBLES, depth=args.depth, activation="tanh", n_networks=args.networks, random_state=0
    )
    comp["error_over_sem"] = comp["error"] / comp["sem"]
    sc = error_scaling(comp)
    doc["theory_vs_simulation"] = {
        "rows": records(comp),
        "error_scaling": records(sc),
        "wall_s": time.perf_counter() - t,
    }
    print(md_table(sc, index=False), flush=True)

    rows = []
    ens = SynapseEnsemble("gaussian", c_pre=1.0)
    for N in Ns:
        C0 = input_covariance(N, alpha=0.5, random_state=0)
        t0, c0 = time.perf_counter(), time.process_time()
        simulate_depth([N] * 5, [ens], input_cov=C0, n_inputs=4 * N, n_networks=4, random_state=0)
        t_sim, c_sim = time.perf_counter() - t0, time.process_time() - c0
        t0, c0 = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theory_depth([N] * 5, ens, input_cov=C0)
        t_th, c_th = time.perf_counter() - t0, time.process_time() - c0
        rows.append(
            {
                "N": N,
                "simulation_wall_s": t_sim,
                "simulation_cpu_s": c_sim,
                "theory_wall_s": t_th,
                "theory_cpu_s": c_th,
                "simulation_over_theory_wall": t_sim / t_th,
            }
        )
        print(rows[-1], flush=True)
    doc["timings"] = records(pd.DataFrame(rows))

    if args.results:
        from maxent.data import datasets
        from maxent.data.samples import WeightSamples
        from maxent.model.ising import IsingModel

        res = Path(args.results)
        doc["trained"] = []
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
            df = trained_dimension(samples, models, data, n_boot=args.n_boot, seed=0, sources=src)
            t_stats = time.perf_counter() - t
            t = time.perf_counter()
            share = coupling_share(samples, models, data, n_boot=2 * args.n_boot, seed=0, sources=src)
            t_share = time.perf_counter() - t
            doc["trained"].append(
                {
                    "setting": setting,
                    "networks": samples.n_samples,
                    "widths": list(samples.widths),
                    "sampling_s": t_sample,
                    "statistics_bootstrap_s": t_stats,
                    "coupling_share_s": t_share,
                    "rows": records(df),
                    "coupling_share": records(share),
                }
            )
            print(f"{setting}: sampling {t_sample:.1f} s, statistics {t_stats:.1f} s, share {t_share:.1f} s")

    _, mp = write_results("correlated", doc, _markdown, args.out)
    print(mp.read_text())
    return doc


def _markdown(doc: dict) -> str:
    o = doc["options"]
    tv = doc["theory_vs_simulation"]
    comp = pd.DataFrame(tv["rows"])
    sc = pd.DataFrame(tv["error_scaling"])
    last = comp[comp["layer"] == o["depth"]].copy()
    last["cell"] = [
        f"{s:.4f} ± {e:.4f} / {t:.4f}"
        for s, e, t in zip(last["simulation"], last["sem"], last["theory"], strict=True)
    ]
    tab = last.pivot_table(index=["statistic", "synapses"], columns="N", values="cell", aggfunc="first")
    wide = sc.pivot_table(index=["statistic", "synapses"], columns="N", values="abs_error")
    wide.columns = [f"N={c}" for c in wide.columns]
    big = sc[sc["N"] == max(o["Ns"])].set_index(["statistic", "synapses"])
    wide["sem (max N)"] = big["sem"]
    wide["|error|/sem (max N)"] = big["abs_error"] / big["sem"]
    wide["slope"] = sc.groupby(["statistic", "synapses"])["slope"].first()
    tm = pd.DataFrame(doc["timings"])
    lines = [
        "# Correlated synapses benchmark",
        "",
        machine_line(doc),
        "",
        f"## Theory vs simulation, tanh, depth {o['depth']}, {o['networks']} networks per point "
        f"({tv['wall_s']:.0f} s)",
        "",
        "### Last layer: simulation ± sem / theory",
        "",
        md_table(tab),
        "",
        "### Mean |error| over layers 1..L (slope: log-log fit against N)",
        "",
        "|error|/sem (max N): the mean |error| at the largest N over the mean standard error of the "
        "simulations there (values well above 2 mean a resolved finite-N or theory bias).",
        "",
        md_table(wide),
        "",
        "## Cost: simulation (4 networks, widths [N] * 5, gaussian c_pre = 1) vs theory",
        "",
        md_table(tm, index=False),
    ]
    for tr in doc.get("trained", []):
        df = pd.DataFrame(tr["rows"])
        df["interval"] = [
            f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
            for v, lo, hi in zip(df["value"], df["ci_low"], df["ci_high"], strict=True)
        ]
        table = df[df["layer"] > 0].pivot_table(
            index=["statistic", "layer"], columns="source", values="interval", aggfunc="first"
        )
        share = pd.DataFrame(tr["coupling_share"]).set_index("layer")
        keep = [
            c
            for c in ["gap", "gap_ci_low", "gap_ci_high", "share", "share_ci_low", "share_ci_high"]
            if c in share
        ]
        lines += [
            "",
            f"## Trained ensemble `{tr['setting']}` ({tr['networks']} networks, widths {tr['widths']})",
            "",
            f"Sampling the model networks {tr['sampling_s']:.1f} s, statistics + bootstrap "
            f"{tr['statistics_bootstrap_s']:.1f} s, coupling share {tr['coupling_share_s']:.1f} s. "
            "Value [95% bootstrap interval over runs]:",
            "",
            md_table(table),
            "",
            "Share of the trained networks' reduction (vs J = 0) reproduced by the couplings:",
            "",
            md_table(share[keep]),
        ]
    cmd = (
        "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 .venv/bin/python "
        "benchmarks/bench_correlated.py "
        f"--Ns {','.join(map(str, o['Ns']))} --networks {o['networks']} --depth {o['depth']}"
        + (f" --results {o['results']}" if o["results"] else "")
        + (f" --n-boot {o['n_boot']}" if o["n_boot"] != 200 else "")
    )
    lines += ["", f"Reproduce: `{cmd}`"]
    return "\n".join(lines)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()

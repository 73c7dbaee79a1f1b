"""Accuracy and speed of the active path solvers (companion 2); prints a markdown report.

Run from the repository root:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_active_path.py [--quick]

1. BP / Bethe vs exact enumeration on tiny instances (tree and loopy), with random fields.
2. T = 0 XORSAT thresholds from the warning-propagation population vs the scalar oracle,
   for two population sizes (error bars over independent populations).
3. The phase diagram (critical removal rho_d, rho_s vs T) at the CLI defaults, with timing.
4. Speed: BP and heat-bath sweeps on a medium instance.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from maxent.companion.active_path import (
    active_path_instance,
    exact_enumeration,
    heat_bath,
    phase_diagram,
    population_thresholds,
    random_pspin_instance,
    run_bp,
    satisfiable,
)


def bp_vs_exact(n_inst: int = 40) -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    k = 0
    while len(rows) < 3 * n_inst:  # three temperatures per instance
        k += 1
        inst = active_path_instance(3, 3, 0.2, int(rng.integers(3, 7)), seed=k).compact()
        if inst.n_vars > 18:
            continue
        inst = inst.with_fields(0.5 * rng.normal(size=inst.n_vars))
        for beta in (0.5, 1.0, 2.0):
            ex = exact_enumeration(inst, beta)
            bp = run_bp(inst, beta, seed=k, damping=0.2, max_iter=5000, warn=False)
            rows.append(
                {
                    "tree": inst.is_tree(),
                    "beta": beta,
                    "n": inst.n_vars,
                    "converged": bp.converged,
                    "dlogZ_per_n": abs(bp.log_z - ex.log_z) / inst.n_vars,
                    "dE_per_n": abs(bp.energy - ex.energy) / inst.n_vars,
                    "dm_max": float(np.max(np.abs(bp.magnetizations - ex.magnetizations))),
                }
            )
    return pd.DataFrame(rows)


def main(quick: bool) -> None:
    t0 = time.time()
    df = bp_vs_exact(10 if quick else 40)
    print("## BP vs exact enumeration (|error| per instance: median and max over instances)\n")
    cols = ["dlogZ_per_n", "dE_per_n", "dm_max"]
    print(df.groupby(["tree", "beta"])[cols].agg(["median", "max"]).to_string(float_format="%.2e"))
    print(f"\nconverged: {df.converged.mean():.2f}; {time.time() - t0:.1f} s\n")
    print("## T = 0 XORSAT thresholds (p = 3): population vs scalar oracle\n")
    for pop, reps in ((1000, 6), (10_000, 4)) if quick else ((1000, 8), (10_000, 6), (100_000, 3)):
        t = time.time()
        tab = population_thresholds(3, pop_size=pop, n_iter=300, n_repeats=reps, tol=5e-4, seed=1)
        print(
            tab[
                [
                    "threshold",
                    "estimate",
                    "stderr",
                    "sd",
                    "n_repeats",
                    "pop_size",
                    "exact",
                    "scalar_finite_iter",
                ]
            ].to_string(index=False, float_format="%.4f")
        )
        print(f"({time.time() - t:.1f} s)\n")
    print("## Satisfiable fraction of random 3-XORSAT instances (GF(2) elimination of the core)\n")
    t = time.time()
    alphas = np.array([0.88, 0.90, 0.91, 0.92, 0.93, 0.94, 0.96])
    for n in (1000,) if quick else (1000, 4000):
        k = 20 if quick else 40
        frac = np.array(
            [
                np.mean([satisfiable(random_pspin_instance(n, int(a * n), 3, seed=s)) for s in range(k)])
                for a in alphas
            ]
        )
        cross = np.interp(0.5, frac[::-1], alphas[::-1])
        print(
            f"n = {n} ({k} instances per alpha): "
            + ", ".join(f"{a:.2f}: {f:.2f}" for a, f in zip(alphas, frac, strict=True))
            + f"; P(SAT) = 1/2 at alpha = {cross:.3f}"
        )
    print(f"({time.time() - t:.1f} s)\n")
    print("## Phase diagram, L = 3, M/N^2 = 1.5 (CLI defaults)\n")
    t = time.time()
    pdf = phase_diagram(n_repeats=2 if quick else 3)
    print(
        pdf[["T", "transition", "c", "c_err", "rho", "rho_err", "q_jump", "q_jump_err", "order"]].to_string(
            index=False, float_format="%.4f"
        )
    )
    print(f"({time.time() - t:.1f} s)\n")
    print("## Speed (one core)\n")
    inst = active_path_instance(3, 100, 0.5, 15_000, seed=0)
    t = time.time()
    bp = run_bp(inst, 0.5, max_iter=200, warn=False)
    tb = time.time() - t
    heat_bath(inst, 1.0, 2, seed=0)  # compile
    t = time.time()
    heat_bath(inst, 1.0, 200, record_every=200, seed=0)
    tm = time.time() - t
    print(
        f"instance n = {inst.n_vars} weights, M = {inst.n_factors} paths: BP {bp.n_iter} iterations "
        f"in {tb:.2f} s ({tb / bp.n_iter * 1e3:.1f} ms/iter); "
        f"heat bath {200 * inst.n_vars / tm / 1e6:.1f} M flips/s"
    )
    print(f"\ntotal {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main("--quick" in sys.argv)

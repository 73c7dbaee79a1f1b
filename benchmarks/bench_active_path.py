"""Accuracy and speed of the active path solvers (companion 2), against oracles in the same run.

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 .venv/bin/python \
        benchmarks/bench_active_path.py [--quick] [--out DIR]

1. BP / Bethe vs exact enumeration on tiny instances (tree and loopy), with random fields; time of
   BP against that of the enumeration on the same instances.
2. T = 0 XORSAT thresholds from the warning-propagation population vs the scalar oracle (the
   exact alpha_d, alpha_s of p = 3 XORSAT), for several population sizes (standard errors over
   independent populations; error / stderr reported).
3. Satisfiable fraction of random 3-XORSAT instances (GF(2) elimination) vs the exact alpha_s,
   with binomial standard errors.
4. The phase diagram (critical removal rho_d, rho_s vs T) at the CLI defaults, with timing.
5. Speed: BP on a medium instance; the compiled heat-bath sweep against the same sweep code run
   by the interpreter (numba's ``py_func``) on identical states and uniforms (results must match).

Writes ``<out>/active_path.json`` (every row, options, timings, machine) and
``<out>/active_path.md`` (default ``benchmarks/results``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _report import machine_line, md_table, new_doc, records, write_results  # noqa: E402

from maxent.companion.active_path import (  # noqa: E402
    active_path_instance,
    exact_enumeration,
    heat_bath,
    phase_diagram,
    population_thresholds,
    random_pspin_instance,
    run_bp,
    satisfiable,
)
from maxent.companion.active_path import mcmc as _mcmc  # noqa: E402
from maxent.companion.active_path.xorsat import alpha_dynamical, alpha_satisfiability  # noqa: E402


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
            t = time.perf_counter()
            ex = exact_enumeration(inst, beta)
            t_ex = time.perf_counter() - t
            t = time.perf_counter()
            bp = run_bp(inst, beta, seed=k, damping=0.2, max_iter=5000, warn=False)
            t_bp = time.perf_counter() - t
            rows.append(
                {
                    "tree": inst.is_tree(),
                    "beta": beta,
                    "n": inst.n_vars,
                    "converged": bp.converged,
                    "dlogZ_per_n": abs(bp.log_z - ex.log_z) / inst.n_vars,
                    "dE_per_n": abs(bp.energy - ex.energy) / inst.n_vars,
                    "dm_max": float(np.max(np.abs(bp.magnetizations - ex.magnetizations))),
                    "bp_iter": int(bp.n_iter),
                    "bp_s": t_bp,
                    "exact_s": t_ex,
                }
            )
    return pd.DataFrame(rows)


def heat_bath_speed(inst, n_sweeps: int, n_sweeps_py: int) -> dict:
    """Compiled sweep vs the interpreted same code (``py_func``), identical states and uniforms."""
    heat_bath(inst, 1.0, 2, seed=0)  # compile (or load numba's cache) outside the timings
    t = time.perf_counter()
    heat_bath(inst, 1.0, n_sweeps, record_every=n_sweeps, seed=0)
    t_api = time.perf_counter() - t
    rng = np.random.default_rng(0)
    W0 = rng.choice(np.array([-1.0, 1.0]), size=(1, inst.n_vars))
    ptr, fac = _mcmc._adjacency(inst)
    betas = np.ones(1)
    U = [rng.random(W0.shape) for _ in range(n_sweeps_py)]
    out = {}
    for name, fn in (("numba", _mcmc._sweeps), ("python", _mcmc._sweeps.py_func)):
        W = W0.copy()
        P = _mcmc._factor_values(inst, W)
        t = time.perf_counter()
        for u in U:
            fn(W, P, betas, ptr, fac, inst.fields, u)
        out[name] = (time.perf_counter() - t, W)
    flips = n_sweeps_py * inst.n_vars
    return {
        "n_vars": inst.n_vars,
        "n_factors": inst.n_factors,
        "api_sweeps": n_sweeps,
        "api_s": t_api,
        "api_mflips_per_s": n_sweeps * inst.n_vars / t_api / 1e6,
        "kernel_sweeps": n_sweeps_py,
        "numba_kernel_s": out["numba"][0],
        "python_kernel_s": out["python"][0],
        "numba_mflips_per_s": flips / out["numba"][0] / 1e6,
        "python_mflips_per_s": flips / out["python"][0] / 1e6,
        "speedup_numba_vs_python": out["python"][0] / out["numba"][0],
        "same_states": bool(np.array_equal(out["numba"][1], out["python"][1])),
    }


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer instances, populations and repeats")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="results folder")
    args = ap.parse_args(argv)
    quick = args.quick
    pops = ((1000, 6), (10_000, 4)) if quick else ((1000, 8), (10_000, 6), (100_000, 3))
    sat_ns = (1000,) if quick else (1000, 4000)
    sat_k = 20 if quick else 40
    alphas = np.array([0.88, 0.90, 0.91, 0.92, 0.93, 0.94, 0.96])
    options = {
        "quick": quick,
        "bp_vs_exact": {"instances": 10 if quick else 40, "betas": [0.5, 1.0, 2.0], "max_vars": 18},
        "thresholds": {"p": 3, "populations": pops, "n_iter": 300, "tol": 5e-4, "seed": 1},
        "satisfiable": {"n": sat_ns, "instances_per_alpha": sat_k, "alphas": alphas},
        "phase_diagram": {"n_repeats": 2 if quick else 3, "defaults": "CLI (L = 3, M/N^2 = 1.5)"},
        "speed": {
            "instance": "active_path_instance(3, 100, 0.5, 15000, seed=0)",
            "beta_bp": 0.5,
            "kernel_sweeps": 20 if quick else 50,
        },
    }
    doc = new_doc("active path: BP vs exact, population vs scalar oracle, phase diagram, kernels", options)
    t0 = time.perf_counter()

    t = time.perf_counter()
    df = bp_vs_exact(options["bp_vs_exact"]["instances"])
    cols = ["dlogZ_per_n", "dE_per_n", "dm_max"]
    agg = df.groupby(["tree", "beta"])[cols].agg(["median", "max"])
    agg[("converged", "fraction")] = df.groupby(["tree", "beta"])["converged"].mean()
    agg[("n", "instances")] = df.groupby(["tree", "beta"]).size()
    doc["bp_vs_exact"] = {
        "rows": records(df),
        "summary": records(agg),
        "converged_fraction": float(df.converged.mean()),
        "bp_total_s": float(df.bp_s.sum()),
        "exact_total_s": float(df.exact_s.sum()),
        "exact_over_bp": float(df.exact_s.sum() / df.bp_s.sum()),
        "wall_s": time.perf_counter() - t,
    }
    print(md_table(agg), flush=True)

    tabs = []
    for pop, reps in pops:
        t = time.perf_counter()
        tab = population_thresholds(3, pop_size=pop, n_iter=300, n_repeats=reps, tol=5e-4, seed=1)
        tab["seconds"] = time.perf_counter() - t
        tabs.append(tab)
    th = pd.concat(tabs, ignore_index=True)
    th["error"] = th["estimate"] - th["exact"]
    th["error_over_stderr"] = th["error"] / th["stderr"]
    th["finite_iter_error"] = th["estimate"] - th["scalar_finite_iter"]
    doc["thresholds"] = {"rows": records(th)}
    print(md_table(th, index=False), flush=True)

    t = time.perf_counter()
    a_s = alpha_satisfiability(3)
    sat_rows = []
    for n in sat_ns:
        for a in alphas:
            sat = [satisfiable(random_pspin_instance(n, int(a * n), 3, seed=s)) for s in range(sat_k)]
            f = float(np.mean(sat))
            sat_rows.append(
                {
                    "n": n,
                    "alpha": float(a),
                    "instances": sat_k,
                    "p_sat": f,
                    "sem": np.sqrt(f * (1 - f) / sat_k),
                }
            )
    sat_df = pd.DataFrame(sat_rows)
    cross = []
    for n, g in sat_df.groupby("n"):
        c = float(np.interp(0.5, g["p_sat"].to_numpy()[::-1], g["alpha"].to_numpy()[::-1]))
        cross.append({"n": n, "alpha_half": c, "exact_alpha_s": a_s, "difference": c - a_s})
    doc["satisfiable"] = {
        "rows": records(sat_df),
        "crossing": records(pd.DataFrame(cross)),
        "alpha_d": alpha_dynamical(3),
        "alpha_s": a_s,
        "wall_s": time.perf_counter() - t,
    }
    print(md_table(pd.DataFrame(cross), index=False), flush=True)

    t = time.perf_counter()
    pdf = phase_diagram(n_repeats=options["phase_diagram"]["n_repeats"])
    doc["phase_diagram"] = {"rows": records(pdf), "wall_s": time.perf_counter() - t}
    print(md_table(pdf, index=False), flush=True)

    inst = active_path_instance(3, 100, 0.5, 15_000, seed=0)
    t = time.perf_counter()
    bp = run_bp(inst, 0.5, max_iter=200, warn=False)
    tb = time.perf_counter() - t
    speed = {
        "bp_iterations": int(bp.n_iter),
        "bp_converged": bool(bp.converged),
        "bp_s": tb,
        "bp_ms_per_iter": tb / bp.n_iter * 1e3,
    }
    speed.update(heat_bath_speed(inst, 200, options["speed"]["kernel_sweeps"]))
    doc["speed"] = speed
    doc["total_wall_s"] = time.perf_counter() - t0
    print(speed, flush=True)
    _, mp = write_results("active_path", doc, _markdown, args.out)
    print(mp.read_text())
    return doc


def _markdown(doc: dict) -> str:
    o = doc["options"]
    b = doc["bp_vs_exact"]
    agg = pd.DataFrame(b["summary"])
    th = pd.DataFrame(doc["thresholds"]["rows"])
    sat = doc["satisfiable"]
    sat_df = pd.DataFrame(sat["rows"])
    wide = sat_df.assign(
        cell=[f"{p:.2f} ± {e:.2f}" for p, e in zip(sat_df.p_sat, sat_df["sem"], strict=True)]
    )
    wide = wide.pivot_table(index="n", columns="alpha", values="cell", aggfunc="first")
    pdf = pd.DataFrame(doc["phase_diagram"]["rows"])
    pcols = [c for c in ["T", "transition", "c", "c_err", "rho", "rho_err", "q_jump", "q_jump_err", "order"]]
    sp = doc["speed"]
    lines = [
        "# Active path benchmark" + (" (--quick)" if o["quick"] else ""),
        "",
        machine_line(doc) + f" Total {doc['total_wall_s']:.0f} s.",
        "",
        f"## BP / Bethe vs exact enumeration ({o['bp_vs_exact']['instances']} instances of <= 18 weights, "
        "random fields, 3 temperatures)",
        "",
        "|error| per instance (per weight for log Z and energy; max over weights for m): median and max over "
        "instances.",
        "",
        md_table(agg, index=False, digits=3),
        "",
        f"Converged: {b['converged_fraction']:.2f}. Time: BP {b['bp_total_s']:.2f} s, exact enumeration "
        f"{b['exact_total_s']:.2f} s in all (enumeration / BP = {b['exact_over_bp']:.2f}x; tiny instances).",
        "",
        "## T = 0 XORSAT thresholds (p = 3): population vs scalar oracle",
        "",
        "estimate ± stderr over independent populations; exact = the scalar oracle; error = "
        "estimate - exact; "
        "scalar_finite_iter = the scalar recursion after the same number of iterations.",
        "",
        md_table(
            th[
                [
                    "threshold",
                    "pop_size",
                    "n_repeats",
                    "estimate",
                    "stderr",
                    "exact",
                    "error",
                    "error_over_stderr",
                    "scalar_finite_iter",
                    "finite_iter_error",
                    "seconds",
                ]
            ],
            index=False,
        ),
        "",
        "## Satisfiable fraction of random 3-XORSAT (GF(2) elimination of the 2-core)",
        "",
        "P(SAT) ± binomial standard error, per instance size n and clause density alpha:",
        "",
        md_table(wide, digits=3),
        "",
        md_table(pd.DataFrame(sat["crossing"]), index=False),
        "",
        f"(alpha_d = {sat['alpha_d']:.6f}, alpha_s = {sat['alpha_s']:.6f}; {sat['wall_s']:.1f} s)",
        "",
        f"## Phase diagram, L = 3, M/N^2 = 1.5 (CLI defaults, {o['phase_diagram']['n_repeats']} repeats)",
        "",
        md_table(pdf[[c for c in pcols if c in pdf]], index=False),
        "",
        f"({doc['phase_diagram']['wall_s']:.1f} s)",
        "",
        "## Speed (one core)",
        "",
        f"Instance: {sp['n_vars']} weights, {sp['n_factors']} paths. BP at beta = 0.5: {sp['bp_iterations']} "
        f"iterations in {sp['bp_s']:.2f} s ({sp['bp_ms_per_iter']:.1f} ms/iteration). Heat bath through "
        f"`heat_bath` ({sp['api_sweeps']} sweeps): {sp['api_mflips_per_s']:.2f} M flips/s.",
        "",
        "| kernel | sweeps | seconds | M flips/s |",
        "|---|---:|---:|---:|",
        f"| numba (`_sweeps`) | {sp['kernel_sweeps']} | {sp['numba_kernel_s']:.4f} | "
        f"{sp['numba_mflips_per_s']:.2f} |",
        f"| interpreted (`_sweeps.py_func`) | {sp['kernel_sweeps']} | {sp['python_kernel_s']:.3f} | "
        f"{sp['python_mflips_per_s']:.3f} |",
        "",
        f"numba / interpreted: {sp['speedup_numba_vs_python']:.0f}x faster; identical final states: "
        f"{sp['same_states']}.",
        "",
        "Reproduce: `OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 .venv/bin/python "
        "benchmarks/bench_active_path.py" + (" --quick" if o["quick"] else "") + "`",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

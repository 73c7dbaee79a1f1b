"""Benchmark: Bethe entropy landscape of a 675-spin model, 121 x values, both sweeps, tol 1e-6.

Compares, in the same run and on the same model and reference,

* ``maxent.geometry.landscape.entropy_landscape`` (tanh(J) once, fused transpose-light sweeps on
  v = tanh u with products instead of N^2 logarithms, polynomial extrapolation of the warm
  start over the previous x values, single-threaded BLAS), and
* ``plain_landscape`` below: the straightforward numpy BP a user would write: cavity fields u,
  every sweep recomputes tanh(J), tanh of the cavity fields and atanh (three N x N
  transcendental passes), warm start from the previous x's messages, Bethe quantities with
  N x N logarithms.

Both must give the same table (max |Δd|, |Δs| reported; they agree to the BP tolerance).

Test model (documented in the output): SK-like N = 675 (one full 20-15-15-10 network),
J_ij ~ N(0, beta^2 / N) with beta = 0.3, i.e. rms J ~ 0.0115, max |J| ~ 0.06 -- the scale of
couplings in Boltzmann/Bethe fits of weight samples (couplings of order 1/sqrt(N) and weaker;
the reference study reports the central block ~10x weaker still) -- and fields
h_i ~ N(0, 0.3^2) (weights with mild preferred signs). The reference configuration is a local
energy minimum of the model reached by a zero-temperature quench from a random start (a
"low-energy sample"). ``--beta`` changes the coupling scale (e.g. 0.6 for a harder model).

Run:  .venv/bin/python benchmarks/bench_landscape.py        (writes benchmarks/results/landscape.{json,md})
Timings are wall-clock and process CPU time on this (shared, 2-core) machine; the machine load
at the time is recorded. See /work/.library/env/README.md about OPENBLAS_CORETYPE: this
benchmark leaves the environment as it is (BLAS is limited to one thread inside BP anyway).
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maxent._atomic import atomic_write_text  # noqa: E402
from maxent.geometry.landscape import default_grid, entropy_landscape  # noqa: E402
from maxent.ising import IsingModel  # noqa: E402


def plain_bp(h: np.ndarray, J: np.ndarray, u: np.ndarray, tol: float, max_iter: int = 1000):
    """Straightforward dense BP in cavity fields u[i, j] = u_{i->j}; returns u, n_iter, converged."""
    for it in range(1, max_iter + 1):
        H = h + u.sum(axis=0)
        g = H[:, None] - u.T  # cavity field g_{i->j} = H_i - u_{j->i}
        u_new = np.arctanh(np.tanh(J) * np.tanh(g))
        np.fill_diagonal(u_new, 0.0)
        delta = np.abs(u_new - u).max()
        u = u_new
        if delta <= tol:
            return u, it, True
    return u, max_iter, False


def plain_bethe(h: np.ndarray, J: np.ndarray, u: np.ndarray):
    """m, log Z_Bethe and sum_{i<j} J C from converged messages (textbook formulas)."""
    H = h + u.sum(axis=0)
    m = np.tanh(H)
    g = H[:, None] - u.T
    t = np.tanh(g)
    T = np.tanh(J)
    P = t * t.T
    C = (T + P) / (1.0 + T * P)
    iu = np.triu_indices(h.size, 1)
    log_z = (
        np.sum(np.log(2.0 * np.cosh(H)))
        + np.sum(np.log(np.cosh(J[iu])))
        + 0.5 * np.sum(np.log(1.0 - (T * t) ** 2))
        - np.sum(np.log(1.0 + T[iu] * P[iu]))
    )
    pair = float(np.sum(J[iu] * C[iu]))
    return m, float(log_z), pair


def plain_landscape(model: IsingModel, ref: np.ndarray, grid: np.ndarray, tol: float) -> dict:
    """Both sweeps with the plain BP; returns arrays d, entropy, energy, n_iter (down then up)."""
    h, J = model.h, model.J
    n = h.size
    out = {"d": [], "entropy": [], "energy": [], "n_iter": [], "converged": []}
    for xs in (grid[::-1], grid):
        u = np.zeros((n, n))
        for x in xs:
            hx = h + x * ref
            u, it, conv = plain_bp(hx, J, u, tol)
            m, log_z, pair = plain_bethe(hx, J, u)
            q = float(ref @ m) / n
            energy = -(pair + float(h @ m))
            entropy = log_z + energy - x * n * q
            out["d"].append((1 - q) / 2)
            out["entropy"].append(entropy / n)
            out["energy"].append(energy / n)
            out["n_iter"].append(it)
            out["converged"].append(conv)
    return {k: np.asarray(v) for k, v in out.items()}


def quench(model: IsingModel, rng: np.random.Generator, sweeps: int = 20) -> np.ndarray:
    """Zero-temperature single-spin-flip descent from a random start (benchmark setup only)."""
    s = rng.choice([-1.0, 1.0], size=model.n_spins)
    for _ in range(sweeps):
        changed = False
        for i in rng.permutation(model.n_spins):
            new = 1.0 if model.h[i] + model.J[i] @ s >= 0 else -1.0
            changed |= new != s[i]
            s[i] = new
        if not changed:
            break
    return s


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=675)
    ap.add_argument("--beta", type=float, default=0.3, help="coupling scale: J ~ N(0, beta^2/N)")
    ap.add_argument("--h-std", type=float, default=0.3)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="repeats of the fast landscape (best kept)")
    ap.add_argument("--skip-plain", action="store_true", help="skip the slow reference implementation")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    model = IsingModel.random_sk(args.n, beta=args.beta, h_std=args.h_std, random_state=rng)
    ref = quench(model, rng)
    grid = default_grid()
    load_before = os.getloadavg()[0]

    fast_wall, fast_cpu, df = [], [], None
    for _ in range(max(1, args.repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        df = entropy_landscape(model, ref, x=grid, sweep="both", tol=args.tol)
        fast_wall.append(time.perf_counter() - t0)
        fast_cpu.append(time.process_time() - c0)
    assert df is not None
    result: dict = {
        "benchmark": "entropy landscape, both sweeps",
        "model": {
            "kind": "SK-like",
            "n_spins": args.n,
            "J": f"N(0, {args.beta}^2/N)",
            "h": f"N(0, {args.h_std}^2)",
            "rms_J": float(np.sqrt(np.mean(model.J[np.triu_indices(args.n, 1)] ** 2))),
            "max_abs_J": float(np.abs(model.J).max()),
            "reference": "zero-temperature quench (local energy minimum)",
            "seed": args.seed,
        },
        "grid": {"x_min": float(grid[0]), "x_max": float(grid[-1]), "n_x": int(grid.size), "sweeps": 2},
        "tol": args.tol,
        "fast": {
            "wall_s": min(fast_wall),
            "cpu_s": min(fast_cpu),
            "wall_s_all": fast_wall,
            "cpu_s_all": fast_cpu,
            "bp_sweeps_total": int(df["n_iter"].sum()),
            "bp_sweeps_per_x": float(df["n_iter"].mean()),
            "all_converged": bool(df["converged"].all()),
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1min_before": load_before,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        },
    }
    if not args.skip_plain:
        t0, c0 = time.perf_counter(), time.process_time()
        plain = plain_landscape(model, ref, grid, args.tol)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        result["plain"] = {
            "wall_s": wall,
            "cpu_s": cpu,
            "bp_sweeps_total": int(plain["n_iter"].sum()),
            "bp_sweeps_per_x": float(plain["n_iter"].mean()),
            "all_converged": bool(plain["converged"].all()),
        }
        result["speedup_wall"] = wall / result["fast"]["wall_s"]
        result["speedup_cpu"] = cpu / result["fast"]["cpu_s"]
        result["agreement"] = {
            "max_abs_diff_d": float(np.abs(df["d"].to_numpy() - plain["d"]).max()),
            "max_abs_diff_entropy": float(np.abs(df["entropy"].to_numpy() - plain["entropy"]).max()),
            "max_abs_diff_energy": float(np.abs(df["energy"].to_numpy() - plain["energy"]).max()),
        }
    result["machine"]["load_avg_1min_after"] = os.getloadavg()[0]

    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "landscape.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(args.out / "landscape.md", _markdown(result))
    print(_markdown(result))
    return result


def _markdown(r: dict) -> str:
    f, mdl = r["fast"], r["model"]
    lines = [
        "# Entropy landscape benchmark",
        "",
        f"Model: {mdl['kind']} N={mdl['n_spins']}, J ~ {mdl['J']} (rms {mdl['rms_J']:.4f}, "
        f"max |J| {mdl['max_abs_J']:.3f}), h ~ {mdl['h']}; reference: {mdl['reference']}.",
        f"Grid: x = {r['grid']['x_min']}..{r['grid']['x_max']} ({r['grid']['n_x']} values), both sweeps, "
        f"tol {r['tol']:g}. Machine: {r['machine']['cpus']} cores, 1-min load "
        f"{r['machine']['load_avg_1min_before']:.1f} -> {r['machine']['load_avg_1min_after']:.1f}.",
        "",
        "| implementation | wall s | CPU s | BP sweeps per x | all converged |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| maxent entropy_landscape | {f['wall_s']:.2f} | {f['cpu_s']:.2f} | {f['bp_sweeps_per_x']:.2f} | "
        f"{f['all_converged']} |",
    ]
    if "plain" in r:
        p, a = r["plain"], r["agreement"]
        lines += [
            f"| plain numpy BP (reference) | {p['wall_s']:.2f} | {p['cpu_s']:.2f} | "
            f"{p['bp_sweeps_per_x']:.2f} | {p['all_converged']} |",
            "",
            f"Speed-up: {r['speedup_wall']:.1f}x wall, {r['speedup_cpu']:.1f}x CPU. Agreement: max |Δd| "
            f"{a['max_abs_diff_d']:.1e}, max |Δs| {a['max_abs_diff_entropy']:.1e}, max |Δe| "
            f"{a['max_abs_diff_energy']:.1e} (per spin).",
        ]
    lines += ["", "Reproduce: `.venv/bin/python benchmarks/bench_landscape.py`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

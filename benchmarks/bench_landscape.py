"""Benchmark: Bethe entropy landscape of 675-spin models, 121 x values, both sweeps, tol 1e-6.

Compares, in the same run and on the same model and reference,

* ``maxent.geometry.landscape.entropy_landscape`` with its default CPU kernel (compiled numba
  loops: one fused pass over the messages per BP sweep; polynomial extrapolation of the warm
  start over the previous x values),
* the same with ``device="numpy"``: the numpy kernel, i.e. the code before the compiled kernel
  (tanh(J) once, transpose-light numpy sweeps on v = tanh u with products instead of N^2
  logarithms, the same extrapolation), and
* ``plain_landscape`` below: the straightforward numpy BP a user would write: cavity fields u,
  every sweep recomputes tanh(J), tanh of the cavity fields and atanh (three N x N
  transcendental passes), warm start from the previous x's messages, Bethe quantities with
  N x N logarithms.

All must give the same table (max |Δd|, |Δs| against the plain BP are reported; they agree to
the BP tolerance).

Models (``--models``, all by default):

* ``sk``: SK-like N = 675, J_ij ~ N(0, 0.3^2 / N) (rms J ~ 0.0115, max |J| ~ 0.06), h_i ~
  N(0, 0.3^2): weakly coupled, BP converges in a few sweeps everywhere. Reference: a local
  energy minimum reached by a zero-temperature quench from a random start.
* ``pl0.1``, ``pl0.01``: pseudo-likelihood fits (alpha = 0.1, 0.01; alpha_h = 0.01) of the full
  675-spin 20-15-15-10 network to 1024 weight samples of the trainer (``maxent.data.train.sample_weights``
  on the embedded digits, LR-net, 200 epochs, 256 runs x 4 draws, seed 1; mean test accuracy
  ~0.78): strongly coupled models of the kind real samples give (rms J 0.042 / 0.069, max |J|
  0.27 / 0.44, ~12 / ~97 couplings |J| > 0.1 per spin; BP from zero messages needs 100 / 320
  sweeps at x = 0; both landscapes jump). Reference: the sample of lowest model energy. The
  samples and fits are cached in ``benchmarks/.peers/work/landscape_models/`` (first run:
  ~1.5 min of training).
* ``dense``: SK-like with J ~ N(0, 1.1^2 / N) (rms J 0.042): 137 BP sweeps from zero messages at
  x = 0, 50-130 per point near x = 0 in the landscape.

Run:  .venv/bin/python benchmarks/bench_landscape.py        (writes benchmarks/results/landscape.{json,md})
Timings are wall-clock and process CPU time on this (shared, 2-core) machine; the machine load
at the time is recorded. BLAS is limited to one thread inside BP; numba runs single-threaded.
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
from maxent.geometry.landscape import choose_references, default_grid, entropy_landscape  # noqa: E402
from maxent.model.bp import run_bp  # noqa: E402
from maxent.model.ising import IsingModel  # noqa: E402


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


MODELS = ("sk", "pl0.1", "pl0.01", "dense")
CACHE = ROOT / "benchmarks" / ".peers" / "work" / "landscape_models"


def trained_samples() -> np.ndarray:
    """Weight samples of the 675-spin deep net (cached): 256 LR-net runs x 4 draws on digits."""
    path = CACHE / "deep_digits_samples.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)
    import torch

    from maxent.data import datasets
    from maxent.data.train import TrainConfig, sample_weights

    torch.set_num_threads(1)
    ws = sample_weights(
        datasets.load("digits"),
        TrainConfig(widths=(20, 15, 15, 10), epochs=200),
        n_runs=256,
        draws_per_run=4,
        seed=1,
        progress=False,
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, ws.spins)
    return ws.spins


def make_model(name: str, seed: int) -> tuple[IsingModel, np.ndarray, dict]:
    """(model, reference, description) of a benchmark model."""
    rng = np.random.default_rng(seed)
    if name in ("sk", "dense"):
        beta = 0.3 if name == "sk" else 1.1
        model = IsingModel.random_sk(675, beta=beta, h_std=0.3, random_state=rng)
        ref = quench(model, rng)
        desc = {"kind": f"SK-like, J ~ N(0, {beta}^2/N), h ~ N(0, 0.3^2)", "reference": "quench"}
    elif name.startswith("pl"):
        alpha = float(name[2:])
        path = CACHE / f"pl_alpha{alpha:g}.npz"
        S = trained_samples()
        if path.exists():
            z = np.load(path, allow_pickle=False)
            model = IsingModel(z["h"], z["J"])
        else:
            from maxent.fit import PseudoLikelihood

            est = PseudoLikelihood(alpha=alpha, alpha_h=0.01).fit(S)
            model = est.model_
            CACHE.mkdir(parents=True, exist_ok=True)
            np.savez(path, h=model.h, J=model.J)
        ref = choose_references(model, S)["low"].astype(np.float64)
        desc = {
            "kind": f"PL fit (alpha={alpha:g}) to {S.shape[0]} trained deep-net samples",
            "reference": "lowest-energy sample",
        }
    else:
        raise ValueError(f"unknown model {name!r}; choose from {MODELS}")
    n = model.n_spins
    iu = np.triu_indices(n, 1)
    r0 = run_bp(model.h, model.J, tol=1e-6, correlations=False, warn=False)
    desc.update(
        n_spins=n,
        rms_J=float(np.sqrt(np.mean(model.J[iu] ** 2))),
        max_abs_J=float(np.abs(model.J).max()),
        couplings_above_0_1_per_spin=float((np.abs(model.J) > 0.1).sum(axis=0).mean()),
        bp_sweeps_from_zero_at_x0=int(r0.n_iter),
    )
    return model, ref, desc


def timed(fn, repeat: int):
    walls, cpus, out = [], [], None
    for _ in range(max(1, repeat)):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return out, min(walls), min(cpus), walls


def bench_model(name: str, args) -> dict:
    model, ref, desc = make_model(name, args.seed)
    grid = default_grid()
    row: dict = {"model": name, "description": desc, "load_avg_1min_before": os.getloadavg()[0]}
    impls = {
        "maxent": lambda: entropy_landscape(model, ref, x=grid, sweep="both", tol=args.tol),
        "maxent_numpy_kernel": lambda: entropy_landscape(
            model, ref, x=grid, sweep="both", tol=args.tol, device="numpy"
        ),
    }
    tables = {}
    for key, fn in impls.items():
        df, wall, cpu, walls = timed(fn, args.repeat)
        tables[key] = df
        row[key] = {
            "wall_s": wall,
            "cpu_s": cpu,
            "wall_s_all": walls,
            "bp_sweeps_total": int(df["n_iter"].sum()),
            "bp_sweeps_per_x": float(df["n_iter"].mean()),
            "max_bp_sweeps_at_one_x": int(df["n_iter"].max()),
            "all_converged": bool(df["converged"].all()),
        }
    a, b = tables["maxent"], tables["maxent_numpy_kernel"]
    row["kernels_agree"] = {
        "max_abs_diff_d": float(np.abs(a["d"] - b["d"]).max()),
        "max_abs_diff_entropy": float(np.abs(a["entropy"] - b["entropy"]).max()),
    }
    row["speedup_vs_numpy_kernel_wall"] = row["maxent_numpy_kernel"]["wall_s"] / row["maxent"]["wall_s"]
    if not args.skip_plain:
        t0, c0 = time.perf_counter(), time.process_time()
        plain = plain_landscape(model, ref, grid, args.tol)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        row["plain"] = {
            "wall_s": wall,
            "cpu_s": cpu,
            "bp_sweeps_total": int(plain["n_iter"].sum()),
            "bp_sweeps_per_x": float(plain["n_iter"].mean()),
            "max_bp_sweeps_at_one_x": int(plain["n_iter"].max()),
            "all_converged": bool(plain["converged"].all()),
        }
        row["speedup_vs_plain_wall"] = wall / row["maxent"]["wall_s"]
        row["speedup_vs_plain_cpu"] = cpu / row["maxent"]["cpu_s"]
        row["numpy_kernel_speedup_vs_plain_wall"] = wall / row["maxent_numpy_kernel"]["wall_s"]
        row["agreement_with_plain"] = {
            "max_abs_diff_d": float(np.abs(a["d"].to_numpy() - plain["d"]).max()),
            "max_abs_diff_entropy": float(np.abs(a["entropy"].to_numpy() - plain["entropy"]).max()),
            "max_abs_diff_energy": float(np.abs(a["energy"].to_numpy() - plain["energy"]).max()),
        }
    row["load_avg_1min_after"] = os.getloadavg()[0]
    print(_row_md(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {MODELS}")
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="repeats of the maxent landscapes (best kept)")
    ap.add_argument("--skip-plain", action="store_true", help="skip the slow reference implementation")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in names:
        if m not in MODELS:
            ap.error(f"unknown model {m!r}; choose from {MODELS}")
    # compile (or load from numba's cache) the BP kernel outside the timings
    entropy_landscape(IsingModel.random_sk(8, random_state=0), np.ones(8), x=[0.0, 0.1])
    result: dict = {
        "benchmark": "entropy landscape, both sweeps, 121 x in -3..3",
        "tol": args.tol,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        },
        "rows": [bench_model(m, args) for m in names],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "landscape.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(args.out / "landscape.md", _markdown(result))
    print(_markdown(result))
    return result


def _row_md(r: dict) -> str:
    f, k = r["maxent"], r["maxent_numpy_kernel"]
    p = r.get("plain")
    agree = r.get("agreement_with_plain", {})
    cells = [
        r["model"],
        f"{f['wall_s']:.2f}",
        f"{k['wall_s']:.2f}",
        f"{p['wall_s']:.2f}" if p else "-",
        f"{r['speedup_vs_numpy_kernel_wall']:.1f}x",
        f"{r['speedup_vs_plain_wall']:.1f}x" if p else "-",
        f"{r['numpy_kernel_speedup_vs_plain_wall']:.1f}x" if p else "-",
        f"{f['bp_sweeps_per_x']:.2f} / {p['bp_sweeps_per_x']:.2f}" if p else f"{f['bp_sweeps_per_x']:.2f}",
        f"{f['max_bp_sweeps_at_one_x']}" + (f" / {p['max_bp_sweeps_at_one_x']}" if p else ""),
        str(f["all_converged"] and k["all_converged"] and (p is None or p["all_converged"])),
        f"{agree['max_abs_diff_d']:.1e} / {agree['max_abs_diff_entropy']:.1e}" if p else "-",
        f"{r['load_avg_1min_before']:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


def _markdown(r: dict) -> str:
    lines = [
        "# Entropy landscape benchmark",
        "",
        f"N = 675, grid x = -3..3 (121 values), both sweeps, tol {r['tol']:g}; wall seconds (best of the "
        "repeats for maxent, one run for the plain BP), all in one process on a shared "
        f"{r['machine']['cpus']}-core machine (1-min load in the last column). maxent = the default "
        '(compiled numba) kernel; numpy kernel = the same landscape code with `device="numpy"` '
        "(the code before the compiled kernel); plain = the textbook numpy BP with plain warm starts.",
        "",
        "| model | maxent s | numpy kernel s | plain s | vs numpy kernel | vs plain | numpy kernel vs plain "
        "| BP sweeps per x (maxent / plain) | max sweeps at one x | all converged | max Δd / Δs vs plain "
        "| load |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
    ]
    lines += [_row_md(row) for row in r["rows"]]
    lines += ["", "Models:", ""]
    for row in r["rows"]:
        d = row["description"]
        lines.append(
            f"- `{row['model']}`: {d['kind']}; rms J {d['rms_J']:.4f}, max |J| {d['max_abs_J']:.3f}, "
            f"{d['couplings_above_0_1_per_spin']:.1f} couplings |J| > 0.1 per spin, "
            f"{d['bp_sweeps_from_zero_at_x0']} BP sweeps from zero messages at x = 0; reference: "
            f"{d['reference']}."
        )
    lines += ["", "Reproduce: `.venv/bin/python benchmarks/bench_landscape.py`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""Benchmark: Bethe and MCMC Boltzmann learning on moments of real (strongly correlated) weights.

Data: the first block (W1, 300 spins) of 1024 weight samples of the deep 20-15-15-10 network
trained on the embedded digits (``bench_landscape.trained_samples``: LR-net, 200 epochs, 256 runs
x 4 draws, seed 1; cached in ``benchmarks/.peers/work/landscape_models/``). Its connected
correlations are strong (rms 0.10, max 0.70): the regime where the reference study's Bethe
learning and persistent-chain learning are hard.

Rows:

* ``bethe``: :class:`~maxent.fit.BetheBoltzmann` with its defaults (``init="auto"``: the
  closed-form start) and with ``init="independent"`` (the old start, now with the trust-region
  step control): time, convergence, moment_rms at the learned fixed point, magnetization error
  of BP from zero messages, stability of the learned fixed point, which warnings were issued.
* ``mcmc``: :class:`~maxent.fit.MCMCBoltzmann` with the given settings (``--mcmc``, JSON list of
  keyword dicts; the first is the baseline the others are compared with, all in this run),
  checked by an independent Gibbs run of the fitted model (20000 samples from 200 chains, burn
  500, thin 5, global flips): max and rms error of m and of the connected correlations against
  the data. The Gibbs check's own noise is ~0.01 in the rms of c (20000 correlated samples).

Run: .venv/bin/python benchmarks/bench_hard_fits.py   (writes benchmarks/results/hard_fits.{json,md})
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_landscape import trained_samples  # noqa: E402

from maxent._atomic import atomic_write_text  # noqa: E402
from maxent._threads import limit_threads  # noqa: E402
from maxent.data.moments import Moments  # noqa: E402
from maxent.fit import BetheBoltzmann, MCMCBoltzmann  # noqa: E402
from maxent.model.sampling import sample_chains  # noqa: E402


def w1_samples(samples: Path | None = None) -> tuple[np.ndarray, str]:
    """Moments of the first block (W1) and a description of where they come from.

    Default: the 1024 digits samples of ``bench_landscape.trained_samples``; ``samples``: a
    :class:`~maxent.data.samples.WeightSamples` file (e.g. ``OUT/samples/deep-4000.npz`` of a
    pipeline run), whose W1 block is used."""
    if samples is None:
        return trained_samples()[:, :300], "deep 20-15-15-10 on digits, W1 block (300 spins), 1024 samples"
    from maxent.data.samples import WeightSamples

    ws = WeightSamples.load(samples)
    X = ws.block("W1")
    runs = np.unique(ws.run).size
    return (
        X,
        f"{samples.name} (widths {list(ws.widths)}), W1 block ({X.shape[1]} spins), {X.shape[0]} samples "
        f"from {runs} runs",
    )


def engine_rows(mo: Moments, kw: dict, n_iter: int) -> list[dict]:
    """Cost per learning update of the two chain engines at the same settings (``n_iter`` updates,
    no stopping), and whether they learned the same parameters."""
    rows, fits = [], {}
    for engine in ("torch", "compiled"):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits[engine] = MCMCBoltzmann(random_state=0, max_iter=n_iter, tol=1e-9, engine=engine, **kw).fit(
                mo
            )
        wall = time.perf_counter() - t0
        rows.append({"engine": engine, "params": kw, "n_iter": n_iter, "ms_per_update": 1e3 * wall / n_iter})
    rows[1]["speedup"] = rows[0]["ms_per_update"] / rows[1]["ms_per_update"]
    rows[1]["max_abs_diff_J"] = float(np.abs(fits["torch"].J_ - fits["compiled"].J_).max())
    for r in rows:
        print(json.dumps(r), flush=True)
    return rows


def bethe_rows(mo: Moments) -> list[dict]:
    rows = []
    for kw in ({}, {"init": "independent"}):
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            est = BetheBoltzmann(**kw).fit(mo)
        rows.append(
            {
                "estimator": "BetheBoltzmann",
                "params": kw,
                "wall_s": time.perf_counter() - t0,
                "n_iter": int(est.n_iter_),
                "converged": bool(est.converged_),
                "best_iteration": int(est.best_iteration_),
                "moment_rms": float(est.moment_rms_),
                "independent_moment_rms": float(est.independent_moment_rms_),
                "cold_start_err_m": float(est.cold_start_err_m_),
                "fixed_point_stable": bool(est.fixed_point_stable_),
                "warnings": sorted({type(w.message).__name__ + ": " + str(w.message)[:90] for w in caught}),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def w1_moments(samples: Path | None = None) -> Moments:
    return Moments.from_samples(w1_samples(samples)[0])


def gibbs_check(h: np.ndarray, J: np.ndarray, mo: Moments, init: np.ndarray | None = None) -> dict:
    """Moment errors of the model (h, J) against the data, from 200 independent Gibbs chains
    started at random states (default) or at the given data rows ``init`` (200, N)."""
    X = sample_chains(h, J, 20000, n_chains=200, burn=500, thin=5, rng=1, global_flip=True, init=init).astype(
        np.float64
    )
    m = X.mean(axis=0)
    c_model = X.T @ X / X.shape[0] - np.outer(m, m)
    iu = np.triu_indices(mo.n_spins, 1)
    dc = c_model[iu] - mo.connected()[iu]
    dm = m - mo.m
    return {
        "err_m": float(np.abs(dm).max()),
        "rms_m": float(np.sqrt(np.mean(dm**2))),
        "err_c": float(np.abs(dc).max()),
        "rms_c": float(np.sqrt(np.mean(dc**2))),
    }


def mcmc_rows(mo: Moments, configs: list[dict], data: np.ndarray) -> list[dict]:
    rows = []
    start = data[np.random.default_rng(2).choice(data.shape[0], 200, replace=False)]
    for kw in configs:
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            est = MCMCBoltzmann(random_state=0, **kw).fit(mo)
        wall = time.perf_counter() - t0
        hist = est.history_
        row = {
            "estimator": "MCMCBoltzmann",
            "params": kw,
            "wall_s": wall,
            "n_iter": int(est.n_iter_),
            "converged": bool(est.converged_),
            "max_sweeps_per_update": int(hist["n_sweeps"].max()),
            "final_z": {k: float(hist[k].iloc[-1]) for k in ("z_m", "z_C", "sys_m", "sys_C")},
            "gibbs_check": gibbs_check(est.h_, est.J_, mo),
            "gibbs_check_from_data": gibbs_check(est.h_, est.J_, mo, init=start),
        }
        if rows:
            row["speedup_vs_first"] = rows[0]["wall_s"] / wall
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-bethe", action="store_true")
    ap.add_argument(
        "--mcmc",
        default='[{}, {"init": "bethe", "centering": true}]',
        help="JSON list of MCMCBoltzmann keyword dicts (first = baseline); '[]' skips",
    )
    ap.add_argument(
        "--engines",
        default='[{"n_chains": 1000}, {"n_chains": 200, "init": "bethe", "centering": true, "n_sweeps": 12}]',
        help="JSON list of MCMCBoltzmann keyword dicts timed per update with both chain engines; '[]' skips",
    )
    ap.add_argument("--engine-iters", type=int, default=60, help="updates per engine timing")
    ap.add_argument("--samples", type=Path, help="WeightSamples file whose W1 block is the data")
    ap.add_argument("--tag", default="", help="suffix of the output files (hard_fits<tag>.json/.md)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    data, description = w1_samples(args.samples)
    mo = Moments.from_samples(data)
    iu = np.triu_indices(mo.n_spins, 1)
    c = mo.connected()[iu]
    result: dict = {
        "data": {
            "samples": description,
            "rms_connected": float(np.sqrt(np.mean(c**2))),
            "max_connected": float(np.abs(c).max()),
        },
        "machine": {"cpus": os.cpu_count(), "load_avg_1min_before": os.getloadavg()[0]},
    }
    with limit_threads(1):
        if not args.skip_bethe:
            result["bethe"] = bethe_rows(mo)
        result["engines"] = [
            r for kw in json.loads(args.engines) for r in engine_rows(mo, kw, args.engine_iters)
        ]
        result["mcmc"] = mcmc_rows(mo, json.loads(args.mcmc), data)
    result["machine"]["load_avg_1min_after"] = os.getloadavg()[0]
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"hard_fits{args.tag}.json"
    if path.exists():  # keep the rows of parts not rerun
        old = json.loads(path.read_text())
        for key in ("bethe", "engines", "mcmc"):
            if key in old and not result.get(key):
                result[key] = old[key]
    atomic_write_text(path, json.dumps(result, indent=2) + "\n")
    atomic_write_text(args.out / f"hard_fits{args.tag}.md", _markdown(result))
    print(_markdown(result))
    return result


def _markdown(r: dict) -> str:
    d = r["data"]
    lines = [
        "# Boltzmann learning on strongly correlated weights",
        "",
        f"Data: {d['samples']}; connected correlations rms {d['rms_connected']:.3f}, max "
        f"{d['max_connected']:.2f}. Shared {r['machine']['cpus']}-core machine, 1-min load "
        f"{r['machine']['load_avg_1min_before']:.1f} -> {r['machine']['load_avg_1min_after']:.1f}; "
        "one thread.",
        "",
    ]
    if r.get("bethe"):
        lines += [
            "## BetheBoltzmann",
            "",
            "| params | wall s | steps | converged | best step | moment_rms | independent | "
            "BP from zero: max err m | fixed point stable |",
            "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for b in r["bethe"]:
            lines.append(
                f"| `{json.dumps(b['params'])}` | {b['wall_s']:.1f} | {b['n_iter']} | {b['converged']} | "
                f"{b['best_iteration']} | {b['moment_rms']:.2g} | {b['independent_moment_rms']:.3f} | "
                f"{b['cold_start_err_m']:.2f} | {b['fixed_point_stable']} |"
            )
        lines += ["", "Warnings issued:", ""]
        for b in r["bethe"]:
            lines += [f"- `{json.dumps(b['params'])}`: " + "; ".join(b["warnings"])]
        lines.append("")
    if r.get("engines"):
        lines += [
            "## Chain engines: cost per learning update at equal settings",
            "",
            "| params | engine | updates | ms/update | speed-up | max abs diff of J |",
            "| --- | --- | ---: | ---: | ---: | ---: |",
        ]
        for e in r["engines"]:
            sp = f"{e['speedup']:.1f}x" if "speedup" in e else "1 (baseline)"
            diff = f"{e['max_abs_diff_J']:.1e}" if "max_abs_diff_J" in e else ""
            lines.append(
                f"| `{json.dumps(e['params'])}` | {e['engine']} | {e['n_iter']} | {e['ms_per_update']:.1f} | "
                f"{sp} | {diff} |"
            )
        lines += [
            "",
            "Same chains on the same thresholds; the compiled engine keeps float64 fields, the torch "
            "engine float32 ones, so learned parameters can part where a field lies within float32 "
            "round-off of a threshold (the last column).",
            "",
        ]
    if r.get("mcmc"):
        lines += [
            "## MCMCBoltzmann (Gibbs check of the fitted model against the data)",
            "",
            "| params | wall s | speed-up | updates | converged | max sweeps/update | max err m | rms m | "
            "max err c | rms c | from data: rms m | rms c | learning chains: z_m | z_C |",
            "| --- | ---: | ---: | ---: | --- | ---: " + "| ---: " * 8 + "|",
        ]
        for m in r["mcmc"]:
            g = m["gibbs_check"]
            d = m.get("gibbs_check_from_data")
            z = m.get("final_z")
            sp = f"{m['speedup_vs_first']:.1f}x" if "speedup_vs_first" in m else "1 (baseline)"
            lines.append(
                f"| `{json.dumps(m['params'])}` | {m['wall_s']:.0f} | {sp} | {m['n_iter']} | "
                f"{m['converged']} | {m['max_sweeps_per_update']} | {g['err_m']:.3f} | {g['rms_m']:.4f} | "
                f"{g['err_c']:.3f} | {g['rms_c']:.4f} | "
                + (f"{d['rms_m']:.4f} | {d['rms_c']:.4f} | " if d else "- | - | ")
                + (f"{z['z_m']:.2f} | {z['z_C']:.2f} |" if z else "- | - |")
            )
        lines += [
            "",
            "Gibbs checks: 200 fresh chains of the fitted model (global flips, burn 500, thin 5, 20000 "
            "states) started at random states, or at 200 data rows ('from data'). z_m, z_C: the learning "
            "chains' own final mismatch in data-noise units (see maxent.fit.boltzmann_mcmc).",
            "",
        ]
    for note in r.get("notes", []):
        lines += [note, ""]
    lines += ["Reproduce: `.venv/bin/python benchmarks/bench_hard_fits.py`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

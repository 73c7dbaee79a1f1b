"""Inverse-Ising benchmark: maxent's estimators against ConIII, adabmDCA and scikit-learn.

Every method -- ours and the peers' -- runs as a subprocess on the same problem file (.npz of
±1 int8 samples), with the same per-run time limit, and writes (h, J) in maxent's convention
(P(s) ∝ exp(sum_{i<j} J_ij s_i s_j + h·s), ±1 spins, beta = 1; see ``peers/convert.py``):

* ours      ``peers/run_local.py ours:<module>:<Class>`` in maxent's venv (``maxent.fit.*``);
* sklearn   ``peers/run_local.py sklearn``: one LogisticRegression per spin, symmetrized;
* ConIII    ``peers/run_coniii.py`` in ``benchmarks/.peers/coniii`` (3.0.1);
* adabmDCA  ``peers/run_adabmdca.py`` in ``benchmarks/.peers/adabmdca`` (1.0.0, bmDCA, q = 2).

Problems (fixed seeds): SK-like J_ij ~ N(0, beta^2/N), h_i ~ N(0, 0.1^2) at N = 20 (exact
samples, M = 2e4, beta = 0.5 and 1.5), N = 100 and N = 300 (Gibbs samples, M = 5e4, beta = 0.5),
and a sparse strongly coupled model at N = 100 (random 4-regular graph, |J_ij| ~ U(0.5, 1) with
random signs, Gibbs samples, M = 5e4) on which mean-field inversion fails.

Reported per (problem, method): status (ok / timeout / error / skipped), fit wall time and CPU
time (measured inside the method's process, around the fit call only), rmse of J (i<j) and h
against the truth, and the fitted model's connected-correlation error: rmse over i<j of
<s_i s_j> - <s_i><s_j> of the fitted model against the data's (exact enumeration for N <= 20,
a long Gibbs run otherwise; the "truth" row shows the data's own sampling noise). The Gibbs sampler
used here, for the data and for the evaluation, is this file's own (sequential sweeps,
vectorized over chains): it does not depend on the library under test.

Usage::

    bash benchmarks/peers/setup_peers.sh                     # once: peer venvs
    .venv/bin/python benchmarks/bench_inverse_ising.py       # full run (long on 2 cores)
    .venv/bin/python benchmarks/bench_inverse_ising.py --quick
    .venv/bin/python benchmarks/bench_inverse_ising.py --problems sk20_b0.5 --methods ours_pl,sklearn_pl
    .venv/bin/python benchmarks/bench_inverse_ising.py --resume  # keep finished rows, run the rest

Writes ``benchmarks/results/inverse_ising.json`` and ``inverse_ising.md`` (``--quick``:
``inverse_ising_quick.*``).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import fnmatch
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = HERE / "peers"
PEER_VENVS = HERE / ".peers"
RESULTS = HERE / "results"

sys.path.insert(0, str(ROOT))
from maxent._atomic import atomic_write_text  # noqa: E402
from maxent.model.ising import IsingModel  # noqa: E402


# ----------------------------------------------------------------------------------- problems
@dataclass(frozen=True)
class Problem:
    """One benchmark problem: a true model and how its M samples are drawn."""

    name: str
    n: int
    kind: str  # "sk" or "sparse"
    beta: float
    n_samples: int
    sampler: str  # "exact" or "gibbs"
    seed: int
    degree: int = 4
    j_range: tuple[float, float] = (0.5, 1.0)
    h_std: float = 0.1
    gibbs: dict = field(default_factory=dict)  # chains, burn, thin for the data

    def model(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        if self.kind == "sk":
            A = rng.normal(0.0, self.beta / np.sqrt(self.n), size=(self.n, self.n))
            J = np.triu(A, 1)
            J = J + J.T
        elif self.kind == "sparse":
            J = _random_regular_couplings(self.n, self.degree, self.j_range, rng)
        else:
            raise ValueError(f"unknown problem kind {self.kind!r}")
        h = rng.normal(0.0, self.h_std, size=self.n)
        return h, J


def _random_regular_couplings(
    n: int, degree: int, j_range: tuple[float, float], rng: np.random.Generator
) -> np.ndarray:
    """Random ``degree``-regular graph (configuration model, resampled until simple) with
    |J_ij| ~ U(j_range) and random signs."""
    for _ in range(1000):
        stubs = rng.permutation(np.repeat(np.arange(n), degree))
        a, b = stubs[0::2], stubs[1::2]
        if np.any(a == b):
            continue
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        if len(set(zip(lo.tolist(), hi.tolist(), strict=True))) < len(lo):
            continue
        J = np.zeros((n, n))
        w = rng.uniform(*j_range, size=len(lo)) * rng.choice([-1.0, 1.0], size=len(lo))
        J[lo, hi] = w
        return J + J.T
    raise RuntimeError("could not draw a simple random regular graph")


PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in [
        Problem("sk20_b0.5", 20, "sk", 0.5, 20_000, "exact", seed=20),
        Problem("sk20_b1.5", 20, "sk", 1.5, 20_000, "exact", seed=21),
        Problem(
            "sk100_b0.5",
            100,
            "sk",
            0.5,
            50_000,
            "gibbs",
            seed=100,
            gibbs={"chains": 500, "burn": 300, "thin": 5},
        ),
        Problem(
            "sk300_b0.5",
            300,
            "sk",
            0.5,
            50_000,
            "gibbs",
            seed=300,
            gibbs={"chains": 500, "burn": 300, "thin": 5},
        ),
        Problem(
            "sparse100",
            100,
            "sparse",
            1.0,
            50_000,
            "gibbs",
            seed=101,
            gibbs={"chains": 1000, "burn": 3000, "thin": 20},
        ),
    ]
}
QUICK_PROBLEMS = {
    "quick_sk20_b0.5": Problem("quick_sk20_b0.5", 20, "sk", 0.5, 5_000, "exact", seed=20),
    "quick_sk60_b0.5": Problem(
        "quick_sk60_b0.5",
        60,
        "sk",
        0.5,
        5_000,
        "gibbs",
        seed=60,
        gibbs={"chains": 250, "burn": 200, "thin": 5},
    ),
}


# ----------------------------------------------------------------------------------- sampling
def gibbs_sample(
    h: np.ndarray,
    J: np.ndarray,
    n_samples: int,
    *,
    chains: int,
    burn: int,
    thin: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Heat-bath Gibbs sampling, sequential sweeps, vectorized over independent chains.

    Returns (samples int8 (n_samples, N), chain index of each sample (n_samples,)). Local
    fields H = S J + h are kept up to date by sparse rank-1 updates (only the neighbours of the
    flipped spin), so a sweep costs O(chains * number of couplings).
    """
    n = h.shape[0]
    per_chain = -(-n_samples // chains)
    S = rng.choice(np.array([-1.0, 1.0]), size=(chains, n))
    H = S @ J + h
    nbrs = [np.flatnonzero(J[i]) for i in range(n)]
    rows = [J[i, nb] for i, nb in enumerate(nbrs)]
    out = np.empty((per_chain, chains, n), dtype=np.int8)
    total = burn + per_chain * thin
    recorded = 0
    for sweep in range(1, total + 1):
        U = rng.random((n, chains))
        for i in range(n):
            new = np.where(U[i] * (1.0 + np.exp(-2.0 * H[:, i])) < 1.0, 1.0, -1.0)
            d = new - S[:, i]
            changed = np.flatnonzero(d)
            if changed.size:
                S[changed, i] = new[changed]
                nb = nbrs[i]
                if nb.size:
                    H[np.ix_(changed, nb)] += d[changed, None] * rows[i][None, :]
        if sweep > burn and (sweep - burn) % thin == 0:
            out[recorded] = S.astype(np.int8)
            recorded += 1
    chain_id = np.broadcast_to(np.arange(chains), (per_chain, chains))
    return out.reshape(-1, n)[:n_samples], chain_id.reshape(-1)[:n_samples]


def connected(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m (N,), connected correlations (N, N)) of ±1 samples X (M, N)."""
    Xf = X.astype(np.float64)
    m = Xf.mean(axis=0)
    return m, Xf.T @ Xf / Xf.shape[0] - np.outer(m, m)


def make_problem(p: Problem, path: Path) -> dict:
    """Draw the problem's samples and save X, h, J, meta to ``path``; return the meta."""
    h, J = p.model()
    rng = np.random.default_rng(p.seed + 1_000_003)
    t0 = time.perf_counter()
    meta: dict = {
        "problem": p.name,
        "n": p.n,
        "kind": p.kind,
        "beta": p.beta,
        "m_samples": p.n_samples,
        "sampler": p.sampler,
        "seed": p.seed,
    }
    if p.sampler == "exact":
        X = IsingModel(h, J).sample(p.n_samples, random_state=rng)
    else:
        X, chain = gibbs_sample(h, J, p.n_samples, rng=rng, **p.gibbs)
        # mixing check: connected correlations of two disjoint halves of the chains
        half = chain % 2 == 0
        c_a, c_b = connected(X[half])[1], connected(X[~half])[1]
        iu = np.triu_indices(p.n, 1)
        meta["gibbs"] = dict(p.gibbs)
        meta["half_chain_rms_dC"] = float(np.sqrt(np.mean((c_a[iu] - c_b[iu]) ** 2)))
        meta["half_chain_max_dC"] = float(np.max(np.abs(c_a[iu] - c_b[iu])))
    meta["sampling_time_s"] = time.perf_counter() - t0
    if p.kind == "sparse":
        meta.update(degree=p.degree, j_range=list(p.j_range))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, X=X.astype(np.int8), h=h, J=J, __meta__=np.array(json.dumps(meta)))
    os.replace(tmp, path)
    return meta


def load_problem_file(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    with np.load(path, allow_pickle=False) as d:
        return d["X"], d["h"], d["J"], json.loads(str(d["__meta__"]))


# ------------------------------------------------------------------------------------ methods
@dataclass(frozen=True)
class Method:
    """A method: how to run it (runner + method argument + options), its family, its limits."""

    name: str
    family: str  # "pseudo-likelihood", "mean-field", "boltzmann", "other", "reference"
    runner: str  # "local", "coniii", "adabmdca"
    arg: str
    options: dict = field(default_factory=dict)
    max_n: int | None = None  # skipped above this N (e.g. exact enumeration)
    ours: bool = False
    note: str = ""


METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        # ours (maxent.fit.*, imported by module path)
        Method("ours_pl", "pseudo-likelihood", "local", "ours:pseudolikelihood:PseudoLikelihood", ours=True),
        Method(
            "ours_pl_f32",
            "pseudo-likelihood",
            "local",
            "ours:pseudolikelihood:PseudoLikelihood",
            {"dtype": "float32"},
            ours=True,
            note="float32 matrix products (float64 accumulation of f and grad h)",
        ),
        Method(
            "ours_pl_cv", "pseudo-likelihood", "local", "ours:pseudolikelihood:PseudoLikelihoodCV", ours=True
        ),
        Method("ours_nmf", "mean-field", "local", "ours:mean_field:MeanField", {"method": "nmf"}, ours=True),
        Method("ours_tap", "mean-field", "local", "ours:mean_field:MeanField", {"method": "tap"}, ours=True),
        Method(
            "ours_bethe_lr",
            "mean-field",
            "local",
            "ours:mean_field:MeanField",
            {"method": "bethe"},
            ours=True,
            note="linear-response Bethe inversion (closed form)",
        ),
        Method("ours_exact", "boltzmann", "local", "ours:exact:ExactBoltzmann", max_n=20, ours=True),
        Method("ours_mcmc", "boltzmann", "local", "ours:mcmc:MCMCBoltzmann", ours=True),
        Method("ours_bethe", "boltzmann", "local", "ours:bethe:BetheBoltzmann", ours=True),
        # what a user would write instead
        Method(
            "sklearn_pl",
            "pseudo-likelihood",
            "local",
            "sklearn",
            note="one LogisticRegression per spin (C=1), J=(w_ij+w_ji)/4",
        ),
        # ConIII 3.0.1
        Method("coniii_pseudo", "pseudo-likelihood", "coniii", "pseudo"),
        Method(
            "coniii_mf",
            "mean-field",
            "coniii",
            "mf",
            note="JmeanField (no prior), converted by us (RegularizedMeanField's conversion doubles h, J)",
        ),
        Method(
            "coniii_rmf",
            "mean-field",
            "coniii",
            "rmf",
            note="RegularizedMeanField, output halved (its J+J.T doubles h and J)",
        ),
        Method(
            "coniii_mch",
            "boltzmann",
            "coniii",
            "mch",
            {"sample_size": 1000, "maxiter": 40, "sweeps": 10},
            note="usage-guide schedule; int8->int64 cast of its sampler's states",
        ),
        Method("coniii_mpf", "other", "coniii", "mpf", note="L-BFGS-B with finite-difference gradients"),
        Method("coniii_ace", "other", "coniii", "ce", {"threshold": 0.01}, note="adaptive cluster expansion"),
        # adabmDCA 1.0.0
        Method(
            "adabmdca_bmdca",
            "boltzmann",
            "adabmdca",
            "bmdca",
            {"max_gradient_steps": 500},
            note="q=2 Potts, package defaults (lr 0.01, 10 sweeps, 10k chains, stop at Pearson 0.95)",
        ),
    ]
}
DEFAULT_METHODS = [m for m in METHODS if m != "coniii_rmf"]
QUICK_METHODS = [
    "ours_pl",
    "ours_bethe_lr",
    "ours_nmf",
    "ours_tap",
    "ours_exact",
    "sklearn_pl",
    "coniii_pseudo",
    "coniii_mf",
    "adabmdca_bmdca",
]
QUICK_OPTIONS = {"adabmdca_bmdca": {"max_gradient_steps": 5, "n_chains": 500}}
QUICK_DEFAULT_PROBLEMS = ["quick_sk20_b0.5"]


def runner_python(runner: str) -> Path:
    if runner == "local":
        return Path(sys.executable)
    return PEER_VENVS / runner / "bin" / "python"


def runner_script(runner: str) -> Path:
    return PEERS / {"local": "run_local.py", "coniii": "run_coniii.py", "adabmdca": "run_adabmdca.py"}[runner]


def run_method(
    method: Method,
    problem_path: Path,
    out_path: Path,
    *,
    timeout: float,
    seed: int,
    options: dict,
    threads: int | None,
    log_path: Path,
) -> dict:
    """Run one method in its own process group; return {status, wall_s, ...} (never raises)."""
    py = runner_python(method.runner)
    if not py.exists():
        return {"status": "unavailable", "reason": f"{py} missing: run benchmarks/peers/setup_peers.sh"}
    cmd = [
        str(py),
        str(runner_script(method.runner)),
        str(problem_path),
        method.arg,
        str(out_path),
        "--options",
        json.dumps(options),
        "--seed",
        str(seed),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) if method.runner == "local" else ""
    if threads and threads > 0:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
            env[var] = str(threads)
    out_path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT), start_new_session=True
        )
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return {"status": "timeout", "wall_s": time.perf_counter() - t0, "timeout_s": timeout}
    wall = time.perf_counter() - t0
    if rc != 0 or not out_path.exists():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        return {"status": "error", "wall_s": wall, "returncode": rc, "reason": " | ".join(tail)[-400:]}
    return {"status": "ok", "wall_s": wall}


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


# --------------------------------------------------------------------------------- evaluation
def eval_budget(n: int, quick: bool) -> dict:
    """Gibbs budget for the fitted model's correlations (N > 20)."""
    if quick:
        return {"chains": 200, "burn": 200, "thin": 5, "n_samples": 10_000}
    if n <= 100:
        return {"chains": 500, "burn": 500, "thin": 5, "n_samples": 50_000}
    return {"chains": 250, "burn": 300, "thin": 4, "n_samples": 25_000}


def model_connected(
    h: np.ndarray, J: np.ndarray, budget: dict, seed: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Magnetizations and connected correlations of the model: exact for N <= 20, else Gibbs."""
    n = h.shape[0]
    if n <= 20:
        m, C = IsingModel(h, J).moments()
        return m, C - np.outer(m, m), "exact"
    b = dict(budget)
    ns = b.pop("n_samples")
    X, _ = gibbs_sample(h, J, ns, rng=np.random.default_rng(seed), **b)
    m, c = connected(X)
    return m, c, f"gibbs({ns} samples, {b['chains']} chains, burn {b['burn']}, thin {b['thin']})"


def evaluate(h_fit, J_fit, h_true, J_true, m_data, c_data, budget, seed) -> dict:
    n = h_true.shape[0]
    iu = np.triu_indices(n, 1)
    rec = {
        "rmse_J": float(np.sqrt(np.mean((J_fit[iu] - J_true[iu]) ** 2))),
        "rmse_h": float(np.sqrt(np.mean((h_fit - h_true) ** 2))),
        "rel_err_J": float(np.linalg.norm(J_fit[iu] - J_true[iu]) / np.linalg.norm(J_true[iu])),
    }
    if not (np.all(np.isfinite(h_fit)) and np.all(np.isfinite(J_fit))):
        rec.update(err_C=float("nan"), err_m=float("nan"), eval="non-finite parameters")
        return rec
    t0 = time.perf_counter()
    m, c, how = model_connected(h_fit, J_fit, budget, seed)
    rec.update(
        err_C=float(np.sqrt(np.mean((c[iu] - c_data[iu]) ** 2))),
        err_m=float(np.sqrt(np.mean((m - m_data) ** 2))),
        eval=how,
        eval_s=time.perf_counter() - t0,
    )
    return rec


# ----------------------------------------------------------------------------------- summary
def speedups(records: list[dict], tol: float = 0.1) -> list[dict]:
    """For each of our ok rows: speed-up against every peer row of the same family and problem.

    Peers that finished: speed-up = peer time / our time, and ``equal_error`` is True when our rmse
    of J is at most (1 + tol) times the peer's. Peers that timed out: the speed-up is a lower
    bound (time limit / our time, ``lower_bound`` True) and ``equal_error`` is None.
    """
    out = []
    ok = [r for r in records if r["status"] == "ok"]
    for r in ok:
        if not r["ours"]:
            continue
        peers = [
            p
            for p in records
            if not p["ours"]
            and p["problem"] == r["problem"]
            and p["family"] == r["family"]
            and p["status"] in ("ok", "timeout")
        ]
        if not peers:
            continue
        finished = [p["fit_time"] for p in peers if p["status"] == "ok"]
        fastest = min(finished) if finished else None
        for p in sorted(peers, key=lambda p: p.get("fit_time") or p.get("timeout_s") or 0.0):
            done = p["status"] == "ok"
            t_peer = p["fit_time"] if done else p["timeout_s"]
            out.append(
                {
                    "problem": r["problem"],
                    "family": r["family"],
                    "ours": r["method"],
                    "peer": p["method"],
                    "t_ours": r["fit_time"],
                    "t_peer": t_peer,
                    "speedup": t_peer / r["fit_time"],
                    "lower_bound": not done,
                    "rmse_J_ours": r["rmse_J"],
                    "rmse_J_peer": p["rmse_J"] if done else None,
                    "err_C_ours": r.get("err_C"),
                    "err_C_peer": p.get("err_C") if done else None,
                    "equal_error": bool(r["rmse_J"] <= (1 + tol) * p["rmse_J"]) if done else None,
                    "fastest_peer": bool(done and p["fit_time"] == fastest),
                }
            )
    return out


def _fmt(x, spec=".3g"):
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return format(x, spec)


def markdown(doc: dict) -> str:
    origin = f"`{doc['command']}`"
    if doc.get("runs"):
        origin = (
            f"{len(doc['runs'])} invocations of `bench_inverse_ising.py` merged with `--resume` "
            "(listed under `runs` in the JSON)"
        )
    lines = [
        "# Inverse Ising: maxent vs peers",
        "",
        f"Generated {doc['created']} by {origin} on {doc['machine']['cpus']} CPUs "
        f"(load average {doc['machine']['load_start']} at start, {doc['machine'].get('load_end')} at end: "
        "a shared machine, so wall times are indicative; CPU time is the method process's own), "
        f"{doc['machine'].get('threads') or 'default'} thread(s) per method.",
        "",
        "Convention: P(s) ∝ exp(sum_{i<j} J_ij s_i s_j + sum_i h_i s_i), s = ±1, beta = 1; every peer's "
        "answer is converted to it (`benchmarks/peers/convert.py`). `rmse J`: over i<j against the truth. "
        "`err C`: rmse over i<j of the fitted model's connected correlations against the data's (exact for "
        "N ≤ 20, Gibbs otherwise; the `truth` row shows the sampling noise of the data's correlations, "
        "plus the evaluation's MCMC noise for N > 20). Time: the fit call, inside the method's "
        "own process.",
        "",
    ]
    for pname, pmeta in doc["problems"].items():
        lines += [
            f"## {pname}",
            "",
            _problem_line(pmeta),
            "",
            "| method | family | status | time (s) | CPU (s) | rmse J | rmse h | err C | notes |",
            "|---|---|---|---:|---:|---:|---:|---:|---|",
        ]
        rows = [r for r in doc["records"] if r["problem"] == pname]
        rows.sort(key=lambda r: (r["family"], r["status"] != "ok", r.get("fit_time") or 1e99))
        for r in rows:
            name = f"**{r['method']}**" if r["ours"] else r["method"]
            status = r["status"] if r["status"] != "timeout" else f"timeout ({r.get('timeout_s', 0):.0f} s)"
            note = r.get("note", "")
            if r["status"] not in ("ok",):
                note = (r.get("reason") or note)[:120]
            lines.append(
                f"| {name} | {r['family']} | {status} | {_fmt(r.get('fit_time'), '.3g')} | "
                f"{_fmt(r.get('cpu_time'), '.3g')} | "
                f"{_fmt(r.get('rmse_J'), '.4f')} | {_fmt(r.get('rmse_h'), '.4f')} | "
                f"{_fmt(r.get('err_C'), '.4f')} | {note.replace('|', '/')} |"
            )
        lines.append("")
    sp = doc["speedups"]
    if sp:
        lines += [
            "## Our time against the peers of the same family",
            "",
            "speed-up = peer time / our time (a lower bound where the peer timed out); `equal error`: "
            "our rmse J ≤ 1.1 × the peer's.",
            "",
            "| problem | family | ours | peer | t ours (s) | t peer (s) | speed-up | rmse J ours | "
            "rmse J peer | equal error |",
            "|---|---|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for s in sp:
            peer = s["peer"] + (" (fastest)" if s["fastest_peer"] else "")
            bound = "> " if s["lower_bound"] else ""
            t_peer = f"{bound}{_fmt(s['t_peer'])}" + (" (timeout)" if s["lower_bound"] else "")
            equal = {True: "yes", False: "no", None: "n/a"}[s["equal_error"]]
            lines.append(
                f"| {s['problem']} | {s['family']} | {s['ours']} | {peer} | {_fmt(s['t_ours'])} | "
                f"{t_peer} | {bound}{_fmt(s['speedup'], '.3g')}× | {_fmt(s['rmse_J_ours'], '.4f')} | "
                f"{_fmt(s['rmse_J_peer'], '.4f')} | {equal} |"
            )
        lines.append("")
    return "\n".join(lines)


def _problem_line(m: dict) -> str:
    s = (
        f"N = {m['n']}, {m['kind']}, beta = {m['beta']}, M = {m['m_samples']} {m['sampler']} samples "
        f"(seed {m['seed']})"
    )
    if "half_chain_rms_dC" in m:
        s += (
            f"; Gibbs {m['gibbs']}, rms difference of connected correlations between two halves of the "
            f"chains {m['half_chain_rms_dC']:.4f} (max {m['half_chain_max_dC']:.3f})"
        )
    return s + "."


# -------------------------------------------------------------------------------------- main
def select(names: str | None, universe: list[str], what: str) -> list[str]:
    if not names:
        return list(universe)
    out: list[str] = []
    for pat in names.split(","):
        hits = fnmatch.filter(universe, pat.strip())
        if not hits:
            raise SystemExit(f"unknown {what} {pat!r}; choose from {', '.join(universe)}")
        out += [h for h in hits if h not in out]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--problems", help=f"comma-separated names or globs ({', '.join(PROBLEMS)})")
    ap.add_argument("--methods", help=f"comma-separated names or globs ({', '.join(METHODS)})")
    ap.add_argument("--timeout", type=float, default=600.0, help="per-run time limit in seconds (600)")
    ap.add_argument(
        "--no-skip-after-timeout",
        action="store_true",
        help="also try a method on larger N after it timed out on a smaller N",
    )
    ap.add_argument(
        "--options", default="{}", help="JSON {method: {option: value}} overriding method options"
    )
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="OMP/MKL/OpenBLAS/numba thread limit for every method (default 1; 0 = library defaults). "
        "On a shared, oversubscribed machine multi-threaded BLAS can be orders of magnitude slower.",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="smoke run: N=20, M=5000, fast methods, 60 s limit")
    ap.add_argument("--resume", action="store_true", help="keep finished rows of the existing JSON")
    ap.add_argument("--out", type=Path, default=None, help="output stem (default results/inverse_ising)")
    ap.add_argument("--workdir", type=Path, default=PEER_VENVS / "work", help="problem/result scratch files")
    args = ap.parse_args(argv)
    if args.threads and args.threads > 0:  # the evaluation here (enumeration, Gibbs) too
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)

    problems = QUICK_PROBLEMS if args.quick else PROBLEMS
    pnames = select(args.problems, list(problems), "problem")
    if args.quick and not args.problems:
        pnames = QUICK_DEFAULT_PROBLEMS
    mnames = (
        select(args.methods, QUICK_METHODS if args.quick else DEFAULT_METHODS, "method")
        if not args.methods
        else select(args.methods, list(METHODS), "method")
    )
    timeout = min(args.timeout, 60.0) if args.quick else args.timeout
    overrides = json.loads(args.options)
    stem = args.out or RESULTS / ("inverse_ising_quick" if args.quick else "inverse_ising")
    json_path, md_path = stem.with_suffix(".json"), stem.with_suffix(".md")
    workdir = args.workdir / ("quick" if args.quick else "full")
    workdir.mkdir(parents=True, exist_ok=True)

    doc = {"records": [], "problems": {}}
    if args.resume and json_path.exists():
        doc = json.loads(json_path.read_text())
        doc.setdefault("runs", []).append(" ".join(argv if argv is not None else sys.argv[1:]))
    done = {
        (r["problem"], r["method"]): r for r in doc["records"] if r["status"] in ("ok", "timeout", "skipped")
    }
    records = [r for r in doc["records"] if (r["problem"], r["method"]) in done]
    doc.update(
        created=_dt.datetime.now().isoformat(timespec="seconds"),
        command=" ".join(
            ["python benchmarks/bench_inverse_ising.py", *(argv if argv is not None else sys.argv[1:])]
        ),
        machine={
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_start": [round(x, 2) for x in os.getloadavg()],
            "threads": args.threads,
        },
        convention="P(s) ∝ exp(sum_{i<j} J_ij s_i s_j + sum_i h_i s_i), s = ±1, beta = 1",
    )
    timed_out_at: dict[str, int] = {}
    for r in records:
        if r["status"] == "timeout":
            timed_out_at[r["method"]] = min(timed_out_at.get(r["method"], 10**9), r["n"])

    def save() -> None:
        doc["records"] = records
        doc["speedups"] = speedups(records)
        doc["machine"]["load_end"] = [round(x, 2) for x in os.getloadavg()]
        RESULTS.mkdir(parents=True, exist_ok=True)
        atomic_write_text(json_path, json.dumps(doc, indent=1, default=float) + "\n")
        atomic_write_text(md_path, markdown(doc) + "\n")

    for pname in sorted(pnames, key=lambda k: problems[k].n):
        p = problems[pname]
        ppath = workdir / f"{pname}.npz"
        if ppath.exists():
            X, h_true, J_true, pmeta = load_problem_file(ppath)
        else:
            print(f"[{pname}] drawing {p.n_samples} {p.sampler} samples ...", flush=True)
            make_problem(p, ppath)
            X, h_true, J_true, pmeta = load_problem_file(ppath)
        doc["problems"][pname] = pmeta
        m_data, c_data = connected(X)
        budget = eval_budget(p.n, args.quick)
        truth_key = (pname, "truth")
        if truth_key not in done:
            ev = evaluate(h_true, J_true, h_true, J_true, m_data, c_data, budget, args.seed + 7)
            records.append(
                {
                    "problem": pname,
                    "n": p.n,
                    "method": "truth",
                    "family": "reference",
                    "ours": False,
                    "status": "ok",
                    "fit_time": None,
                    **ev,
                    "note": "the true model: its err C is the sampling noise of the data (+ MCMC noise)",
                }
            )
            save()
        for mname in mnames:
            meth = METHODS[mname]
            if (pname, mname) in done:
                continue
            base = {
                "problem": pname,
                "n": p.n,
                "method": mname,
                "family": meth.family,
                "ours": meth.ours,
                "runner": meth.runner,
                "note": meth.note,
            }
            if meth.max_n is not None and p.n > meth.max_n:
                continue
            if not args.no_skip_after_timeout and timed_out_at.get(mname, 10**9) <= p.n:
                records.append(
                    {**base, "status": "skipped", "reason": f"timed out at N={timed_out_at[mname]}"}
                )
                save()
                continue
            opts = {
                **meth.options,
                **(QUICK_OPTIONS.get(mname, {}) if args.quick else {}),
                **overrides.get(mname, {}),
            }
            out = workdir / f"{pname}__{mname}.npz"
            log = workdir / f"{pname}__{mname}.log"
            print(f"[{pname}] {mname} ...", end=" ", flush=True)
            res = run_method(
                meth,
                ppath,
                out,
                timeout=timeout,
                seed=args.seed,
                options=opts,
                threads=args.threads,
                log_path=log,
            )
            rec = {**base, "options": opts, **res}
            if res["status"] == "ok":
                with np.load(out, allow_pickle=False) as d:
                    h_fit, J_fit = d["h"], d["J"]
                    rec["fit_time"] = float(d["fit_time"])
                    rec["peer_meta"] = json.loads(str(d["__meta__"]))
                rec["cpu_time"] = rec["peer_meta"].get("cpu_time")
                rec.update(evaluate(h_fit, J_fit, h_true, J_true, m_data, c_data, budget, args.seed + 7))
                print(
                    f"{rec['fit_time']:.2f} s, rmse J {rec['rmse_J']:.4f}, err C {rec['err_C']:.4f}",
                    flush=True,
                )
            else:
                if res["status"] == "timeout":
                    timed_out_at[mname] = min(timed_out_at.get(mname, 10**9), p.n)
                print(res["status"], res.get("reason", ""), flush=True)
            records.append(rec)
            save()
    save()
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

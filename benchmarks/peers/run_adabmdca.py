"""Run adabmDCA 1.0.0's bmDCA on binary data (as a q = 2 Potts model); write maxent's (h, J).

Runs inside the adabmDCA venv (``benchmarks/.peers/adabmdca/bin/python``), as a subprocess of
``bench_inverse_ising.py``::

    python run_adabmdca.py PROBLEM.npz bmdca OUT.npz [--options JSON] [--seed S]

Encoding: spin s = +1 is token "A" (Potts state 0), s = -1 is token "B" (state 1), with the
custom two-letter alphabet "AB". adabmDCA's loader removes duplicate sequences, which would
change the statistics of Ising samples (many repeated states); we therefore pass the distinct
rows with their multiplicities as sequence weights (exact: the weighted one- and two-point
frequencies equal the plain ones). Everything else is adabmDCA's default unless given in
``--options``: learning rate 0.01, 10 sweeps per step, 10 000 chains, Metropolis, pseudocount
1/M_eff, stop at Pearson 0.95 of the connected correlations or after ``max_gradient_steps``.

Its energy is E(a) = -sum_i h_i(a_i) - 1/2 sum_{i,j} J_ij(a_i, a_j) (``statmech.compute_energy``);
``convert.potts2_to_ising`` turns (bias, coupling_matrix) into maxent's (h, J) exactly, in any
gauge (checked by enumeration in ``tests/test_peer_conversion.py``).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import load_problem, parser, save_result  # noqa: E402
from convert import potts2_to_ising  # noqa: E402

METHODS = ("bmdca",)
ALPHABET = "AB"  # state 0 = "A" = spin +1, state 1 = "B" = spin -1


def to_alignment(X: np.ndarray):
    """Distinct ±1 rows as "A"/"B" strings, and their counts (the sequence weights)."""
    from adabmDCA.alignment import Alignment

    uniq, counts = np.unique(X, axis=0, return_counts=True)
    letters = np.where(uniq > 0, "A", "B")
    seqs = ["".join(row) for row in letters]
    return Alignment(names=[f"s{k}" for k in range(len(seqs))], sequences=seqs), counts.astype(float)


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0], METHODS).parse_args(argv)
    X, _ = load_problem(args.problem)
    opts = json.loads(args.options)
    import torch
    from adabmDCA.api.training import train_model

    if "threads" in opts:
        torch.set_num_threads(int(opts["threads"]))
    kw = {
        "model_type": "bmDCA",
        "alphabet": ALPHABET,
        "learning_rate": float(opts.get("learning_rate", 0.01)),
        "n_sweeps": int(opts.get("n_sweeps", 10)),
        "n_chains": int(opts.get("n_chains", 10_000)),
        "sampler": str(opts.get("sampler", "metropolis")),
        "target_pearson": float(opts.get("target_pearson", 0.95)),
        "max_gradient_steps": int(opts.get("max_gradient_steps", 1000)),
        "seed": args.seed,
        "device": "cpu",
        "checkpoint_interval": None,
    }
    if "pseudocount" in opts:
        kw["pseudocount"] = float(opts["pseudocount"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, c0 = time.perf_counter(), time.process_time()
        alignment, counts = to_alignment(X)
        res = train_model(alignment, weights_path=counts, no_reweighting=False, **kw)
        fit_time, cpu_time = time.perf_counter() - t0, time.process_time() - c0
    bias = res.model.params["bias"].detach().cpu().double().numpy()
    coupling = res.model.params["coupling_matrix"].detach().cpu().double().numpy()
    h, J = potts2_to_ising(bias, coupling, plus_state=0)
    hist = {k: v for k, v in res.history.items()} if isinstance(res.history, dict) else {}
    pearson = hist.get("Pearson") or hist.get("pearson")
    meta = {
        "peer": "adabmdca",
        "method": "bmdca",
        "options": opts,
        "settings": {k: v for k, v in kw.items() if k != "alphabet"},
        "cpu_time": cpu_time,
        "gradient_steps": int(res.gradient_steps),
        "sweeps": int(res.sweeps),
        "stop_reason": res.stop_reason,
        "converged": bool(res.converged),
        "final_pearson": float(pearson[-1]) if pearson else None,
        "n_distinct_rows": int(len(counts)),
        "torch_threads": torch.get_num_threads(),
    }
    save_result(args.out, h, J, fit_time, meta)
    print(json.dumps({"method": "bmdca", "fit_time": fit_time, "steps": meta["gradient_steps"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

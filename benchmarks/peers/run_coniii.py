"""Run one ConIII 3.0.1 solver on a problem file; write (h, J) in maxent's convention.

Runs inside the ConIII venv (``benchmarks/.peers/coniii/bin/python``), as a subprocess of
``bench_inverse_ising.py``::

    python run_coniii.py PROBLEM.npz {pseudo,mch,mpf,ce,mf,rmf} OUT.npz [--options JSON] [--seed S]

Conventions (read from ConIII 3.0.1's source, ``utils.define_ising_helper_functions``):
the ±1 ``Ising`` model has E(s) = -sum_i h_i s_i - sum_{i<j} J_ij s_i s_j, P ∝ exp(-E), and its
multiplier vector is concat(h, J_{i<j} row-major) -- maxent's convention, so Pseudo, MCH, MPF
and ClusterExpansion outputs only change layout (MPF and ClusterExpansion work in the 0/1
basis internally and convert back themselves, correctly: checked in the source).

Mean-field: ``mf`` is ConIII's naive mean-field inversion ``mean_field_ising.JmeanField`` (no
prior), whose matrix (0/1 basis, fields on the diagonal, half couplings off it) we convert
ourselves (``convert.daniels_matrix_to_ising``). ``rmf`` runs ``RegularizedMeanField.solve``,
which picks the prior strength by sampling and then converts with ``J + J.T`` before the
0/1 -> ±1 step: that doubles both the fields and the couplings of its output, so we divide
its multipliers by 2 (the samples it uses to choose the prior are generated from the same
mis-converted parameters, so its choice of prior is itself off; we report it as it is).
ConIII's ``Enumerate`` is broken in 3.0.1 and is not offered.
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
from convert import daniels_matrix_to_ising, vec_to_ising  # noqa: E402

METHODS = ("pseudo", "mch", "mpf", "ce", "mf", "rmf")


def _solve(method: str, X: np.ndarray, opts: dict, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
    import coniii
    from coniii import mean_field_ising
    from coniii.solvers import MCH, MPF, ClusterExpansion, Pseudo, RegularizedMeanField

    n = X.shape[1]
    rng = np.random.RandomState(seed)
    info: dict = {"coniii_version": getattr(coniii, "__version__", "3.0.1")}
    X = X.astype(np.int64)  # ConIII's numba kernels are compiled for int64 states
    if method == "pseudo":
        mult = Pseudo(X, iprint=False).solve()
        h, J = vec_to_ising(mult, n)
    elif method == "mpf":
        mult, soln = MPF(X, iprint=False).solve(full_output=True)
        h, J = vec_to_ising(mult, n)
        info.update(nit=int(soln.get("nit", -1)), success=bool(soln.get("success", False)))
    elif method == "ce":
        threshold = float(opts.get("threshold", 1e-2))
        solver = ClusterExpansion(X, rng=rng, iprint=False, n_cpus=int(opts.get("n_cpus", 1)))
        mult = solver.solve(threshold, iprint=False)
        h, J = vec_to_ising(mult, n)
        info["threshold"] = threshold
    elif method == "mch":
        sample_size = int(opts.get("sample_size", 1000))
        maxiter = int(opts.get("maxiter", 40))
        sweeps = int(opts.get("sweeps", 10))  # Metropolis steps between samples / for burn-in, in units of N
        # ConIII 3.0.1's Metropolis sampler returns int8 states, which its own numba-compiled
        # calc_e (int64 signature) refuses: cast them before the MCH step (a dtype fix only).
        from coniii.utils import define_ising_helper_functions

        mch_approx = define_ising_helper_functions()[2]
        solver = MCH(
            X,
            sample_size=sample_size,
            rng=rng,
            n_cpus=int(opts.get("n_cpus", 1)),
            iprint=False,
            mch_approximation=lambda samples, dlamda: mch_approx(samples.astype(np.int64), dlamda),
        )

        def learn_settings(i: int) -> dict:  # ConIII's usage guide schedule
            return {"maxdlamda": float(np.exp(-i / 5.0)), "eta": float(np.exp(-i / 5.0))}

        mult, errflag, errors = solver.solve(
            maxiter=maxiter,
            n_iters=sweeps * n,
            burn_in=sweeps * n,
            custom_convergence_f=learn_settings,
            full_output=True,
        )
        h, J = vec_to_ising(mult, n)
        info.update(
            sample_size=sample_size,
            maxiter=maxiter,
            sweeps=sweeps,
            errflag=int(errflag),
            final_constraint_error=float(np.abs(errors[-1]).max()),
        )
    elif method == "mf":
        cooc = mean_field_ising.cooccurrence_matrix((X + 1) / 2)
        D = mean_field_ising.JmeanField(cooc)
        h, J = daniels_matrix_to_ising(np.real(D))
        info["conversion"] = "JmeanField matrix converted by convert.daniels_matrix_to_ising"
    elif method == "rmf":
        solver = RegularizedMeanField(
            X,
            sample_size=int(opts.get("sample_size", 100)),
            rng=rng,
            n_cpus=int(opts.get("n_cpus", 1)),
            iprint=False,
        )
        mult = solver.solve()
        h, J = vec_to_ising(np.asarray(mult) / 2.0, n)
        info["conversion"] = "RegularizedMeanField multipliers / 2 (its J + J.T doubles h and J)"
    else:  # pragma: no cover - argparse restricts the choice
        raise ValueError(method)
    return h, J, info


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0], METHODS).parse_args(argv)
    X, _ = load_problem(args.problem)
    opts = json.loads(args.options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0, c0 = time.perf_counter(), time.process_time()
        h, J, info = _solve(args.method, X, opts, args.seed)
        fit_time, cpu_time = time.perf_counter() - t0, time.process_time() - c0
    meta = {"peer": "coniii", "method": args.method, "options": opts, "cpu_time": cpu_time, **info}
    save_result(args.out, h, J, fit_time, meta)
    print(json.dumps({"method": args.method, "fit_time": fit_time}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

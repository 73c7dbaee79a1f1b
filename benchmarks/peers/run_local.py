"""Run one of maxent's estimators, or the scikit-learn per-spin baseline, on a problem file.

Runs in maxent's own venv, as a subprocess of ``bench_inverse_ising.py`` (so every method, ours
and the peers', is timed, time-limited and isolated the same way)::

    python run_local.py PROBLEM.npz METHOD OUT.npz [--options JSON] [--seed S]

METHOD is ``sklearn`` or ``ours:<module>:<Class>`` (e.g. ``ours:pseudolikelihood:PseudoLikelihood``),
imported as ``maxent.fit.<module>``; ``--options`` are the estimator's ``__init__`` parameters.

Before the timed fit, the same method runs once on a small slice of the data (8000 x 6), so that
lazy imports and one-time initialization are not timed (the peers' imports are not timed either).

The scikit-learn baseline is what a user would write instead of an inverse-Ising package: one
``LogisticRegression`` (defaults: L2, C = 1, lbfgs) per spin i, predicting s_i from the other
spins. Under P(s) ∝ exp(sum_{i<j} J_ij s_i s_j + h·s), P(s_i = +1 | rest) = sigmoid(2 H_i) with
H_i = h_i + sum_j J_ij s_j, so the logistic weights are w_ij = 2 J_ij and the intercept is 2 h_i:
we take J_ij = (w_ij + w_ji)/4 (the symmetrized average, halved) and h_i = b_i/2.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import load_problem, parser, save_result  # noqa: E402


def sklearn_per_spin(X: np.ndarray, C: float = 1.0, max_iter: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Per-spin logistic regressions, symmetrized: returns (h (N,), J (N, N))."""
    from sklearn.linear_model import LogisticRegression

    Xf = X.astype(np.float64)
    n = Xf.shape[1]
    W = np.zeros((n, n))
    b = np.zeros(n)
    for i in range(n):
        others = np.delete(np.arange(n), i)
        clf = LogisticRegression(C=C, max_iter=max_iter).fit(Xf[:, others], X[:, i] > 0)
        W[i, others] = clf.coef_[0]
        b[i] = clf.intercept_[0]
    return b / 2.0, (W + W.T) / 4.0


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0], ())
    # METHOD is free-form here (ours:<module>:<Class> or sklearn): drop argparse's choices
    for action in p._actions:
        if action.dest == "method":
            action.choices = None
    args = p.parse_args(argv)
    X, _ = load_problem(args.problem)
    opts = json.loads(args.options)
    info: dict = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.method == "sklearn":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                sklearn_per_spin(_warmup_slice(X), **opts)  # one-time import/initialization costs
            t0, c0 = time.perf_counter(), time.process_time()
            h, J = sklearn_per_spin(X, **opts)
            fit_time, cpu_time = time.perf_counter() - t0, time.process_time() - c0
        elif args.method.startswith("ours:"):
            _, module, cls_name = args.method.split(":")
            cls = getattr(importlib.import_module(f"maxent.fit.{module}"), cls_name)
            est = cls(**opts)
            if "random_state" in est.get_params() and "random_state" not in opts:
                est.set_params(random_state=args.seed)
            _warm_up(est, X)
            t0, c0 = time.perf_counter(), time.process_time()
            est.fit(X)
            fit_time, cpu_time = time.perf_counter() - t0, time.process_time() - c0
            h, J = est.h_, est.J_
            info = {
                "params": {k: v for k, v in est.get_params().items() if _jsonable(v)},
                "n_iter": _maybe_int(getattr(est, "n_iter_", None)),
                "converged": _maybe_bool(getattr(est, "converged_", None)),
            }
        else:
            raise SystemExit(f"unknown method {args.method!r}: use 'sklearn' or 'ours:<module>:<Class>'")
    info["warnings"] = sorted({f"{w.category.__name__}: {str(w.message)[:200]}" for w in caught})
    meta = {"peer": "local", "method": args.method, "options": opts, "cpu_time": cpu_time, **info}
    save_result(args.out, h, J, fit_time, meta)
    print(json.dumps({"method": args.method, "fit_time": fit_time}))
    return 0


def _warmup_slice(X: np.ndarray) -> np.ndarray:
    # 8000 x 6: enough work (M N^2 >= 2^18) for maxent to set up its one-time BLAS thread
    # controller (threadpoolctl scans the loaded libraries once per process, ~16 ms)
    return X[: min(len(X), 8000), : min(X.shape[1], 6)]


def _warm_up(est, X: np.ndarray) -> None:
    """Fit a clone on a tiny slice first, so that lazy imports and one-time initialization are not
    timed (the peers' imports are not timed either). Failures here are ignored: the timed fit
    below reports them."""
    from sklearn.base import clone

    warm = clone(est)
    for name, value in (("max_iter", 5), ("progress", False)):
        if name in warm.get_params():
            warm.set_params(**{name: value})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. ConvergenceWarning at max_iter=5: not the timed fit's
        try:
            warm.fit(_warmup_slice(X))
        except Exception:  # noqa: BLE001 - the warm-up is best effort
            pass


def _jsonable(v: object) -> bool:
    try:
        json.dumps(v)
        return True
    except TypeError:
        return False


def _maybe_int(v: object) -> int | None:
    return None if v is None else int(v)  # type: ignore[call-overload]


def _maybe_bool(v: object) -> bool | None:
    return None if v is None else bool(v)


if __name__ == "__main__":
    sys.exit(main())

"""Estimators by name: the registry the pipeline config and the `maxent fit` command use."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

import numpy as np

__all__ = ["ESTIMATORS", "EstimatorError", "make_estimator", "check_estimator"]

#: estimator name -> "module:Class"
ESTIMATORS: dict[str, str] = {
    "exact": "maxent.fit.exact:ExactBoltzmann",
    "mean_field": "maxent.fit.mean_field:MeanField",
    "pseudolikelihood": "maxent.fit.pseudolikelihood:PseudoLikelihood",
    "pseudolikelihood_cv": "maxent.fit.pseudolikelihood:PseudoLikelihoodCV",
    "bethe": "maxent.fit.bethe:BetheBoltzmann",
    "mcmc": "maxent.fit.boltzmann_mcmc:MCMCBoltzmann",
}


class EstimatorError(ValueError):
    """An unknown estimator name, or parameters it does not accept (the message says which)."""


def _import(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_estimator(name: str, params: dict | None = None, random_state: int | None = None) -> Any:
    """Instantiate the estimator registered as ``name`` (see :data:`ESTIMATORS`).

    ``params`` are its ``__init__`` arguments (unknown ones raise EstimatorError naming the allowed
    ones). ``random_state`` is set when the estimator takes one and ``params`` does not.
    """
    if name not in ESTIMATORS:
        raise EstimatorError(f"unknown estimator {name!r}; choose one of {sorted(ESTIMATORS)}")
    try:
        cls = _import(ESTIMATORS[name])
    except (ImportError, AttributeError) as exc:
        raise EstimatorError(f"estimator {name!r} is not available ({ESTIMATORS[name]}: {exc})") from exc
    params = dict(params or {})
    allowed = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise EstimatorError(
            f"unknown parameter(s) {unknown} for estimator {name!r}; allowed: {sorted(allowed)}"
        )
    from maxent._validation import check_hyperparams

    try:
        params = check_hyperparams(params, allowed, where=f"estimator {name!r}")
    except ValueError as exc:
        raise EstimatorError(str(exc)) from None
    if "random_state" in allowed and "random_state" not in params and random_state is not None:
        params["random_state"] = random_state
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise EstimatorError(f"estimator {name!r} rejects its parameters {params}: {exc}") from exc


#: caps applied to a dry-run fit's budget (the values themselves were checked first)
_DRY_RUN_CAPS = {"max_iter": 3, "bp_max_iter": 20, "n_chains": 8, "max_sweeps": 4, "n_sweeps": 1, "window": 3}


def check_estimator(name: str, params: dict | None = None) -> None:
    """Fail now, not after training, when an estimator's parameters are invalid.

    Checks the parameter names and types (:func:`make_estimator`), then fits the estimator on
    a tiny well-posed data set (all 8 configurations of 3 spins, twice) with its iteration
    budgets capped, so that the estimator's own range checks (``alpha >= 0``, a known
    ``penalty``, ...) run too. Raises EstimatorError naming the estimator and the problem.
    """
    import itertools

    params = dict(params or {})
    make_estimator(name, params)  # names and types
    dry = {
        k: (min(v, _DRY_RUN_CAPS[k]) if k in _DRY_RUN_CAPS and isinstance(v, int) and v > 0 else v)
        for k, v in params.items()
    }
    est = make_estimator(name, dry, random_state=0)
    X = np.array(list(itertools.product([-1, 1], repeat=3)) * 2, dtype=np.int8)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X)
    except (ValueError, TypeError, RuntimeError) as exc:
        raise EstimatorError(f"estimator {name!r} rejects its parameters {params}: {exc}") from None

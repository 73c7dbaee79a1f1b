r"""Bridge to the core toolkit: the max-ent pipeline run on weight samples of this model.

Draw equilibrium weight samples of an active path instance by heat-bath Monte Carlo
(:mod:`.mcmc`), fit the pairwise maximum-entropy model P(w) ∝ exp(sum_{i<j} J_ij w_i w_j +
sum_i h_i w_i) to them with :class:`maxent.fit.PseudoLikelihood`, and read its geometry with the
core tools (:func:`maxent.geometry.landscape.entropy_landscape`,
:func:`maxent.model.tap.tap_states`), exactly as for trained networks.

What to expect. For depth L = 2 the model *is* pairwise (each path couples its two weights with
beta J_a), so the fit recovers beta J on path pairs. For L >= 3 a p-spin factor alone induces no
pair correlation, so the fitted pairwise model is weak and its entropy is close to the
independent bound: the max-ent principle guarantees S_pairwise >= S_true (same first and second
moments), and the gap measures the higher-order structure the pairwise picture misses -- a
caution for "liquid-like" readings of pairwise fits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from maxent._validation import check_int
from maxent.fit import PseudoLikelihood
from maxent.geometry.landscape import entropy_landscape
from maxent.model.ising import IsingModel
from maxent.model.tap import TapStates, tap_states

from .instances import PathInstance
from .mcmc import heat_bath

__all__ = ["BridgeResult", "sample_weights", "fit_pairwise", "bridge_analysis"]


def sample_weights(
    instance: PathInstance,
    beta: float,
    n_samples: int,
    *,
    n_chains: int = 8,
    burn_in: int = 200,
    thin: int = 5,
    init: str | np.ndarray = "random",
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Weight samples int8 (n_samples, n) from ``n_chains`` heat-bath chains.

    Each chain runs ``burn_in`` sweeps, then records every ``thin`` sweeps; rows interleave chains.
    """
    n_samples = check_int(n_samples, "n_samples", 1)
    n_chains = check_int(n_chains, "n_chains", 1)
    thin = check_int(thin, "thin", 1)
    burn_in = check_int(burn_in, "burn_in", 0)
    per_chain = -(-n_samples // n_chains)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if burn_in:
        start = heat_bath(
            instance, beta, burn_in, n_chains=n_chains, init=init, record_every=burn_in, seed=rng
        )
        inits = start["samples"][-1]
    else:
        inits = None
    runs = []
    for k in range(n_chains):
        w0 = inits[k] if inits is not None else init
        runs.append(
            heat_bath(instance, beta, per_chain * thin, init=w0, record_every=thin, seed=rng)["samples"][:, 0]
        )
    S = np.stack(runs, axis=1).reshape(-1, instance.n_vars)
    return S[:n_samples].astype(np.int8)


def fit_pairwise(samples: np.ndarray, *, alpha: float = 1e-3) -> IsingModel:
    """Pairwise max-ent (Ising) model of ±1 ``samples`` (S, n) by L2 pseudo-likelihood."""
    est = PseudoLikelihood(alpha=alpha)
    return est.fit(np.asarray(samples)).model_


@dataclass(frozen=True)
class BridgeResult:
    """samples int8 (S, n); model: fitted IsingModel; landscape: entropy_landscape table around
    ``reference`` (index into samples); tap: TapStates of the fitted model."""

    samples: np.ndarray
    model: IsingModel
    landscape: pd.DataFrame
    tap: TapStates
    reference: int


def bridge_analysis(
    instance: PathInstance,
    beta: float,
    *,
    n_samples: int = 2000,
    alpha: float = 1e-3,
    x: np.ndarray | None = None,
    n_tap_starts: int = 20,
    seed: int | None = 0,
) -> BridgeResult:
    """Samples -> pairwise fit -> entropy landscape (around sample 0) and TAP states.

    Free weights (on no path) are dropped first (``instance.compact()``): they are independent
    fair coins and carry no structure.
    """
    inst = instance.compact()
    rng = np.random.default_rng(seed)
    S = sample_weights(inst, beta, n_samples, seed=rng)
    model = fit_pairwise(S, alpha=alpha)
    grid = np.linspace(-2.0, 2.0, 41) if x is None else x
    land = entropy_landscape(model, S[0].astype(np.float64), x=grid, sweep="both")
    tap = tap_states(model, n_tap_starts, random_state=seed)
    return BridgeResult(S, model, land, tap, 0)

"""Log-likelihood and pseudo-log-likelihood of ±1 samples under a pairwise model.

Pseudo-log-likelihood per sample (Besag), with local fields H_i(s) = h_i + sum_j J_ij s_j:

    PLL(s) = sum_i log P(s_i | s_{-i}) = sum_i log sigmoid(2 s_i H_i(s)) = -sum_i log(1 + exp(-2 s_i H_i))
"""

from __future__ import annotations

import numpy as np

from maxent._validation import check_spins
from maxent.model.ising import IsingModel

__all__ = ["mean_log_likelihood", "mean_pseudo_log_likelihood"]


def mean_log_likelihood(model: IsingModel, X: np.ndarray) -> float:
    """Exact mean log P(s) over the rows of X (needs N <= 24 for log Z)."""
    Xf = check_spins(X, name="X", n_spins=model.n_spins)
    return float(np.mean(model.log_prob(Xf)))


def mean_pseudo_log_likelihood(h: np.ndarray, J: np.ndarray, X: np.ndarray) -> float:
    """Mean over samples of the pseudo-log-likelihood sum_i log P(s_i | s_-i)."""
    Xf = check_spins(X, name="X", n_spins=len(h))
    H = Xf @ J + h
    return float(-np.mean(np.sum(np.logaddexp(0.0, -2.0 * Xf * H), axis=1)))

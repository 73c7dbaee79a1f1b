"""Shared base class of the inverse-Ising estimators (scikit-learn conventions).

Every estimator:

* takes its hyperparameters in ``__init__`` (stored unchanged, so ``get_params``/``set_params``
  and ``sklearn.base.clone`` work) and a ``random_state`` where it is stochastic;
* ``fit(X)`` accepts ±1 samples (M, N) or, where the method allows (``supports_moments``), a
  :class:`maxent.data.moments.Moments`; it returns ``self``;
* sets ``h_`` (N,), ``J_`` (N, N), ``model_`` (:class:`maxent.IsingModel`), ``n_iter_``,
  ``converged_`` and ``history_`` (a DataFrame, one row per iteration, with at least the
  columns ``iteration``, ``err_m``, ``err_C``: max abs moment errors where the method tracks
  them), and issues :class:`sklearn.exceptions.ConvergenceWarning` when it stops unconverged.

A fit without a penalty on J whose data put the maximum at infinity (a perfectly correlated
or anti-correlated pair, such as a duplicated spin; a value combination of a pair that never
occurs; separable data for the pseudo-likelihood: see :mod:`maxent.fit._identifiability`)
has no answer: whatever the solver reports, ``converged_`` is set False, ``nonidentifiable_``
describes the cause, and a :class:`NonIdentifiableWarning` (a ConvergenceWarning) says to
drop the redundant spins or regularize.

Subclasses implement ``_fit(moments, X) -> FitResult`` only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning

from maxent._validation import check_spins, constant_columns, format_indices
from maxent.data.moments import Moments
from maxent.fit._identifiability import (
    applies_to,
    check_identifiability,
    coupling_penalty,
    is_pseudolikelihood,
)
from maxent.fit._likelihood import mean_log_likelihood, mean_pseudo_log_likelihood
from maxent.model.enumerate import MAX_EXACT_SPINS
from maxent.model.ising import IsingModel

__all__ = ["IsingEstimator", "FitResult", "ConvergenceWarning", "NonIdentifiableWarning"]


class NonIdentifiableWarning(ConvergenceWarning):
    """The unregularized maximum is at infinity: the fitted couplings are not an answer."""


@dataclass
class FitResult:
    """What a solver returns: parameters and convergence record."""

    h: np.ndarray
    J: np.ndarray
    n_iter: int = 0
    converged: bool = True
    history: list[dict] = field(default_factory=list)


class IsingEstimator(BaseEstimator):
    """Base class: validation, moments, learned attributes, convergence warnings, scoring."""

    #: whether ``fit`` accepts a :class:`Moments` instead of raw samples
    supports_moments: ClassVar[bool] = True

    def _allows_constant_spins(self) -> bool:
        """Whether a constant spin (m = ±1) is allowed: True where a regularizer keeps its
        field finite. Subclasses with an L2/L1 penalty override this."""
        return False

    def fit(self, X: np.ndarray | Moments, y: None = None) -> IsingEstimator:
        """Fit the pairwise model to ±1 samples X (M, N) or to a :class:`Moments`."""
        if isinstance(X, Moments):
            if not self.supports_moments:
                raise TypeError(f"{type(self).__name__} needs the raw samples, not only their moments")
            moments, samples = X, None
        else:
            # int8 keeps the validated copy small (no copy at all for int8 input); estimators
            # that use the samples convert them to the precision they compute in
            samples = check_spins(X, name="X", min_samples=2, dtype=np.int8)
            moments = Moments._from_checked(samples)
        const = constant_columns(moments.m)
        if const.size and not self._allows_constant_spins():
            raise ValueError(
                f"spins {format_indices(const)} are constant (m = ±1 in every sample): their "
                "maximum-likelihood field is infinite. Drop them, or use a regularized fit "
                "(e.g. l2 > 0) which gives a finite answer."
            )
        result = self._fit(moments, samples)
        model = IsingModel(result.h, result.J)
        self.h_ = model.h
        self.J_ = model.J
        self.model_ = model
        self.n_features_in_ = moments.n_spins
        self.n_iter_ = int(result.n_iter)
        self.converged_ = bool(result.converged)
        self.history_ = pd.DataFrame(result.history)
        self.nonidentifiable_ = ""
        if applies_to(self) and coupling_penalty(self) <= 0:
            report = check_identifiability(
                moments.m, moments.C, samples, moments.n_samples or None, pseudo=is_pseudolikelihood(self)
            )
            if report:
                self.nonidentifiable_ = report.describe()
                self.converged_ = False
                warnings.warn(
                    f"{type(self).__name__}: the data have no finite maximum-likelihood couplings "
                    f"({self.nonidentifiable_}); the fitted J (max |J| = "
                    f"{float(np.abs(model.J).max(initial=0.0)):.3g}) is not an answer. Drop the "
                    "redundant spins, or regularize the couplings (alpha > 0 / l2 > 0).",
                    NonIdentifiableWarning,
                    stacklevel=2,
                )
                return self
        if not self.converged_:
            warnings.warn(
                f"{type(self).__name__} did not converge in {self.n_iter_} iterations; "
                "increase max_iter or loosen tol (see history_)",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _fit(self, moments: Moments, X: np.ndarray | None) -> FitResult:  # pragma: no cover
        raise NotImplementedError

    def score(self, X: np.ndarray, y: None = None) -> float:
        """Mean held-out log-likelihood per sample: exact for N <= 20, pseudo-likelihood above.

        Higher is better (scikit-learn convention), so this drives model selection directly.
        """
        model = self.model_
        if model.n_spins <= min(20, MAX_EXACT_SPINS):
            return mean_log_likelihood(model, X)
        return mean_pseudo_log_likelihood(model.h, model.J, X)

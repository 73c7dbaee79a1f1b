"""Inverse-Ising estimators: one module per family, one shared base (:mod:`maxent.fit._base`)."""

from maxent.fit._base import ConvergenceWarning, FitResult, IsingEstimator

__all__ = ["IsingEstimator", "FitResult", "ConvergenceWarning"]

"""Inverse-Ising estimators: one module per family, one shared base (:mod:`maxent.fit._base`).

Each family is a plain function on the sufficient statistics plus a thin scikit-learn style
estimator (see DESIGN.md, "Examples to follow"):

==================  =====================  ===============================================
estimator           function               model moments / objective
==================  =====================  ===============================================
ExactBoltzmann      exact_boltzmann        exact likelihood, enumeration (N <= 20)
BetheBoltzmann      bethe_boltzmann        Boltzmann learning, belief propagation moments
MCMCBoltzmann       mcmc_boltzmann         Boltzmann learning, persistent Gibbs chains
PseudoLikelihood    pseudolikelihood       pseudo-likelihood, L2 or L1, all spins at once
PseudoLikelihoodCV                         penalty chosen by held-out pseudo-likelihood
MeanField           mean_field_inverse     naive mean-field / TAP closed-form inversion
==================  =====================  ===============================================

:func:`fit_blocks` fits one model per block of a :class:`maxent.WeightSamples` with joblib;
:mod:`maxent.fit.quality` checks a fit on statistics it did not see.
"""

from maxent.fit._base import ConvergenceWarning, FitResult, IsingEstimator
from maxent.fit.bethe import BetheBoltzmann, bethe_boltzmann, bethe_inverse
from maxent.fit.blocks import fit_blocks
from maxent.fit.boltzmann_mcmc import MCMCBoltzmann, mcmc_boltzmann
from maxent.fit.exact import ExactBoltzmann, exact_boltzmann
from maxent.fit.mean_field import MeanField, mean_field_inverse
from maxent.fit.pseudolikelihood import PseudoLikelihood, PseudoLikelihoodCV, pseudolikelihood

__all__ = [
    "BetheBoltzmann",
    "ConvergenceWarning",
    "ExactBoltzmann",
    "FitResult",
    "IsingEstimator",
    "MCMCBoltzmann",
    "MeanField",
    "PseudoLikelihood",
    "PseudoLikelihoodCV",
    "bethe_boltzmann",
    "bethe_inverse",
    "exact_boltzmann",
    "fit_blocks",
    "mcmc_boltzmann",
    "mean_field_inverse",
    "pseudolikelihood",
]

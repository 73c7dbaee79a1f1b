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
:mod:`maxent.fit.quality` checks a fit on statistics it did not see; :mod:`maxent.fit.registry`
names the estimators (``make_estimator("pseudolikelihood", {...})``). Every name is imported on
first use.
"""

from __future__ import annotations

from maxent._lazy import attach

_MODULES = [
    "_base",
    "exact",
    "bethe",
    "boltzmann_mcmc",
    "pseudolikelihood",
    "mean_field",
    "blocks",
    "registry",
]
__getattr__, __dir__ = attach(__name__, __file__, _MODULES)

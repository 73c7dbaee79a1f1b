r"""Weakly correlated synapses and the dimension of layer representations (companion analysis 3).

Seed: Zhou & Huang, "Weakly correlated synapses promote dimension reduction in deep neural
networks", Phys. Rev. E 103, 012315 (2021). Only the abstract was available: the correlation
structures, their N-scaling and the mean-field closure here are **inferred** (each module says
what it assumes), and the theory is checked against its own simulations.

Modules (one job each)
----------------------
- :mod:`.generators`  synapse matrices: Gaussian with pair correlations between synapses that
  share a presynaptic (``rho_pre``) and/or a postsynaptic (``rho_post``) neuron, binary synapses
  as signs of correlated Gaussians (exact Sheppard correspondence (2/pi) asin r), Haar
  orthogonal and i.i.d. baselines; :class:`SynapseEnsemble` with the scaling rho = c / N^exponent.
- :mod:`.propagation` input ensembles, propagation, per-layer covariance C, participation ratio
  D_l = (Tr C)^2 / Tr C^2 (reported D_l / N_l) and decorrelation Delta_l, with an unbiased
  Tr C^2 estimator; :func:`simulate_depth`.
- :mod:`.theory`      mean-field trace closure of the layer covariance; :func:`theory_depth`.
- :mod:`.comparison`  theory vs simulation over N and the scaling of the error.
- :mod:`.trained`     bridge to the core: trained networks vs networks drawn from the fitted
  Ising models of their blocks and from the J = 0 counterparts.
- :mod:`.plots`       figures of all of the above (tidy tables in, Figure out).

Pipeline stage (for the lead to wire)
-------------------------------------
``trained_dimension(samples, models, dataset, *, n_boot=200, seed=0, split="test",
n_model_samples=None, independent="magnetization", sampler=None, level=0.95, sources=None)``

- inputs: a setting's :class:`maxent.data.samples.WeightSamples`; ``models``: dict block name
  ("W1", ..., "WL") -> fitted :class:`maxent.model.ising.IsingModel`; the setting's
  :class:`maxent.data.datasets.Dataset`.
- output: tidy DataFrame, one row per (source, layer, statistic), columns
  ``source`` ("trained", "ising", "independent", "random"), ``layer`` (0 = inputs, L = logits),
  ``width``, ``role`` ("input"/"hidden"/"output"), ``statistic`` ("D_over_N",
  "offdiag_corr2"), ``value`` (mean over networks), ``ci_low``, ``ci_high`` (run-level basic
  bootstrap), ``n_networks``, ``n_runs``, ``n_inputs``.
- figure: ``plot_trained_dimension(df)``.
- summary: ``coupling_share(samples, models, dataset, *, n_boot, seed, sources=...)``, one row per
  layer >= 1: ``gap`` = D_independent - D_trained, ``explained`` = D_independent - D_ising and
  ``share`` = explained / gap, each with ``*_ci_low``/``*_ci_high`` (sources resampled
  independently), and ``gap_resolved``.
- companion table: ``synapse_pair_structure(weight_sources(...), samples.widths)`` (columns
  ``source, block, pair, mean_corr, rms_corr, n_pairs, noise_floor``) and
  ``plot_pair_structure``; pass the same ``weight_sources`` result to ``trained_dimension(...,
  sources=...)`` to sample the models once.

Cost (deep 20-15-15-10 digits setting, 384 networks, 2-core CPU): Gibbs sampling of the three
block models ~16 s (default sampler: 64 chains, burn 200, thin 10), statistics and bootstrap
(n_boot=200) ~2 s.

Synthetic stage (no trained data needed): ``depth_study(N=256, depth=6, ensembles=DEFAULT_ENSEMBLES,
*, activation="tanh", n_networks=4, random_state=0)`` -> tidy table (columns ``synapses, kind,
method ("simulation"/"theory"), network, layer, width, variance, D_over_N, offdiag_corr2,
N_offdiag_corr2, D_plugin_over_N, theory_warning``; ~5 s at N = 256) -> ``plot_depth``.
Theory vs simulation over N: ``compare_over_width`` -> ``error_scaling`` / ``plot_width_errors``.
"""

from .comparison import DEFAULT_ENSEMBLES, compare_over_width, depth_study, error_scaling
from .generators import (
    SYNAPSE_KINDS,
    SynapseEnsemble,
    binary_synapses,
    check_correlations,
    draw_synapses,
    gaussian_synapses,
    induced_binary_correlation,
    latent_gaussian_correlation,
    orthogonal_synapses,
    scaled_correlation,
    synapse_covariance,
)
from .plots import plot_depth, plot_pair_structure, plot_trained_dimension, plot_width_errors
from .propagation import (
    ACTIVATIONS,
    covariance_statistics,
    gaussian_inputs,
    input_covariance,
    propagate,
    simulate_depth,
    statistics_from_covariance,
    trace_square_unbiased,
)
from .theory import LayerState, TheoryDomainWarning, linear_step, nonlinear_step, theory_depth
from .trained import (
    SOURCES,
    coupling_share,
    network_activities,
    per_network_statistics,
    synapse_pair_structure,
    trained_dimension,
    weight_sources,
)

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_ENSEMBLES",
    "SOURCES",
    "SYNAPSE_KINDS",
    "LayerState",
    "SynapseEnsemble",
    "TheoryDomainWarning",
    "binary_synapses",
    "check_correlations",
    "compare_over_width",
    "coupling_share",
    "covariance_statistics",
    "depth_study",
    "draw_synapses",
    "error_scaling",
    "gaussian_inputs",
    "gaussian_synapses",
    "induced_binary_correlation",
    "input_covariance",
    "latent_gaussian_correlation",
    "linear_step",
    "network_activities",
    "nonlinear_step",
    "orthogonal_synapses",
    "per_network_statistics",
    "plot_depth",
    "plot_pair_structure",
    "plot_trained_dimension",
    "plot_width_errors",
    "propagate",
    "scaled_correlation",
    "simulate_depth",
    "statistics_from_covariance",
    "synapse_covariance",
    "synapse_pair_structure",
    "theory_depth",
    "trace_square_unbiased",
    "trained_dimension",
    "weight_sources",
]

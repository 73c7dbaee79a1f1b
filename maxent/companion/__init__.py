"""Companion analyses of binary-synapse weight spaces, one subpackage each.

- :mod:`maxent.companion.sensitivity`: how much the computed function changes under dilution
  and binarization of the weights (mean-field overlap recursions, large deviations, trained
  ensembles).
- :mod:`maxent.companion.active_path`: the random active path model (a diluted p-weight glass
  along random input-output paths): BP, population dynamics, phase diagram.
- :mod:`maxent.companion.correlated`: weakly correlated synapses and the participation-ratio
  dimension of layer representations along depth.

The models follow the seed papers' abstracts; where a derivation is *inferred* (not taken from
the paper) the module docstring says so, and each theory is checked against its own simulation.
"""

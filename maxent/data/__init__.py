"""Where data enters: datasets, binary-synapse networks, the ensemble trainer, weight samples.

- :mod:`~maxent.data.datasets`: embedded digits, MNIST-style files, a synthetic teacher; PCA;
- :mod:`~maxent.data.nets`: forward passes of binary-synapse networks, LR-net layers, gauge fixing;
- :mod:`~maxent.data.train`: many independent SGD runs at once, weights drawn from each run;
- :mod:`~maxent.data.samples`: :class:`WeightSamples`, ±1 samples with runs, blocks, provenance;
- :mod:`~maxent.data.moments`: sufficient statistics (m, C) and three-point correlations.

Names below are importable from ``maxent.data``; each module is imported on first use (torch
only when the networks or the trainer are used).
"""

from __future__ import annotations

from maxent._lazy import attach

_MODULES = ["datasets", "nets", "train", "samples", "moments"]
__getattr__, __dir__ = attach(__name__, __file__, _MODULES)

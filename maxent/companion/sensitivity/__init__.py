r"""How sensitive is a network's function to dilution and binarization of its weights?

Companion analysis after Li & Saad, "Large-deviation analysis of function sensitivity in random
deep neural networks", J. Phys. A 53, 104002 (2020). Only the paper's abstract was available:
every model here is **inferred** (a standard derivation written out in the module docstrings) and
checked against its own simulation.

Modules (one job each)
----------------------
perturb           dilution (keep prob. c), binarization sign(W) (variance-preserving scale), sign
                  flips (prob. p); their weight correlation rho = sqrt(c), sqrt(2/pi), 1 - 2p.
theory            mean-field recursions q_l = (2/pi) asin(rho q_{l-1}) (sign) and q_l = k(rho q_{l-1})
                  (ReLU, arc-cosine kernel, q = cosine of activities), q_0 = 1.
simulate          direct simulation of random Gaussian networks and their perturbed copies.
large_deviations  one-layer rates (Cramér for sign; numerical Legendre transform of a closed-form
                  CGF for ReLU) contracted over depth by dynamic programming; SCGF.
tilted            unit-level sequential Monte Carlo sampler of the tilted law exp(N theta q_L) of
                  real networks: unbiased SCGF and tail probabilities down to ~1e-30.
trained           per-block dilution / sign-flip sensitivity of trained ±1 ensembles with
                  run-level bootstrap intervals and block contrasts; binarization of LR-net means.
plots             figures of all of the above (tidy tables in, matplotlib Figure out).

Pipeline stage (for wiring into maxent.pipeline / the CLI / the report)
-----------------------------------------------------------------------
``trained_sensitivity(samples, dataset, *, levels=(0.9, 0.7, 0.5, 0.3), n_boot=200, seed=0,
n_draws=4, perturbations=("dilution", "flip"), blocks=None, level=0.95) -> DataFrame``
    inputs: a :class:`maxent.data.samples.WeightSamples` and the :class:`maxent.data.datasets.Dataset` it was
    trained on (test split = input ensemble). ``levels`` are weight correlations rho in (0, 1].
    columns: block, perturbation, rho, strength (c or p), metric (accuracy | agreement | overlap),
    value, ci_low, ci_high, se, n_runs, n_samples. Figure: ``plot_trained_sensitivity(df, metric)``.
    For contrasts, call ``per_network_sensitivity`` once, then ``summarize_sensitivity`` and
    ``block_contrasts(per, reference="W2")`` (columns reference, block, perturbation, rho, metric,
    difference, ci_low, ci_high, se, excludes_zero, n_runs); figure ``plot_block_contrasts``.
    Cost: ~8.6 s for 384 networks of 20-15-15-10 on 360 test inputs (4 draws, 2 x 4 levels, 3
    blocks), bootstrap and contrasts 0.4 s. ``shuffled_null(samples)`` gives the column-shuffled
    ensemble to run the same stage on (architecture vs learned structure).

``random_network_overlaps(conditions, *, widths, depth, n_inputs, random_state) -> DataFrame``
    theory vs simulation of q_l (columns activation, perturbation, level, rho, width, layer,
    q_theory, q_mean, q_sd, q_sem, bias, rmse, n_networks, n_inputs); figures
    ``plot_overlap_depth``, ``plot_finite_size``. Independent of the trained samples.

``tilted_tails(activation, perturbation, level, *, thetas, width, depth, n_particles, n_repeats,
random_state) -> (scgf_table, rate_table)``
    large deviations, theory vs tilted simulation; figures ``plot_scgf``, ``plot_rate_functions``.

Measured accuracy (benchmarks/bench_sensitivity.py, 2-core CPU)
---------------------------------------------------------------
* mean field vs simulation, depth 6: rms single-network error 0.07-0.11 at N = 100 and
  0.017-0.023 at N = 2000, log-log slope -0.48 to -0.51 (1/sqrt(N)); |bias of the mean| <= 0.022.
* large deviations, depth 3, theta in [-3, 3]: max |lambda_N - lambda| 0.004-0.015 (sampler sem
  0.002-0.005; ReLU 0.014 -> 0.004 from N = 50 to 200); -(1/N) ln P - Phi_L averages -0.025 to
  -0.038 at N = 50 and -0.012 to -0.015 at N = 200 (the O(ln N / N) prefactor, ln N / 2N = 0.039
  and 0.013); tails reached: P ~ 1e-53 (sign) and 1e-26 (ReLU) at N = 200.
"""

from maxent.companion.sensitivity.large_deviations import (
    PathRate,
    layer_rate,
    path_rate,
    relu_layer_cgf,
    relu_layer_rate,
    scgf,
    sign_layer_rate,
)
from maxent.companion.sensitivity.perturb import binarize, dilute, flip_signs, perturb, weight_correlation
from maxent.companion.sensitivity.plots import (
    plot_block_contrasts,
    plot_finite_size,
    plot_overlap_depth,
    plot_rate_functions,
    plot_scgf,
    plot_trained_sensitivity,
)
from maxent.companion.sensitivity.simulate import (
    finite_size_table,
    random_network_overlaps,
    simulate_overlaps,
)
from maxent.companion.sensitivity.theory import arccos_kernel, fixed_point, overlap_recursion, sign_kernel
from maxent.companion.sensitivity.tilted import tilted_run, tilted_tails
from maxent.companion.sensitivity.trained import (
    block_contrasts,
    mean_network_binarization,
    per_network_sensitivity,
    shuffled_null,
    summarize_sensitivity,
    trained_sensitivity,
)

__all__ = [
    "PathRate",
    "arccos_kernel",
    "binarize",
    "block_contrasts",
    "dilute",
    "finite_size_table",
    "fixed_point",
    "flip_signs",
    "layer_rate",
    "mean_network_binarization",
    "overlap_recursion",
    "path_rate",
    "per_network_sensitivity",
    "perturb",
    "plot_block_contrasts",
    "plot_finite_size",
    "plot_overlap_depth",
    "plot_rate_functions",
    "plot_scgf",
    "plot_trained_sensitivity",
    "random_network_overlaps",
    "relu_layer_cgf",
    "relu_layer_rate",
    "scgf",
    "sign_kernel",
    "sign_layer_rate",
    "shuffled_null",
    "simulate_overlaps",
    "summarize_sensitivity",
    "tilted_run",
    "tilted_tails",
    "trained_sensitivity",
    "weight_correlation",
]

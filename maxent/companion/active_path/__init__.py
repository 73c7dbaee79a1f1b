r"""The random active path model of deep networks with diluted binary synapses (companion 2).

The model is **inferred** from the abstract of Huang & Goudarzi, Phys. Rev. E 98, 042311
(2018) (the paper was not available): L weight blocks of width N, each edge removed with
probability rho, M active input-output paths drawn uniformly through surviving edges, binary
weights w_e = ±1, energy E = -sum_a J_a prod_{e in a} w_e with J_a = ±1 (a p = L weight glass).
Per surviving weight, c = (M / N^2) / (1 - rho) paths: dilution concentrates the constraints.

Modules (one job each):

- :mod:`.instances`      instances (active path, random p-spin / XORSAT, planted variants)
- :mod:`.exact`          exact enumeration (oracle): log Z, energy, entropy, m, P(q)
- :mod:`.bp`             belief propagation on instances, Bethe free entropy/energy/entropy, q_EA
- :mod:`.population`     RS and 1RSB (m = 1, planted/reconstruction) population dynamics
- :mod:`.population_1rsb` 1RSB at general Parisi m (population of populations); m* and the
                          condensed free entropy
- :mod:`.xorsat`         T = 0 warning propagation (population) vs scalar oracle; leaf removal
                          and GF(2) satisfiability of instances
- :mod:`.mcmc`           heat-bath Monte Carlo and parallel tempering (numba)
- :mod:`.phase_diagram`  critical removal rho_d(T), rho_s(T) with error bars; q grid
- :mod:`.bridge`         samples -> pairwise max-ent fit -> entropy landscape and TAP states
- :mod:`.plots`          phase diagram figure

CLI hook (for the lead to wire up; pipeline independent)::

    from maxent.companion.active_path import phase_diagram, order_parameter_grid, plot_phase_diagram
    df = phase_diagram(temperatures=(0.0, 0.25, 0.5, 0.75, 1.0), n_layers=3, path_density=1.5,
                       pop_size=4000, n_iter=200, n_repeats=3, tol=0.02, seed=0, n_jobs=1)
    grid = order_parameter_grid(rhos=np.linspace(0, 0.8, 17), temperatures=np.linspace(0.1, 1.1, 11),
                                n_layers=3, path_density=1.5, seed=0)          # optional background
    df.to_csv(out / "active_path_phase_diagram.csv", index=False)              # table with error bars
    plot_phase_diagram(df, grid).savefig(out / "active_path_phase_diagram.png")

Suggested options: ``--temperatures``, ``--layers``, ``--path-density``, ``--pop-size``,
``--repeats``, ``--seed``, ``--jobs``, ``--out``. The defaults took 205 s on one busy core
(5 temperatures x 3 repeats, pop_size 4000; ``n_jobs`` spreads the 15 tasks over cores).
Measured defaults (L = 3, M/N^2 = 1.5): rho_d(T=0) = 0.392 +- 0.002 (exact 1 - 1.5/(3 x 0.818469)
= 0.3891; the population dies early near c_d, a +0.01 bias in c at pop_size 4000), rho_s(T=0) =
0.455 +- 0.002 (exact 0.4553), rho_d(1.0) = 0.703, rho_s(1.0) = 0.731 +- 0.004; q jumps by
~0.7 at every rho_d: a first-order transition.
Outputs: the CSV (columns T, transition, c, c_err, rho, rho_err, q_jump, q_jump_err, order,
n_layers, path_density, pop_size, n_repeats) and the PNG figure.
"""

from .bp import BPResult, run_bp
from .bridge import BridgeResult, bridge_analysis, fit_pairwise, sample_weights
from .exact import ExactResult, exact_enumeration
from .instances import PathInstance, active_path_instance, mean_degree, random_pspin_instance
from .mcmc import PTResult, heat_bath, parallel_tempering
from .phase_diagram import locate_transitions, order_parameter_grid, phase_diagram
from .plots import plot_phase_diagram
from .population import PopulationResult, cavity_m1, paramagnet, rs_population
from .population_1rsb import RSB1Result, cavity_1rsb, parisi_m_star
from .xorsat import (
    alpha_dynamical,
    alpha_satisfiability,
    frozen_population,
    leaf_removal,
    population_thresholds,
    satisfiable,
)

__all__ = [
    "BPResult",
    "BridgeResult",
    "ExactResult",
    "PTResult",
    "PathInstance",
    "PopulationResult",
    "RSB1Result",
    "active_path_instance",
    "cavity_1rsb",
    "parisi_m_star",
    "alpha_dynamical",
    "alpha_satisfiability",
    "bridge_analysis",
    "cavity_m1",
    "exact_enumeration",
    "fit_pairwise",
    "frozen_population",
    "heat_bath",
    "leaf_removal",
    "locate_transitions",
    "mean_degree",
    "order_parameter_grid",
    "paramagnet",
    "parallel_tempering",
    "phase_diagram",
    "plot_phase_diagram",
    "population_thresholds",
    "random_pspin_instance",
    "rs_population",
    "run_bp",
    "sample_weights",
    "satisfiable",
]

"""Random active path model (companion 2, inferred model): every solver against its oracle.

Oracles: exact enumeration (BP on trees, Monte Carlo on tiny instances), closed forms (the
paramagnet, the p = 2 Kesten-Stigum line, the T = 0 XORSAT scalar equations and their textbook
thresholds alpha_d = 0.8185, alpha_s = 0.9179), heat-bath Monte Carlo on planted instances (the
m = 1 population), leaf removal on instances (the frozen-variable population).
"""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from maxent.companion.active_path import (
    PathInstance,
    active_path_instance,
    alpha_dynamical,
    alpha_satisfiability,
    bridge_analysis,
    cavity_1rsb,
    cavity_m1,
    exact_enumeration,
    fit_pairwise,
    frozen_population,
    heat_bath,
    leaf_removal,
    locate_transitions,
    mean_degree,
    order_parameter_grid,
    parallel_tempering,
    paramagnet,
    parisi_m_star,
    phase_diagram,
    plot_phase_diagram,
    population_thresholds,
    random_pspin_instance,
    rs_population,
    run_bp,
    sample_weights,
)
from maxent.companion.active_path.xorsat import complexity, core_sizes, frozen_fraction, satisfiable


def tree_instance(p: int, n_factors: int, rng: np.random.Generator, field_scale: float = 0.7) -> PathInstance:
    """Random tree factor graph: each new factor hangs on one existing variable + p-1 new ones."""
    rows = [list(range(p))]
    n = p
    for _ in range(n_factors - 1):
        anchor = int(rng.integers(0, n))
        rows.append([anchor, *range(n, n + p - 1)])
        n += p - 1
    J = rng.choice([-1.0, 1.0], size=n_factors) * rng.uniform(0.5, 1.5, size=n_factors)
    return PathInstance(np.array(rows), J, n, field_scale * rng.normal(size=n))


# ---------------------------------------------------------------------------------------------
# instances


def test_active_path_instance_paths_are_connected_surviving_paths():
    inst = active_path_instance(4, 6, 0.3, 200, seed=1)
    assert inst.factors.shape == (200, 4) and inst.p == 4
    assert set(np.unique(inst.J)) <= {-1.0, 1.0}
    e = inst.edges[inst.factors]  # (M, L, 3): block, source, target
    assert np.array_equal(e[:, :, 0], np.broadcast_to(np.arange(1, 5), (200, 4)))
    assert np.array_equal(e[:, :-1, 2], e[:, 1:, 1])  # target of block l = source of block l + 1
    assert inst.n_vars == len(inst.edges)


def test_paths_are_uniform_over_surviving_paths():
    inst = active_path_instance(2, 3, 0.3, 30_000, seed=4)
    e = inst.edges
    # all surviving input-output paths (edge pairs sharing the middle node)
    all_paths = [
        (a, b)
        for a, b in itertools.product(range(len(e)), repeat=2)
        if e[a, 0] == 1 and e[b, 0] == 2 and e[a, 2] == e[b, 1]
    ]
    counts = pd.Series([tuple(f) for f in inst.factors]).value_counts()
    assert set(counts.index) <= set(all_paths)
    expected = 30_000 / len(all_paths)
    freq = np.array([counts.get(pth, 0) for pth in all_paths])
    chi2 = float(np.sum((freq - expected) ** 2 / expected))
    dof = len(all_paths) - 1
    assert chi2 < dof + 5 * np.sqrt(2 * dof)


def test_mean_degree_matches_dilution_formula():
    N, rho, a = 60, 0.5, 1.2
    inst = active_path_instance(3, N, rho, int(a * N * N), seed=0)
    c = mean_degree(a, rho)
    assert c == pytest.approx(2.4)
    assert inst.degrees().mean() == pytest.approx(c, rel=0.04)


def test_planted_instance_satisfies_expected_fraction():
    beta = 0.8
    inst = random_pspin_instance(2000, 6000, 3, planted_beta=beta, seed=3)
    sat = np.mean(inst.J * np.prod(inst.planted[inst.factors], axis=1) > 0)
    p_sat = 0.5 * (1 + np.tanh(beta))
    assert abs(sat - p_sat) < 5 * np.sqrt(p_sat * (1 - p_sat) / 6000)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(rho=1.0), "rho"),
        (dict(rho=-0.1), "rho"),
        (dict(rho=float("nan")), "rho"),
        (dict(n_layers=0), "n_layers"),
        (dict(width=2.5), "width"),
        (dict(n_paths=0), "n_paths"),
        (dict(width=2000), "too large"),
    ],
)
def test_active_path_instance_rejects_bad_input(kwargs, match):
    args = dict(n_layers=3, width=4, rho=0.2, n_paths=5) | kwargs
    with pytest.raises(ValueError, match=match):
        active_path_instance(**args)


def test_no_surviving_path_is_an_error():
    with pytest.raises(ValueError, match="no input-output path|all edges"):
        active_path_instance(6, 2, 0.97, 3, seed=0)


def test_path_instance_validation():
    with pytest.raises(ValueError, match="same variable twice"):
        PathInstance(np.array([[0, 0, 1]]), np.array([1.0]), 3)
    with pytest.raises(ValueError, match="J must be"):
        PathInstance(np.array([[0, 1, 2]]), np.array([1.0, 1.0]), 3)
    with pytest.raises(ValueError, match="fields"):
        PathInstance(np.array([[0, 1, 2]]), np.array([1.0]), 3, np.array([0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="indices"):
        PathInstance(np.array([[0, 1, 5]]), np.array([1.0]), 3)
    inst = PathInstance(np.array([[0, 1, 2]]), np.array([1.0]), 3)
    with pytest.raises(ValueError, match="±1"):
        inst.energy(np.array([1, 0, 1]))


def test_compact_drops_only_free_weights():
    inst = active_path_instance(3, 2, 0.1, 2, seed=2).with_fields(np.linspace(-1, 1, 10))
    small = inst.compact()
    n_free = inst.n_vars - small.n_vars
    assert n_free == np.sum(inst.degrees() == 0) > 0
    free = inst.degrees() == 0
    logz_free = np.sum(np.log(2 * np.cosh(inst.fields[free])))  # free weights feel only their field
    assert exact_enumeration(inst, 1.0).log_z == pytest.approx(
        exact_enumeration(small, 1.0).log_z + logz_free
    )


# ---------------------------------------------------------------------------------------------
# exact enumeration and BP


def test_exact_overlap_distribution_matches_double_sum():
    rng = np.random.default_rng(0)
    inst = random_pspin_instance(7, 5, 3, seed=1).with_fields(0.4 * rng.normal(size=7))
    res = exact_enumeration(inst, 0.9)
    S = np.array(list(itertools.product([1, -1], repeat=7)), dtype=float)
    w = np.exp(-0.9 * inst.energy(S))
    P = w / w.sum()
    q = S @ S.T / 7
    brute = np.array([np.sum(np.outer(P, P)[np.isclose(q, v)]) for v in res.overlap_values])
    np.testing.assert_allclose(res.overlap_probs, brute, atol=1e-12)
    assert res.log_z == pytest.approx(np.log(w.sum()))
    np.testing.assert_allclose(res.magnetizations, P @ S, atol=1e-12)


def test_exact_refuses_large_instances():
    with pytest.raises(ValueError, match="exceeds the limit"):
        exact_enumeration(random_pspin_instance(30, 10, 3, seed=0), 1.0)


@pytest.mark.parametrize("p", [2, 3, 4])
def test_bp_is_exact_on_trees(p):
    rng = np.random.default_rng(p)
    for _ in range(4):
        inst = tree_instance(p, int(rng.integers(2, 18 // p + 2)), rng)
        assert inst.is_tree() and inst.n_vars <= 22
        beta = float(rng.uniform(0.3, 2.5))
        ex = exact_enumeration(inst, beta)
        bp = run_bp(inst, beta, seed=0)
        assert bp.converged
        assert bp.log_z == pytest.approx(ex.log_z, abs=1e-9)
        assert bp.energy == pytest.approx(ex.energy, abs=1e-9)
        assert bp.entropy == pytest.approx(ex.entropy, abs=1e-8)
        np.testing.assert_allclose(bp.magnetizations, ex.magnetizations, atol=1e-9)


def test_bp_stable_at_low_temperature_on_trees():
    rng = np.random.default_rng(7)
    inst = tree_instance(3, 6, rng, field_scale=1.0)
    ex = exact_enumeration(inst, 25.0)
    bp = run_bp(inst, 25.0, seed=0)
    assert np.isfinite(bp.log_z) and bp.log_z == pytest.approx(ex.log_z, rel=1e-9)
    assert bp.entropy == pytest.approx(ex.entropy, abs=1e-6)


def test_bp_error_on_loopy_instances_is_small_at_high_temperature():
    """Loopy tiny active path graphs: BP is approximate; at beta = 0.3 the Bethe error is small."""
    errs = []
    rng = np.random.default_rng(1)
    for s in range(6):
        inst = active_path_instance(3, 3, 0.2, 5, seed=s).compact()
        inst = inst.with_fields(0.3 * rng.normal(size=inst.n_vars))
        ex = exact_enumeration(inst, 0.3)
        bp = run_bp(inst, 0.3, seed=0)
        errs.append(abs(bp.log_z - ex.log_z) / inst.n_vars)
    assert max(errs) < 5e-3


def test_bp_paramagnet_on_medium_instance():
    beta = 0.6
    inst = active_path_instance(3, 40, 0.4, 2000, seed=0)
    bp = run_bp(inst, beta, seed=0)
    assert bp.converged and bp.q_ea < 1e-12
    assert bp.energy == pytest.approx(-inst.n_factors * np.tanh(beta), rel=1e-9)
    assert bp.log_z == pytest.approx(
        inst.n_vars * np.log(2) + inst.n_factors * np.log(np.cosh(beta)), rel=1e-12
    )


def test_bp_rejects_bad_input():
    inst = random_pspin_instance(10, 5, 3, seed=0)
    with pytest.raises(ValueError, match="damping"):
        run_bp(inst, 1.0, damping=1.0)
    with pytest.raises(ValueError, match="planted"):
        run_bp(inst, 1.0, init="planted")
    with pytest.raises(ValueError, match="beta"):
        run_bp(inst, float("nan"))


# ---------------------------------------------------------------------------------------------
# population dynamics


@pytest.mark.parametrize("c, p, beta", [(2.0, 3, 0.7), (4.0, 3, 1.5), (3.0, 4, 2.0)])
def test_rs_population_converges_to_the_paramagnet(c, p, beta):
    r = rs_population(c, p, beta, pop_size=2000, n_iter=60, n_measure=5, seed=0)
    para = paramagnet(c, p, beta)
    assert r.phi == pytest.approx(para["phi"], abs=1e-10)
    assert r.energy == pytest.approx(para["energy"], abs=0.02 * c / p)
    assert r.q_ea < 1e-10


def test_rs_population_spin_glass_solution_has_negative_entropy():
    """Low T, large c: RS from a random start finds a spin-glass solution (q_EA > 0) with negative
    entropy, as does the paramagnet: replica symmetry fails there (the RS entropy crisis)."""
    r = rs_population(6.0, 3, 3.0, init_scale=1.0, pop_size=3000, n_iter=150, n_measure=5, seed=0)
    assert r.q_ea > 0.5 and r.entropy < -0.05
    assert paramagnet(6.0, 3, 3.0)["entropy"] < 0


def test_planted_population_p2_is_continuous_at_kesten_stigum():
    c = 2.0
    beta_ks = np.arctanh(1 / np.sqrt(c))  # c tanh^2 beta = 1
    q = [
        cavity_m1(c, 2, b, pop_size=4000, n_iter=300, n_measure=5, seed=0).q
        for b in (0.9 * beta_ks, 1.04 * beta_ks, 1.15 * beta_ks)
    ]
    assert q[0] < 1e-3
    assert 0.0 < q[1] < 0.15 < q[2]


def test_planted_population_p3_jumps():
    beta = 1.0 / 0.6
    r_lo = cavity_m1(2.9, 3, beta, pop_size=3000, n_iter=200, n_measure=5, seed=0)
    r_hi = cavity_m1(3.3, 3, beta, pop_size=3000, n_iter=200, n_measure=5, seed=0)
    assert r_lo.q < 1e-6 and r_hi.q > 0.6  # q jumps from 0 to O(1): first order


def test_m1_population_at_low_temperature_matches_xorsat_oracle():
    alpha = 0.9
    r = cavity_m1(3 * alpha, 3, 6.0, pop_size=10_000, n_iter=150, n_measure=40, seed=0)
    x = frozen_fraction(alpha)
    assert abs(r.q - (1 - np.exp(-3 * alpha * x**2))) < 0.01  # frozen fraction of the full field
    assert abs(r.complexity - np.log(2) * complexity(alpha)) < 4 * r.complexity_err + 0.004


def test_m1_population_matches_planted_monte_carlo_and_bp():
    """Quiet planting: heat-bath MC from the planted configuration equilibrates inside the planted
    state; its overlap with w* is the population's q (clustered) or decays to 0 (paramagnet).
    (Closer to c_d(T) instance-to-instance fluctuations at n = 4000 reach ~0.04, so the clustered
    point is taken deeper in the phase.)"""
    for c, beta, clustered in ((6.0, 1.05, True), (4.0, 0.8, False)):
        inst = random_pspin_instance(4000, int(c * 4000 / 3), 3, planted_beta=beta, seed=1)
        ov = heat_bath(inst, beta, 600, init="planted", record_every=50, seed=0)["overlap_planted"]
        mc = ov[-6:].mean()
        pop = cavity_m1(c, 3, beta, pop_size=5000, n_iter=200, n_measure=5, seed=0)
        if clustered:
            bp = run_bp(inst, beta, init="planted", damping=0.3, max_iter=300, warn=False)
            q_bp = np.mean(bp.magnetizations * inst.planted)
            assert pop.q > 0.8
            assert abs(mc - q_bp) < 0.015  # same instance: MC vs BP
            assert abs(mc - pop.q) < 0.025  # instance vs ensemble (population)
        else:
            assert pop.q < 1e-6 and abs(mc) < 0.1


def test_active_path_instances_follow_the_poisson_pspin_ensemble():
    """The mapping active path model -> Poisson p-spin ensemble (inferred): on a planted active
    path instance (N = 60, rho = 0.5, c = 6) the BP state overlap matches the population, and the
    degree spread exceeds Poisson only mildly (node-degree heterogeneity, O(1/sqrt(N (1-rho))))."""
    N, rho, beta = 60, 0.5, 1.05
    inst = active_path_instance(3, N, rho, 3 * N * N, planted_beta=beta, seed=0)
    d = inst.degrees()
    assert d.mean() == pytest.approx(6.0, rel=0.02)
    assert 1.0 < d.var() / d.mean() < 1.3
    bp = run_bp(inst, beta, init="planted", damping=0.3, max_iter=200, warn=False)
    pop = cavity_m1(d.mean(), 3, beta, pop_size=5000, n_iter=200, n_measure=5, seed=0)
    assert abs(np.mean(bp.magnetizations * inst.planted) - pop.q) < 0.03


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(c=0.0), "mean degree"),
        (dict(beta=float("nan")), "beta"),
        (dict(pop_size=1), "pop_size"),
        (dict(p=0), "p"),
        (dict(beta=1e4), "stable range"),
    ],
)
def test_population_rejects_bad_input(kwargs, match):
    args = dict(c=2.0, p=3, beta=1.0) | kwargs
    with pytest.raises(ValueError, match=match):
        cavity_m1(args.pop("c"), args.pop("p"), args.pop("beta"), **args)


# ---------------------------------------------------------------------------------------------
# T = 0: XORSAT


def test_xorsat_scalar_oracle_reproduces_textbook_thresholds():
    assert alpha_dynamical(3) == pytest.approx(0.818469, abs=1e-5)
    assert alpha_satisfiability(3) == pytest.approx(0.917935, abs=1e-5)
    assert frozen_fraction(0.8) == 0.0 and frozen_fraction(0.83) > 0.5
    assert complexity(alpha_satisfiability(3)) == pytest.approx(0.0, abs=1e-10)


def test_frozen_population_matches_scalar_equations():
    r = frozen_population(0.9, 3, pop_size=10_000, n_iter=150, n_measure=20, seed=0)
    v, cl = core_sizes(0.9)
    assert r["frozen"] == pytest.approx(frozen_fraction(0.9), abs=0.01)
    assert r["core_vars"] == pytest.approx(v, abs=0.01)
    assert r["core_clauses"] == pytest.approx(cl, abs=0.01)
    assert frozen_population(0.75, 3, pop_size=2000, n_iter=150, seed=0)["frozen"] == 0.0


def test_population_reproduces_xorsat_thresholds():
    """Population size 1e4: thresholds within the population-size error. Benchmark (pop 1e4,
    n_iter 300, 6 repeats): alpha_d = 0.8196 +- 0.0001, alpha_s = 0.9180 +- 0.0013; pop 1e3
    biases alpha_d by +0.007. Here n_iter = 100, whose scalar recursion alone puts alpha_d at
    0.8164 (a slowly dying population still counts as alive)."""
    tab = population_thresholds(3, pop_size=10_000, n_iter=100, n_measure=8, n_repeats=2, tol=3e-3, seed=0)
    est = tab.set_index("threshold")
    assert abs(est.loc["alpha_d", "estimate"] - est.loc["alpha_d", "scalar_finite_iter"]) < 0.005
    assert abs(est.loc["alpha_d", "estimate"] - 0.8185) < 0.006
    assert abs(est.loc["alpha_s", "estimate"] - 0.9179) < 0.006
    assert est.loc["alpha_s", "exact"] == pytest.approx(0.917935, abs=1e-5)
    assert set(tab.columns) >= {"estimate", "stderr", "pop_size", "exact"}


def test_leaf_removal_on_instances_matches_core_sizes():
    n = 20_000
    for alpha in (0.7, 0.9):
        inst = random_pspin_instance(n, int(alpha * n), 3, seed=2)
        core = leaf_removal(inst)
        v, cl = core_sizes(alpha)
        assert core["core_vars"] == pytest.approx(v, abs=0.015)
        assert core["core_clauses"] == pytest.approx(cl, abs=0.015)


def test_satisfiability_of_instances_changes_at_alpha_s():
    """GF(2) elimination on n = 2000 instances: satisfiable below alpha_s = 0.918, not above (the
    finite-n window is ~ n^-1/2 wide; benchmark: P(SAT) = 1.0, 0.4, 0.0 at 0.90, 0.92, 0.94)."""
    frac = {
        a: np.mean([satisfiable(random_pspin_instance(2000, int(a * 2000), 3, seed=s)) for s in range(12)])
        for a in (0.87, 0.97)
    }
    assert frac[0.87] >= 0.9 and frac[0.97] <= 0.1


def test_xorsat_rejects_p_below_3_and_bad_alpha():
    with pytest.raises(ValueError, match="p >= 3"):
        frozen_fraction(0.9, 2)
    with pytest.raises(ValueError, match="alpha"):
        frozen_population(float("nan"))


# ---------------------------------------------------------------------------------------------
# Monte Carlo


def test_parallel_tempering_matches_exact_enumeration():
    rng = np.random.default_rng(0)
    inst = active_path_instance(3, 3, 0.1, 8, seed=3).compact()
    inst = inst.with_fields(0.3 * rng.normal(size=inst.n_vars))
    betas = np.array([0.4, 0.9, 1.5])
    res = parallel_tempering(inst, betas, 4000, seed=0)
    summ = res.summary()
    for _, row in summ.iterrows():
        ex = exact_enumeration(inst, row.beta)
        assert abs(row.energy - ex.energy) < 5 * row.energy_err * 3 + 0.05  # records are correlated
        assert abs(row.q2 - ex.overlap_values**2 @ ex.overlap_probs) < 0.03
    assert np.all(res.swap_rate > 0.1)


def test_parallel_tempering_on_medium_instance_matches_bethe_paramagnet():
    """n = 1319 weights, c = 1.59 (paramagnetic at all T for p = 3 below c_d(0) = 2.455): the PT
    energy follows the Bethe value -M tanh(beta) and the replica overlap stays ~ 0."""
    inst = active_path_instance(3, 30, 0.5, 700, seed=5)
    betas = np.array([0.3, 0.6, 1.0, 1.5])
    res = parallel_tempering(inst, betas, 400, burn_in=100, record_every=10, seed=0)
    summ = res.summary()
    for _, row in summ.iterrows():
        e_bp = run_bp(inst, row.beta, seed=0).energy
        assert e_bp == pytest.approx(-inst.n_factors * np.tanh(row.beta), rel=1e-8)
        assert abs(row.energy - e_bp) < 0.02 * inst.n_factors
        assert row.abs_q < 0.1


def test_heat_bath_free_weights_are_fair_coins():
    inst = PathInstance(np.array([[0, 1, 2]]), np.array([1.0]), 4)  # variable 3 is free
    S = heat_bath(inst, 2.0, 4000, record_every=2, seed=0)["samples"][:, 0, 3]
    assert abs(np.mean(S == 1) - 0.5) < 0.05


def test_mcmc_rejects_bad_input():
    inst = random_pspin_instance(10, 5, 3, seed=0)
    with pytest.raises(ValueError, match="increasing"):
        parallel_tempering(inst, np.array([1.0, 0.5]), 10)
    with pytest.raises(ValueError, match="init"):
        heat_bath(inst, 1.0, 10, init=np.zeros(10))
    with pytest.raises(ValueError, match="burn_in"):
        parallel_tempering(inst, np.array([0.5, 1.0]), 10, burn_in=10)


# ---------------------------------------------------------------------------------------------
# phase diagram and figure


def test_locate_transitions_at_zero_temperature_matches_xorsat():
    r = locate_transitions(0.0, 3, pop_size=3000, n_iter=150, n_measure=10, tol=0.01, seed=0)
    assert r["c_d"] == pytest.approx(3 * 0.818469, abs=0.04)
    assert r["c_s"] == pytest.approx(3 * 0.917935, abs=0.04)
    assert r["q_jump"] > 0.5


def test_phase_diagram_table_and_figure():
    df = phase_diagram(
        [0.0, 0.6], path_density=1.5, pop_size=1500, n_iter=120, n_measure=5, n_repeats=2, tol=0.05, seed=0
    )
    assert len(df) == 4 and set(df.transition) == {"dynamical", "static"}
    np.testing.assert_allclose(df.rho, 1 - 1.5 / df.c, atol=0.01)  # mean of rho vs rho of mean c
    wide = df.pivot(index="T", columns="transition", values="rho")
    assert np.all(wide["dynamical"] <= wide["static"] + 1e-9)
    assert wide.loc[0.6, "dynamical"] > wide.loc[0.0, "dynamical"]  # heat needs more dilution to freeze
    assert (df.order == "first").all() and np.all(df.rho_err >= 0)
    fig = plot_phase_diagram(df)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    with pytest.raises(ValueError, match="lacks columns"):
        plot_phase_diagram(df.drop(columns="rho"))


def test_order_parameter_grid_labels():
    g = order_parameter_grid([0.0, 0.6], [0.3, 1.5], path_density=1.5, pop_size=1000, n_iter=80, seed=0)
    assert len(g) == 4
    assert g.set_index(["rho", "T"]).loc[(0.0, 1.5), "phase"] == "paramagnet"
    assert g.set_index(["rho", "T"]).loc[(0.6, 0.3), "phase"] == "spin glass"  # c = 3.75 > c_s(0.3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(temperatures=[-0.1]), "temperatures"),
        (dict(n_layers=2), "n_layers"),
        (dict(path_density=0.0), "path_density"),
        (dict(n_repeats=1), "n_repeats"),
    ],
)
def test_phase_diagram_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        phase_diagram(**({"temperatures": [0.5]} | kwargs))


# ---------------------------------------------------------------------------------------------
# bridge to the core


def test_bridge_recovers_pairwise_couplings_at_depth_two():
    """L = 2: the model is a pairwise Ising model with couplings beta J_a on path pairs."""
    beta = 0.7
    inst = active_path_instance(2, 6, 0.3, 15, seed=0).compact()
    S = sample_weights(inst, beta, 4000, seed=0)
    assert S.dtype == np.int8 and S.shape == (4000, inst.n_vars)
    model = fit_pairwise(S)
    truth = np.zeros((inst.n_vars, inst.n_vars))
    np.add.at(truth, (inst.factors[:, 0], inst.factors[:, 1]), beta * inst.J)
    truth = truth + truth.T
    iu = np.triu_indices(inst.n_vars, 1)
    assert np.corrcoef(truth[iu], model.J[iu])[0, 1] > 0.95
    assert np.max(np.abs(model.J[iu][truth[iu] == 0])) < 0.2


def test_bridge_landscape_and_tap_on_depth_three_samples():
    inst = active_path_instance(3, 3, 0.1, 8, seed=3)
    res = bridge_analysis(inst, 1.0, n_samples=1500, x=np.linspace(-1.5, 1.5, 13), n_tap_starts=8, seed=0)
    small = inst.compact()
    assert res.samples.shape == (1500, small.n_vars)
    land = res.landscape
    assert {"x", "sweep", "q", "d", "entropy"} <= set(land.columns) and len(land) == 26
    assert land.d.between(0, 1).all() and land.converged.all()
    assert res.tap.n_states >= 1
    # max-ent principle: the pairwise model matching the samples' moments has at least the entropy
    # of the true (3-spin) distribution (up to sampling/fit error), and at most n ln 2
    s_true = exact_enumeration(small, 1.0).entropy
    assert s_true - 0.1 < res.model.entropy() <= small.n_vars * np.log(2) + 1e-9


# ---------------------------------------------------------------------------------------------
# 1RSB at general Parisi parameter m (population of populations)


def test_1rsb_at_m1_matches_planted_reduction():
    """At m = 1: Psi(1) = phi_para, q1 = planted overlap, Sigma(1) = planted complexity, q0 = 0
    (within the O(1/n_inner) bias documented in population_1rsb)."""
    c, beta = 4.0, 1.3
    r = cavity_1rsb(c, 3, beta, 1.0, n_outer=200, n_inner=256, n_iter=40, n_measure=4, seed=0)
    pl = cavity_m1(c, 3, beta, pop_size=5000, n_iter=200, n_measure=10, seed=0)
    assert pl.q > 0.7
    assert r.psi == pytest.approx(paramagnet(c, 3, beta)["phi"], abs=0.02)
    assert r.q1 == pytest.approx(pl.q, abs=0.03)
    assert r.complexity == pytest.approx(pl.complexity, abs=0.04)
    assert r.q0 < 0.06


def test_1rsb_paramagnet_is_trivial():
    c, beta = 2.0, 0.5
    for m in (0.3, 1.0):
        r = cavity_1rsb(c, 3, beta, m, n_outer=100, n_inner=16, n_iter=30, n_measure=3, seed=0)
        assert r.q1 < 1e-8 and abs(r.complexity) < 1e-10
        assert r.psi == pytest.approx(m * paramagnet(c, 3, beta)["phi"], abs=1e-10)


@pytest.mark.slow
def test_parisi_m_star_in_condensed_phase():
    """c = 4.5, T = 0.5 is condensed (planted Sigma(1) = -0.22): 0 < m* < 1, and the 1RSB free
    entropy Psi(m*)/m* lies below the annealed (paramagnetic) bound."""
    res = parisi_m_star(4.5, 3, 2.0, tol=0.05, n_outer=200, n_inner=256, n_iter=40, n_measure=4)
    assert 0.3 < res["m_star"] < 0.9
    assert res["phi"] < res["phi_para"] - 0.02


def test_1rsb_rejects_bad_parisi_parameter():
    for m in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="Parisi parameter"):
            cavity_1rsb(3.0, 3, 1.0, m)

"""Correlated synapses (issue 17): generators, estimators, mean-field theory vs simulation.

Oracles: the explicit synapse covariance matrix (eigenvalues and Monte Carlo), Sheppard's
formula for signs of correlated Gaussians, Haar orthogonality, exact covariance propagation in
linear networks (no input sampling), and simulations of the networks the theory describes.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxent.companion.correlated import (
    DEFAULT_ENSEMBLES,
    LayerState,
    SynapseEnsemble,
    TheoryDomainWarning,
    binary_synapses,
    check_correlations,
    compare_over_width,
    covariance_statistics,
    depth_study,
    error_scaling,
    gaussian_inputs,
    gaussian_synapses,
    induced_binary_correlation,
    input_covariance,
    latent_gaussian_correlation,
    linear_step,
    nonlinear_step,
    orthogonal_synapses,
    propagate,
    scaled_correlation,
    simulate_depth,
    statistics_from_covariance,
    synapse_covariance,
    theory_depth,
    trace_square_unbiased,
)
from maxent.companion.correlated.generators import structure_eigenvalues


# ----------------------------------------------------------------------------- generators
def test_gaussian_synapses_match_the_explicit_covariance():
    n_out, n_in, size = 4, 3, 60000
    W = gaussian_synapses(n_out, n_in, rho_pre=0.3, rho_post=-0.2, size=size, random_state=0)
    emp = np.cov(W.reshape(size, -1), rowvar=False)
    exact = synapse_covariance(n_out, n_in, 0.3, -0.2)
    assert np.abs(emp - exact).max() < 6 / np.sqrt(size)
    # the structure: same row -> rho_post, same column -> rho_pre, otherwise 0
    assert exact[0, 1] == pytest.approx(-0.2) and exact[0, n_in] == pytest.approx(0.3)
    assert exact[0, n_in + 1] == 0.0


@given(
    n_out=st.integers(1, 6),
    n_in=st.integers(1, 6),
    rho_pre=st.floats(-1, 1),
    rho_post=st.floats(-1, 1),
)
@settings(max_examples=80, deadline=None)
def test_validity_is_positive_semidefiniteness(n_out, n_in, rho_pre, rho_post):
    """check_correlations accepts exactly the structures whose explicit matrix is PSD, and its
    eigenvalue formulas are the spectrum of that matrix."""
    a = 1 - rho_pre - rho_post
    explicit = (
        a * np.eye(n_out * n_in)
        + rho_post * np.kron(np.eye(n_out), np.ones((n_in, n_in)))
        + rho_pre * np.kron(np.ones((n_out, n_out)), np.eye(n_in))
    )
    eig = np.linalg.eigvalsh(explicit)
    lam = structure_eigenvalues(n_out, n_in, rho_pre, rho_post)
    assert np.all(np.min(np.abs(eig[:, None] - np.array(list(lam.values()))[None, :]), axis=1) < 1e-9)
    if eig.min() < -1e-9:
        with pytest.raises(ValueError, match="positive semidefinite"):
            check_correlations(n_out, n_in, rho_pre, rho_post)
    elif eig.min() > 1e-9:
        assert check_correlations(n_out, n_in, rho_pre, rho_post) == (rho_pre, rho_post)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(rho_pre=0.7, rho_post=0.6), "positive semidefinite"),
        (dict(rho_pre=-0.5), "positive semidefinite"),  # below -1/(n_out - 1) for n_out = 5
        (dict(rho_pre=float("nan")), "finite"),
        (dict(rho_post=1.5), r"\[-1, 1\]"),
    ],
)
def test_impossible_correlations_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gaussian_synapses(5, 4, **kwargs)


def test_sheppard_formula_against_simulation_and_its_inverse():
    rng = np.random.default_rng(1)
    for r in (-0.6, 0.2, 0.9):
        z = rng.multivariate_normal([0, 0], [[1, r], [r, 1]], size=200000)
        emp = np.mean(np.sign(z[:, 0]) * np.sign(z[:, 1]))
        assert emp == pytest.approx(induced_binary_correlation(r), abs=0.01)
    rho = np.linspace(-1, 1, 11)
    np.testing.assert_allclose(induced_binary_correlation(latent_gaussian_correlation(rho)), rho, atol=1e-12)
    with pytest.raises(ValueError, match="correlation"):
        induced_binary_correlation(1.2)


def test_binary_synapses_carry_the_target_correlations():
    size = 60000
    B = binary_synapses(3, 4, rho_pre=0.25, rho_post=0.1, size=size, random_state=2)
    assert B.dtype == np.int8 and set(np.unique(B)) == {-1, 1}
    R = np.corrcoef(B.reshape(size, -1).astype(float), rowvar=False)
    np.testing.assert_allclose(R, synapse_covariance(3, 4, 0.25, 0.1), atol=6 / np.sqrt(size))
    # a binary target whose latent Gaussian structure is not realizable is refused by name
    with pytest.raises(ValueError, match="latent"):
        binary_synapses(3, 4, rho_pre=0.6, rho_post=0.6)


@pytest.mark.parametrize("shape", [(5, 8), (8, 5), (6, 6)])
def test_orthogonal_synapses(shape):
    n_out, n_in = shape
    W = orthogonal_synapses(n_out, n_in, size=3, random_state=0)
    if n_out <= n_in:  # orthonormal rows, scaled so that entries have unit variance
        gram, n = W @ W.transpose(0, 2, 1), n_in
    else:
        gram, n = W.transpose(0, 2, 1) @ W, n_out
    np.testing.assert_allclose(gram, np.broadcast_to(n * np.eye(gram.shape[-1]), gram.shape), atol=1e-9)
    # Haar: the law is invariant, so a fixed entry has mean 0 and variance 1 over draws
    many = orthogonal_synapses(n_out, n_in, size=20000, random_state=1)[:, 0, 0]
    assert abs(many.mean()) < 5 / np.sqrt(many.size) and many.var() == pytest.approx(1.0, abs=0.05)


def test_ensemble_options_and_errors():
    ens = SynapseEnsemble("gaussian", c_pre=1.0, exponent=0.5)
    assert ens.correlations(10, 100) == (pytest.approx(0.1), 0.0)
    assert scaled_correlation(2.0, 64, 1.0) == pytest.approx(2 / 64)
    with pytest.raises(ValueError, match="orthogonal"):
        SynapseEnsemble("orthogonal", c_pre=0.1)
    with pytest.raises(ValueError, match="kind"):
        SynapseEnsemble("ternary")
    with pytest.raises(ValueError, match="positive semidefinite"):
        SynapseEnsemble("gaussian", c_pre=-0.5, exponent=0.0).correlations(10, 4)  # < -1/9


# ----------------------------------------------------------------------------- estimators
def test_unbiased_trace_square_on_non_gaussian_data():
    """Mean over replicates of the estimate matches Tr C^2 of skewed data with P = 8 samples;
    the plug-in Tr S^2 does not."""
    rng = np.random.default_rng(3)
    E = rng.exponential(size=(40000, 8, 4))
    E[..., 1] += E[..., 0]  # C = [[1, 1], [1, 2]] block, unit variances elsewhere
    C = np.eye(4)
    C[0, 1] = C[1, 0] = 1.0
    C[1, 1] = 2.0
    truth = np.sum(C * C)
    est = trace_square_unbiased(E)
    assert est.mean() == pytest.approx(truth, abs=4 * est.std() / np.sqrt(est.size))
    Ec = E - E.mean(axis=1, keepdims=True)
    S = Ec.transpose(0, 2, 1) @ Ec / 7
    assert np.sum(S * S, axis=(1, 2)).mean() > truth * 1.2
    with pytest.raises(ValueError, match="at least 4"):
        trace_square_unbiased(E[:, :3])


def test_sample_statistics_converge_to_exact_ones():
    C = input_covariance(30, alpha=1.0, random_state=0)
    exact = statistics_from_covariance(C)
    X = gaussian_inputs(C, 6000, size=2, random_state=1)
    est = covariance_statistics(X)
    assert np.all(np.abs(est["D_over_N"] - exact["D_over_N"]) < 0.02)
    assert np.all(np.abs(est["offdiag_corr2"] - exact["offdiag_corr2"]) < 0.1 * exact["offdiag_corr2"])
    # the plug-in dimension is biased low by a relative ~D/P, the unbiased one is not
    few = covariance_statistics(gaussian_inputs(C, 40, size=400, random_state=2))
    assert abs(few["D_over_N"].mean() - exact["D_over_N"]) < abs(
        few["D_plugin_over_N"].mean() - exact["D_over_N"]
    )


def test_propagate_validates_input():
    W = [np.ones((1, 3, 4))]
    with pytest.raises(ValueError, match="non-finite"):
        propagate(np.full((5, 4), np.nan), W)
    with pytest.raises(ValueError, match="first layer"):
        propagate(np.ones((5, 3)), W)
    with pytest.raises(ValueError, match="activation"):
        propagate(np.ones((5, 4)), W, activation="softplus")
    with pytest.raises(ValueError, match="sigma"):
        propagate(np.ones((5, 4)), W, sigma=-1.0)
    with pytest.raises(ValueError, match="non-finite"):
        covariance_statistics(np.full((6, 3), np.inf))


# ----------------------------------------------------------------------------- theory
@pytest.mark.parametrize(
    "ensemble",
    [
        SynapseEnsemble("gaussian"),
        SynapseEnsemble("gaussian", c_pre=0.3, exponent=0.0),
        SynapseEnsemble("gaussian", c_post=0.3, exponent=0.0),
        SynapseEnsemble("gaussian", c_pre=0.15, c_post=0.2, exponent=0.0),
        SynapseEnsemble("orthogonal"),
    ],
    ids=lambda e: e.name,
)
def test_linear_step_is_exact_in_expectation(ensemble):
    """One linear layer on a fixed covariance A: E_W[Tr G], E_W[Tr G^2], E_W[1^T G 1] of
    G = (sigma^2 / n) W A W^T, by Monte Carlo over W, against the closure's Isserlis/Haar formulas
    (exact for one step)."""
    n, draws, sigma = 12, 20000, 1.3
    A = input_covariance(n, alpha=1.5, random_state=4) + 0.3  # a common mode too (S1 >> T1)
    W = ensemble.draw(n, n, size=draws, random_state=5)
    G = sigma**2 / n * W @ A @ W.transpose(0, 2, 1)
    t1 = np.trace(G, axis1=1, axis2=2)
    t2 = np.sum(G * G, axis=(1, 2))
    s1 = G.sum(axis=(1, 2))
    state = LayerState.from_covariance(A)
    new, _ = nonlinear_step(linear_step(state, n, ensemble, sigma), "linear")
    for emp, th in ((t1, new.T1), (t2, new.T2), (s1, new.S1)):
        assert emp.mean() == pytest.approx(th, abs=5 * emp.std() / np.sqrt(draws) + 1e-9 * abs(th))


def test_orthogonal_linear_network_preserves_the_dimension_exactly():
    C = input_covariance(40, alpha=1.0, random_state=0)
    ens = SynapseEnsemble("orthogonal")
    th = theory_depth([40] * 5, ens, input_cov=C, activation="linear")
    np.testing.assert_allclose(th["D_over_N"], statistics_from_covariance(C)["D_over_N"], rtol=1e-12)
    W = [ens.draw(40, 40, size=1, random_state=k)[0] for k in range(4)]
    Cl = C
    for Wl in W:
        Cl = Wl @ Cl @ Wl.T / 40
    assert statistics_from_covariance(Cl)["D_over_N"] == pytest.approx(th["D_over_N"].iloc[-1], rel=1e-10)


ENSEMBLES = [
    SynapseEnsemble("gaussian"),
    SynapseEnsemble("gaussian", c_pre=1.0),
    SynapseEnsemble("gaussian", c_post=1.0),
    SynapseEnsemble("binary", c_pre=1.0),
    SynapseEnsemble("orthogonal"),
]


@pytest.fixture(scope="module")
def width_comparison():
    return compare_over_width([32, 192], ENSEMBLES, depth=4, activation="tanh", n_networks=12, random_state=0)


def test_theory_matches_simulation_at_width_192(width_comparison):
    d = width_comparison[width_comparison["N"] == 192]
    dn = d[d["statistic"] == "D_over_N"]
    # D/N of every layer within 0.02 + 3 s.e.m. (values 0.1-0.7; correlated networks fluctuate:
    # their coherent mode is one mode, its amplitude is not self-averaging), N Delta within 15%
    assert (dn["error"].abs() < 0.02 + 3 * dn["sem"]).all(), dn[["synapses", "layer", "simulation", "theory"]]
    nd = d[(d["statistic"] == "N_offdiag_corr2") & (d["layer"] > 0)]
    assert (nd["error"].abs() < 0.15 * nd["theory"] + 3 * nd["sem"]).all(), nd


def test_theory_error_shrinks_with_width(width_comparison):
    tab = error_scaling(width_comparison[width_comparison["synapses"] != "orthogonal"])
    dn = tab[tab["statistic"] == "D_over_N"].pivot(index="synapses", columns="N", values="abs_error")
    assert (dn[192] < dn[32]).all(), dn


def test_correlated_synapses_reduce_dimension_and_slow_decorrelation(width_comparison):
    """The seed paper's claim in this model: against i.i.d. synapses, weak (rho ~ N^-1/2)
    pre- or post-shared correlations lower D_l / N and keep larger off-diagonal correlations
    at every depth, in theory and simulation; orthogonal synapses keep the dimension highest."""
    d = width_comparison[(width_comparison["N"] == 192) & (width_comparison["layer"] >= 1)]
    for col in ("theory", "simulation"):
        tab = d.pivot_table(index=["statistic", "layer"], columns="synapses", values=col)
        iid = tab["iid gaussian"]
        for name in ("gaussian c_pre=1", "gaussian c_post=1", "binary c_pre=1"):
            assert (tab.loc["D_over_N", name] < tab.loc["D_over_N", "iid gaussian"] - 0.05).all()
            assert (tab.loc["N_offdiag_corr2", name] > iid.loc["N_offdiag_corr2"]).all()
        assert (tab.loc["D_over_N", "orthogonal"] > iid.loc["D_over_N"]).all()


def test_correlations_scaling_as_one_over_n_leave_the_dimension_unchanged():
    """rho = c / N: the correlated theory approaches the i.i.d. one as 1/N (self-consistency:
    only rho ~ N^-1/2 changes D/N at O(1))."""
    gaps = []
    for N in (100, 400, 1600):
        C = np.eye(N)
        iid = theory_depth([N] * 4, SynapseEnsemble("gaussian"), input_cov=C)
        weak = theory_depth([N] * 4, SynapseEnsemble("gaussian", c_pre=1.0, exponent=1.0), input_cov=C)
        half = theory_depth([N] * 4, SynapseEnsemble("gaussian", c_pre=1.0, exponent=0.5), input_cov=C)
        gaps.append(
            (abs(weak["D_over_N"] - iid["D_over_N"]).max(), abs(half["D_over_N"] - iid["D_over_N"]).max())
        )
    gaps = np.array(gaps)
    assert gaps[2, 0] < gaps[0, 0] / 10  # ~1/N: 16x smaller over a 16x range
    assert gaps[2, 1] > 0.1 and gaps[2, 1] == pytest.approx(gaps[0, 1], rel=0.1)  # O(1), N-independent


def test_theory_warns_outside_its_checked_domain():
    C = np.eye(20)
    with pytest.warns(TheoryDomainWarning, match="odd activations"):
        theory_depth(
            [100, 100], SynapseEnsemble("gaussian", c_pre=1.0), input_cov=np.eye(100), activation="relu"
        )
    with pytest.warns(TheoryDomainWarning, match="linearized"):
        theory_depth([20, 20, 20], SynapseEnsemble("gaussian", c_pre=0.5, exponent=0.0), input_cov=C)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        theory_depth([20, 20], SynapseEnsemble("gaussian"), input_cov=C, activation="relu")
    with pytest.raises(ValueError, match="square"):
        theory_depth([20, 10], SynapseEnsemble("orthogonal"), input_cov=C)
    with pytest.raises(ValueError, match="input_cov"):
        theory_depth([20, 10], SynapseEnsemble("gaussian"), input_cov=np.eye(5))


def test_simulate_depth_table():
    C = np.eye(16)
    df = simulate_depth(
        [16, 12, 8], [SynapseEnsemble("binary")], input_cov=C, n_inputs=64, n_networks=2, random_state=0
    )
    assert len(df) == 2 * 3 and set(df["method"]) == {"simulation"}
    assert list(df.groupby("layer")["width"].first()) == [16, 12, 8]
    np.testing.assert_allclose(df["N_offdiag_corr2"], df["width"] * df["offdiag_corr2"])
    with pytest.raises(ValueError, match="input_cov"):
        simulate_depth([16, 8], [SynapseEnsemble()], input_cov=np.eye(3), n_inputs=10)


@pytest.mark.slow
def test_theory_matches_simulation_at_width_512():
    """The longer variant: at N = 512 the D/N error of every layer is below 0.012 + 3 s.e.m."""
    d = compare_over_width([512], ENSEMBLES, depth=4, activation="tanh", n_networks=12, random_state=1)
    dn = d[d["statistic"] == "D_over_N"]
    assert (dn["error"].abs() < 0.012 + 3 * dn["sem"]).all(), dn


@given(
    seed=st.integers(0, 2**32 - 1),
    P=st.integers(6, 40),
    n=st.integers(2, 8),
    scale=st.floats(1e-3, 1e3),
)
@settings(max_examples=40, deadline=None)
def test_statistics_invariances(seed, P, n, scale):
    """D is invariant under rotations of the units and global scaling; Delta under permutations
    and scaling (not under rotations); both are unchanged by shifting every input (centering)."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(P, n)) @ rng.normal(size=(n, n))
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    perm = rng.permutation(n)
    base = covariance_statistics(A)
    rot = covariance_statistics(scale * A @ Q + 3.0)
    shuf = covariance_statistics(scale * A[:, perm] - 1.0)
    assert rot["D"] == pytest.approx(base["D"], rel=1e-6)
    assert shuf["D"] == pytest.approx(base["D"], rel=1e-6)
    assert shuf["offdiag_corr2"] == pytest.approx(base["offdiag_corr2"], rel=1e-6, abs=1e-9)


@given(
    shape=st.tuples(st.integers(4, 12), st.integers(1, 5)),
    where=st.integers(0, 10_000),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
)
@settings(max_examples=30, deadline=None)
def test_non_finite_activities_are_refused_wherever_they_sit(shape, where, bad):
    A = np.random.default_rng(where).normal(size=shape)
    A.flat[where % A.size] = bad
    with pytest.raises(ValueError, match="non-finite"):
        covariance_statistics(A)
    with pytest.raises(ValueError, match="non-finite"):
        propagate(A, [np.ones((1, 2, shape[1]))])


def test_both_structures_together_need_a_faster_decay():
    """Pre- and post-shared correlations both at c / sqrt(N): the dimension keeps falling with N
    (the post term feeds back the pre-made coherent mode); with rho_post ~ 1/N instead
    (rho_pre rho_post ~ N^-3/2) the combined effect is finite and N-independent."""
    both, mixed, pre = [], [], []
    for N in (64, 256, 1024):
        C = np.eye(N)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TheoryDomainWarning)
            both.append(
                theory_depth([N] * 5, SynapseEnsemble(c_pre=0.5, c_post=0.5), input_cov=C)["D_over_N"].iloc[
                    -1
                ]
            )
        ens = SynapseEnsemble(c_pre=0.5, c_post=0.5, exponent=0.5, exponent_post=1.0)
        assert ens.name == "gaussian c_pre=0.5, c_post=0.5 (N^-0.5, N^-1)"
        mixed.append(theory_depth([N] * 5, ens, input_cov=C)["D_over_N"].iloc[-1])
        pre.append(theory_depth([N] * 5, SynapseEnsemble(c_pre=0.5), input_cov=C)["D_over_N"].iloc[-1])
    assert both[2] < both[0] / 2
    assert abs(mixed[2] - mixed[0]) < 0.005  # settles (0.156, 0.157, 0.157)
    assert pre[2] - mixed[2] > 0.015  # and the interplay still lowers D/N at O(1) (pre only: 0.181)


def test_depth_study_table():
    df = depth_study(N=48, depth=3, n_networks=2, random_state=0)
    assert set(df["method"]) == {"simulation", "theory"}
    assert df["synapses"].nunique() == len(DEFAULT_ENSEMBLES)
    th = df[df["method"] == "theory"]
    assert len(th) == len(DEFAULT_ENSEMBLES) * 4 and (th["network"] == -1).all()
    # uncorrelated synapses never leave the closure's domain; at N = 48 the correlated ones
    # (rho = 1/sqrt(48) = 0.14) are flagged, with the reason
    flagged = th.groupby("synapses")["theory_warning"].first()
    assert (flagged[["iid gaussian", "iid binary", "orthogonal"]] == "").all()
    assert flagged["gaussian c_pre=1"].startswith("layer") and "linearized" in flagged["gaussian c_pre=1"]
    assert set(df.loc[df["method"] == "simulation", "network"]) == {0, 1}

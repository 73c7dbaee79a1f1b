"""Tests of maxent.geometry.clustering: TAP states, overlaps, hierarchical clustering, embedding."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score

from maxent.geometry.clustering import (
    HierarchicalClustering,
    TapStates,
    binary_entropy,
    embedding,
    hierarchical_clustering,
    overlap_distribution,
    tap_free_energy,
    tap_states,
)
from maxent.model.ising import IsingModel


def _sb(m):
    """Binary entropy written out, with 0 log 0 = 0."""
    out = np.zeros_like(m, dtype=float)
    for p in ((1 + m) / 2, (1 - m) / 2):
        nz = p > 0
        out[nz] -= p[nz] * np.log(p[nz])
    return out


def _naive_mean_field_free_energy(h, J, n_iter=3000):
    """Naive mean field, independently of the library: m = tanh(h + J m), F = -h.m - m J m / 2 - S."""
    m = np.zeros_like(h)
    for _ in range(n_iter):
        m = 0.5 * m + 0.5 * np.tanh(h + J @ m)
    return -h @ m - 0.5 * m @ J @ m - _sb(m).sum()


def _mattis(n, j0, h0=0.0, seed=0):
    """Two-cluster (Mattis) model J = j0/N xi xi^T, h = h0 xi: gauge-equivalent to Curie-Weiss."""
    xi = np.random.default_rng(seed).choice([-1.0, 1.0], n)
    J = j0 / n * np.outer(xi, xi)
    np.fill_diagonal(J, 0.0)
    return IsingModel(h0 * xi, J), xi


# --------------------------------------------------------------------------------------- TAP
def test_tap_free_energy_formula_matches_explicit_double_sum():
    rng = np.random.default_rng(0)
    model = IsingModel.random_sk(6, beta=0.8, h_std=0.5, random_state=1)
    m = rng.uniform(-0.99, 0.99, size=(4, 6))
    m[0, 2] = 1.0  # saturated spin: 0 log 0
    F = tap_free_energy(model, m)
    for s in range(4):
        e = -model.h @ m[s]
        onsager = 0.0
        for i in range(6):
            for j in range(i + 1, 6):
                e -= model.J[i, j] * m[s, i] * m[s, j]
                onsager += model.J[i, j] ** 2 * (1 - m[s, i] ** 2) * (1 - m[s, j] ** 2)
        expected = e - 0.5 * onsager - _sb(m[s]).sum()
        assert F[s] == pytest.approx(expected, abs=1e-12)
    assert tap_free_energy(model, m[1]) == pytest.approx(F[1], abs=1e-14)
    assert binary_entropy(np.array([0.0, 1.0, -1.0])) == pytest.approx([np.log(2), 0.0, 0.0])


def test_tap_equations_are_the_stationarity_of_the_free_energy():
    """dF_TAP/dm_i (finite differences) = atanh(m_i) - TAP field: the Onsager term has the right sign."""
    model = IsingModel.random_sk(8, beta=0.9, h_std=0.3, random_state=2)
    m = np.random.default_rng(3).uniform(-0.8, 0.8, 8)
    J2 = model.J**2
    field = model.h + model.J @ m - m * (J2 @ (1 - m**2))
    eps = 1e-6
    grad = np.array(
        [
            (tap_free_energy(model, m + eps * e) - tap_free_energy(model, m - eps * e)) / (2 * eps)
            for e in np.eye(8)
        ]
    )
    np.testing.assert_allclose(grad, np.arctanh(m) - field, atol=1e-7)


def test_tap_fixed_points_satisfy_the_equations():
    model = IsingModel.random_sk(40, beta=0.6, h_std=0.3, random_state=4)
    res = tap_states(model, n_starts=16, random_state=0)
    assert isinstance(res, TapStates)
    t = res.table
    assert t["converged"].all()
    h, J = model.h, model.J
    for m in res.m:
        # the TAP equations, spin by spin
        for i in range(40):
            onsager = sum(J[i, j] ** 2 * (1 - m[j] ** 2) for j in range(40))
            assert m[i] == pytest.approx(np.tanh(h[i] + J[i] @ m - m[i] * onsager), abs=1e-7)
    np.testing.assert_allclose(t["free_energy"], tap_free_energy(model, res.m), atol=1e-10)
    np.testing.assert_allclose(t["free_energy_density"], t["free_energy"] / 40)
    assert t["count"].sum() == 16 and t["fraction"].sum() == pytest.approx(1.0)
    assert res.start_state.shape == (16,)
    np.testing.assert_array_equal(np.bincount(res.start_state, minlength=len(t)), t["count"])
    np.testing.assert_allclose(res.overlaps, res.m @ res.m.T / 40)
    np.testing.assert_allclose(t["q_self"], np.diag(res.overlaps))
    np.testing.assert_allclose(t["mean_abs_m"], np.abs(res.m).mean(axis=1))


def test_tap_hessian_eigenvalue_matches_finite_differences():
    model = IsingModel.random_sk(10, beta=0.7, h_std=0.4, random_state=5)
    res = tap_states(model, n_starts=4, random_state=1)
    m = res.m[0]
    eps = 1e-4
    H = np.empty((10, 10))
    E = np.eye(10) * eps
    for i in range(10):
        for j in range(10):
            H[i, j] = (
                tap_free_energy(model, m + E[i] + E[j])
                - tap_free_energy(model, m + E[i] - E[j])
                - tap_free_energy(model, m - E[i] + E[j])
                + tap_free_energy(model, m - E[i] - E[j])
            ) / (4 * eps**2)
    lam = np.linalg.eigvalsh(0.5 * (H + H.T))[0]
    assert res.table["min_hessian_eig"].iloc[0] == pytest.approx(lam, rel=1e-4)
    assert res.table["stable"].iloc[0]


def test_tap_free_energy_approaches_exact_as_couplings_weaken():
    """|F_TAP - (-log Z)| is third order in J (ratio ~8 per halving), naive MF second order (~4)."""
    betas = [0.4, 0.2, 0.1]
    err_tap, err_mf = [], []
    for beta in betas:
        e_tap, e_mf = [], []
        for seed in range(3):
            model = IsingModel.random_sk(12, beta=beta, h_std=0.3, random_state=seed)
            exact = -model.log_partition()
            res = tap_states(model, n_starts=4, random_state=seed)
            assert len(res) == 1  # paramagnetic: one state
            e_tap.append(abs(res.table["free_energy"].iloc[0] - exact))
            e_mf.append(abs(_naive_mean_field_free_energy(model.h, model.J) - exact))
        err_tap.append(np.mean(e_tap))
        err_mf.append(np.mean(e_mf))
    err_tap, err_mf = np.array(err_tap), np.array(err_mf)
    # measured: TAP 1.2e-2, 1.8e-3, 2.3e-4; naive MF 3.4e-1, 9.1e-2, 2.3e-2
    assert np.all(err_tap < err_mf / 10)
    assert np.all(err_tap[:-1] / err_tap[1:] > 5.5)  # faster than second order
    assert np.all(err_mf[:-1] / err_mf[1:] < 5.0)  # the naive one is second order
    assert err_tap[-1] < 5e-4


def test_two_cluster_model_gives_two_symmetric_states_with_the_expected_free_energy():
    n, j0 = 30, 2.0
    model, xi = _mattis(n, j0)
    res = tap_states(model, n_starts=40, random_state=3)
    t = res.table
    assert len(t) == 2 and t["converged"].all() and t["stable"].all()
    assert t["count"].min() >= 5  # both basins are reached from random starts
    f = t["free_energy"].to_numpy()
    assert f[0] == pytest.approx(f[1], abs=1e-9)  # Z2 symmetry
    # by the gauge s_i -> xi_i s_i the TAP equation is scalar; solve it independently
    c1, c2 = j0 * (n - 1) / n, j0**2 * (n - 1) / n**2

    def g(m):
        return m - np.tanh(c1 * m - m * c2 * (1 - m * m))

    mstar = brentq(g, 0.1, 0.999999)
    pairs = n * (n - 1) / 2
    f_exp = (
        -(j0 / n) * mstar**2 * pairs
        - 0.5 * (j0 / n) ** 2 * (1 - mstar**2) ** 2 * pairs
        - n * _sb(np.array([mstar]))[0]
    )
    assert f[0] == pytest.approx(f_exp, abs=1e-8)
    signs = np.sign(res.m @ xi)
    assert set(signs) == {-1.0, 1.0}
    for k in range(2):
        np.testing.assert_allclose(res.m[k], signs[k] * mstar * xi, atol=1e-7)
    assert res.overlaps[0, 1] == pytest.approx(-res.overlaps[0, 0])
    ot = res.overlap_table()
    assert list(ot.columns) == ["a", "b", "q"] and len(ot) == 1


def test_a_field_breaks_the_symmetry_and_orders_the_states():
    model, xi = _mattis(30, 2.0, h0=0.05, seed=1)
    res = tap_states(model, n_starts=60, random_state=0)
    t = res.table
    assert len(t) == 2
    assert t["free_energy"].iloc[0] < t["free_energy"].iloc[1] - 1.0
    assert res.m[0] @ xi > 0 > res.m[1] @ xi  # the aligned state is the lower one


def test_explicit_starts_and_deduplication():
    model, xi = _mattis(20, 2.0, seed=2)
    starts = np.vstack([0.3 * xi, 0.9 * xi, -0.5 * xi, 0.2 * xi])
    res = tap_states(model, starts=starts)
    assert len(res) == 2
    assert sorted(res.table["count"]) == [1, 3]
    # starts along +xi share a state, and it is not the one of -xi
    s = res.start_state
    assert s[0] == s[1] == s[3] != s[2]
    # a tighter distinct_tol cannot split a converged state
    res2 = tap_states(model, starts=starts, distinct_tol=1e-6, tol=1e-12)
    assert len(res2) == 2


def test_unconverged_starts_are_flagged_and_warned():
    model = IsingModel.random_sk(20, beta=0.5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = tap_states(model, n_starts=5, random_state=0, max_iter=2)
    assert not res.table["converged"].any()
    assert (res.table["residual"] > 1e-8).all()


def test_tap_seed_reproducible():
    model = IsingModel.random_sk(15, beta=0.5, random_state=1)
    a = tap_states(model, n_starts=6, random_state=42)
    b = tap_states(model, n_starts=6, random_state=42)
    np.testing.assert_array_equal(a.m, b.m)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(n_starts=0), ValueError, "n_starts"),
        (dict(n_starts=2.5), ValueError, "n_starts"),
        (dict(n_starts=True), ValueError, "n_starts"),
        (dict(damping=1.0), ValueError, "damping"),
        (dict(damping=-0.1), ValueError, "damping"),
        (dict(tol=0.0), ValueError, "tol"),
        (dict(max_iter=0), ValueError, "max_iter"),
        (dict(starts=np.zeros((3, 4))), ValueError, "shape"),
        (dict(starts=np.full((2, 5), 1.5)), ValueError, r"\[-1, 1\]"),
        (dict(starts=np.full((2, 5), np.nan)), ValueError, "NaN"),
    ],
)
def test_tap_bad_input(kwargs, exc, match):
    model = IsingModel.random_sk(5, random_state=0)
    with pytest.raises(exc, match=match):
        tap_states(model, **kwargs)


def test_tap_refuses_non_model():
    with pytest.raises(TypeError, match="IsingModel"):
        tap_states((np.zeros(3), np.zeros((3, 3))))


# ------------------------------------------------------------------------------------ overlaps
def _brute_overlaps(X, Y=None):
    out = []
    if Y is None:
        for a in range(len(X)):
            for b in range(a + 1, len(X)):
                out.append((a, b, sum(int(X[a, i]) * int(X[b, i]) for i in range(X.shape[1])) / X.shape[1]))
    else:
        for a in range(len(X)):
            for b in range(len(Y)):
                out.append((a, b, sum(int(X[a, i]) * int(Y[b, i]) for i in range(X.shape[1])) / X.shape[1]))
    return out


def test_overlap_pairs_match_brute_force():
    rng = np.random.default_rng(0)
    X = rng.choice(np.array([-1, 1], dtype=np.int8), size=(13, 21))
    df = overlap_distribution(X, chunk_size=4)  # several chunks
    brute = _brute_overlaps(X)
    assert list(df.columns) == ["a", "b", "q"] and len(df) == len(brute) == 13 * 12 // 2
    np.testing.assert_array_equal(df[["a", "b"]].to_numpy(), [(a, b) for a, b, _ in brute])
    np.testing.assert_allclose(df["q"], [q for *_, q in brute], atol=1e-15)
    Y = rng.choice([-1.0, 1.0], size=(5, 21))
    dxy = overlap_distribution(X, Y, chunk_size=3)
    brute = _brute_overlaps(X, Y)
    np.testing.assert_array_equal(dxy[["a", "b"]].to_numpy(), [(a, b) for a, b, _ in brute])
    np.testing.assert_allclose(dxy["q"], [q for *_, q in brute], atol=1e-15)


def test_overlap_histogram_counts_and_normalization():
    rng = np.random.default_rng(1)
    X = rng.choice([-1, 1], size=(30, 16))
    pairs = overlap_distribution(X)
    hist = overlap_distribution(X, bins="exact", chunk_size=7)
    assert list(hist.columns) == ["q_left", "q_right", "q", "count", "density"]
    # one bin per attainable value -1 + 2k/N; counts equal the brute-force value counts
    np.testing.assert_allclose(hist["q"], -1 + 2 * np.arange(17) / 16, atol=1e-12)
    values, counts = np.unique(np.round(pairs["q"] * 16).astype(int), return_counts=True)
    expected = np.zeros(17, dtype=int)
    expected[(values + 16) // 2] = counts
    np.testing.assert_array_equal(hist["count"], expected)
    assert np.sum(hist["density"] * (hist["q_right"] - hist["q_left"])) == pytest.approx(1.0)
    h10 = overlap_distribution(X, bins=10)
    assert len(h10) == 10 and h10["count"].sum() == 30 * 29 // 2
    with pytest.raises(ValueError, match="bins"):
        overlap_distribution(X, bins="wide")


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1, 0, -1], [1, 1, 1]]), "only \\+1 and -1"),
        (np.array([1, -1, 1]), "2-D"),
        (np.array([[1, -1, 1]]), "at least 2 samples"),
    ],
)
def test_overlap_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        overlap_distribution(X)


# ---------------------------------------------------------------------------------- clustering
def _planted(n_clusters=3, per=15, n=80, flip=0.1, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.choice([-1, 1], size=(n_clusters, n))
    truth = np.repeat(np.arange(n_clusters), per)
    X = centers[truth] * np.where(rng.random((truth.size, n)) < flip, -1, 1)
    perm = rng.permutation(truth.size)
    return X[perm].astype(np.int8), truth[perm]


def test_hierarchical_clustering_recovers_planted_clusters():
    X, truth = _planted()
    for kwargs in (dict(n_clusters=3), {}):  # given number, and the largest-gap cut
        res = hierarchical_clustering(X, **kwargs)
        assert isinstance(res, HierarchicalClustering)
        assert res.n_clusters == 3
        assert adjusted_rand_score(truth, res.labels) == 1.0
    assert res.linkage.shape == (44, 4)
    assert sorted(res.order) == list(range(45))
    # merge heights are distances d = (1 - q)/2: within clusters ~ 2 flip (1 - flip) = 0.18
    assert res.threshold > 0.25
    ct = res.cluster_table()
    assert ct["size"].tolist() == [15, 15, 15]
    assert (ct["mean_q_within"] > 0.5).all()
    res_t = hierarchical_clustering(X, method="complete", threshold=res.threshold)
    assert adjusted_rand_score(truth, res_t.labels) == 1.0
    # labels are numbered along the dendrogram
    assert res.labels[res.order[0]] == 0


def test_hierarchical_clustering_bad_input():
    X, _ = _planted()
    with pytest.raises(ValueError, match="method"):
        hierarchical_clustering(X, method="ward")
    with pytest.raises(ValueError, match="not both"):
        hierarchical_clustering(X, n_clusters=2, threshold=0.1)
    with pytest.raises(ValueError, match="n_clusters"):
        hierarchical_clustering(X, n_clusters=0)
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        hierarchical_clustering(X * 2)


# ----------------------------------------------------------------------------------- embedding
def test_embedding_shape_colour_and_separation():
    X, truth = _planted(n_clusters=2, per=20, seed=4)
    acc = np.linspace(0.8, 0.9, 40)
    df = embedding(X, color={"accuracy": acc, "cluster": truth}, random_state=0)
    assert list(df.columns) == ["sample", "dim1", "dim2", "accuracy", "cluster"]
    assert len(df) == 40 and np.isfinite(df[["dim1", "dim2"]].to_numpy()).all()
    np.testing.assert_array_equal(df["accuracy"], acc)
    # the two planted clusters are far apart in the map
    c = df.groupby("cluster")[["dim1", "dim2"]].mean().to_numpy()
    spread = df.groupby("cluster")[["dim1", "dim2"]].std().to_numpy().max()
    assert np.linalg.norm(c[0] - c[1]) > 3 * spread
    pca = embedding(X, np.arange(40), method="pca")
    assert list(pca.columns) == ["sample", "dim1", "dim2", "color"]
    named = embedding(X, pd.Series(acc, name="energy"), method="pca")
    assert "energy" in named.columns


def test_embedding_bad_input():
    X, _ = _planted(n_clusters=2, per=5)
    with pytest.raises(ValueError, match="shape"):
        embedding(X, color=np.zeros(3), method="pca")
    with pytest.raises(ValueError, match="method"):
        embedding(X, method="umap")
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        embedding(np.zeros((5, 4)))


def test_stability_can_be_skipped():
    model = IsingModel.random_sk(8, beta=0.3, random_state=0)
    t = tap_states(model, n_starts=3, random_state=0, stability=False).table
    assert t["min_hessian_eig"].isna().all() and t["stable"].isna().all()
    assert tap_states(model, n_starts=3, random_state=0).table["stable"].all()

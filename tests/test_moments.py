"""Moments and three-point correlations: values against explicit loops, and bad input refused."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from maxent import IsingModel, Moments
from maxent.data.moments import three_point


def test_from_samples_matches_loops():
    rng = np.random.default_rng(0)
    X = rng.choice(np.array([-1, 1], dtype=np.int8), size=(37, 5))
    mom = Moments.from_samples(X)
    M, N = X.shape
    for i in range(N):
        assert mom.m[i] == pytest.approx(sum(int(X[mu, i]) for mu in range(M)) / M)
        for j in range(N):
            assert mom.C[i, j] == pytest.approx(sum(int(X[mu, i]) * int(X[mu, j]) for mu in range(M)) / M)
    assert mom.n_samples == M and mom.n_spins == N
    np.testing.assert_array_equal(np.diag(mom.C), 1.0)
    np.testing.assert_allclose(mom.connected(), mom.C - np.outer(mom.m, mom.m))
    assert mom.upper().shape == (N * (N - 1) // 2,)
    assert mom.upper()[0] == mom.C[0, 1] and mom.upper()[-1] == mom.C[N - 2, N - 1]
    # float input with exact ±1 values gives the same moments
    mom_f = Moments.from_samples(X.astype(np.float32))
    np.testing.assert_array_equal(mom_f.m, mom.m)
    np.testing.assert_array_equal(mom_f.C, mom.C)


def test_moments_of_exact_model_samples_converge():
    model = IsingModel.random_sk(6, beta=1.0, random_state=2)
    m, C = model.moments()
    M = 50_000
    mom = Moments.from_samples(model.sample(M, random_state=0))
    assert np.max(np.abs(mom.m - m)) < 5 / np.sqrt(M)
    assert np.max(np.abs(mom.C - C)) < 5 / np.sqrt(M)
    # exact model moments are a valid Moments object too
    exact = Moments(m, C)
    assert exact.n_samples == 0


def test_single_sample_and_constant_columns_are_valid_moments():
    mom = Moments.from_samples(np.array([[1, -1, 1]]))
    np.testing.assert_array_equal(mom.m, [1, -1, 1])
    np.testing.assert_allclose(mom.connected(), 0.0)
    with pytest.raises(ValueError, match="at least 1 samples"):
        Moments.from_samples(np.zeros((0, 3)))


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1, 0, -1], [1, 1, 2]]), r"values 0, 2 \(first at row 0, column 1\)"),
        (np.array([[1.0, np.nan], [1.0, -1.0]]), "NaN"),
        (np.array([[1.0, 0.5], [1.0, -1.0]]), "values 0.5"),
        (np.array([1, -1, 1]), "2-D"),
    ],
)
def test_from_samples_refuses_non_pm1(X, match):
    with pytest.raises(ValueError, match=match):
        Moments.from_samples(X)


def test_from_samples_refuses_booleans():
    with pytest.raises(TypeError, match="numeric"):
        Moments.from_samples(np.array([[True, False]]))


@pytest.mark.parametrize(
    "m, C, match",
    [
        (np.array([1.2, 0.0]), np.eye(2), r"\|m_i\| must be <= 1 .* i=\[0\]"),
        (np.array([0.0, 0.0]), np.array([[1.0, 0.5], [0.4, 1.0]]), "symmetric"),
        (np.array([0.0, 0.0]), np.array([[0.9, 0.0], [0.0, 1.0]]), "unit diagonal"),
        (np.array([0.0, 0.0]), np.array([[1.0, 1.5], [1.5, 1.0]]), r"\|C_ij\| must be <= 1"),
        (np.array([0.0, np.nan]), np.eye(2), "NaN"),
        (np.array([0.0, 0.0]), np.eye(3), r"shape \(2, 2\)"),
        (np.zeros((2, 2)), np.eye(2), "1-D"),
    ],
)
def test_moments_validation(m, C, match):
    with pytest.raises(ValueError, match=match):
        Moments(m, C)


def test_non_psd_covariance_refused():
    # three spins pairwise anti-correlated at -0.9: no distribution has these moments
    C = np.full((3, 3), -0.9)
    np.fill_diagonal(C, 1.0)
    with pytest.raises(ValueError, match="not positive semidefinite"):
        Moments(np.zeros(3), C)
    # correlations incompatible with the magnetizations: m = 0.9 each but C_01 = -0.5
    with pytest.raises(ValueError, match="not positive semidefinite"):
        Moments(np.array([0.9, 0.9]), np.array([[1.0, -0.5], [-0.5, 1.0]]))


def test_negative_n_samples_refused():
    with pytest.raises(ValueError, match="n_samples"):
        Moments(np.zeros(2), np.eye(2), n_samples=-1)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 6).flatmap(
        lambda n: arrays(
            np.int8, st.tuples(st.integers(1, 20), st.just(n)), elements=st.sampled_from([-1, 1])
        )
    )
)
def test_property_sample_moments_are_consistent(X):
    mom = Moments.from_samples(X)
    assert np.all(np.abs(mom.m) <= 1)
    np.testing.assert_array_equal(mom.C, mom.C.T)
    assert np.all(np.linalg.eigvalsh(mom.connected()) > -1e-10)
    # re-validating the same numbers succeeds (sample moments are always consistent)
    Moments(mom.m, mom.C, mom.n_samples)


# ---------------------------------------------------------------------------- three-point
def test_three_point_matches_loops_and_exhausts_small_n():
    rng = np.random.default_rng(3)
    X = rng.choice([-1, 1], size=(50, 5))
    triplets, T = three_point(X)
    assert triplets.shape == (10, 3)  # all 5 choose 3
    assert np.all(triplets[:, 0] < triplets[:, 1]) and np.all(triplets[:, 1] < triplets[:, 2])
    m = X.mean(0)
    for (i, j, k), t in zip(triplets, T, strict=True):
        expected = np.mean((X[:, i] - m[i]) * (X[:, j] - m[j]) * (X[:, k] - m[k]))
        assert t == pytest.approx(expected)


def test_three_point_given_triplets_and_random_subset():
    model = IsingModel(np.array([0.4, -0.2, 0.3, 0.1]), np.zeros((4, 4)))
    X = model.sample(40_000, random_state=1)
    _, T = three_point(X, np.array([[0, 1, 2], [1, 2, 3]]))
    # independent spins: connected three-point correlations vanish
    np.testing.assert_allclose(T, 0.0, atol=5 / np.sqrt(40_000))
    rng = np.random.default_rng(0)
    Y = rng.choice([-1, 1], size=(20, 30))
    trip, T2 = three_point(Y, n_triplets=50, random_state=0)
    assert trip.shape[0] <= 50 and T2.shape == (trip.shape[0],)
    assert len({tuple(t) for t in trip}) == trip.shape[0]
    np.testing.assert_array_equal(trip, three_point(Y, n_triplets=50, random_state=0)[0])


def test_three_point_validation():
    X = np.ones((4, 5))
    with pytest.raises(ValueError, match=r"shape \(K, 3\)"):
        three_point(X, np.array([[0, 1]]))
    with pytest.raises(ValueError, match=r"lie in \[0, 5\)"):
        three_point(X, np.array([[0, 1, 7]]))
    with pytest.raises(ValueError, match="at least 3 spins"):
        three_point(np.ones((4, 2)))


def test_small_problems_run_blas_single_threaded_and_restore():
    from threadpoolctl import threadpool_info, threadpool_limits

    from maxent._threads import MIN_THREADED_WORK, single_thread_if_small

    def blas_threads() -> list[int]:
        return [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]

    with threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        assert before and all(n == 2 for n in before)
        with single_thread_if_small(100, work=MIN_THREADED_WORK):
            assert all(n == 1 for n in blas_threads())
        assert blas_threads() == before
        with single_thread_if_small(256, work=1e12):  # not small: left alone
            assert blas_threads() == before
        with single_thread_if_small(100, work=MIN_THREADED_WORK - 1):  # single-threaded anyway
            assert blas_threads() == before
        X = np.where(np.random.default_rng(0).random((300, 40)) < 0.5, 1, -1)
        mom = Moments.from_samples(X)  # M N^2 above the threshold: the limited path
        np.testing.assert_allclose(mom.C, X.T @ X / 300, rtol=0, atol=1e-14)
        assert blas_threads() == before


@pytest.mark.parametrize("dtype", [np.int8, np.float64])
def test_from_samples_float32_product_is_exact(dtype):
    # X^T X runs in float32: exact because every partial sum is an integer of magnitude <= M
    rng = np.random.default_rng(11)
    X = rng.choice(np.array([-1, 1], dtype=dtype), size=(30_001, 17), p=[0.2, 0.8])
    mom = Moments.from_samples(X)
    Xi = X.astype(np.int64)
    M = X.shape[0]
    np.testing.assert_array_equal(mom.C, (Xi.T @ Xi).astype(np.float64) / M)
    np.testing.assert_array_equal(mom.m, Xi.sum(0).astype(np.float64) / M)

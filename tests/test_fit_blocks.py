"""fit_blocks: one clone of the estimator per block, in parallel, nothing skipped silently."""

from __future__ import annotations

import numpy as np
import pytest
from joblib import parallel_config

from maxent import IsingModel, WeightSamples
from maxent.fit.blocks import BlockFitError, fit_blocks
from maxent.fit.exact import ExactBoltzmann
from maxent.fit.mean_field import MeanField


@pytest.fixture(scope="module")
def samples():
    # widths 3-2-2: W1 = 6 weights, W2 = 4 weights, 10 in all
    truth = IsingModel.random_sk(10, beta=0.5, h_std=0.3, random_state=0)
    X = truth.sample(4000, random_state=1)
    M = X.shape[0]
    return WeightSamples(X, (3, 2, 2), accuracy=np.full(M, 0.9), train_accuracy=np.full(M, 0.95))


def test_every_block_and_full_fitted_like_a_direct_fit(samples):
    est = MeanField("tap")
    out = fit_blocks(samples, est)
    assert list(out) == ["W1", "W2", "full"]
    for name, n in [("W1", 6), ("W2", 4), ("full", 10)]:
        fitted = out[name]
        assert fitted is not est and fitted.J_.shape == (n, n)
        direct = MeanField("tap").fit(samples.block(name))
        np.testing.assert_array_equal(fitted.J_, direct.J_)
        np.testing.assert_array_equal(fitted.h_, direct.h_)
    assert not hasattr(est, "J_")  # the template is cloned, never fitted


def test_parallel_equals_serial(samples):
    serial = fit_blocks(samples, ExactBoltzmann(), n_jobs=1)
    with parallel_config(backend="threading"):
        threaded = fit_blocks(samples, ExactBoltzmann(), n_jobs=2)
    processes = fit_blocks(samples, MeanField(), n_jobs=2)  # default (process) backend
    for name in serial:
        np.testing.assert_allclose(threaded[name].J_, serial[name].J_, atol=1e-12)
        np.testing.assert_array_equal(processes[name].J_, MeanField().fit(samples.block(name)).J_)


def test_block_selection(samples):
    out = fit_blocks(samples, MeanField(), blocks=["W2"], include_full=False)
    assert list(out) == ["W2"]
    out = fit_blocks(samples, MeanField(), blocks=["W2", "full"])
    assert list(out) == ["W2", "full"]
    with pytest.raises(KeyError, match=r"unknown block\(s\) \['W7'\]; available: \['W1', 'W2'\]"):
        fit_blocks(samples, MeanField(), blocks=["W7"])
    with pytest.raises(ValueError, match="duplicate"):
        fit_blocks(samples, MeanField(), blocks=["W1", "W1"])
    with pytest.raises(ValueError, match="no blocks"):
        fit_blocks(samples, MeanField(), blocks=[], include_full=False)
    with pytest.raises(TypeError, match="WeightSamples"):
        fit_blocks(samples.spins, MeanField())
    with pytest.raises(TypeError, match="IsingEstimator"):
        fit_blocks(samples, object())


def test_a_failing_block_is_named_not_skipped(samples):
    spins = samples.spins.copy()
    spins[:, 7] = 1  # a constant weight in W2
    bad = WeightSamples(spins, samples.widths, samples.accuracy, samples.train_accuracy)
    with pytest.raises(BlockFitError, match=r"block 'W2' \(4 spins.*constant") as info:
        fit_blocks(bad, MeanField(), blocks=["W1", "W2"], include_full=False)
    assert isinstance(info.value.__cause__, ValueError)

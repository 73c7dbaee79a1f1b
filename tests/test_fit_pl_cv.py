"""PseudoLikelihoodCV: folds of whole runs, and a penalty grid extended past its edges."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from maxent.fit.pseudolikelihood import PseudoLikelihoodCV, _group_folds
from maxent.model.ising import IsingModel


def _samples(n=12, M=300, beta=0.8, seed=0):
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0, beta / np.sqrt(n), (n, n)), 1)
    return IsingModel(rng.normal(0, 0.2, n), J + J.T).sample(M, "exact", random_state=seed)


def test_group_folds_never_split_a_group():
    groups = np.repeat(np.arange(20), 3)
    folds = _group_folds(groups, 4, seed=1)
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(60))
    for tr, te in folds:
        assert not set(groups[tr]) & set(groups[te])
    with pytest.raises(ValueError, match="groups"):
        _group_folds(np.arange(3), 4, seed=0)


def test_cv_with_groups_uses_run_folds():
    X = _samples()
    groups = np.repeat(np.arange(100), 3)
    est = PseudoLikelihoodCV(alphas=[0.01, 0.1], cv=3, random_state=0).fit(X, groups=groups)
    assert est.alpha_ in (0.01, 0.1)
    with pytest.raises(ValueError, match="groups"):
        PseudoLikelihoodCV(cv=3).fit(X, groups=np.arange(5))


def test_grid_is_extended_when_the_choice_sits_on_an_edge():
    """Independent spins: the more the couplings are penalized the better; a grid stopping at 0.1
    is extended upward (by its ratio, x10) and, still on the edge after max_extend steps, warns."""
    rng = np.random.default_rng(0)
    X = np.where(rng.random((100, 20)) < 0.5, 1, -1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = PseudoLikelihoodCV(alphas=[0.01, 0.1], alpha_h=0.01, cv=3, max_extend=2, random_state=0).fit(X)
    tried = sorted(est.cv_results_["alpha"].unique())
    np.testing.assert_allclose(tried, [0.01, 0.1, 1.0, 10.0])
    assert est.alpha_ == pytest.approx(10.0) and est.on_edge_
    assert any("not bracketed" in str(w.message) for w in caught)
    assert np.isfinite(est.score_se_) and est.score_se_ > 0


def test_interior_choice_is_not_extended():
    X = _samples(beta=1.0, M=400)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = PseudoLikelihoodCV(alphas=[1e-4, 1e-2, 1.0, 100.0], cv=3, random_state=0).fit(X)
    assert not est.on_edge_ and est.alpha_ in (1e-2, 1.0)
    assert len(est.cv_results_["alpha"].unique()) == 4
    assert not any("not bracketed" in str(w.message) for w in caught)

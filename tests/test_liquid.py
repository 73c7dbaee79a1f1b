"""Tests of maxent.geometry.liquid: the per-block liquidity table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from maxent.data.moments import Moments
from maxent.data.samples import WeightSamples
from maxent.geometry.landscape import entropy_landscape
from maxent.geometry.liquid import COLUMNS, landscape_area, liquidity
from maxent.model.ising import IsingModel

X_GRID = np.linspace(-3.0, 3.0, 25)  # coarse tilt grid: fast, enough for the oracles below


def _hb(p):
    p = np.clip(p, 1e-300, 1.0)
    q = np.clip(1.0 - p, 1e-300, 1.0)
    return -(p * np.log(p) + q * np.log(q))


def _sk(n, beta, h_std, seed):
    return IsingModel.random_sk(n, beta=beta, h_std=h_std, random_state=seed)


def test_independent_unbiased_block_is_exactly_liquid():
    n = 10
    model = IsingModel(np.zeros(n), np.zeros((n, n)))
    X = model.sample(500, random_state=0)
    df = liquidity({"free": model}, {"free": X}, x=X_GRID)
    row = df.iloc[0]
    assert list(df.columns) == COLUMNS
    assert row["mean_abs_J"] == 0 and row["rms_J"] == 0
    assert row["bethe_entropy"] == pytest.approx(np.log(2), abs=1e-12)
    assert row["entropy_gap"] == pytest.approx(0.0, abs=1e-12)
    assert abs(row["landscape_area"]) < 1e-10  # s(d) = s_ub(d) exactly for free spins
    assert row["bp_converged"] and row["landscape_converged"]
    assert row["reference"] == "medium" and row["n_samples"] == 500


def test_independent_block_with_fields_has_zero_gap_and_the_expected_area():
    """J = 0: spins stay independent under the tilt; the area has a closed form on the grid."""
    rng = np.random.default_rng(1)
    n = 8
    h = rng.normal(0, 0.7, n)
    model = IsingModel(h, np.zeros((n, n)))
    ref = rng.choice([-1, 1], n)
    m = np.tanh(h)
    exact = Moments(m, np.outer(m, m) + np.diag(1 - m**2))
    df = liquidity({"b": model}, {"b": exact}, references={"b": ref}, x=X_GRID)
    row = df.iloc[0]
    assert row["entropy_gap"] == pytest.approx(0.0, abs=1e-12)
    assert row["independent_entropy"] == pytest.approx(np.mean(_hb((1 + np.tanh(h)) / 2)), abs=1e-12)
    assert row["m_mismatch"] == pytest.approx(0.0, abs=1e-12)
    assert row["n_samples"] == 0 and row["reference"] == "given"
    # oracle: d_i(x) = (1 - ref_i tanh(h_i + x ref_i)) / 2, s = mean_i H(d_i), trapezoid in d
    d_i = (1 - ref[None, :] * np.tanh(h[None, :] + X_GRID[:, None] * ref[None, :])) / 2
    d = d_i.mean(axis=1)
    s = _hb(d_i).mean(axis=1)
    order = np.argsort(d)
    gap = _hb(d[order]) - s[order]
    expected = np.sum(0.5 * (gap[1:] + gap[:-1]) * np.diff(d[order]))
    assert expected > 1e-3  # fields not aligned with the reference cost entropy (concavity)
    assert row["landscape_area"] == pytest.approx(expected, rel=1e-6)


def test_coupled_block_is_less_random_than_weak_one():
    weak, strong = _sk(14, 0.2, 0.3, 0), _sk(14, 0.8, 0.3, 1)
    models = {"weak": weak, "strong": strong}
    data = {k: m.sample(4000, random_state=2) for k, m in models.items()}
    df = liquidity(models, data, x=X_GRID).set_index("block")
    assert df.loc["strong", "mean_abs_J"] > 3 * df.loc["weak", "mean_abs_J"]
    assert df.loc["strong", "mean_abs_connected"] > 2 * df.loc["weak", "mean_abs_connected"]
    for b in models:
        assert df.loc[b, "bethe_entropy"] < df.loc[b, "independent_entropy"]
    assert df.loc["strong", "entropy_gap"] > 5 * df.loc["weak", "entropy_gap"] > 0
    assert df.loc["strong", "landscape_area"] > df.loc["weak", "landscape_area"] > 0
    # the Bethe entropy of a weakly coupled block is close to the exact one
    assert df.loc["weak", "bethe_entropy"] == pytest.approx(weak.entropy() / 14, abs=2e-4)
    assert df["bp_converged"].all()


def test_table_columns_order_and_statistics():
    models = {"W2": _sk(6, 0.5, 0.2, 3), "W1": _sk(9, 0.5, 0.2, 4)}
    data = {k: m.sample(300, random_state=5) for k, m in models.items()}
    df = liquidity(models, data, landscape=False)
    assert df["block"].tolist() == ["W2", "W1"]  # the order given, not sorted
    assert df["n_spins"].tolist() == [6, 9]
    assert df["landscape_area"].isna().all() and (df["reference"] == "none").all()
    for _, row in df.iterrows():
        J = models[row["block"]].J
        n = J.shape[0]
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        X = data[row["block"]].astype(float)
        conn = [abs(np.mean(X[:, i] * X[:, j]) - X[:, i].mean() * X[:, j].mean()) for i, j in pairs]
        assert row["mean_abs_J"] == pytest.approx(np.mean([abs(J[i, j]) for i, j in pairs]))
        assert row["rms_J"] == pytest.approx(np.sqrt(np.mean([J[i, j] ** 2 for i, j in pairs])))
        assert row["mean_abs_connected"] == pytest.approx(np.mean(conn))
        assert row["entropy_gap"] == pytest.approx(row["independent_entropy"] - row["bethe_entropy"])


def test_references_by_kind_index_and_weight_samples():
    widths = (3, 2, 2)  # W1: 6 spins, W2: 4 spins
    rng = np.random.default_rng(6)
    X = rng.choice([-1, 1], size=(40, 10)).astype(np.int8)
    ws = WeightSamples(X, widths, accuracy=np.full(40, 0.9), train_accuracy=np.full(40, 0.95))
    models = {"W1": _sk(6, 0.4, 0.1, 7), "W2": _sk(4, 0.4, 0.1, 8)}
    df = liquidity(models, ws, references={"W1": "low", "W2": 3}, x=X_GRID)
    assert df["reference"].tolist() == ["low", "sample 3"]
    # the area equals the one computed from the landscape of the same reference
    land = entropy_landscape(models["W2"], X[3, 6:], x=X_GRID, sweep="down")
    assert df["landscape_area"].iloc[1] == pytest.approx(landscape_area(land))
    df_all = liquidity(models, ws, references="high", x=X_GRID)
    assert (df_all["reference"] == "high").all()


def test_moments_only_block_warns_and_has_no_area():
    model = _sk(5, 0.3, 0.1, 9)
    m, C = model.moments()
    with pytest.warns(UserWarning, match="moments only"):
        df = liquidity({"b": model}, {"b": Moments(m, C)}, x=X_GRID)
    assert np.isnan(df["landscape_area"].iloc[0]) and df["reference"].iloc[0] == "none"
    assert np.isfinite(df["bethe_entropy"].iloc[0])


def test_landscape_area_needs_a_landscape_table():
    with pytest.raises(ValueError, match="missing columns"):
        landscape_area(pd.DataFrame({"d": [0.1]}))
    df = pd.DataFrame({"sweep": ["down"], "d": [0.2], "entropy": [0.5], "converged": [True]})
    assert np.isnan(landscape_area(df))


def test_bad_input():
    model = _sk(5, 0.3, 0.1, 0)
    X = model.sample(50, random_state=0)
    with pytest.raises(ValueError, match="non-empty"):
        liquidity({}, {})
    with pytest.raises(ValueError, match="no samples or moments for blocks \\['b'\\]"):
        liquidity({"b": model}, {"a": X})
    with pytest.raises(TypeError, match="IsingModel"):
        liquidity({"b": (model.h, model.J)}, {"b": X})
    with pytest.raises(ValueError, match="block 'b'.*only \\+1 and -1"):
        liquidity({"b": model}, {"b": np.where(X > 0, 1, 0)})
    with pytest.raises(ValueError, match="block 'b'.*4 spins but the model has 5"):
        liquidity({"b": model}, {"b": X[:, :4]})
    with pytest.raises(ValueError, match="2-D"):
        liquidity({"b": model}, {"b": X[0]})
    with pytest.raises(ValueError, match="references\\['b'\\]"):
        liquidity({"b": model}, {"b": X}, references={"b": np.ones(4)})
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        liquidity({"b": model}, {"b": X}, references={"b": np.array([1, 0, 1, 1, 1])})
    with pytest.raises(ValueError, match="reference must be one of"):
        liquidity({"b": model}, {"b": X}, references="typical")
    with pytest.raises(ValueError, match="unknown blocks"):
        liquidity({"b": model}, {"b": X}, references={"c": "low"})
    with pytest.raises(IndexError, match="out of range"):
        liquidity({"b": model}, {"b": X}, references={"b": 50})


def test_reference_classes_are_energy_terciles_of_the_well_performing_samples():
    from maxent.geometry.liquid import reference_classes

    rng = np.random.default_rng(0)
    n = 10
    J = np.triu(rng.normal(0, 0.3, (n, n)), 1)
    model = IsingModel(rng.normal(0, 0.2, n), J + J.T)
    S = np.where(rng.random((90, n)) < 0.5, 1, -1).astype(np.int8)
    acc = np.r_[np.full(45, 0.9), np.full(45, 0.1)]  # only the first half performs well
    refs = reference_classes(model, S, 4, accuracy=acc, random_state=1)
    good = {tuple(r) for r in S[:45]}
    E = {k: model.energy(v.astype(float)) for k, v in refs.items()}
    assert all(len(v) == 4 for v in refs.values())
    assert all(tuple(r) in good for v in refs.values() for r in v)
    assert E["low"].max() <= E["medium"].min() and E["medium"].max() <= E["high"].min()
    with pytest.raises(ValueError, match="n_per_class"):
        reference_classes(model, S, 0)


def test_landscape_liquidity_of_free_unbiased_spins_is_zero():
    """J = 0, h = 0: the tilted spins are independent with equal distances, s(d) = s_ub(d)
    exactly, so area and largest gap vanish for every reference."""
    from maxent.geometry.liquid import landscape_liquidity

    n = 12
    model = IsingModel(np.zeros(n), np.zeros((n, n)))
    rng = np.random.default_rng(2)
    refs = {"low": np.where(rng.random((2, n)) < 0.5, 1, -1)}
    t = landscape_liquidity(model, refs, x=np.linspace(-2, 2, 21))
    assert len(t) == 2 and t["converged"].all()
    np.testing.assert_allclose(t["landscape_area"], 0.0, atol=1e-10)
    np.testing.assert_allclose(t["landscape_max_gap"], 0.0, atol=1e-10)
    # couplings open a gap
    J = np.full((n, n), 0.3)
    np.fill_diagonal(J, 0)
    t2 = landscape_liquidity(IsingModel(np.zeros(n), J), refs, x=np.linspace(-2, 2, 21))
    assert (t2["landscape_area"] > 1e-3).all() and (t2["landscape_max_gap"] > 1e-3).all()

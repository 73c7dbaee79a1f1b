"""MCMC samplers (maxent.model.sampling) against exact enumeration; exactness, reproducibility, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from maxent import IsingModel
from maxent._threads import limit_threads
from maxent.model.sampling import PersistentChains, sample_chains


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small operations stall on thread barriers on a busy shared CPU: one torch/BLAS thread."""
    with limit_threads(1):
        yield


def _features(X: np.ndarray) -> np.ndarray:
    """(..., N) spins -> (..., N + N(N-1)/2) features s_i and s_i s_j (i < j)."""
    n = X.shape[-1]
    iu = np.triu_indices(n, 1)
    return np.concatenate([X, X[..., iu[0]] * X[..., iu[1]]], axis=-1)


def _exact_features(model: IsingModel) -> np.ndarray:
    m, C = model.moments()
    return np.concatenate([m, C[np.triu_indices(model.n_spins, 1)]])


def _chain_z_scores(X: np.ndarray, n_chains: int, exact: np.ndarray, pairs: bool = True) -> np.ndarray:
    """z-scores of the MCMC moment estimates against exact values.

    Rows of X are record-major (record r of chain c at row r * n_chains + c). The time average of
    each chain is one independent estimate (chains are independent), so the spread of the
    n_chains time averages gives a standard error that includes the autocorrelation.
    """
    n_records = X.shape[0] // n_chains
    F = X[: n_records * n_chains].reshape(n_records, n_chains, -1).astype(np.float64)
    F = _features(F) if pairs else F
    per_chain = F.mean(axis=0)  # (n_chains, K)
    est = per_chain.mean(axis=0)
    se = per_chain.std(axis=0, ddof=1) / np.sqrt(n_chains)
    return (est - exact) / se


@pytest.mark.parametrize("engine", ["torch", "compiled"])
@pytest.mark.parametrize("method", ["gibbs", "metropolis"])
def test_sampler_matches_exact_moments(method, engine):
    # N = 10 spins, moderately coupled; block_size=4 exercises several field-refresh blocks
    model = IsingModel.random_sk(10, beta=1.0, h_std=0.3, random_state=1)
    n_chains = 400
    X = sample_chains(
        model.h,
        model.J,
        100 * n_chains,
        method=method,
        n_chains=n_chains,
        burn=50,
        rng=5,
        block_size=4,
        engine=engine,
    )
    z = _chain_z_scores(X, n_chains, _exact_features(model))
    # 55 moments: for Gaussian z, P(max |z| > 4.5) < 55 * 7e-6; the mean of z^2 is ~1
    # (the moments are correlated, so it scatters more than chi2/55: 0.6-1.9 seen over seeds)
    assert np.max(np.abs(z)) < 4.5
    assert 0.3 < np.mean(z**2) < 2.5
    # power: the same statistic rejects a slightly different model (fields shifted by 0.05)
    other = IsingModel(model.h + 0.05, model.J)
    z_other = _chain_z_scores(X, n_chains, _exact_features(other))
    assert np.max(np.abs(z_other)) > 8


def test_sampler_is_exact_sequential_scan_for_any_block_size_and_engine():
    # Block size only changes how the local fields are refreshed, and the compiled engine keeps
    # them by incremental updates instead: the chain must be identical (float64 fields: a decision
    # could differ only where a field lies within ~1e-15 of its threshold). block_size=1
    # recomputes every field from scratch (h_i + J_i . s), the textbook algorithm.
    model = IsingModel.random_sk(20, beta=1.5, h_std=0.2, random_state=3)
    for method in ("gibbs", "metropolis"):
        for global_flip in (False, True):
            runs = [
                sample_chains(
                    model.h,
                    model.J,
                    300,
                    method=method,
                    n_chains=30,
                    burn=5,
                    thin=2,
                    rng=9,
                    block_size=b,
                    dtype="float64",
                    global_flip=global_flip,
                    engine=engine,
                )
                for b, engine in ((1, "torch"), (7, "torch"), (64, "torch"), (64, "compiled"))
            ]
            for other in runs[1:]:
                np.testing.assert_array_equal(runs[0], other)


@pytest.mark.parametrize("method", ["gibbs", "metropolis"])
def test_compiled_kernels_follow_parameter_changes(method):
    # both compiled kernels (block fields; incremental per-chain fields, which are cached and must
    # be refreshed after set_params, after a global flip and after the states are replaced) run
    # the torch sweep's chain; a strong model (beta 4) makes the automatic choice switch kernels
    a, b = (
        IsingModel.random_sk(16, beta=beta, h_std=0.4, random_state=s) for s, beta in ((5, 1.2), (6, 4.0))
    )
    modes = {"torch": None, "blocks": -1.0, "incremental": 2.0, "auto": None}
    chains = {}
    for mode, force in modes.items():
        engine = "torch" if mode == "torch" else "compiled"
        pc = PersistentChains(
            a.h, a.J, 40, rng=2, dtype="float64", global_flip=True, engine=engine, method=method
        )
        if force is not None:
            pc._incremental_below = force
        chains[mode] = pc
    for pc in chains.values():
        pc.run(5)
        pc.set_params(b.h, b.J)
        pc.run(5)
        pc.spins = -pc.spins
        pc.run(5)
    for mode in ("blocks", "incremental", "auto"):
        np.testing.assert_array_equal(chains["torch"].states, chains[mode].states)
    inc = chains["incremental"]
    np.testing.assert_allclose(inc._fields, inc.local_fields().numpy().T, atol=1e-12)
    assert chains["auto"]._fields is not None  # its last sweeps ran on incremental fields
    assert chains["blocks"]._fields is None


def test_independent_spins_many_blocks():
    # J = 0: exact magnetizations tanh(h); N = 150 spans three default blocks of 64
    rng = np.random.default_rng(0)
    h = rng.normal(0, 0.8, 150)
    for method in ("gibbs", "metropolis"):
        X = sample_chains(h, np.zeros((150, 150)), 20000, method=method, n_chains=500, burn=5, rng=1)
        z = _chain_z_scores(X, 500, np.tanh(h), pairs=False)
        assert np.max(np.abs(z)) < 4.5  # 150 z-scores: P(max > 4.5) < 1e-3


def test_global_flip_mixes_between_mirror_valleys():
    # ordered ferromagnet (N J = 3.6): single-spin chains stay in the valley where they start
    n = 10
    J = np.full((n, n), 0.4)
    np.fill_diagonal(J, 0.0)
    h = np.random.default_rng(0).normal(0, 0.03, n)  # nearly symmetric: the move stays exact
    stuck = sample_chains(h, J, 20000, n_chains=200, burn=20, rng=0)
    per_chain = stuck.reshape(100, 200, n).mean(axis=(0, 2))
    assert np.mean(np.abs(per_chain)) > 0.95
    model = IsingModel(h, J)
    X = sample_chains(h, J, 40000, n_chains=400, burn=20, rng=0, global_flip=True)
    z = _chain_z_scores(X, 400, _exact_features(model))
    assert np.max(np.abs(z)) < 4.5


def test_reproducible_with_seed_and_shapes():
    model = IsingModel.random_sk(12, beta=1.0, random_state=2)
    a = model.sample(250, method="gibbs", n_chains=16, burn=10, random_state=42)
    b = model.sample(250, method="gibbs", n_chains=16, burn=10, random_state=42)
    c = model.sample(250, method="gibbs", n_chains=16, burn=10, random_state=43)
    assert a.dtype == np.int8 and a.shape == (250, 12)
    assert set(np.unique(a)) <= {-1, 1}
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    g1 = sample_chains(model.h, model.J, 50, method="metropolis", rng=np.random.default_rng(7))
    g2 = sample_chains(model.h, model.J, 50, method="metropolis", rng=np.random.default_rng(7))
    np.testing.assert_array_equal(g1, g2)
    # fewer samples than chains: only n chains are run, rows are still n
    assert sample_chains(model.h, model.J, 5, n_chains=64, burn=1, rng=0).shape == (5, 12)


def _frozen_ferromagnet(n: int = 6, coupling: float = 5.0) -> IsingModel:
    """Uniform ferromagnet so strong that a single-spin flip from an aligned state costs dE = 2 (n-1) J."""
    J = np.full((n, n), coupling)
    np.fill_diagonal(J, 0.0)
    return IsingModel(np.zeros(n), J)


@pytest.mark.parametrize("method", ["gibbs", "metropolis"])
def test_init_sets_the_state_each_chain_starts_from(method):
    # flipping one spin of an aligned state costs dE = 50 (acceptance ~e^-50): each chain stays
    # exactly at its initial aligned state, which identifies the start of every chain
    model = _frozen_ferromagnet()
    signs = np.array([1, -1, -1, 1, 1, 1, -1, 1])
    init = np.repeat(signs[:, None], 6, axis=1).astype(np.int8)
    X = sample_chains(model.h, model.J, 80, method=method, n_chains=8, burn=20, init=init, rng=0)
    np.testing.assert_array_equal(X.reshape(10, 8, 6), np.broadcast_to(init, (10, 8, 6)))
    # the same through IsingModel.sample (float input accepted); fewer samples than chains:
    # only the first n rows of init start chains
    Y = model.sample(3, method=method, n_chains=8, burn=5, init=init.astype(float), random_state=1)
    np.testing.assert_array_equal(Y, init[:3])


def test_init_validation():
    model = IsingModel.random_sk(5, random_state=0)
    good = np.ones((4, 5))
    for bad in (np.ones((3, 5)), np.ones((4, 6)), np.ones(5), np.ones((1, 4, 5))):
        with pytest.raises(ValueError, match=r"init has shape .* expected \(n_chains, N\) = \(4, 5\)"):
            sample_chains(model.h, model.J, 10, n_chains=4, init=bad)
    # validated against n_chains even when fewer samples than chains are drawn
    with pytest.raises(ValueError, match="init has shape"):
        sample_chains(model.h, model.J, 2, n_chains=4, init=good[:2])
    for value in (0.0, 0.5, 2.0, np.nan):
        bad = good.copy()
        bad[2, 3] = value
        with pytest.raises(ValueError, match=r"init must contain only \+1 and -1.*row 2, column 3"):
            sample_chains(model.h, model.J, 10, n_chains=4, init=bad)
    with pytest.raises(TypeError, match="init must be a numeric array"):
        sample_chains(model.h, model.J, 10, n_chains=4, init=good.astype(bool))
    with pytest.raises(ValueError, match="init has shape"):
        model.sample(10, method="gibbs", n_chains=4, init=np.ones((4, 4)))
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        model.sample(10, method="metropolis", n_chains=4, init=np.zeros((4, 5)))
    with pytest.raises(ValueError, match="MCMC only"):
        model.sample(10, method="exact", init=good)


def test_persistent_chains_api():
    model = IsingModel.random_sk(8, beta=0.5, random_state=0)
    pc = PersistentChains(model.h, model.J, 32, rng=0)
    s0 = pc.states
    assert s0.shape == (32, 8) and s0.dtype == np.int8
    pc.run(0)
    np.testing.assert_array_equal(pc.states, s0)
    pc.run(3)
    assert pc.n_sweeps_done == 3
    assert not np.array_equal(pc.states, s0)
    s1 = pc.states
    pc.set_params(np.zeros(8), np.zeros((8, 8)))  # states persist across parameter changes
    np.testing.assert_array_equal(pc.states, s1)
    H = pc.local_fields()
    np.testing.assert_allclose(H.numpy(), np.zeros((8, 32)))
    init = np.ones((32, 8), dtype=np.int8)
    pc2 = PersistentChains(model.h, model.J, 32, init=init, rng=0)
    np.testing.assert_array_equal(pc2.states, init)
    sm, sC, n = pc2.moment_sums(rao_blackwell=False)
    assert n == 32
    np.testing.assert_allclose(sm.numpy(), 32.0)
    np.testing.assert_allclose(sC.numpy(), 32.0)


def test_rao_blackwell_moments_unbiased_and_less_noisy():
    model = IsingModel.random_sk(10, beta=0.7, h_std=0.3, random_state=4)
    exact = _exact_features(model)
    pc = PersistentChains(model.h, model.J, 1000, rng=3)
    pc.run(30)
    est = {True: [], False: []}
    iu = np.triu_indices(10, 1)
    for _ in range(40):
        pc.run(1)
        for rb in (True, False):
            sm, sC, n = pc.moment_sums(rao_blackwell=rb)
            est[rb].append(np.concatenate([sm.numpy() / n, sC.numpy()[iu] / n]))
    for rb in (True, False):
        e = np.array(est[rb])
        # successive snapshots are correlated: use the spread of 8 batch means of 5 snapshots
        batch = e.reshape(8, 5, -1).mean(axis=1)
        se = batch.std(axis=0, ddof=1) / np.sqrt(8)
        assert np.max(np.abs((e.mean(axis=0) - exact) / se)) < 5.5
    sd_rb = np.array(est[True]).std(axis=0).mean()
    sd_raw = np.array(est[False]).std(axis=0).mean()
    assert sd_rb < 0.7 * sd_raw


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"n_chains": 0}, ValueError, "n_chains"),
        ({"burn": -1}, ValueError, "burn"),
        ({"thin": 0}, ValueError, "thin"),
        ({"n_chains": 2.5}, TypeError, "n_chains"),
        ({"method": "heatbath"}, ValueError, "heatbath"),
        ({"device": "tpu"}, ValueError, "device"),
        ({"dtype": "float16"}, ValueError, "dtype"),
        ({"block_size": 0}, ValueError, "block_size"),
        ({"engine": "numba"}, ValueError, "engine"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    model = IsingModel.random_sk(5, random_state=0)
    with pytest.raises(exc, match=match):
        sample_chains(model.h, model.J, 10, **kwargs)


def test_bad_n_couplings_and_device():
    model = IsingModel.random_sk(5, random_state=0)
    with pytest.raises(ValueError, match="n must be"):
        sample_chains(model.h, model.J, 0)
    J = model.J.copy()
    J[0, 1] += 0.1
    with pytest.raises(ValueError, match="symmetric"):
        sample_chains(model.h, J, 10)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            sample_chains(model.h, model.J, 10, device="cuda")
    else:
        with pytest.raises(ValueError, match="CPU only"):
            sample_chains(model.h, model.J, 10, device="cuda", engine="compiled")
    pc = PersistentChains(model.h, model.J, 4, rng=0)
    with pytest.raises(ValueError, match="N=5"):
        pc.set_params(np.zeros(6), np.zeros((6, 6)))
    with pytest.raises(ValueError, match="expected n_chains=4"):
        PersistentChains(model.h, model.J, 4, init=np.ones((3, 5)))
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        PersistentChains(model.h, model.J, 1, init=np.zeros((1, 5)))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_sampler_matches_exact_moments():
    model = IsingModel.random_sk(10, beta=1.0, h_std=0.3, random_state=1)
    n_chains = 2000
    X = sample_chains(model.h, model.J, 50 * n_chains, n_chains=n_chains, burn=50, rng=5, device="cuda")
    z = _chain_z_scores(X, n_chains, _exact_features(model))
    assert np.max(np.abs(z)) < 4.5

"""Networks, counter-based random numbers and the batched ensemble trainer.

Oracles: exact Python integers for the hash, closed-form moments for the LR-net layer, an
independent numpy forward pass for accuracies, run-by-run training for the batched trainer,
canonical forms for the gauge.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from maxent.cli import main
from maxent.data import _counter_rng as crng
from maxent.data import datasets, train
from maxent.data.nets import (
    binary_accuracy,
    forward,
    gauge_fix,
    lrnet_layer,
    lrnet_preactivation,
    spins_to_weights,
    weights_to_spins,
)
from maxent.data.samples import WeightSamples
from maxent.data.train import TrainConfig, draw_binary, sample_weights, train_runs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def teacher():
    return datasets.load("teacher", n_components=12, n_train=600, n_test=400, n_classes=4, seed=5)


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


SMALL = TrainConfig(widths=(12, 6, 4), epochs=4, batch_size=64)


def numpy_forward(spins: np.ndarray, widths, X: np.ndarray, slope: float = 0.1) -> np.ndarray:
    """Reference forward pass in float64 numpy, one network at a time: logits (P, n_L)."""
    out, start = [], 0
    a = X.astype(np.float64)
    for layer, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        W = spins[start : start + n_in * n_out].reshape(n_out, n_in).astype(np.float64)
        start += n_in * n_out
        z = a @ W.T
        if layer == len(widths) - 2:
            return z
        a = np.where(z > 0, z, slope * z) / np.sqrt(n_in)
    return np.asarray(out)


def random_spins(S, widths, seed=0):
    N = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    return np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(S, N))


# --------------------------------------------------------------------------- counter RNG
@pytest.mark.parametrize("n", [1, 7, 4099])
def test_mix32_tensor_equals_exact_python_integers(n):
    rng = np.random.default_rng(n)
    vals = np.concatenate([[0, 1, 2**31 - 1, 2**31, 2**32 - 1], rng.integers(0, 2**32, n, dtype=np.uint64)])[
        :n
    ]
    words = crng.from_unsigned(torch.tensor(vals.astype(np.int64)))
    got = crng.to_unsigned(crng.mix32(words)).tolist()
    assert got == [crng.mix32_int(int(v)) for v in vals]


def test_run_keys_are_distinct_and_depend_on_seed_and_index_only():
    k = crng.run_keys(7, torch.arange(5000))
    assert torch.unique(k).numel() == 5000
    assert torch.equal(crng.run_keys(7, [3, 4000]), k[[3, 4000]])
    assert not torch.equal(crng.run_keys(8, [3]), k[[3]])
    with pytest.raises(ValueError, match="seed"):
        crng.run_keys(-1, [0])


def test_counter_normals_and_uniforms_have_the_right_distribution():
    keys = crng.run_keys(0, torch.arange(4))
    z = crng.normal(keys, (20000,)).double()
    u = crng.uniform(crng.derive(keys, 9), (20000,)).double()
    for r in range(4):
        assert stats.kstest(z[r].numpy(), "norm").pvalue > 1e-4
        assert stats.kstest(u[r].numpy(), "uniform").pvalue > 1e-4
    assert float(u.min()) > 0 and float(u.max()) <= 1
    # streams of different runs are uncorrelated
    c = np.corrcoef(z.numpy())
    assert np.abs(c[np.triu_indices(4, 1)]).max() < 0.04
    # a run's stream is the same when drawn alone
    assert torch.equal(crng.normal(keys[2:3], (20000,))[0], crng.normal(keys, (20000,))[2])


# --------------------------------------------------------------------------- networks
def test_forward_matches_reference_convention():
    widths = (5, 4, 3, 2)
    spins = random_spins(3, widths)
    X = np.random.default_rng(1).normal(size=(11, 5)).astype(np.float32)
    W = spins_to_weights(torch.tensor(spins, dtype=torch.float32), widths)
    got = forward(W, torch.tensor(X)).numpy()
    for s in range(3):
        np.testing.assert_allclose(got[s], numpy_forward(spins[s], widths, X), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(weights_to_spins(spins_to_weights(spins, widths)), spins)


def test_lrnet_preactivation_moments_match_the_closed_form_and_binary_weights():
    g = torch.Generator().manual_seed(0)
    S, n_in, n_out, B = 2, 9, 3, 4
    theta = torch.randn(S, n_out, n_in, generator=g) * 1.5
    mu = torch.tanh(theta / 2)  # = 2 sigmoid(theta) - 1
    a = torch.randn(S, n_in, B, generator=g)
    mean = torch.bmm(mu, a).double()
    var = torch.bmm(1 - mu**2, a**2).double()
    draws = 40000
    noise = crng.normal(crng.run_keys(1, torch.arange(S)), (draws, n_out, B))  # (S, draws, n_out, B)
    z = (
        lrnet_preactivation(
            a.repeat_interleave(draws, 0), mu.repeat_interleave(draws, 0), noise.reshape(S * draws, n_out, B)
        )
        .reshape(S, draws, n_out, B)
        .double()
    )
    se = torch.sqrt(var / draws)
    assert torch.all((z.mean(1) - mean).abs() < 5 * se)
    assert torch.all((z.var(1) / var - 1).abs() < 5 * np.sqrt(2 / draws))
    # the closed form is the exact mean/variance of z = W a for w ~ Bernoulli(sigmoid(theta)) on ±1
    p = torch.sigmoid(theta)
    w = torch.where(torch.rand(draws, S, n_out, n_in, generator=g) < p, 1.0, -1.0)
    zb = torch.einsum("dsoi,sib->dsob", w, a).double()
    assert torch.all((zb.mean(0) - mean).abs() < 5 * se)
    assert torch.all((zb.var(0) / var - 1).abs() < 5 * np.sqrt(2 / draws) + 0.02)


def _has_tied_hidden_units(spins, widths) -> bool:
    """Two hidden units of a layer with the same incoming row (invariant under permutations)."""
    for W in spins_to_weights(spins, widths)[:-1]:
        for s in range(W.shape[0]):
            if np.unique(W[s], axis=0).shape[0] < W.shape[1]:
                return True
    return False


def test_fused_lrnet_layer_equals_the_reference_and_passes_gradcheck():
    g = torch.Generator().manual_seed(3)
    a = torch.randn(3, 5, 7, generator=g, dtype=torch.float64, requires_grad=True)
    mu = torch.tanh(torch.randn(3, 4, 5, generator=g, dtype=torch.float64)).requires_grad_(True)
    noise = torch.randn(3, 4, 7, generator=g, dtype=torch.float64)
    scale = 0.37
    z = lrnet_layer(a, mu, noise, scale)
    z_ref = lrnet_preactivation(scale * a, mu, noise)
    torch.testing.assert_close(z, z_ref)
    w = torch.randn(z.shape, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad((z * w).sum(), (a, mu))
    grads_ref = torch.autograd.grad((z_ref * w).sum(), (a, mu))
    for got, want in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(got, want)
    assert torch.autograd.gradcheck(lambda a, mu: lrnet_layer(a, mu, noise, scale), (a, mu))


@settings(max_examples=30, deadline=None)
@given(
    widths=st.lists(st.integers(1, 7), min_size=3, max_size=5).map(tuple),
    seed=st.integers(0, 10_000),
)
def test_gauge_sort_keeps_outputs_and_is_canonical(widths, seed):
    spins = random_spins(4, widths, seed)
    X = np.random.default_rng(seed).normal(size=(13, widths[0]))
    fixed = gauge_fix(spins, widths, "sort")
    for s in range(4):
        np.testing.assert_allclose(
            numpy_forward(fixed[s], widths, X), numpy_forward(spins[s], widths, X), rtol=1e-9, atol=1e-9
        )
    np.testing.assert_array_equal(gauge_fix(fixed, widths, "sort"), fixed)  # idempotent
    if _has_tied_hidden_units(spins, widths):
        return  # units with identical incoming rows keep their order: canonical only up to those
    # permute the hidden units of every network at random: the canonical form does not change
    rng = np.random.default_rng(seed + 1)
    layers = [np.array(W) for W in spins_to_weights(spins, widths)]
    for l in range(len(layers) - 1):
        perm = np.stack([rng.permutation(widths[l + 1]) for _ in range(4)])
        layers[l] = np.take_along_axis(layers[l], perm[:, :, None], axis=1)
        layers[l + 1] = np.take_along_axis(layers[l + 1], perm[:, None, :], axis=2)
    shuffled = weights_to_spins(layers)
    np.testing.assert_array_equal(gauge_fix(shuffled, widths, "sort"), fixed)
    # hidden rows of the first layer come out in lexicographic order
    W1 = spins_to_weights(fixed, widths)[0]
    for s in range(4):
        rows = [tuple(r) for r in W1[s]]
        assert rows == sorted(rows)


def test_binary_accuracy_matches_numpy(teacher):
    widths = (12, 6, 4)
    spins = random_spins(5, widths, 3)
    got = binary_accuracy(spins, widths, teacher.X_test, teacher.y_test, chunk=97)
    want = [np.mean(numpy_forward(s, widths, teacher.X_test).argmax(1) == teacher.y_test) for s in spins]
    np.testing.assert_allclose(got, want)


def test_training_forward_uses_the_same_network_convention_as_evaluation(teacher):
    """STE's training loss is the cross-entropy of nets.forward with the sign weights (deep net)."""
    cfg = TrainConfig(widths=(12, 6, 5, 4), method="ste")
    params = torch.randn(3, cfg.n_weights, generator=torch.Generator().manual_seed(0))
    X = torch.tensor(teacher.X_train[:50])
    y = torch.tensor(teacher.y_train[:50])
    loss = train._batch_loss(params, X.t().expand(3, -1, -1).contiguous(), y.expand(3, -1), None, cfg)
    signs = torch.where(params >= 0, 1.0, -1.0)
    logits = forward(spins_to_weights(signs, cfg.widths), X)
    want = torch.stack([torch.nn.functional.cross_entropy(logits[r], y) for r in range(3)])
    torch.testing.assert_close(loss, want, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------- config
def test_config_defaults_round_trip_and_validation(digits):
    c = TrainConfig()
    assert c.widths == (20, 15, 15, 10) and c.method == "lrnet" and c.batch_size == 200
    assert c.lr == train.DEFAULT_LR["lrnet"] and TrainConfig(method="ste").lr == train.DEFAULT_LR["ste"]
    assert TrainConfig.from_dict(c.to_dict()) == c
    assert c.n_weights == 675
    c.check_dataset(digits)
    for kwargs, message in [
        ({"lr": -0.1}, "lr must be a finite number > 0"),
        ({"lr": float("nan")}, "lr must be"),
        ({"epochs": 0}, "epochs must be an integer >= 1"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"widths": (20,)}, "at least two"),
        ({"widths": (20, 0, 10)}, "at least two positive"),
        ({"widths": (20, 1)}, "at least 2 classes"),
        ({"method": "adam"}, "unknown method"),
        ({"weight_decay": -1}, "weight_decay"),
        ({"slope": 1.5}, "slope"),
        ({"lr_schedule": "step"}, "lr_schedule"),
    ]:
        with pytest.raises(ValueError, match=message):
            TrainConfig(**kwargs)
    with pytest.raises(ValueError, match="unknown TrainConfig keys \\['epoch'\\]"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match="start with 784 inputs but the dataset has 20 features"):
        TrainConfig(widths=(784, 10)).check_dataset(digits)
    with pytest.raises(ValueError, match="end with 2 outputs but the dataset has 10 classes"):
        TrainConfig(widths=(20, 2)).check_dataset(digits)


# --------------------------------------------------------------------------- trainer
@pytest.mark.parametrize("method", ["lrnet", "ste"])
def test_batched_training_equals_one_run_at_a_time(teacher, method):
    cfg = TrainConfig(widths=(12, 6, 4), epochs=3, batch_size=64, method=method)
    ids = [0, 1, 5]
    together = train_runs(teacher, cfg, run_ids=ids, seed=3)
    alone = [train_runs(teacher, cfg, run_ids=[r], seed=3) for r in ids]
    params = torch.cat([a.params for a in alone])
    torch.testing.assert_close(together.params, params, rtol=1e-5, atol=1e-5)
    assert torch.equal(together.keys, torch.cat([a.keys for a in alone]))
    np.testing.assert_allclose(together.final_loss, np.concatenate([a.final_loss for a in alone]), rtol=1e-5)
    if method == "lrnet":
        drawn = draw_binary(together, cfg, 2)
        assert drawn.shape == (6, cfg.n_weights)
        assert torch.equal(drawn[2:4], draw_binary(alone[1], cfg, 2))


def test_sample_weights_is_reproducible_bit_for_bit_and_chunk_independent(teacher):
    kw = {"n_runs": 5, "draws_per_run": 2, "seed": 11, "progress": False}
    a = sample_weights(teacher, SMALL, **kw)
    torch.use_deterministic_algorithms(True)  # every op of the trainer has a deterministic kernel
    try:
        b = sample_weights(teacher, SMALL, **kw, chunk_size=2)
    finally:
        torch.use_deterministic_algorithms(False)
    np.testing.assert_array_equal(a.spins, b.spins)
    np.testing.assert_array_equal(a.accuracy, b.accuracy)
    np.testing.assert_array_equal(a.train_accuracy, b.train_accuracy)
    assert a.meta["run_keys"] == b.meta["run_keys"]
    c = sample_weights(teacher, SMALL, **{**kw, "seed": 12})
    assert not np.array_equal(a.spins, c.spins)
    np.testing.assert_array_equal(a.run, np.repeat(np.arange(5), 2))
    assert a.spins.shape == (10, 12 * 6 + 6 * 4) and a.spins.dtype == np.int8
    # draws of one run differ (the LR-net keeps uncertain weights after 4 epochs)
    assert not np.array_equal(a.spins[0], a.spins[1])
    # recorded accuracies are those of the sampled binary networks
    for i in (0, 7):
        pred = numpy_forward(a.spins[i], SMALL.widths, teacher.X_test).argmax(1)
        assert a.accuracy[i] == pytest.approx(np.mean(pred == teacher.y_test))
    meta = a.meta
    assert meta["config"] == SMALL.to_dict() and meta["seed"] == 11 and meta["gauge"] == "none"
    assert meta["dataset"]["fingerprint"] == teacher.provenance["fingerprint"]
    assert {"maxent", "torch", "numpy", "python"} <= set(meta["versions"])


def test_gauge_option_changes_spins_not_accuracy(teacher):
    raw = sample_weights(teacher, SMALL, n_runs=4, seed=2, progress=False)
    fixed = sample_weights(teacher, SMALL, n_runs=4, seed=2, gauge="sort", progress=False)
    np.testing.assert_array_equal(fixed.spins, gauge_fix(raw.spins, SMALL.widths, "sort"))
    np.testing.assert_array_equal(
        binary_accuracy(fixed.spins, SMALL.widths, teacher.X_test, teacher.y_test), raw.accuracy
    )
    assert fixed.meta["gauge"] == "sort"


@pytest.mark.parametrize("method", ["lrnet", "ste"])
def test_learning_on_the_teacher_is_far_above_chance(teacher, method):
    cfg = TrainConfig(widths=(12, 4), method=method, epochs=40, batch_size=100)
    s = sample_weights(teacher, cfg, n_runs=8, seed=0, progress=False)
    chance = np.bincount(teacher.y_test).max() / teacher.n_test
    assert chance < 0.45
    assert s.accuracy.mean() > 0.85, s.accuracy
    assert s.accuracy.min() > chance + 0.3


def test_learning_on_digits_shallow(digits):
    cfg = TrainConfig(widths=(20, 10), epochs=60, lr=0.1)
    s = sample_weights(digits, cfg, n_runs=8, seed=0, progress=False)
    assert s.accuracy.mean() > 0.7, s.accuracy
    assert s.train_accuracy.mean() > 0.7


def test_checkpoints_resume_a_killed_collection(teacher, tmp_path, monkeypatch):
    kw = {"n_runs": 5, "seed": 4, "progress": False, "chunk_size": 2}
    full = sample_weights(teacher, SMALL, **kw)
    ckpt = tmp_path / "ckpt"
    sample_weights(teacher, SMALL, **kw, checkpoint_dir=ckpt)
    names = sorted(p.name for p in ckpt.iterdir())
    assert names == ["chunk_000000_000002.npz", "chunk_000002_000004.npz", "chunk_000004_000005.npz"]
    (ckpt / names[1]).unlink()  # as if killed while training the second chunk
    trained = []
    real = train.train_runs

    def spy(*args, **kwargs):
        trained.append(list(kwargs["run_ids"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(train, "train_runs", spy)
    resumed = sample_weights(teacher, SMALL, **kw, checkpoint_dir=ckpt)
    assert trained == [[2, 3]]
    np.testing.assert_array_equal(resumed.spins, full.spins)
    np.testing.assert_array_equal(resumed.accuracy, full.accuracy)
    with pytest.raises(ValueError, match="different arguments.*seed"):
        sample_weights(teacher, SMALL, **{**kw, "seed": 5}, checkpoint_dir=ckpt)
    with pytest.raises(ValueError, match="chunk_size or n_runs"):
        sample_weights(teacher, SMALL, **{**kw, "chunk_size": 3}, checkpoint_dir=ckpt)
    (ckpt / names[0]).write_bytes(b"garbage")
    with pytest.raises(ValueError, match="delete it"):
        sample_weights(teacher, SMALL, **kw, checkpoint_dir=ckpt)


def test_bad_trainer_input(teacher, digits):
    for kwargs, message in [
        ({"n_runs": 0}, "n_runs must be an integer >= 1"),
        ({"n_runs": 2, "draws_per_run": 0}, "draws_per_run"),
        ({"n_runs": 2, "gauge": "magic"}, "unknown gauge"),
        ({"n_runs": 2, "device": "tpu"}, "device"),
        ({"n_runs": 2, "seed": -3}, "seed"),
    ]:
        with pytest.raises(ValueError, match=message):
            sample_weights(teacher, SMALL, progress=False, **kwargs)
    with pytest.raises(ValueError, match="ste.*draws_per_run=1"):
        sample_weights(teacher, TrainConfig(widths=(12, 4), method="ste"), n_runs=1, draws_per_run=2)
    with pytest.raises(ValueError, match="12 features"):
        sample_weights(teacher, TrainConfig(), n_runs=1)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            sample_weights(teacher, SMALL, n_runs=1, device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_agrees_with_cpu(teacher):
    cfg = TrainConfig(widths=(12, 6, 4), epochs=3, batch_size=64)
    cpu = train_runs(teacher, cfg, run_ids=range(6), seed=1)
    gpu = train_runs(teacher, cfg, run_ids=range(6), seed=1, device="cuda")
    assert torch.equal(cpu.keys, gpu.keys.cpu())
    torch.testing.assert_close(gpu.params.cpu(), cpu.params, rtol=1e-3, atol=1e-3)


# --------------------------------------------------------------------------- CLI
def test_cli_sample_writes_samples_and_never_clobbers_on_failure(tmp_path):
    out = tmp_path / "s.npz"
    runner = CliRunner()
    args = ["sample", "-d", "teacher", "--n-components", "12", "-w", "12,4", "--epochs", "3", "--runs", "3"]
    res = runner.invoke(main, [*args, "--gauge", "sort", "--seed", "1", "--out", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "test accuracy" in res.output
    s = WeightSamples.load(out)
    assert s.spins.shape == (3, 48) and s.meta["gauge"] == "sort" and s.meta["config"]["epochs"] == 3
    before = out.read_bytes()
    for bad, message in [
        (["--widths", "12,x"], "comma-separated"),
        (["--runs", "0"], "n_runs must be"),
        (["--lr", "-1"], "lr must be"),
        (["-w", "20,4"], "20 inputs but the dataset has 12"),
        (["--data-path", str(tmp_path)], "path= applies"),
    ]:
        res = runner.invoke(main, [*args, *bad, "--out", str(out), "-q"])
        assert res.exit_code == 2, res.output
        assert message in res.output
        assert out.read_bytes() == before

"""WeightSamples: layout of the flat spin vector, validation, and pickle-free atomic I/O."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxent._atomic import CorruptFileError
from maxent.data.samples import WeightSamples, block_slices

DEEP = (20, 15, 15, 10)


def _random_samples(widths=DEEP, M=7, seed=0) -> WeightSamples:
    rng = np.random.default_rng(seed)
    N = sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(M, N))
    return WeightSamples(
        spins,
        widths,
        rng.uniform(0, 1, M),
        rng.uniform(0, 1, M),
        np.repeat(np.arange((M + 1) // 2), 2)[:M],
        {"seed": 3, "config": {"widths": list(widths)}, "note": "ü"},
    )


def test_deep_blocks_are_300_225_150_and_tile_the_vector():
    s = _random_samples()
    sizes = {k: sl.stop - sl.start for k, sl in s.blocks.items()}
    assert sizes == {"W1": 300, "W2": 225, "W3": 150}
    assert s.n_spins == 675
    np.testing.assert_array_equal(s.block("W2"), s.spins[:, 300:525])
    np.testing.assert_array_equal(s.block("full"), s.spins)
    with pytest.raises(KeyError, match="W4"):
        s.block("W4")


def test_weights_follow_the_documented_row_major_layout():
    s = _random_samples(widths=(3, 4, 2), M=2)
    W1, W2 = s.weights(1)
    assert W1.shape == (4, 3) and W2.shape == (2, 4)
    # W_l[o, i] sits at offset_l + o * n_in + i
    for o in range(4):
        for i in range(3):
            assert W1[o, i] == s.spins[1, o * 3 + i]
    for o in range(2):
        for i in range(4):
            assert W2[o, i] == s.spins[1, 12 + o * 4 + i]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=2, max_size=6))
def test_block_slices_are_contiguous_and_sized_by_fan_in_times_fan_out(widths):
    blocks = list(block_slices(widths).values())
    assert blocks[0].start == 0
    for prev, nxt in zip(blocks[:-1], blocks[1:], strict=True):
        assert prev.stop == nxt.start
    for sl, a, b in zip(blocks, widths[:-1], widths[1:], strict=True):
        assert sl.stop - sl.start == a * b


def test_save_load_round_trip(tmp_path):
    s = _random_samples()
    path = tmp_path / "s.npz"
    s.save(path)
    t = WeightSamples.load(path)
    np.testing.assert_array_equal(t.spins, s.spins)
    assert t.spins.dtype == np.int8
    assert t.widths == s.widths
    np.testing.assert_array_equal(t.accuracy, s.accuracy)
    np.testing.assert_array_equal(t.train_accuracy, s.train_accuracy)
    np.testing.assert_array_equal(t.run, s.run)
    assert t.meta == s.meta
    sub = t.subset(np.array([0, 2]))
    np.testing.assert_array_equal(sub.spins, s.spins[[0, 2]])
    np.testing.assert_array_equal(sub.run, s.run[[0, 2]])


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "s.npz"
    _random_samples().save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="truncated|not a valid"):
        WeightSamples.load(path)


def test_non_pm1_spins_are_refused_with_the_values_named(tmp_path):
    s = _random_samples()
    spins = s.spins.copy()
    spins[2, 5] = 0
    path = tmp_path / "bad.npz"
    np.savez(path, spins=spins, widths=np.array(DEEP), accuracy=s.accuracy, train_accuracy=s.train_accuracy)
    with pytest.raises(CorruptFileError, match=r"\+1 and -1.*0.*row 2, column 5"):
        WeightSamples.load(path)
    with pytest.raises(ValueError, match="only \\+1 and -1"):
        WeightSamples(spins, DEEP, s.accuracy, s.train_accuracy)


def test_pickled_arrays_are_refused(tmp_path):
    s = _random_samples()
    path = tmp_path / "pickled.npz"
    np.savez(
        path,
        spins=s.spins,
        widths=np.array(DEEP),
        accuracy=s.accuracy,
        train_accuracy=s.train_accuracy,
        extra=np.array([{"evil": 1}], dtype=object),
    )
    with zipfile.ZipFile(path) as zf:
        assert "extra.npy" in zf.namelist()
    with pytest.raises(CorruptFileError, match="pickle|not a valid"):
        WeightSamples.load(path)


def test_missing_arrays_and_wrong_shapes_are_refused(tmp_path):
    s = _random_samples()
    path = tmp_path / "partial.npz"
    np.savez(path, spins=s.spins, widths=np.array(DEEP))
    with pytest.raises(CorruptFileError, match="accuracy"):
        WeightSamples.load(path)
    with pytest.raises(ValueError, match="675 weights"):
        WeightSamples(s.spins[:, :600], DEEP, s.accuracy, s.train_accuracy)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        WeightSamples(s.spins, DEEP, s.accuracy + 1.0, s.train_accuracy)
    with pytest.raises(FileNotFoundError):
        WeightSamples.load(tmp_path / "absent.npz")


def test_failed_save_leaves_existing_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "s.npz"
    good = _random_samples(seed=1)
    good.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError, match="disk full"):
        _random_samples(seed=2).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz"]

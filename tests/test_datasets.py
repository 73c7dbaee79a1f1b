"""Datasets: PCA preprocessing against scikit-learn, IDX parsing, local MNIST files, the teacher."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxent._atomic import CorruptFileError
from maxent.data import datasets
from maxent.data.datasets import IDX_FILES, Dataset, read_idx

_IDX_CODES = {
    np.uint8: 0x08,
    np.int8: 0x09,
    np.int16: 0x0B,
    np.int32: 0x0C,
    np.float32: 0x0D,
    np.float64: 0x0E,
}


def write_idx(path, arr: np.ndarray, *, gz: bool = False) -> None:
    """Write ``arr`` in the IDX format (independent of the reader under test)."""
    code = _IDX_CODES[arr.dtype.type]
    header = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    payload = header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(payload) if gz else payload)


# --------------------------------------------------------------------------- digits
@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


def test_digits_shapes_dtypes_and_split(digits):
    assert digits.X_train.shape == (1437, 20) and digits.X_test.shape == (360, 20)
    assert digits.X_train.dtype == np.float32 and digits.y_train.dtype == np.int64
    assert digits.n_classes == 10 and digits.n_features == 20
    # stratified: every class in both splits with the same proportions (to one example)
    tr = np.bincount(digits.y_train, minlength=10) / 1437
    te = np.bincount(digits.y_test, minlength=10) / 360
    assert np.all(np.abs(tr - te) < 1.5 / 360 + 1e-9)
    assert not digits.X_train.flags.writeable
    with pytest.raises(AttributeError):
        digits.n_classes = 3  # frozen


def test_digits_pca_matches_sklearn_fitted_on_the_training_split(digits):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, _, _ = train_test_split(X / 16.0, y, test_size=0.2, random_state=0, stratify=y)
    pca = PCA(n_components=20, svd_solver="full").fit(X_tr)
    Z_tr, Z_te = pca.transform(X_tr), pca.transform(X_te)
    # global scaling: one factor, the rms of the component stds on the training set
    scale = np.sqrt(np.mean(Z_tr.var(axis=0)))
    sign = np.sign(np.sum(Z_tr * digits.X_train, axis=0))  # PCA axes are defined up to sign
    np.testing.assert_allclose(digits.X_train, Z_tr / scale * sign, atol=2e-5)
    np.testing.assert_allclose(digits.X_test, Z_te / scale * sign, atol=2e-5)
    np.testing.assert_allclose(
        digits.provenance["explained_variance_ratio"], pca.explained_variance_ratio_, rtol=1e-6
    )
    # zero mean, average variance 1, PCA variance ratios kept
    np.testing.assert_allclose(digits.X_train.mean(axis=0), 0, atol=1e-5)
    var = digits.X_train.var(axis=0)
    assert var.mean() == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(
        var / var.sum(), pca.explained_variance_ / pca.explained_variance_.sum(), rtol=1e-4
    )


def test_component_scaling_whitens_the_training_inputs():
    ds = datasets.load("digits", n_components=8, scaling="component", seed=3)
    np.testing.assert_allclose(ds.X_train.var(axis=0), 1.0, rtol=1e-5)
    assert ds.provenance["scaling"] == "component"


def test_pca_never_sees_the_test_split():
    rng = np.random.default_rng(0)
    X_tr, X_te = rng.normal(size=(50, 12)), rng.normal(size=(20, 12))
    y_tr, y_te = rng.integers(0, 3, 50), rng.integers(0, 3, 20)
    args = ("toy", X_tr, y_tr)
    a = datasets._pca_dataset(*args, X_te, y_te, 3, 5, None, 0, {})
    b = datasets._pca_dataset(*args, 100.0 * X_te + 7.0, y_te, 3, 5, None, 0, {})
    np.testing.assert_array_equal(a.X_train, b.X_train)
    np.testing.assert_allclose(b.X_test, 100.0 * a.X_test + (b.X_test - 100.0 * a.X_test).mean(0), atol=1e-3)


def test_seed_and_n_train(digits):
    again = datasets.load("digits")
    np.testing.assert_array_equal(again.X_train, digits.X_train)
    assert again.provenance["fingerprint"] == digits.provenance["fingerprint"]
    other = datasets.load("digits", seed=1)
    assert other.provenance["fingerprint"] != digits.provenance["fingerprint"]
    small = datasets.load("digits", n_train=150, n_components=10)
    assert small.X_train.shape == (150, 10) and small.X_test.shape == (360, 10)
    assert small.provenance["n_train"] == 150 and small.provenance["n_train_available"] == 1437
    assert small.X_train.var(axis=0).mean() == pytest.approx(1.0, rel=1e-4)  # PCA on the subset


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "cifar"}, "unknown dataset 'cifar'"),
        ({"name": "digits", "n_train": 5000}, "n_train=5000 exceeds the 1437"),
        ({"name": "digits", "n_train": 0}, "n_train must be >= 1"),
        ({"name": "digits", "n_components": 65}, "exceeds the 64 input pixels"),
        ({"name": "digits", "n_components": 0}, "n_components must be >= 1"),
        ({"name": "digits", "n_train": 5, "n_components": 10}, "at least 11 training examples"),
        ({"name": "digits", "scaling": "zca"}, "unknown scaling"),
        ({"name": "digits", "path": "/tmp"}, "path= applies to 'mnist'"),
        ({"name": "digits", "n_test": 5}, "teacher"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        datasets.load(**kwargs)


def test_dataset_rejects_non_finite_inputs_and_bad_labels():
    X = np.zeros((4, 3))
    y = np.array([0, 1, 0, 1])
    X_nan = X.copy()
    X_nan[2, 1] = np.nan
    with pytest.raises(ValueError, match="X_train contains non-finite.*row 2"):
        Dataset(X_nan, y, X, y, 2)
    with pytest.raises(ValueError, match=r"y_test labels must lie in 0..1; found \[5\]"):
        Dataset(X, y, X, np.array([0, 1, 5, 1]), 2)
    with pytest.raises(ValueError, match="3 labels for 4 examples"):
        Dataset(X, y[:3], X, y, 2)
    with pytest.raises(ValueError, match="integer"):
        Dataset(X, y.astype(float), X, y, 2)


# --------------------------------------------------------------------------- IDX files
@settings(max_examples=25, deadline=None)
@given(
    dtype=st.sampled_from(list(_IDX_CODES)),
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    gz=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_idx_round_trip(tmp_path_factory, dtype, shape, gz, seed):
    rng = np.random.default_rng(seed)
    arr = (rng.normal(size=shape) * 50).astype(dtype)
    path = tmp_path_factory.mktemp("idx") / ("a.idx.gz" if gz else "a.idx")
    write_idx(path, arr, gz=gz)
    out = read_idx(path)
    assert out.shape == arr.shape and out.dtype == arr.dtype
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("gz", [False, True])
def test_truncated_and_malformed_idx_files_are_refused(tmp_path, gz):
    arr = np.arange(60, dtype=np.uint8).reshape(5, 3, 4)
    path = tmp_path / "x"
    write_idx(path, arr)
    raw = path.read_bytes()
    for data, message in [
        (raw[:-7], "truncated IDX data: shape \\(5, 3, 4\\) needs 60 bytes, found 53"),
        (raw[:9], "truncated IDX header"),
        (raw + b"\x00\x00", "2 unexpected trailing bytes"),
        (b"\x01\x02" + raw[2:], "not an IDX file"),
        (raw[:2] + b"\x07" + raw[3:], "not an IDX file"),
    ]:
        path.write_bytes(gzip.compress(data) if gz else data)
        with pytest.raises(CorruptFileError, match=message):
            read_idx(path)
    if gz:
        path.write_bytes(gzip.compress(raw)[:-10])
        with pytest.raises(CorruptFileError, match="corrupt or truncated gzip"):
            read_idx(path)


def _fake_mnist(folder, *, gz, n_train=40, n_test=15, side=6, seed=0):
    rng = np.random.default_rng(seed)
    parts = {
        "x_train": rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for key, fname in IDX_FILES.items():
        write_idx(folder / (fname + (".gz" if gz else "")), parts[key], gz=gz)
    return parts


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_from_idx_files_equals_mnist_from_npz(tmp_path, gz):
    parts = _fake_mnist(tmp_path / "idx", gz=gz)
    a = datasets.load("mnist", path=tmp_path / "idx", n_components=5)
    assert a.X_train.shape == (40, 5) and a.X_test.shape == (15, 5)
    np.testing.assert_array_equal(a.y_train, parts["y_train"])
    np.savez(tmp_path / "m.npz", **parts)
    b = datasets.load("fashion-mnist", path=tmp_path / "m.npz", n_components=5)
    np.testing.assert_allclose(a.X_train, b.X_train, atol=1e-6)
    np.testing.assert_allclose(a.X_test, b.X_test, atol=1e-6)
    assert a.provenance["pixel_scale"] == "pixels / 255"


def test_mnist_default_folder_and_missing_files_message(tmp_path, monkeypatch):
    monkeypatch.setenv("MAXENT_DATA", str(tmp_path / "data"))
    with pytest.raises(FileNotFoundError) as info:
        datasets.load("mnist")
    msg = str(info.value)
    assert str((tmp_path / "data" / "mnist").resolve()) in msg
    for fname in IDX_FILES.values():
        assert fname in msg
    assert "mnist.npz" in msg and "never downloads" in msg
    _fake_mnist(tmp_path / "data" / "mnist", gz=True)
    assert datasets.load("mnist", n_components=4).n_features == 4
    (tmp_path / "data" / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte\\[.gz\\] is missing"):
        datasets.load("mnist", n_components=4)


def test_bad_mnist_contents_are_refused(tmp_path):
    parts = _fake_mnist(tmp_path / "a", gz=False)
    bad = dict(parts, y_test=parts["y_test"].copy())
    bad["y_test"][3] = 12
    np.savez(tmp_path / "labels.npz", **bad)
    with pytest.raises(CorruptFileError, match="y_test labels must lie in 0..9"):
        datasets.load("mnist", path=tmp_path / "labels.npz", n_components=4)
    nan = dict(parts, x_train=parts["x_train"].astype(np.float32))
    nan["x_train"][0, 0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", **nan)
    with pytest.raises(ValueError, match="non-finite"):
        datasets.load("mnist", path=tmp_path / "nan.npz", n_components=4)
    np.savez(
        tmp_path / "short.npz",
        x_train=parts["x_train"],
        y_train=parts["y_train"][:-1],
        x_test=parts["x_test"],
        y_test=parts["y_test"],
    )
    with pytest.raises(CorruptFileError, match="39 labels for 40 images"):
        datasets.load("mnist", path=tmp_path / "short.npz", n_components=4)
    with pytest.raises(FileNotFoundError, match="no such .npz"):
        datasets.load("mnist", path=tmp_path / "absent.npz")


# --------------------------------------------------------------------------- teacher
def _numpy_forward(weights, X, slope=0.1):
    a = X.astype(np.float64)
    for layer, W in enumerate(weights):
        z = a @ np.asarray(W, dtype=np.float64).T
        if layer == len(weights) - 1:
            return z
        a = np.where(z > 0, z, slope * z) / np.sqrt(W.shape[1] if hasattr(W, "shape") else len(W[0]))


@pytest.mark.parametrize("hidden", [(), (12,)])
def test_teacher_labels_are_the_argmax_of_the_recorded_teacher(hidden):
    ds = datasets.load("teacher", n_components=8, n_train=300, n_test=100, n_classes=4, teacher_hidden=hidden)
    assert ds.X_train.shape == (300, 8) and ds.X_test.shape == (100, 8) and ds.n_classes == 4
    weights = [np.array(W) for W in ds.provenance["teacher_weights"]]
    assert [W.shape for W in weights] == [(o, i) for i, o in zip((8, *hidden), (*hidden, 4), strict=True)]
    assert set(np.unique(np.concatenate([W.ravel() for W in weights]))) == {-1, 1}
    for X, y in ((ds.X_train, ds.y_train), (ds.X_test, ds.y_test)):
        np.testing.assert_array_equal(_numpy_forward(weights, X).argmax(axis=1), y)
    again = datasets.load(
        "teacher", n_components=8, n_train=300, n_test=100, n_classes=4, teacher_hidden=hidden
    )
    np.testing.assert_array_equal(again.X_test, ds.X_test)

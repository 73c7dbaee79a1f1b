"""Clustering structure of weight space: overlap distributions P(q), dendrograms, embeddings of samples.

TAP states (several stationary points of the TAP free energy = several clusters of the measure)
come from :mod:`maxent.model.tap` and are re-exported here.

Samples
-------
For ±1 samples s^a (rows of X, N spins) the overlap is q_ab = (1/N) sum_i s_i^a s_i^b and the
normalized Hamming distance d_ab = (1 - q_ab)/2 (the fraction of differing spins, the same d as
in the entropy landscape). :func:`overlap_distribution` gives P(q), :func:`hierarchical_clustering`
clusters samples by d, :func:`embedding` maps them to two dimensions (t-SNE or PCA).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, leaves_list, linkage
from scipy.spatial.distance import squareform
from threadpoolctl import threadpool_limits

from maxent._validation import check_nonnegative, check_positive, check_spins
from maxent.model.tap import TapStates, binary_entropy, tap_free_energy, tap_states

__all__ = [
    "TapStates",
    "tap_states",
    "tap_free_energy",
    "binary_entropy",
    "overlap_distribution",
    "HierarchicalClustering",
    "hierarchical_clustering",
    "embedding",
]


# ---------------------------------------------------------------------------------------------
# Overlaps among samples
# ---------------------------------------------------------------------------------------------
def _exact_bin_edges(n_spins: int) -> np.ndarray:
    """Edges of one bin per attainable overlap value q = -1 + 2k/N, k = 0..N."""
    step = 2.0 / n_spins
    return -1.0 - step / 2 + step * np.arange(n_spins + 2)


def overlap_distribution(
    X: np.ndarray,
    Y: np.ndarray | None = None,
    *,
    bins: int | str | np.ndarray | None = None,
    chunk_size: int = 2048,
) -> pd.DataFrame:
    """Pairwise overlaps q_ab = (1/N) sum_i s_i^a s_i^b among ±1 samples, as pairs or as P(q).

    Parameters
    ----------
    X : array (M, N) of ±1
        Samples (weights of trained networks, or model samples).
    Y : array (M', N) of ±1, optional
        A second sample set: overlaps are then taken between every row of X and every row of
        Y (for example data against model samples) instead of among the rows of X.
    bins : None, int, "exact" or array of edges
        None: return every pair. Otherwise return the histogram P(q): an int gives that many
        equal bins on [-1, 1], "exact" one bin centred on each attainable value -1 + 2k/N,
        an array gives the bin edges.
    chunk_size : int
        Rows of X processed at once (memory ~ chunk_size x M floats).

    Returns
    -------
    DataFrame
        Pairs: columns ``a``, ``b``, ``q`` (a < b within X; every (a, b) with Y), ordered by a
        then b. Histogram: columns ``q_left``, ``q_right``, ``q`` (bin centre), ``count``,
        ``density`` (count / (n_pairs * width), integrating to 1).
    """
    Xf = check_spins(X, name="X", dtype=np.float32, min_samples=1 if Y is not None else 2)
    N = Xf.shape[1]
    if Y is not None:
        Yf = check_spins(Y, name="Y", dtype=np.float32, min_samples=1, n_spins=N)
    else:
        Yf = Xf
    chunk_size = int(check_positive(chunk_size, "chunk_size"))
    M = Xf.shape[0]

    edges: np.ndarray | None = None
    if bins is not None:
        if isinstance(bins, str):
            if bins != "exact":
                raise ValueError(f"bins must be None, an int, 'exact' or an array of edges, got {bins!r}")
            edges = _exact_bin_edges(N)
        elif isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
            if bins < 1:
                raise ValueError(f"bins must be >= 1, got {bins}")
            edges = np.linspace(-1.0, 1.0, int(bins) + 1)
        else:
            edges = np.asarray(bins, dtype=np.float64)
            if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
                raise ValueError("bin edges must be a 1-D strictly increasing array of at least 2 values")
        counts = np.zeros(edges.size - 1, dtype=np.int64)

    parts_a, parts_b, parts_q = [], [], []
    for start in range(0, M, chunk_size):
        stop = min(start + chunk_size, M)
        # integer dot products are exact in float32 for N < 2^24
        dots = Xf[start:stop] @ Yf.T
        if Y is None:
            # pairs (a, b) with b > a, a in this chunk
            rows, cols = np.nonzero(np.arange(M)[None, :] > np.arange(start, stop)[:, None])
            q = dots[rows, cols].astype(np.float64) / N
            a = rows + start
        else:
            q = dots.astype(np.float64).ravel() / N
            a = np.repeat(np.arange(start, stop), Yf.shape[0])
            cols = np.tile(np.arange(Yf.shape[0]), stop - start)
        if edges is None:
            parts_a.append(a)
            parts_b.append(cols)
            parts_q.append(q)
        else:
            counts += np.histogram(q, bins=edges)[0]
    if edges is None:
        return pd.DataFrame(
            {
                "a": np.concatenate(parts_a).astype(np.int64),
                "b": np.concatenate(parts_b).astype(np.int64),
                "q": np.concatenate(parts_q),
            }
        )
    n_pairs = M * (M - 1) // 2 if Y is None else M * Yf.shape[0]
    width = np.diff(edges)
    return pd.DataFrame(
        {
            "q_left": edges[:-1],
            "q_right": edges[1:],
            "q": 0.5 * (edges[:-1] + edges[1:]),
            "count": counts,
            "density": counts / (n_pairs * width),
        }
    )


# ---------------------------------------------------------------------------------------------
# Hierarchical clustering and embedding
# ---------------------------------------------------------------------------------------------
_LINKAGE_METHODS = ("average", "complete", "single", "weighted")


@dataclass
class HierarchicalClustering:
    """Agglomerative clustering of samples by the Hamming distance d_ab = (1 - q_ab)/2.

    Attributes
    ----------
    linkage : ndarray, shape (M-1, 4)
        scipy linkage matrix (merge heights are distances d).
    labels : ndarray, shape (M,)
        Cluster of each sample, 0..n_clusters-1, numbered by first appearance in leaf order.
    order : ndarray, shape (M,)
        Leaf order of the dendrogram (a permutation of the samples).
    overlaps : ndarray, shape (M, M)
        q_ab among all samples (unit diagonal).
    threshold : float
        Distance at which the tree was cut.
    method : str
        Linkage method.
    """

    linkage: np.ndarray
    labels: np.ndarray
    order: np.ndarray
    overlaps: np.ndarray
    threshold: float
    method: str

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max()) + 1

    def cluster_table(self) -> pd.DataFrame:
        """One row per cluster: ``cluster``, ``size``, ``mean_q_within`` (mean overlap between
        distinct members; NaN for singletons)."""
        rows = []
        for c in range(self.n_clusters):
            idx = np.flatnonzero(self.labels == c)
            sub = self.overlaps[np.ix_(idx, idx)]
            n = idx.size
            within = (sub.sum() - np.trace(sub)) / (n * (n - 1)) if n > 1 else np.nan
            rows.append({"cluster": c, "size": n, "mean_q_within": within})
        return pd.DataFrame(rows)


def hierarchical_clustering(
    X: np.ndarray,
    method: str = "average",
    *,
    n_clusters: int | None = None,
    threshold: float | None = None,
) -> HierarchicalClustering:
    """Cluster ±1 samples hierarchically (scipy) by the distance d_ab = (1 - q_ab)/2.

    Parameters
    ----------
    X : array (M, N) of ±1, M >= 2
    method : {"average", "complete", "single", "weighted"}
        Linkage (methods needing Euclidean geometry, such as Ward, are not offered).
    n_clusters : int, optional
        Cut the tree into this many clusters.
    threshold : float, optional
        Cut the tree at this distance d (samples merged below it share a cluster).
        With neither given, the tree is cut in the middle of the largest gap between successive
        merge heights (a heuristic: it always yields >= 2 clusters when M >= 3; pass
        ``n_clusters`` when the number is known).

    Returns
    -------
    HierarchicalClustering
    """
    Xf = check_spins(X, name="X", dtype=np.float32, min_samples=2)
    if method not in _LINKAGE_METHODS:
        raise ValueError(f"method must be one of {_LINKAGE_METHODS}, got {method!r}")
    if n_clusters is not None and threshold is not None:
        raise ValueError("give n_clusters or threshold, not both")
    M, N = Xf.shape
    Q = (Xf @ Xf.T).astype(np.float64) / N
    np.fill_diagonal(Q, 1.0)
    D = np.clip(0.5 * (1.0 - Q), 0.0, 1.0)
    np.fill_diagonal(D, 0.0)
    Z = linkage(squareform(D, checks=False), method=method)
    heights = Z[:, 2]
    if n_clusters is not None:
        if isinstance(n_clusters, bool) or not isinstance(n_clusters, numbers.Integral):
            raise ValueError(f"n_clusters must be an integer, got {n_clusters!r}")
        if not 1 <= n_clusters <= M:
            raise ValueError(f"n_clusters must lie in [1, {M}], got {n_clusters}")
        raw = fcluster(Z, t=int(n_clusters), criterion="maxclust")
        k = int(n_clusters)
        thr = (
            float(heights[M - k - 1] + heights[M - k]) / 2
            if 1 < k < M
            else (float(heights[-1]) + 1e-12 if k == 1 else 0.0)
        )
    else:
        if threshold is None:
            if M < 3:
                thr = float(heights[-1]) + 1e-12  # one merge: no gap to choose from
            else:
                gaps = np.diff(heights)
                g = int(np.argmax(gaps))
                thr = float(heights[g] + heights[g + 1]) / 2
        else:
            thr = check_nonnegative(threshold, "threshold")
        raw = fcluster(Z, t=thr, criterion="distance")
    order = leaves_list(Z)
    # relabel 0..k-1 by first appearance along the dendrogram
    _, first = np.unique(raw[order], return_index=True)
    seen = raw[order][np.sort(first)]
    lut = np.empty(int(raw.max()) + 1, dtype=np.int64)
    lut[seen] = np.arange(seen.size)
    labels = lut[raw]
    return HierarchicalClustering(
        linkage=Z, labels=labels, order=order, overlaps=Q, threshold=thr, method=method
    )


def embedding(
    X: np.ndarray,
    color: np.ndarray | pd.Series | dict[str, np.ndarray] | None = None,
    *,
    method: str = "tsne",
    random_state: int | None = 0,
    perplexity: float = 30.0,
    n_jobs: int | None = 1,
) -> pd.DataFrame:
    """Two-dimensional embedding of ±1 samples (scikit-learn t-SNE or PCA).

    t-SNE works with Euclidean distances between the ±1 vectors, |s^a - s^b|^2 = 2N(1 - q_ab),
    so its Gaussian affinities are functions of the overlap. The perplexity is lowered to
    (M - 1)/3 for small sample sets (t-SNE needs perplexity < M).

    Parameters
    ----------
    X : array (M, N) of ±1, M >= 3 for t-SNE, M >= 2 for PCA
    color : array (M,), Series, dict of name -> array (M,), optional
        Values to colour the points by (for example test accuracy or model energy); added as
        columns (named "color" for a plain array, the Series' name, or the dict keys).
    method : {"tsne", "pca"}
    random_state : int, optional
        Seed of t-SNE.
    perplexity : float
    n_jobs : int or None
        Threads for t-SNE (OpenMP and BLAS); None: the libraries' default. One thread is the
        default because t-SNE threads oversubscribe a busy machine (measured on 2 shared cores:
        40 samples in 0.35 s on one thread, 6-35 s threaded) and pipelines parallelize across
        tasks instead.

    Returns
    -------
    DataFrame
        Columns ``sample`` (row of X), ``dim1``, ``dim2`` and the colour columns.
    """
    Xf = check_spins(X, name="X", dtype=np.float32, min_samples=2)
    M = Xf.shape[0]
    colors: dict[str, np.ndarray] = {}
    if color is not None:
        if isinstance(color, dict):
            items = list(color.items())
        elif isinstance(color, pd.Series):
            items = [(str(color.name) if color.name is not None else "color", color.to_numpy())]
        else:
            items = [("color", color)]
        for name, values in items:
            arr = np.asarray(values)
            if arr.shape != (M,):
                raise ValueError(f"color {name!r} must have shape ({M},) to match X, got {arr.shape}")
            if name in ("sample", "dim1", "dim2"):
                raise ValueError(f"color name {name!r} clashes with an output column")
            colors[str(name)] = arr
    if method == "tsne":
        from sklearn.manifold import TSNE

        if M < 3:
            raise ValueError(f"t-SNE needs at least 3 samples, got {M}")
        perplexity = check_positive(perplexity, "perplexity")
        perp = min(perplexity, (M - 1) / 3.0)
        tsne = TSNE(n_components=2, perplexity=perp, init="pca", random_state=random_state)
        if n_jobs is None:
            Y = tsne.fit_transform(Xf)
        else:
            with threadpool_limits(limits=int(check_positive(n_jobs, "n_jobs"))):
                Y = tsne.fit_transform(Xf)
    elif method == "pca":
        from sklearn.decomposition import PCA

        Y = PCA(n_components=2).fit_transform(Xf)
    else:
        raise ValueError(f"method must be 'tsne' or 'pca', got {method!r}")
    Y = np.asarray(Y, dtype=np.float64)
    out = pd.DataFrame({"sample": np.arange(M), "dim1": Y[:, 0], "dim2": Y[:, 1]})
    for name, values in colors.items():
        out[name] = values
    return out

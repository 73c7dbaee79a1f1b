"""Figures of the geometry of weight space (seaborn on matplotlib).

Every function takes the tidy tables produced by the library and returns a
:class:`matplotlib.figure.Figure`. Figures are built with the object-oriented API
(``matplotlib.figure.Figure``), not pyplot: nothing is shown, no global figure state is kept, and
``fig.savefig(path)`` writes the file with any backend.

=============================  ===============================================================
function                       input
=============================  ===============================================================
plot_landscape                 :func:`maxent.geometry.landscape.entropy_landscape` table(s)
plot_distance_vs_x             the same table: d(x), both sweeps
plot_tap_free_energies         :func:`maxent.geometry.clustering.tap_states` (or its ``.table``)
plot_overlap_distribution      :func:`maxent.geometry.clustering.overlap_distribution` output
plot_dendrogram                :func:`maxent.geometry.clustering.hierarchical_clustering` result
plot_embedding                 :func:`maxent.geometry.clustering.embedding` table
plot_liquidity                 :func:`maxent.geometry.liquid.liquidity` table
plot_accuracy                  accuracies (array, dict by setting, or tidy table)
=============================  ===============================================================

Landscape tables may carry extra columns ``block`` and/or ``reference`` (concatenate several
tables and add them): several blocks become facets (one panel per block), several references
become colours (with the sweep as line style).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from maxent._validation import check_table
from maxent.geometry.clustering import HierarchicalClustering, TapStates
from maxent.geometry.landscape import independent_bound

__all__ = [
    "plot_landscape",
    "plot_distance_vs_x",
    "plot_tap_free_energies",
    "plot_overlap_distribution",
    "plot_dendrogram",
    "plot_embedding",
    "plot_liquidity",
    "plot_accuracy",
    "plot_claims_curve",
]

_SWEEP_STYLE = {"down": "-", "up": "--"}
_SWEEP_MARKER = {"down": "v", "up": "^"}


def _facets(
    df: pd.DataFrame, column: str, width: float = 4.5, height: float = 3.6
) -> tuple[Figure, list, list]:
    """One panel per value of ``column`` (a single panel if absent or constant)."""
    keys = list(pd.unique(df[column])) if column in df.columns else [None]
    fig = Figure(figsize=(width * len(keys), height), layout="constrained")
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    return fig, list(axes), keys


def _palette(values: Sequence[Any]) -> dict[Any, Any]:
    return dict(zip(values, sns.color_palette(n_colors=max(len(values), 1)), strict=False))


def _landscape_panels(df: pd.DataFrame, xcol: str, ycol: str, bound: bool) -> Figure:
    fig, axes, blocks = _facets(df, "block")
    refs = list(pd.unique(df["reference"])) if "reference" in df.columns else [None]
    colors = _palette(refs) if len(refs) > 1 else _palette(["down", "up"])
    for ax, blk in zip(axes, blocks, strict=True):
        sub = df if blk is None else df[df["block"] == blk]
        for ref in refs:
            part = sub if ref is None else sub[sub["reference"] == ref]
            for sw, g in part.groupby("sweep", sort=False):
                # points in sweep order (x down for "down"), so a jump shows as a long segment
                g = g.sort_values("x", ascending=(sw != "down"), kind="stable")
                color = colors[ref] if len(refs) > 1 else colors.get(sw, "C2")
                label = f"{sw}" if ref is None else f"{ref}, {sw}"
                ax.plot(
                    g[xcol],
                    g[ycol],
                    _SWEEP_STYLE.get(sw, "-"),
                    color=color,
                    marker=_SWEEP_MARKER.get(sw, "o"),
                    markersize=3,
                    lw=1.2,
                    label=label,
                )
                bad = ~g["converged"].astype(bool)
                if bad.any():
                    ax.plot(
                        g.loc[bad, xcol],
                        g.loc[bad, ycol],
                        "x",
                        color="red",
                        ms=7,
                        mew=1.5,
                        label="not converged" if sw == part["sweep"].iloc[0] else None,
                    )
        if bound:
            dd = np.linspace(0.0, 1.0, 401)
            if len(sub):
                hi = min(1.0, float(sub["d"].max()) + 0.05)
                dd = np.linspace(0.0, hi, 401)
            ax.plot(
                dd, independent_bound(dd), ":", color="black", lw=1.2, label="independent bound $s_{ub}(d)$"
            )
        ax.set_title("" if blk is None else str(blk))
        ax.legend(fontsize="small", frameon=False)
    return fig


def plot_landscape(df: pd.DataFrame, *, bound: bool = True) -> Figure:
    """Entropy landscape s(d) of both sweeps, with the independent-spin bound s_ub(d).

    Parameters
    ----------
    df : DataFrame
        Landscape table (columns x, sweep, d, entropy, converged), possibly with ``block``
        (one panel each) and ``reference`` (one colour each) columns.
    bound : bool
        Draw s_ub(d) = -d ln d - (1-d) ln(1-d) (dotted black).

    Returns
    -------
    Figure
        One axes per block; the "down" sweep is drawn solid, "up" dashed, each in x order, so
        hysteresis shows as two distinct branches; non-converged points are red crosses.
    """
    check_table(df, ["x", "sweep", "d", "entropy", "converged"], "landscape table")
    fig = _landscape_panels(df, "d", "entropy", bound)
    for ax in fig.axes:
        ax.set_xlabel("distance $d$")
        ax.set_ylabel("entropy density $s$")
    return fig


def plot_distance_vs_x(df: pd.DataFrame) -> Figure:
    """Distance to the reference d(x) along both sweeps (a jump and a loop mark a transition)."""
    check_table(df, ["x", "sweep", "d", "converged"], "landscape table")
    fig = _landscape_panels(df, "x", "d", bound=False)
    for ax in fig.axes:
        ax.set_xlabel("tilt $x$")
        ax.set_ylabel("distance $d$")
    return fig


def plot_tap_free_energies(
    states: TapStates | pd.DataFrame, *, weights: str | None = "count", bins: int | str = "auto"
) -> Figure:
    """Histogram of the free-energy densities f = F_TAP / N of the TAP states.

    Parameters
    ----------
    states : TapStates or its ``.table``
    weights : "count" or None
        "count": each state weighted by the number of starts that reached it (basin size);
        None: one count per distinct state.
    bins : int or str
        Passed to seaborn's histplot.

    Returns
    -------
    Figure
        One histogram; states that did not converge are drawn in a separate colour.
    """
    table = states.table if isinstance(states, TapStates) else states
    check_table(table, ["free_energy_density", "converged"], "TAP table")
    if weights is not None and weights not in table.columns:
        raise ValueError(f"weights column {weights!r} not in the TAP table")
    fig = Figure(figsize=(5.0, 3.6), layout="constrained")
    ax = fig.subplots()
    data = table.assign(converged=table["converged"].astype(bool))
    hue = "converged" if (~data["converged"]).any() else None
    f = data["free_energy_density"].to_numpy(float)
    # explicit bin count and range (seaborn cannot combine weights with automatic bins)
    lo, hi = float(f.min()), float(f.max())
    if hi - lo < 1e-12 * max(1.0, abs(lo)):  # one value: a single centred bar
        lo, hi, n_bins = lo - 1e-3, hi + 1e-3, 1
    else:
        n_bins = int(bins) if isinstance(bins, numbers.Integral) else np.histogram_bin_edges(f, bins).size - 1
    sns.histplot(
        data=data,
        x="free_energy_density",
        weights=weights,
        hue=hue,
        bins=n_bins,
        binrange=(lo, hi),
        ax=ax,
        element="bars",
        multiple="stack",
    )
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel("TAP free energy density $f$")
    ax.set_ylabel("starts" if weights == "count" else "states")
    ax.set_title(f"{len(data)} distinct TAP states")
    return fig


def _as_overlap_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, Mapping):
        parts = []
        for name, value in data.items():
            part = _as_overlap_frame(value)
            parts.append(part.assign(set=str(name)))
        return pd.concat(parts, ignore_index=True)
    if isinstance(data, pd.DataFrame):
        return check_table(data, ["q"], "overlap table")
    arr = np.asarray(data, dtype=np.float64).ravel()
    if arr.size == 0:
        raise ValueError("no overlaps to plot")
    return pd.DataFrame({"q": arr})


def _lattice_spacing(q: np.ndarray, max_bins: int = 400) -> float | None:
    """Spacing 2/N of overlap values -1 + 2k/N when the data sit on such a lattice, else None."""
    u = np.unique(np.round(q, 12))
    if u.size < 2 or u.size > max_bins:
        return None
    step = float(np.diff(u).min())
    k = (u - u[0]) / step
    if not np.allclose(k, np.round(k), atol=1e-6) or (u[-1] - u[0]) / step > max_bins:
        return None
    return step


def plot_overlap_distribution(data: Any, *, hue: str | None = None, bins: int | str = "auto") -> Figure:
    """Overlap distribution P(q).

    Parameters
    ----------
    data : DataFrame, array, or dict of name -> (DataFrame or array)
        A pair table (column ``q``, one row per pair), a histogram table (columns ``q``,
        ``density``, ``q_left``, ``q_right`` from ``overlap_distribution(..., bins=...)``), raw
        overlap values, or a dict of those (for example {"data": ..., "model": ...}: one colour
        each, column ``set``).
    hue : str, optional
        Column to colour by (default ``set`` when present).
    bins : int or str
        Bins of the histogram of raw pairs. With a string (default "auto") overlaps that lie on
        a lattice -1 + 2k/N get one bin per attainable value (the spacing is read from the data);
        otherwise seaborn's rule applies.

    Returns
    -------
    Figure
        Density histograms (step outlines, each normalized separately).
    """
    df = _as_overlap_frame(data)
    if hue is None and "set" in df.columns:
        hue = "set"
    if hue is not None and hue not in df.columns:
        raise ValueError(f"hue column {hue!r} not in the overlap table")
    fig = Figure(figsize=(5.0, 3.6), layout="constrained")
    ax = fig.subplots()
    if {"density", "q_left", "q_right"} <= set(df.columns):  # already a histogram
        groups = df.groupby(hue, sort=False) if hue else [(None, df)]
        for name, g in groups:
            edges = np.r_[g["q_left"].to_numpy(float), g["q_right"].to_numpy(float)[-1:]]
            ax.stairs(g["density"].to_numpy(float), edges, label=None if name is None else str(name))
        if hue:
            ax.legend(title=hue, frameon=False)
    else:
        kw: dict[str, Any] = {"bins": bins}
        lattice = _lattice_spacing(df["q"].to_numpy(float)) if isinstance(bins, str) else None
        if lattice is not None:  # one bin per attainable overlap value: no aliasing spikes
            q = df["q"].to_numpy(float)
            kw = {"binwidth": lattice, "binrange": (q.min() - lattice / 2, q.max() + lattice / 2)}
        sns.histplot(data=df, x="q", hue=hue, stat="density", common_norm=False, element="step", ax=ax, **kw)
    ax.set_xlabel("overlap $q$")
    ax.set_ylabel("$P(q)$")
    return fig


def plot_dendrogram(result: HierarchicalClustering, *, max_leaves: int = 2000) -> Figure:
    """Dendrogram of the samples above the overlap matrix q_ab in dendrogram order.

    Parameters
    ----------
    result : HierarchicalClustering
        From :func:`maxent.geometry.clustering.hierarchical_clustering`.
    max_leaves : int
        Refuse to draw more samples than this (the heatmap has M^2 cells).

    Returns
    -------
    Figure
        Two axes: the dendrogram (merge height = distance d, cut threshold dashed) and the
        heatmap (colour bar "overlap q").
    """
    from scipy.cluster.hierarchy import dendrogram

    if not isinstance(result, HierarchicalClustering):
        raise TypeError(f"result must be a HierarchicalClustering, got {type(result).__name__}")
    M = result.labels.size
    if M > max_leaves:
        raise ValueError(f"{M} samples exceed max_leaves={max_leaves}; cluster a subset")
    fig = Figure(figsize=(6.0, 7.0), layout="constrained")
    ax_d, ax_h = fig.subplots(2, 1, height_ratios=[1, 3], sharex=False)
    dendrogram(
        result.linkage, ax=ax_d, no_labels=True, color_threshold=result.threshold, above_threshold_color="0.5"
    )
    ax_d.axhline(result.threshold, ls="--", color="black", lw=0.8)
    ax_d.set_ylabel("distance $d$")
    ax_d.set_title(f"{result.method} linkage, {result.n_clusters} clusters")
    Q = result.overlaps[np.ix_(result.order, result.order)]
    im = ax_h.imshow(
        Q, cmap="viridis", vmin=min(float(Q.min()), 0.0), vmax=1.0, interpolation="nearest", aspect="auto"
    )
    fig.colorbar(im, ax=ax_h, label="overlap $q$")
    ax_h.set_xlabel("sample (dendrogram order)")
    ax_h.set_ylabel("sample (dendrogram order)")
    return fig


def plot_embedding(df: pd.DataFrame, color: str | None = None) -> Figure:
    """Scatter of a 2-D embedding (columns dim1, dim2), coloured by ``color`` (a column).

    A numeric colour column gets a colour bar (e.g. accuracy, energy); a categorical one a
    legend (e.g. cluster labels). Default: the first column other than sample/dim1/dim2, if any.
    """
    check_table(df, ["dim1", "dim2"], "embedding table")
    if color is None:
        extra = [c for c in df.columns if c not in ("sample", "dim1", "dim2")]
        color = extra[0] if extra else None
    if color is not None and color not in df.columns:
        raise ValueError(f"color column {color!r} not in the embedding table")
    fig = Figure(figsize=(5.0, 4.2), layout="constrained")
    ax = fig.subplots()
    if color is None:
        ax.scatter(df["dim1"], df["dim2"], s=12)
    elif pd.api.types.is_numeric_dtype(df[color]) and df[color].nunique() > 10:
        sc = ax.scatter(df["dim1"], df["dim2"], c=df[color], s=12, cmap="viridis")
        fig.colorbar(sc, ax=ax, label=color)
    else:
        sns.scatterplot(data=df, x="dim1", y="dim2", hue=color, s=14, ax=ax, linewidth=0)
    ax.set_xlabel("dimension 1")
    ax.set_ylabel("dimension 2")
    return fig


_LIQUID_PANELS = (
    ("mean_abs_J", "mean $|J_{ij}|$"),
    ("mean_abs_connected", "mean $|c_{ij}|$"),
    ("entropy_gap", "$s_{ind} - s_{Bethe}$"),
    ("landscape_area", r"area $\int (s_{ub} - s)\,dd$"),
)


def plot_liquidity(df: pd.DataFrame, *, hue: str | None = None) -> Figure:
    """Liquidity profile along depth: one panel per measure, blocks in table order on the x axis.

    Panels: mean |J|, mean |connected correlation|, the entropy gap s_ind - s_Bethe, the
    landscape area (panels whose column is all NaN are left out), and the two entropy densities
    (Bethe solid, independent dashed). ``hue`` (e.g. a "setting" column after concatenating
    tables of several training settings) gives one line per value.
    """
    check_table(df, ["block", "mean_abs_J", "bethe_entropy", "independent_entropy"], "liquidity table")
    if hue is not None and hue not in df.columns:
        raise ValueError(f"hue column {hue!r} not in the liquidity table")
    blocks = list(pd.unique(df["block"]))
    pos = {b: i for i, b in enumerate(blocks)}
    panels = [(c, lab) for c, lab in _LIQUID_PANELS if c in df.columns and df[c].notna().any()]
    n_ax = len(panels) + 1
    fig = Figure(figsize=(3.3 * n_ax, 3.4), layout="constrained")
    axes = fig.subplots(1, n_ax, squeeze=False)[0]
    groups = list(df.groupby(hue, sort=False)) if hue else [(None, df)]
    colors = _palette([g for g, _ in groups])
    for (col, label), ax in zip(panels, axes, strict=False):
        for name, g in groups:
            xs = g["block"].map(pos).to_numpy()
            ax.plot(
                xs,
                g[col].to_numpy(float),
                "o-",
                color=colors[name],
                label=None if name is None else str(name),
            )
        ax.set_ylabel(label)
    ax = axes[-1]
    for name, g in groups:
        xs = g["block"].map(pos).to_numpy()
        tag = "" if name is None else f"{name}: "
        ax.plot(xs, g["bethe_entropy"].to_numpy(float), "o-", color=colors[name], label=f"{tag}Bethe")
        ax.plot(
            xs,
            g["independent_entropy"].to_numpy(float),
            "s--",
            color=colors[name],
            label=f"{tag}independent",
            mfc="none",
        )
    ax.set_ylabel("entropy density")
    ax.legend(fontsize="small", frameon=False)
    for ax in axes:
        ax.set_xticks(range(len(blocks)), [str(b) for b in blocks])
        ax.set_xlabel("block")
    if hue:
        axes[0].legend(title=hue, fontsize="small", frameon=False)
    return fig


def plot_accuracy(accuracies: Any, *, x: str = "accuracy", hue: str | None = "setting") -> Figure:
    """Distribution of accuracies, one colour per training setting.

    Parameters
    ----------
    accuracies : array, dict of setting -> array, or DataFrame
        Accuracies of the sampled networks. A dict becomes a tidy table (columns ``setting``,
        ``accuracy``); a DataFrame must have the column ``x`` (and ``hue`` if it is not None
        and present).
    x, hue : str
        Column names in a DataFrame input (``hue`` is ignored when absent).

    Returns
    -------
    Figure
        Density histograms with KDE (normalized per setting) and the mean of each setting in
        the legend.
    """
    if isinstance(accuracies, Mapping):
        df = pd.concat(
            [
                pd.DataFrame({"setting": str(k), "accuracy": np.asarray(v, float).ravel()})
                for k, v in accuracies.items()
            ],
            ignore_index=True,
        )
        x, hue = "accuracy", "setting"
    elif isinstance(accuracies, pd.DataFrame):
        df = check_table(accuracies, [x], "accuracy table")
        if hue is not None and hue not in df.columns:
            hue = None
    else:
        df = pd.DataFrame({x: np.asarray(accuracies, float).ravel()})
        hue = None
    if len(df) == 0:
        raise ValueError("no accuracies to plot")
    if not np.all(np.isfinite(df[x].to_numpy(float))):
        raise ValueError("accuracies contain NaN or inf")
    fig = Figure(figsize=(5.0, 3.6), layout="constrained")
    ax = fig.subplots()
    if hue is not None:
        means = df.groupby(hue, sort=False)[x].mean()
        df = df.assign(**{hue: df[hue].map(lambda s: f"{s} (mean {means[s]:.3f})")})
    kde = df[x].nunique() > 1
    sns.histplot(data=df, x=x, hue=hue, stat="density", common_norm=False, element="step", kde=kde, ax=ax)
    ax.set_xlabel("test accuracy" if x == "accuracy" else x)
    ax.set_ylabel("density")
    return fig


def plot_claims_curve(df: pd.DataFrame) -> Figure:
    """Sample-size curve of the claims: excess of each statistic over its shuffled null vs runs.

    One panel per statistic (``entropy_gap``, ``mean_r2``), one line per (setting, block): the
    excess value - null_value on 25/50/100% of the runs. An excess that grows toward a plateau
    as runs are added is signal; one that shrinks like the noise floor is not.
    """
    check_table(df, ["setting", "block", "statistic", "n_runs", "excess"], "claims curve table")
    stats_ = list(pd.unique(df["statistic"]))
    fig = Figure(figsize=(4.2 * len(stats_), 3.4), layout="constrained")
    axes = fig.subplots(1, len(stats_), squeeze=False)[0]
    keys = [f"{s} {b}" for s, b in df[["setting", "block"]].drop_duplicates().itertuples(index=False)]
    colors = _palette(keys)
    for stat, ax in zip(stats_, axes, strict=True):
        g = df[df["statistic"] == stat]
        for (s, b), h in g.groupby(["setting", "block"], sort=False):
            h = h.sort_values("n_runs")
            ax.plot(h["n_runs"], h["excess"], "o-", color=colors[f"{s} {b}"], label=f"{s} {b}")
        ax.axhline(0.0, color="0.5", lw=0.8, ls="--")
        ax.set_xlabel("runs")
        ax.set_ylabel(f"{stat}: data − shuffled null")
    axes[-1].legend(fontsize=7, frameon=False)
    return fig

"""Figures of the correlated-synapse analysis (matplotlib object API; nothing is shown).

=========================  ==============================================================
function                   input
=========================  ==============================================================
plot_depth                 ``simulate_depth`` and ``theory_depth`` tables, concatenated
plot_width_errors          ``compare_over_width`` table
plot_trained_dimension     ``trained_dimension`` table
plot_pair_structure        ``synapse_pair_structure`` table
=========================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from maxent._validation import check_table

__all__ = ["plot_depth", "plot_width_errors", "plot_trained_dimension", "plot_pair_structure"]

_LABELS = {
    "D_over_N": "dimension $D_l / N_l$",
    "N_offdiag_corr2": r"$N_l\,\Delta_l$ (off-diagonal corr.$^2$)",
    "offdiag_corr2": r"$\Delta_l$ (mean off-diagonal corr.$^2$)",
}


def _palette(values: Sequence[object]) -> dict[object, object]:
    values = list(dict.fromkeys(values))
    return dict(zip(values, sns.color_palette("colorblind", len(values)), strict=True))


def plot_depth(df: pd.DataFrame, *, statistics: Sequence[str] = ("D_over_N", "N_offdiag_corr2")) -> Figure:
    """D_l / N and N Delta_l against depth: theory as lines, simulation as mean ± s.e.m. markers."""
    df = check_table(df, ["synapses", "method", "layer", *statistics], "plot_depth")
    fig = Figure(figsize=(5.2 * len(statistics), 4.0), layout="constrained")
    axes = fig.subplots(1, len(statistics), squeeze=False)[0]
    colors = _palette(df["synapses"])
    for ax, stat in zip(axes, statistics, strict=True):
        for name, color in colors.items():
            sub = df[df["synapses"] == name]
            th = sub[sub["method"] == "theory"].sort_values("layer")
            if not th.empty:
                ax.plot(th["layer"], th[stat], "-", color=color, label=f"{name} (theory)")
            sim = sub[sub["method"] == "simulation"]
            if not sim.empty:
                g = sim.groupby("layer")[stat]
                m = g.mean()
                err = g.sem(ddof=1).fillna(0.0) if g.size().max() > 1 else None
                ax.errorbar(
                    m.index,
                    m.values,
                    yerr=None if err is None else err.values,
                    fmt="o",
                    ms=4,
                    color=color,
                    capsize=2,
                    label=f"{name} (simulation)",
                )
        ax.set_xlabel("layer $l$")
        ax.set_ylabel(_LABELS.get(stat, stat))
        ax.set_xticks(sorted(df["layer"].unique()))
    axes[0].legend(fontsize=7, frameon=False)
    return fig


def plot_width_errors(df: pd.DataFrame) -> Figure:
    """|simulation - theory| (mean over layers >= 1) against N, log-log, one panel per statistic;
    the dotted lines show the simulations' standard error."""
    from .comparison import error_scaling

    df = check_table(df, ["N", "synapses", "statistic", "layer", "error", "sem"], "plot_width_errors")
    tab = error_scaling(df)
    stats = list(dict.fromkeys(tab["statistic"]))
    fig = Figure(figsize=(5.0 * len(stats), 3.8), layout="constrained")
    axes = fig.subplots(1, len(stats), squeeze=False)[0]
    colors = _palette(tab["synapses"])
    for ax, stat in zip(axes, stats, strict=True):
        for name, color in colors.items():
            sub = tab[(tab["synapses"] == name) & (tab["statistic"] == stat)].sort_values("N")
            ax.plot(
                sub["N"],
                sub["abs_error"],
                "o-",
                color=color,
                label=f"{name} (slope {sub['slope'].iloc[0]:.2f})",
            )
            ax.plot(sub["N"], sub["sem"], ":", color=color, lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("width $N$")
        ax.set_ylabel(f"|simulation - theory| of {_LABELS.get(stat, stat)}")
        ax.legend(fontsize=7, frameon=False)
    return fig


def plot_trained_dimension(df: pd.DataFrame) -> Figure:
    """Per-layer D_l / N_l and Delta_l of each weight source with run-level bootstrap intervals."""
    df = check_table(
        df, ["source", "layer", "statistic", "value", "ci_low", "ci_high"], "plot_trained_dimension"
    )
    stats = list(dict.fromkeys(df["statistic"]))
    fig = Figure(figsize=(5.0 * len(stats), 3.8), layout="constrained")
    axes = fig.subplots(1, len(stats), squeeze=False)[0]
    colors = _palette(df["source"])
    offsets = dict(zip(colors, np.linspace(-0.15, 0.15, len(colors)), strict=True))
    for ax, stat in zip(axes, stats, strict=True):
        for name, color in colors.items():
            sub = df[(df["source"] == name) & (df["statistic"] == stat)].sort_values("layer")
            x = sub["layer"].to_numpy() + offsets[name]
            y = sub["value"].to_numpy()
            err = np.vstack([y - sub["ci_low"].to_numpy(), sub["ci_high"].to_numpy() - y]).clip(min=0)
            ax.errorbar(x, y, yerr=err, fmt="o-", ms=4, capsize=2, color=color, label=name)
        ax.set_xlabel("layer $l$ (0 = inputs, last = logits)")
        ax.set_ylabel(_LABELS.get(stat, stat))
        ax.set_xticks(sorted(df["layer"].unique()))
    axes[0].legend(fontsize=8, frameon=False)
    return fig


def plot_pair_structure(df: pd.DataFrame) -> Figure:
    """Mean connected correlation of synapse pairs by class (post / pre / none) per block and source."""
    df = check_table(df, ["source", "block", "pair", "mean_corr"], "plot_pair_structure")
    blocks = list(dict.fromkeys(df["block"]))
    fig = Figure(figsize=(3.6 * len(blocks), 3.4), layout="constrained")
    axes = fig.subplots(1, len(blocks), squeeze=False, sharey=True)[0]
    for ax, block in zip(axes, blocks, strict=True):
        sns.barplot(
            data=df[df["block"] == block],
            x="pair",
            y="mean_corr",
            hue="source",
            ax=ax,
            palette="colorblind",
            order=["post", "pre", "none"],
        )
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(block)
        ax.set_ylabel("mean connected correlation")
        if ax is not axes[0] and ax.get_legend() is not None:
            ax.get_legend().remove()
    return fig

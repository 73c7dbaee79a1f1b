"""Figures of the sensitivity analysis (matplotlib object API, no pyplot state).

=============================  ===============================================================
function                       input
=============================  ===============================================================
plot_overlap_depth             :func:`.simulate.finite_size_table` table(s), concatenated
plot_finite_size               the same table: rmse vs width N with a 1/sqrt(N) guide
plot_rate_functions            rate tables of :func:`.tilted.tilted_tails`, concatenated
plot_scgf                      SCGF tables of :func:`.tilted.tilted_tails`, concatenated
plot_trained_sensitivity       :func:`.trained.summarize_sensitivity` / ``trained_sensitivity``
plot_block_contrasts           :func:`.trained.block_contrasts`
=============================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from maxent._validation import check_table

__all__ = [
    "plot_overlap_depth",
    "plot_finite_size",
    "plot_rate_functions",
    "plot_scgf",
    "plot_trained_sensitivity",
    "plot_block_contrasts",
]


def _panels(df: pd.DataFrame, keys: Sequence[str], size: tuple[float, float] = (3.6, 3.0)):
    groups = list(df.groupby(list(keys), sort=True))
    n = len(groups)
    ncol = min(n, 4)
    nrow = -(-n // ncol)
    fig = Figure(figsize=(size[0] * ncol, size[1] * nrow), layout="constrained")
    axes = fig.subplots(nrow, ncol, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, groups, axes


def _title(key: object) -> str:
    return " / ".join(str(k) for k in (key if isinstance(key, tuple) else (key,)))


def plot_overlap_depth(table: pd.DataFrame) -> Figure:
    """q_l vs layer: mean-field recursion (line) and simulation (points, ± sd/sqrt over networks)."""
    df = check_table(
        table, ["activation", "perturbation", "width", "layer", "q_theory", "q_mean", "q_sd"], "table"
    )
    fig, groups, axes = _panels(df, ["activation", "perturbation"])
    for ax, (key, g) in zip(axes, groups, strict=False):
        th = g.drop_duplicates("layer").sort_values("layer")
        ax.plot(np.r_[0, th["layer"]], np.r_[1.0, th["q_theory"]], "k-", lw=1.5, label="mean field")
        for w, gw in g.groupby("width"):
            ax.errorbar(gw["layer"], gw["q_mean"], yerr=gw["q_sd"], fmt="o", ms=4, capsize=2, label=f"N={w}")
        ax.set(title=_title(key), xlabel="layer l", ylabel="overlap q_l", ylim=(-0.05, 1.05))
    axes[0].legend(fontsize=7)
    return fig


def plot_finite_size(table: pd.DataFrame) -> Figure:
    """rms deviation of single-network q_l from the recursion vs width N (log-log), 1/sqrt(N) guide."""
    df = check_table(table, ["activation", "perturbation", "width", "layer", "rmse"], "table")
    fig, groups, axes = _panels(df, ["activation", "perturbation"])
    for ax, (key, g) in zip(axes, groups, strict=False):
        for layer, gl in g.groupby("layer"):
            ax.loglog(gl["width"], gl["rmse"], "o-", ms=3, label=f"l={layer}")
        w = np.sort(g["width"].unique()).astype(float)
        ref = g[g["width"] == w[0]]["rmse"].mean() * np.sqrt(w[0] / w)
        ax.loglog(w, ref, "k--", lw=1, label="∝ 1/sqrt(N)")
        ax.set(title=_title(key), xlabel="width N", ylabel="rms(q_l - q_l^MF)")
    axes[0].legend(fontsize=7)
    return fig


def plot_rate_functions(table: pd.DataFrame) -> Figure:
    """Phi_L(q) of the theory (line) and -(1/N) ln P from tilted simulation (points, by width)."""
    df = check_table(table, ["activation", "perturbation", "q", "rate_sim", "rate_theory", "width"], "table")
    fig, groups, axes = _panels(df, ["activation", "perturbation"])
    for ax, (key, g) in zip(axes, groups, strict=False):
        th = g.drop_duplicates("q").sort_values("q")
        ax.plot(th["q"], th["rate_theory"], "k-", lw=1.5, label="theory Phi_L")
        for w, gw in g.dropna(subset=["rate_sim"]).groupby("width"):
            ax.plot(gw["q"], gw["rate_sim"], "o", ms=3, label=f"tilted sim N={w}")
        ax.set(title=_title(key), xlabel="q_L", ylabel="rate")
    axes[0].legend(fontsize=7)
    return fig


def plot_scgf(table: pd.DataFrame) -> Figure:
    """lambda(theta): Legendre transform of the theory (line) and particle estimates (points ± sem)."""
    df = check_table(
        table, ["activation", "perturbation", "theta", "lambda_sim", "lambda_theory", "width"], "table"
    )
    fig, groups, axes = _panels(df, ["activation", "perturbation"])
    for ax, (key, g) in zip(axes, groups, strict=False):
        th = g.drop_duplicates("theta").sort_values("theta")
        ax.plot(th["theta"], th["lambda_theory"], "k-", lw=1.5, label="theory")
        for w, gw in g.groupby("width"):
            sem = gw["lambda_sem"] if "lambda_sem" in gw else None
            ax.errorbar(gw["theta"], gw["lambda_sim"], yerr=sem, fmt="o", ms=3, capsize=2, label=f"N={w}")
        ax.set(title=_title(key), xlabel="theta", ylabel="lambda(theta)")
    axes[0].legend(fontsize=7)
    return fig


def plot_trained_sensitivity(summary: pd.DataFrame, metric: str = "agreement") -> Figure:
    """Metric vs weight correlation rho, one line per block with its run-bootstrap band."""
    df = check_table(
        summary, ["block", "perturbation", "rho", "metric", "value", "ci_low", "ci_high"], "summary"
    )
    df = df[df["metric"] == metric]
    if df.empty:
        raise ValueError(f"summary has no rows of metric {metric!r}")
    fig, groups, axes = _panels(df, ["perturbation"], size=(4.2, 3.3))
    for ax, (key, g) in zip(axes, groups, strict=False):
        for block, gb in g.groupby("block"):
            gb = gb.sort_values("rho")
            ax.plot(gb["rho"], gb["value"], "o-", ms=3, label=block)
            ax.fill_between(gb["rho"], gb["ci_low"], gb["ci_high"], alpha=0.25)
        ax.set(title=f"{_title(key)} of one block", xlabel="weight correlation rho", ylabel=metric)
    axes[0].legend(fontsize=7)
    return fig


def plot_block_contrasts(contrasts: pd.DataFrame) -> Figure:
    """Reference-minus-block differences vs rho with bootstrap intervals (> 0: reference less sensitive)."""
    df = check_table(
        contrasts,
        ["reference", "block", "perturbation", "rho", "difference", "ci_low", "ci_high"],
        "contrasts",
    )
    fig, groups, axes = _panels(df, ["perturbation"], size=(4.2, 3.3))
    for ax, (key, g) in zip(axes, groups, strict=False):
        for block, gb in g.groupby("block"):
            gb = gb.sort_values("rho")
            err = np.vstack([gb["difference"] - gb["ci_low"], gb["ci_high"] - gb["difference"]])
            ax.errorbar(
                gb["rho"],
                gb["difference"],
                yerr=err,
                fmt="o-",
                ms=3,
                capsize=2,
                label=f"{gb['reference'].iloc[0]} - {block}",
            )
        ax.axhline(0.0, color="k", lw=0.8)
        ax.set(
            title=_title(key),
            xlabel="weight correlation rho",
            ylabel=f"difference in {df['metric'].iloc[0] if 'metric' in df else 'metric'}",
        )
    axes[0].legend(fontsize=7)
    return fig

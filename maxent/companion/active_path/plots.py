"""Figures of the active path analysis (matplotlib/seaborn; functions take the tidy tables)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from maxent._validation import check_table

__all__ = ["plot_phase_diagram"]

_REQUIRED = {"T", "transition", "rho", "rho_err"}


def plot_phase_diagram(df: pd.DataFrame, grid: pd.DataFrame | None = None, *, ax=None) -> Figure:
    """Phase diagram in the (removal rho, temperature T) plane.

    Parameters
    ----------
    df : DataFrame
        Output of :func:`.phase_diagram.phase_diagram` (columns T, transition, rho, rho_err).
    grid : DataFrame, optional
        Output of :func:`.phase_diagram.order_parameter_grid`, drawn as a background of the m = 1
        order parameter q.
    ax : matplotlib Axes, optional

    Returns
    -------
    Figure
    """
    check_table(df, sorted(_REQUIRED), "phase diagram table")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 4.2))
    else:
        fig = ax.figure
    if grid is not None and len(grid):
        piv = grid.pivot(index="T", columns="rho", values="q")
        mesh = ax.pcolormesh(
            piv.columns.to_numpy(),
            piv.index.to_numpy(),
            piv.to_numpy(),
            shading="nearest",
            cmap="Greys",
            vmin=0,
            vmax=1,
            alpha=0.6,
        )
        fig.colorbar(mesh, ax=ax, label="q (m = 1 order parameter)")
    styles = {
        "dynamical": ("C0", "o", r"$\rho_d$ (clustering)"),
        "static": ("C3", "s", r"$\rho_s$ (condensation)"),
    }
    for name, g in df.groupby("transition"):
        g = g.sort_values("T")
        color, marker, label = styles.get(name, ("k", "^", name))
        ax.errorbar(
            g["rho"],
            g["T"],
            xerr=np.maximum(g["rho_err"].to_numpy(), 0),
            color=color,
            marker=marker,
            capsize=3,
            label=label,
        )
    d = df[df.transition == "dynamical"].sort_values("T")
    if len(d):
        ax.text(0.03, 0.9, "paramagnet", transform=ax.transAxes)
        ax.text(0.7, 0.08, "spin glass", transform=ax.transAxes)
    ax.set_xlabel(r"removal probability $\rho$")
    ax.set_ylabel("temperature T")
    L = df["n_layers"].iloc[0] if "n_layers" in df else "?"
    a = df["path_density"].iloc[0] if "path_density" in df else "?"
    ax.set_title(f"active path model (inferred), L={L}, M/N$^2$={a}")
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, 0.88), fontsize=8)
    fig.tight_layout()
    return fig

"""Report sections and figures of the companion stages (sensitivity, dimension).

A sentence states a conclusion only when its intervals and its null allow it: a block is called
less sensitive than another only when the paired difference excludes zero at every level and the
column-shuffled null does not show the same ordering at those levels; trained representations are
called lower-dimensional than model-drawn ones only where the intervals are disjoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from maxent.pipeline.results import Results

__all__ = ["companion_sections", "companion_figures", "sensitivity_verdicts"]

_METRIC = "agreement"  # fraction of test inputs on which the perturbed network's class is unchanged


def sensitivity_verdicts(contrasts: pd.DataFrame, metric: str = _METRIC) -> pd.DataFrame:
    """Per (setting, perturbation, block): at how many levels the reference block is resolved as
    less / more sensitive (difference of ``metric`` > 0 / < 0 with an interval excluding 0), in the
    trained ensemble and in its shuffled null, and whether "less sensitive" can be stated."""
    cols = ["setting", "perturbation", "reference", "block", "levels", "less", "more", "null_less", "stated"]
    if contrasts is None or contrasts.empty:
        return pd.DataFrame(columns=cols)
    df = contrasts[contrasts["metric"] == metric].copy()
    resolved = df["excludes_zero"].astype(bool)
    df["less"] = resolved & (df["difference"] > 0)
    df["more"] = resolved & (df["difference"] < 0)
    rows = []
    for (s, p, ref, b), g in df.groupby(["setting", "perturbation", "reference", "block"], sort=False):
        data = g[g["ensemble"] == "trained"]
        null = g[g["ensemble"] != "trained"]
        less, null_less = int(data["less"].sum()), int(null["less"].sum())
        n = len(data)
        rows.append(
            {
                "setting": s,
                "perturbation": p,
                "reference": ref,
                "block": b,
                "levels": n,
                "less": less,
                "more": int(data["more"].sum()),
                "null_less": null_less if len(null) else None,
                "stated": bool(n and less == n and len(null) and null_less == 0),
            }
        )
    return pd.DataFrame(rows, columns=cols)


def _sensitivity_section(res: Results, markdown_table: Callable[[pd.DataFrame], str]) -> list[str]:
    T, fig = res.tables, res.config.outputs.figures
    out = ["## Sensitivity to dilution and sign flips (companion analysis)\n"]
    ref = res.config.sensitivity.reference
    out.append(
        "Each trained network is perturbed in one block at a time: dilution (each weight kept with "
        "probability c and rescaled) or sign flips (probability p), compared at equal weight "
        "correlation rho = sqrt(c) = 1 - 2p; `agreement` is the fraction of test inputs whose class "
        "is unchanged. Intervals are run-level bootstrap intervals; the column-shuffled null keeps "
        "every weight's magnetization and destroys what training coordinated. The mean-field theory "
        "of random networks behind this analysis is inferred (see maxent.companion.sensitivity). "
        "Tables: `tables/sensitivity.csv`, `tables/sensitivity_contrasts.csv`.\n"
    )
    verdicts = sensitivity_verdicts(T.get("sensitivity_contrasts"))
    if verdicts.empty:
        out.append(f"No setting has a block {ref} and another block to compare with.\n")
    else:
        stated = verdicts[verdicts["stated"]]
        if len(stated):
            parts = [
                f"{r.reference} less sensitive than {r.block} to {r.perturbation} in {r.setting} "
                f"(all {r.levels} levels; shuffled null at {r.null_less})"
                for r in stated.itertuples()
            ]
            out.append("Stated (resolved at every level, not by the null): " + "; ".join(parts) + ".\n")
        else:
            out.append(
                f"No ordering of {ref} against another block is resolved at every level beyond the null.\n"
            )
        out.append(
            f"Levels at which {ref} is resolved as less / more sensitive (agreement), and as less "
            "sensitive in the shuffled null:\n"
        )
        out.append(markdown_table(verdicts) + "\n")
    if fig:
        sens = T["sensitivity"]
        for s in pd.unique(sens["setting"]):
            names = [_figure_name(s, e) for e in pd.unique(sens.loc[sens["setting"] == s, "ensemble"])]
            out.append(" ".join(f"![sensitivity {s}]({name})" for name in names) + "\n")
    return out


def _dimension_section(res: Results, markdown_table: Callable[[pd.DataFrame], str]) -> list[str]:
    T, fig = res.tables, res.config.outputs.figures
    out = ["## Dimension of hidden representations (companion analysis)\n"]
    out.append(
        "Participation-ratio dimension D_l / N_l = (Tr C)^2 / (N_l Tr C^2) of the layer activity on the "
        "test inputs, for the trained networks, their column-shuffled null (`shuffled null`), networks "
        "drawn from the fitted block models (`ising`) and from their J = 0 counterparts with the same "
        "magnetizations (`independent`), with run-level bootstrap intervals. `share` is the part of "
        "the trained networks' dimension reduction (against `independent`) that the fitted couplings "
        "reproduce; it is stated only "
        "where that reduction is resolved (`gap_resolved`). The correlated-synapse theory of this "
        "analysis is inferred (see maxent.companion.correlated). Tables: `tables/dimension.csv`, "
        "`tables/dimension_share.csv`.\n"
    )
    dim = T["dimension"]
    hidden = dim[(dim["statistic"] == "D_over_N") & (dim["role"] == "hidden")]
    if len(hidden):
        cell = hidden.assign(
            D=[
                f"{v:.3f} [{lo:.3f}, {hi:.3f}]"
                for v, lo, hi in zip(hidden["value"], hidden["ci_low"], hidden["ci_high"], strict=True)
            ]
        )
        wide = cell.pivot_table(
            index=["setting", "layer"], columns="source", values="D", aggfunc="first", sort=False
        )
        out.append(markdown_table(wide.reset_index()) + "\n")
        lower = []
        for (s, layer), g in hidden.groupby(["setting", "layer"], sort=False):
            top = g.set_index("source")["ci_high"]
            bottom = g.set_index("source")["ci_low"]
            if {"trained", "ising", "shuffled null"} <= set(top.index) and top["trained"] < min(
                bottom["ising"], bottom["shuffled null"]
            ):
                lower.append(f"{s} layer {layer}")
        if lower:
            out.append(
                "Trained hidden representations have a lower dimension than those of the column-shuffled "
                "networks and of networks drawn from the fitted models (disjoint intervals) in: "
                + ", ".join(lower)
                + ".\n"
            )
    share = T.get("dimension_share")
    if share is not None and len(share):
        cols = [
            "setting",
            "layer",
            "gap",
            "gap_ci_low",
            "gap_ci_high",
            "share",
            "share_ci_low",
            "share_ci_high",
            "gap_resolved",
        ]
        out.append(markdown_table(share[[c for c in cols if c in share.columns]]) + "\n")
    if fig:
        for s in pd.unique(dim["setting"]):
            out.append(f"![dimension {s}](figures/dimension_{s}.png)\n")
    return out


def _figure_name(setting: str, ensemble: str) -> str:
    """``figures/sensitivity_<setting>.png`` for the trained ensemble, ``..._null.png`` for its null."""
    return f"figures/sensitivity_{setting}{'' if ensemble == 'trained' else '_null'}.png"


def companion_sections(res: Results, markdown_table: Callable[[pd.DataFrame], str]) -> list[str]:
    """The report sections of the companion stages that ran."""
    out: list[str] = []
    if "sensitivity" in res.tables and len(res.tables["sensitivity"]):
        out += _sensitivity_section(res, markdown_table)
    if "dimension" in res.tables and len(res.tables["dimension"]):
        out += _dimension_section(res, markdown_table)
    return out


def companion_figures(
    res: Results,
    fig_key: Callable[..., str],
    writer: Callable[[Callable[[], Any]], Callable[[Path], None]],
) -> Iterator[tuple[str, str, Callable[[Path], None]]]:
    """(path, key, writer) of the companion figures: per setting ``sensitivity_<s>.png`` and, for its
    column-shuffled null, ``sensitivity_<s>_null.png`` (agreement vs rho per block), and
    ``dimension_<s>.png`` (D_l / N_l per source, the shuffled null among them)."""
    tables = res.tables
    sens = tables.get("sensitivity")
    if sens is not None and len(sens):
        for (s, ensemble), sel in sens.groupby(["setting", "ensemble"], sort=False):

            def make_sensitivity(sel: pd.DataFrame = sel) -> Any:
                from maxent.companion.sensitivity import plot_trained_sensitivity

                return plot_trained_sensitivity(sel, metric=_METRIC)

            name = _figure_name(s, ensemble)
            yield name, fig_key(name, "sensitivity"), writer(make_sensitivity)
    dim = tables.get("dimension")
    if dim is not None and len(dim):
        for s in pd.unique(dim["setting"]):

            def make_dimension(s: str = s) -> Any:
                from maxent.companion.correlated import plot_trained_dimension

                return plot_trained_dimension(dim[dim["setting"] == s])

            yield f"figures/dimension_{s}.png", fig_key(f"dimension/{s}", "dimension"), writer(make_dimension)

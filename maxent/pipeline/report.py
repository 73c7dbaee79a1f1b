"""The pipeline's Markdown report and figures (``OUT/report.md``, ``OUT/figures/*.png``).

Both are built from the tidy tables of a run (:mod:`maxent.pipeline`) only, so they can be
regenerated from ``OUT/tables`` and are skipped when their inputs did not change. The figures are
drawn by :mod:`maxent.plots`; this module only chooses which figures a run gets, saves them
atomically, and writes the text around them.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from maxent import __version__
from maxent._atomic import atomic_open
from maxent.pipeline.report_companion import companion_figures, companion_sections

if TYPE_CHECKING:  # pragma: no cover
    from maxent.pipeline.results import Results

__all__ = [
    "markdown_table",
    "save_figure",
    "figure_writers",
    "render_report",
    "most_liquid",
    "summarize_jumps",
]


# ---------------------------------------------------------------------------------- tables
def _cell(v: Any, floatfmt: str) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return "–"
        return format(float(v), floatfmt)
    return str(v).replace("|", "\\|")


def markdown_table(df: pd.DataFrame, floatfmt: str = ".4g", max_rows: int = 60) -> str:
    """A pipe table of ``df`` (first ``max_rows`` rows; floats with ``floatfmt``)."""
    if df is None or len(df.columns) == 0:
        return "_(empty)_"
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.head(max_rows).itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v, floatfmt) for v in row) + " |")
    if len(df) > max_rows:
        lines.append(f"\n_({len(df) - max_rows} more rows in the CSV table)_")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------- figures
def save_figure(fig: Any, path: Path, dpi: int) -> None:
    """Save a matplotlib figure as PNG atomically (no timestamp metadata) and release it."""
    try:
        with atomic_open(path, "wb") as fh:
            fig.savefig(fh, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    finally:
        if "matplotlib.pyplot" in sys.modules:
            import matplotlib.pyplot as plt

            plt.close(fig)


def _use_agg() -> None:
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")


# Long by design: one (path, key, writer) per figure, in the order of the report.
def figure_writers(
    res: Results, key: Callable[..., str]
) -> Iterator[tuple[str, str, Callable[[Path], None]]]:
    """(relative path, input key, writer) of every figure of a run's results; ``key(kind, *parts)``
    makes the output keys.

    Figures: ``accuracy.png``; per setting ``fit_quality_<s>.png``, ``landscape_<s>.png`` (s(d),
    both sweeps, s_ub), ``distance_<s>.png`` (d(x)), ``overlap_<s>.png`` (P(q) per block);
    per setting and block ``tap_<s>_<b>.png`` (TAP free energies); ``liquidity.png``.
    """
    _use_agg()
    cfg = res.config
    dpi = cfg.outputs.dpi
    tables, keys = res.tables, res.table_keys

    def fig_key(name: str, *inputs: str) -> str:
        return key("figure", name, [keys.get(i) for i in inputs], dpi)

    def writer(make: Callable[[], Any]) -> Callable[[Path], None]:
        return lambda path: save_figure(make(), path, dpi)

    def plots() -> Any:
        from maxent import plots as p

        return p

    def by_setting(name: str, setting: str) -> pd.DataFrame:
        df = tables[name]
        return df[df["setting"] == setting].reset_index(drop=True)

    if "claims_curve" in tables and len(tables["claims_curve"]):
        yield (
            "figures/claims_curve.png",
            fig_key("claims_curve", "claims_curve"),
            writer(lambda: plots().plot_claims_curve(tables["claims_curve"])),
        )
    yield (
        "figures/accuracy.png",
        fig_key("accuracy", "samples"),
        writer(lambda: plots().plot_accuracy(tables["samples"], hue="setting")),
    )
    for s in cfg.settings:
        n = s.name
        for (sq, b), full in res.quality_full.items():
            if sq != n:
                continue

            def make_quality(full: pd.DataFrame = full, n: str = n, b: str = b) -> Any:
                from maxent.fit.quality import plot_fit_quality

                return plot_fit_quality(full, title=f"{n} {b}")

            yield (
                f"figures/fit_quality_{n}_{b}.png",
                fig_key(f"fit_quality/{n}/{b}", "fit_quality"),
                writer(make_quality),
            )
        if "landscape" in tables:
            yield (
                f"figures/landscape_{n}.png",
                fig_key(f"landscape/{n}", "landscape"),
                writer(lambda n=n: plots().plot_landscape(by_setting("landscape", n))),
            )
            yield (
                f"figures/distance_{n}.png",
                fig_key(f"distance/{n}", "landscape"),
                writer(lambda n=n: plots().plot_distance_vs_x(by_setting("landscape", n))),
            )
        if "overlap" in tables:
            yield (
                f"figures/overlap_{n}.png",
                fig_key(f"overlap/{n}", "overlap"),
                writer(lambda n=n: plots().plot_overlap_distribution(by_setting("overlap", n), hue="block")),
            )
        if "tap" in tables:
            tap = tables["tap"]
            for b in pd.unique(tap.loc[tap["setting"] == n, "block"]):

                def make_tap(n: str = n, b: str = b) -> Any:
                    sub = by_setting("tap", n)
                    # integer bins: plot_tap_free_energies' own bins for a single state trip seaborn
                    fig = plots().plot_tap_free_energies(
                        sub[sub["block"] == b].reset_index(drop=True), bins=10
                    )
                    fig.axes[0].set_title(f"{n} {b}: {fig.axes[0].get_title()}")
                    return fig

                yield (f"figures/tap_{n}_{b}.png", fig_key(f"tap/{n}/{b}", "tap"), writer(make_tap))
    if "liquidity" in tables:
        yield (
            "figures/liquidity.png",
            fig_key("liquidity", "liquidity"),
            writer(lambda: plots().plot_liquidity(tables["liquidity"], hue="setting")),
        )
    yield from companion_figures(res, fig_key, writer)


# ---------------------------------------------------------------------------------- summaries
#: liquidity columns, in order of preference, whose *smallest* value marks the most liquid block
LIQUIDITY_KEYS = ("entropy_gap", "landscape_area", "mean_abs_J", "rms_J")


def most_liquid(liq: pd.DataFrame) -> pd.DataFrame:
    """Per setting, the block closest to independent spins (smallest entropy gap, else weakest J).

    Returns a DataFrame with columns setting, block, criterion, value.
    """
    if liq is None or liq.empty:
        return pd.DataFrame(columns=["setting", "block", "criterion", "value"])
    crit = next((c for c in LIQUIDITY_KEYS if c in liq.columns), None)
    if crit is None:
        return pd.DataFrame(columns=["setting", "block", "criterion", "value"])
    rows = []
    for s, g in liq.groupby("setting", sort=False):
        g = g[g["block"] != "full"] if "block" in g.columns else g
        vals = g[crit].abs() if crit == "entropy_gap" else g[crit]
        i = vals.idxmin()
        rows.append(
            {"setting": s, "block": g.loc[i, "block"], "criterion": crit, "value": float(g.loc[i, crit])}
        )
    return pd.DataFrame(rows)


def summarize_jumps(transitions: pd.DataFrame) -> pd.DataFrame:
    """One row per (setting, block, reference) with a first-order signature.

    Columns: ``jumps`` (number of jumps of d, both sweeps), ``down sweep jumps at x`` and ``up
    sweep jumps at x`` (the midpoints of the x steps where d jumps), ``largest |Δd|``,
    ``hysteresis x range`` (where the two sweeps disagree) and ``max |d_down − d_up|``;
    ``converged`` is false when any BP point involved did not converge.
    """
    cols = [
        "setting",
        "block",
        "reference",
        "jumps",
        "down sweep jumps at x",
        "up sweep jumps at x",
        "largest |Δd|",
        "hysteresis x range",
        "max |d_down − d_up|",
        "converged",
    ]
    if transitions is None or transitions.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (s, b, r), g in transitions.groupby(["setting", "block", "reference"], sort=False):
        jumps = g[g["kind"] == "jump"]
        loops = g[g["kind"] == "hysteresis"]

        def where(sw: str, jumps: pd.DataFrame = jumps) -> str:
            j = jumps[jumps["sweep"] == sw]
            return ", ".join(f"{(a + c) / 2:.3g}" for a, c in zip(j["x_from"], j["x_to"], strict=True)) or "–"

        rows.append(
            {
                "setting": s,
                "block": b,
                "reference": r,
                "jumps": len(jumps),
                "down sweep jumps at x": where("down"),
                "up sweep jumps at x": where("up"),
                "largest |Δd|": float(jumps["delta_d"].abs().max()) if len(jumps) else float("nan"),
                "hysteresis x range": "; ".join(
                    f"[{a:.3g}, {c:.3g}]" for a, c in zip(loops["x_from"], loops["x_to"], strict=True)
                )
                or "–",
                "max |d_down − d_up|": float(loops["delta_d"].max()) if len(loops) else float("nan"),
                "converged": bool(g["converged"].astype(bool).all()),
            }
        )
    return pd.DataFrame(rows, columns=cols)


# ---------------------------------------------------------------------------------- report
def render_report(res: Results) -> str:
    """The Markdown report of a run's results (deterministic given them; :meth:`Results.load`
    reads them back from OUT, so the report can be rebuilt without the cache)."""
    cfg = res.config
    out: list[str] = []
    add = out.append
    add(f"# maxent report: {cfg.name}\n")
    if cfg.description:
        add(cfg.description.strip() + "\n")
    add(
        f"maxent {__version__}; config hash `{res.config_hash}`; dataset `{cfg.dataset.name}` "
        f"({cfg.dataset.n_components} PCA inputs); seed {cfg.seed}; device `{cfg.device}`. "
        "Convention: P(s) ∝ exp(Σ_{i<j} J_ij s_i s_j + Σ_i h_i s_i), s = ±1, β = 1.\n"
    )
    for section in (
        _section_what_ran,
        _section_conclusions,
        _section_samples,
        _section_fit_quality,
        _section_landscapes,
        _section_clustering,
        _section_liquidity,
        _section_companions,
        _section_failures,
        _section_files,
    ):
        section(res, add)
    return "\n".join(out)


def _sorted(params: dict) -> dict:
    """Parameters in key order: the same text whether the config came from YAML or OUT/.maxent."""
    return dict(sorted(params.items()))


def _section_what_ran(res: Results, add: Callable[[str], None]) -> None:
    """Settings, estimators, fits and the geometry options of the run."""
    cfg = res.config
    T = res.tables
    add("## What ran\n")
    rows = []
    for s in cfg.settings:
        smp = res.samples[s.name]
        tc = cfg.train_config(s)
        rows.append(
            {
                "setting": s.name,
                "widths": "-".join(map(str, s.widths)),
                "weights": s.n_weights,
                "P (n_train)": smp.meta.get("setting", {}).get("n_train", s.n_train),
                "regime": s.regime or "",
                "runs × draws": f"{s.n_runs} × {s.draws_per_run}",
                "gauge": s.gauge,
                "trainer": f"{tc.method}, {tc.epochs} epochs, lr {tc.lr:g}",
                "test acc. (mean ± sd)": f"{smp.accuracy.mean():.3f} ± {smp.accuracy.std(ddof=1):.3f}",
                "train acc.": f"{smp.train_accuracy.mean():.3f}",
            }
        )
    add(markdown_table(pd.DataFrame(rows)) + "\n")
    est_rows = [
        {
            "block": "(default)",
            "estimator": cfg.fit.estimator.name,
            "params": _sorted(cfg.fit.estimator.params),
        }
    ]
    est_rows += [
        {"block": b, "estimator": e.name, "params": _sorted(e.params)} for b, e in cfg.fit.blocks.items()
    ]
    add(
        f"Inverse-Ising fits per block (W1..WL{' and the full network' if cfg.fit.include_full else ''}) on "
        f"{100 * (1 - cfg.fit.holdout):.0f}% of the runs; the other {100 * cfg.fit.holdout:.0f}% are "
        "held out "
        "for the quality checks.\n"
    )
    add(markdown_table(pd.DataFrame(est_rows)) + "\n")
    if "fits" in T and not T["fits"].empty:
        add(markdown_table(T["fits"]) + "\n")
    lc = cfg.landscape
    if lc.enabled:
        add(
            f"Entropy landscapes: x from {lc.x.start:g} to {lc.x.stop:g} step {lc.x.step:g}, both sweeps, "
            f"references {', '.join(lc.references)} (model-energy quantiles of the samples), "
            f"BP tol {lc.tol:g}.\n"
        )
    if cfg.clustering.enabled:
        add(
            f"Clustering: TAP equations from {cfg.clustering.n_starts} random starts per block; overlap "
            f"distribution of up to {cfg.clustering.max_samples} samples per setting.\n"
        )


def _section_conclusions(res: Results, add: Callable[[str], None]) -> None:
    """Every claim with its interval, null and verdict."""
    cfg = res.config
    T = res.tables
    fig = cfg.outputs.figures
    if "claims" in T:
        add(render_conclusions(T["claims"], cfg.claims))
        if fig and "claims_curve" in T and len(T["claims_curve"]):
            add("![sample-size curve](figures/claims_curve.png)\n")


def _section_samples(res: Results, add: Callable[[str], None]) -> None:
    """Accuracy distribution and data cards."""
    cfg = res.config
    fig = cfg.outputs.figures
    add("## Weight samples\n")
    if fig:
        add("![accuracy distribution](figures/accuracy.png)\n")
    add("Data cards: " + ", ".join(f"[{s.name}](data_cards/{s.name}.md)" for s in cfg.settings) + ".\n")


def _section_fit_quality(res: Results, add: Callable[[str], None]) -> None:
    """Held-out checks of the fits."""
    cfg = res.config
    T = res.tables
    fig = cfg.outputs.figures
    if "fit_quality" in T:
        add("## Fit quality\n")
        add(
            "Statistics the fits did not see (connected and three-point correlations, energy and overlap "
            "histograms of model samples against data, held-out likelihood). Full table: "
            "`tables/fit_quality.csv`.\n"
        )
        add(markdown_table(_quality_summary(T["fit_quality"])) + "\n")
        if fig:
            for sq, b in res.quality_blocks():
                add(f"![fit quality {sq} {b}](figures/fit_quality_{sq}_{b}.png)\n")


def _section_landscapes(res: Results, add: Callable[[str], None]) -> None:
    """Entropy landscapes s(d), convergence and first-order jumps."""
    cfg = res.config
    T = res.tables
    fig = cfg.outputs.figures
    if "landscape" in T:
        add("## Entropy landscapes\n")
        add(
            "s(d): entropy density of the tilted model against the distance d from the reference; the "
            "dashed curve is the independent-spin bound s_ub(d) = −d ln d − (1−d) ln(1−d). Both sweeps "
            "(x decreasing and increasing, messages warm-started) are drawn, so hysteresis is visible.\n"
        )
        land = T["landscape"]
        nc = int((~land["converged"].astype(bool)).sum()) if "converged" in land else 0
        if nc:
            add(
                f"**BP did not converge at {nc} of {len(land)} grid points** (flagged `converged = False` in "
                "`tables/landscape.csv`; those points are not results).\n"
            )
        jumps = summarize_jumps(T.get("transitions"))
        if jumps.empty:
            add(
                "No first-order jump was found in any landscape "
                "(s(d) continuous in every setting and block).\n"
            )
        else:
            add(
                "First-order signatures: jumps of d between neighbouring x in a sweep, and hysteresis "
                "(the two sweeps disagree). Details in `tables/transitions.csv`.\n"
            )
            add(markdown_table(jumps) + "\n")
            with_jump = jumps[jumps["jumps"] > 0]
            if len(with_jump):
                where = sorted({f"{r.setting} {r.block}" for r in with_jump.itertuples()})
                add(
                    f"Landscapes with a jump: {', '.join(where)}. Whether a jump is more than what "
                    "shuffled data give is tested under Conclusions (`first_order_jump`).\n"
                )
        add(markdown_table(_landscape_summary(land)) + "\n")
        if fig:
            for s in cfg.settings:
                add(f"![landscape {s.name}](figures/landscape_{s.name}.png)\n")
                add(f"![d(x) {s.name}](figures/distance_{s.name}.png)\n")


def _section_clustering(res: Results, add: Callable[[str], None]) -> None:
    """TAP states and the overlap distribution."""
    cfg = res.config
    T = res.tables
    fig = cfg.outputs.figures
    if "tap" in T:
        add("## Clustering structure\n")
        tap = T["tap"]
        add(
            "TAP equations m_i = tanh(h_i + Σ_j J_ij m_j − m_i Σ_j J_ij² (1 − m_j²)) from random starts: "
            "distinct fixed points, their free-energy densities f and basin fractions. One peak of f means "
            "one state (no clustering); several well-separated peaks mean a clustered weight space.\n"
        )
        add(markdown_table(_tap_summary(tap)) + "\n")
        if fig:
            for s in cfg.settings:
                blocks = pd.unique(tap.loc[tap["setting"] == s.name, "block"])
                add(" ".join(f"![TAP {s.name} {b}](figures/tap_{s.name}_{b}.png)" for b in blocks) + "\n")
    if "overlap" in T:
        add("Overlap distribution P(q) of the weight samples, q_ab = (1/N) Σ_i s_i^a s_i^b, per block:\n")
        if fig:
            add(" ".join(f"![P(q) {s.name}](figures/overlap_{s.name}.png)" for s in cfg.settings) + "\n")


def _section_liquidity(res: Results, add: Callable[[str], None]) -> None:
    """The per-block liquidity table (descriptive)."""
    cfg = res.config
    T = res.tables
    fig = cfg.outputs.figures
    if "liquidity" in T:
        add("## Liquid-like layers\n")
        liq = T["liquidity"]
        ml = most_liquid(liq)
        if not ml.empty:
            parts = [f"{r.block} in {r.setting} ({r.criterion} = {r.value:.4g})" for r in ml.itertuples()]
            add(
                "Descriptive only: the smallest raw entropy gap (fit penalties differ between blocks, "
                "and column-shuffled data give similar gaps) is " + "; ".join(parts) + ". The tested "
                "liquidity claim (`most_liquid_block`, null-corrected gap at a common penalty) is under "
                "Conclusions.\n"
            )
        add(markdown_table(liq) + "\n")
        if fig:
            add("![liquidity profile](figures/liquidity.png)\n")


def _section_companions(res: Results, add: Callable[[str], None]) -> None:
    """Sensitivity and dimension of the trained networks, when those stages ran."""
    for text in companion_sections(res, markdown_table):
        add(text)


def _section_failures(res: Results, add: Callable[[str], None]) -> None:
    """Failed tasks and outputs left alone."""
    failures = res.failures
    if failures:
        add("## Failures\n")
        add(
            f"{len(failures)} task(s) failed; their results are missing above (`run.log` has the "
            "tracebacks; rerunning retries only these):\n"
        )
        add("\n".join(f"- {f['stage']} `{f['task']}`: {f['error']}" for f in failures) + "\n")
    skipped = res.skipped_outputs
    if skipped:
        add("Not written, because a file that maxent did not write is there: ")
        add(", ".join(f"`{rel}`" for rel in sorted(skipped)) + "\n")


def _section_files(res: Results, add: Callable[[str], None]) -> None:
    """Figure failures, files written, compute time."""
    cfg = res.config
    T = res.tables
    if res.figure_failures:
        add("## Figures that failed\n")
        add("\n".join(f"- `{rel}`: {err}" for rel, err in res.figure_failures.items()) + "\n")
    add("## Files\n")
    add(
        "- `tables/`: " + ", ".join(f"`{k}.csv`" for k in sorted(T)) + "\n"
        "- `models/<setting>/<block>.<fmt>`: fitted couplings (`maxent.formats.load_model`), formats "
        + ", ".join(cfg.outputs.export_formats)
        + "\n"
        "- `samples/<setting>.npz`: the weight samples (`maxent.WeightSamples.load`)\n"
        "- `data_cards/<setting>.md`, `run.log`\n"
    )
    add("## Compute time\n")
    add(
        "Seconds spent computing each stage when its results were first computed (cached results cost "
        "nothing on later runs):\n"
    )
    add(markdown_table(res.compute_times) + "\n")


def _quality_summary(fq: pd.DataFrame) -> pd.DataFrame:
    """Wide summary per (setting, block): rmse/noise of m, c, T; JS distance of the energy and
    overlap histograms; held-out (pseudo-)log-likelihood of data vs the model's expectation."""
    rows = []
    for (s, b), g in fq.groupby(["setting", "block"], sort=False):
        g = g.set_index("statistic")
        row: dict[str, Any] = {"setting": s, "block": b}
        for stat, label in (("m", "m"), ("C_connected", "c_ij"), ("T_three_point", "T_ijk")):
            if stat in g.index:
                row[f"{label} rmse/noise"] = g.loc[stat, "rmse_ratio"]
                row[f"{label} r"] = g.loc[stat, "pearson_r"]
        for stat in ("energy", "overlap"):
            if stat in g.index:
                row[f"{stat} JS"] = g.loc[stat, "js_distance"]
        for stat in g.index:
            if str(stat).endswith("_test"):
                row[f"{stat} (data / model)"] = (
                    f"{g.loc[stat, 'data_value']:.4g} / {g.loc[stat, 'model_value']:.4g}"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def _landscape_summary(land: pd.DataFrame) -> pd.DataFrame:
    """Per (setting, block, reference): d at x = 0 and the largest gap s_ub(d) - s(d)."""
    rows = []
    for (s, b, r), g in land.groupby(["setting", "block", "reference"], sort=False):
        g = g[g["converged"].astype(bool)] if "converged" in g else g
        if g.empty:
            continue
        d = g["d"].to_numpy(float).clip(1e-12, 1 - 1e-12)
        sub = -d * np.log(d) - (1 - d) * np.log(1 - d)
        gap = sub - g["entropy"].to_numpy(float)
        x0 = g.iloc[(g["x"].abs()).to_numpy().argmin()]
        rows.append(
            {
                "setting": s,
                "block": b,
                "reference": r,
                "d at x=0": float(x0["d"]),
                "s at x=0": float(x0["entropy"]),
                "max s_ub − s": float(gap.max()),
                "mean s_ub − s": float(gap.mean()),
            }
        )
    return pd.DataFrame(rows)


def _tap_summary(tap: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (s, b), g in tap.groupby(["setting", "block"], sort=False):
        conv = g[g["converged"].astype(bool)] if "converged" in g else g
        f = conv["free_energy_density"] if "free_energy_density" in conv else pd.Series(dtype=float)
        rows.append(
            {
                "setting": s,
                "block": b,
                "TAP states": len(g),
                "converged": len(conv),
                "f min": float(f.min()) if len(f) else float("nan"),
                "f spread": float(f.max() - f.min()) if len(f) else float("nan"),
                "largest basin": float(g["fraction"].max()) if "fraction" in g else float("nan"),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------- conclusions
_CLAIM_TEXT = {
    "pair_correlations": "pair correlations stronger than in shuffled data",
    "pairs_resolved": "individual pairs resolved beyond the shuffled null",
    "constrained_beyond_magnetizations": "couplings lower the entropy below independent spins more than "
    "in shuffled data",
    "generalizes_beyond_independent": "the pairwise model predicts held-out runs better than independent "
    "spins, more than a model of shuffled data does",
    "overfitting": "train minus held-out pseudo-log-likelihood per spin",
    "most_liquid_block": "is the most liquid block (headline metric: null-corrected entropy gap)",
    "least_correlated_block": "has the least pair structure beyond the null (null-corrected mean r²)",
    "first_order_jump": "first-order jump (hysteresis) in the entropy landscape beyond the shuffled null",
    "multiple_tap_states": "more than one TAP state beyond the shuffled null",
}


def _fmt(v: float) -> str:
    return "–" if not np.isfinite(v) else f"{v:.4g}"


def render_conclusions(claims: pd.DataFrame, cc: Any) -> str:
    """The "Conclusions" section: one sentence per claim with its interval, null and verdict."""
    lines = ["## Conclusions\n"]
    lines.append(
        "Every conclusion below is tested (`tables/claims.csv`, `maxent.stats.claims`): a statistic on "
        f"the data, its {100 * cc.level:.0f}% run-level bootstrap interval (runs resampled, never draws; "
        "paired with a shuffled copy of the same runs), and its distribution on column-shuffled data (same "
        "magnetizations, no correlations). **significant** means permutation p ≤ "
        f"{cc.significance:g}, the interval above the null median, and an interval that can be trusted "
        "(its bootstrap replicates centred within 2 sd of the data's excess); otherwise the claim is **not "
        "resolvable** with the runs at hand, and `runs needed` estimates how many runs would resolve the "
        "effect seen (1/√R scaling of the noise; an approximation). Common penalty of the entropy-gap "
        f"claims: alpha = {cc.alpha:g}.\n"
    )
    if claims is None or claims.empty:
        lines.append("No claims were tested.\n")
        return "\n".join(lines)
    for setting, g in claims.groupby("setting", sort=False):
        lines.append(f"**{setting}**\n")
        for r in g.itertuples(index=False):
            what = _CLAIM_TEXT.get(r.claim, r.claim)
            ranking = r.claim in ("most_liquid_block", "least_correlated_block")
            subject = f"{r.block}" + (" " if ranking else ": ")
            ci = f"{100 * cc.level:.0f}% CI [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}]"
            if r.verdict == "descriptive":
                lines.append(f"- {subject}{what} = {_fmt(r.value)} ({ci}; descriptive).")
                continue
            null = f"null {_fmt(r.null_value)}, p = {_fmt(r.p_value)}"
            head = f"**{r.verdict}**"
            need = ""
            if r.verdict.startswith("not resolvable") and bool(getattr(r, "ci_reliable", True)):
                if np.isfinite(r.runs_needed):
                    need = f"; about {int(r.runs_needed):,} runs would resolve the effect seen"
                elif np.isfinite(r.null_value) and r.value <= r.null_value:
                    need = "; no excess over the null is seen"
                else:
                    need = "; the runs needed are not estimated for this statistic"
            if not bool(getattr(r, "ci_reliable", True)):
                ci += " unreliable (its bootstrap replicates are biased), so the claim is not stated"
            lines.append(
                f"- {subject}{what} — {head} ({r.statistic} = {_fmt(r.value)}, {ci}; {null}; "
                f"{r.n_runs} runs{need})."
            )
        lines.append("")
    return "\n".join(lines) + "\n"

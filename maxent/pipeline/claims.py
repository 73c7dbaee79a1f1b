"""The pipeline's ``claims`` stage: every conclusion with its interval, null and verdict.

Runs after the geometry stages, on the fitted blocks of every setting (see
:mod:`maxent.stats.claims` for the statistics). Tasks, each cached like the other stages:

* ``claims-block`` per (setting, block): pair statistics against column-shuffled nulls, the
  entropy gap and held-out likelihood gain of common-penalty fits (bootstrap over runs, nulls),
  and the sample-size curve;
* ``claims-jump`` per (setting, block) whose landscapes show a jump or hysteresis: the hysteresis
  area around one of those references ("medium" when it jumps), refitted on bootstrap replicates
  and on nulls (every block the report says has a jump is tested);
* ``claims-tap`` per block whose TAP stage found more than one converged state.

Outputs ``tables/claims.csv`` (one row per claim, columns :data:`maxent.stats.claims.CLAIM_COLUMNS`)
and ``tables/claims_curve.csv`` (statistics on fractions of the runs).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from maxent.pipeline.config import stable_hash
from maxent.pipeline.keys import task_seed
from maxent.pipeline.stage import Done, Stage, Task
from maxent.stats import claims as C

if TYPE_CHECKING:  # pragma: no cover
    from maxent.pipeline.runner import Runner

__all__ = ["CLAIM_STAGES", "refit_spec"]


# ----------------------------------------------------------------------------- tasks
def _task_claims_block(
    setting: str,
    block: str,
    X: np.ndarray,
    runs: np.ndarray,
    X_test: np.ndarray | None,
    runs_test: np.ndarray | None,
    cs: C.ClaimSettings,
    boot_seed: int,
    null_seed: int,
) -> dict[str, Any]:
    pair_rows, r2 = C.pair_claims(setting, block, X, runs, cs, boot_seed=boot_seed, null_seed=null_seed)
    rep = C.gap_replicates(X, runs, X_test, cs, boot_seed=boot_seed, null_seed=null_seed + 7)
    gap_rows = C.gap_claims(setting, block, rep, runs, runs_test, cs, seed=null_seed + 11)
    rows = pd.DataFrame(pair_rows + gap_rows, columns=C.CLAIM_COLUMNS)
    curve = pd.DataFrame(C.curve_rows(setting, block, rep["curve"]), columns=C.CURVE_COLUMNS)
    return {
        "rows": rows,
        "curve": curve,
        "r2_boot": np.asarray(r2["boot"], dtype=np.float64),
        "r2_null": np.asarray(r2["null"], dtype=np.float64),
        "gap_boot": np.asarray(rep["gap_boot"], dtype=np.float64),
        "gap_null": np.asarray(rep["gap_null"], dtype=np.float64),
        "values": {"r2": float(r2["value"]), "gap": float(rep["gap"])},
    }


def _refit(name: str, params: dict):
    from maxent.fit.registry import make_estimator

    def fit(X: np.ndarray):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return make_estimator(name, params, random_state=0).fit(X).model_

    return fit


def _task_claims_jump(
    name: str,
    params: dict,
    X: np.ndarray,
    runs: np.ndarray,
    reference: np.ndarray,
    kind: str,
    x: list[float],
    cs: C.ClaimSettings,
    seed: int,
    tol: float,
    max_iter: int,
    damping: float,
) -> dict[str, Any]:
    rep = C.jump_replicates(
        _refit(name, params),
        X,
        runs,
        reference,
        kind,
        x,
        cs,
        seed=seed,
        tol=tol,
        max_iter=max_iter,
        damping=damping,
    )
    return {
        "boot": rep["boot"],
        "null": rep["null"],
        "value": {"area": rep["value"], "n_free": rep["n_free"]},
    }


def _task_claims_tap(
    setting: str,
    block: str,
    model,
    name: str,
    params: dict,
    X: np.ndarray,
    runs: np.ndarray,
    cs: C.ClaimSettings,
    seed: int,
) -> dict[str, Any]:
    from maxent.stats.nulls import column_shuffle

    rng = np.random.default_rng(seed)
    fit = _refit(name, params)
    # constant spins are frozen in every TAP state: the nulls are fitted on the free spins (their
    # divergent fields only slow the fits down)
    X = np.asarray(X)
    X = X[:, X.min(axis=0) != X.max(axis=0)]
    nulls = [fit(column_shuffle(X, groups=runs, random_state=rng)) for _ in range(cs.n_null_tap)]
    R = len(np.unique(runs))
    row = C.tap_claim(setting, block, model, nulls, R, cs, seed)
    return {"rows": pd.DataFrame([row], columns=C.CLAIM_COLUMNS)}


# ----------------------------------------------------------------------------- stage
def refit_spec(est_name: str, params: dict, info: dict) -> tuple[str, dict]:
    """Estimator that refits a block on resampled or shuffled data: the same one, with a penalty
    chosen by cross-validation frozen at the data's choice (no second selection on replicates)."""
    if est_name == "pseudolikelihood_cv":
        keep = {k: v for k, v in params.items() if k in ("alpha_h", "penalty", "dtype", "device", "max_iter")}
        return "pseudolikelihood", {**keep, "alpha": float(info["alpha"])}
    return est_name, dict(params)


def claim_blocks(run: Runner, s) -> list[str]:
    """Blocks whose claims are tested: the layers, and "full" when ``claims.include_full``."""
    return [b for b in run.res.blocks(s) if b != "full" or run.cfg.claims.include_full]


def _plan_block(run: Runner) -> list[Task]:
    cfg, res = run.cfg, run.res
    cs = cfg.claims.settings()
    tasks = []
    for s in cfg.settings:
        boot_seed = task_seed(cfg.seed, "claims-boot", s.name)
        for b in claim_blocks(run, s):
            X_test = res.X(s.name, b, "test")
            has_test = X_test.shape[0] >= 2 and len(np.unique(res.runs(s.name, "test"))) >= 2
            key = run.key("claims-block", res.samples_key[s.name], b, cfg.fit.holdout, cs, boot_seed)
            args = (
                s.name,
                b,
                res.X(s.name, b),
                res.runs(s.name),
                X_test if has_test else None,
                res.runs(s.name, "test") if has_test else None,
                cs,
                boot_seed,
                task_seed(cfg.seed, "claims-null", s.name, b),
            )
            tasks.append(Task("claims-block", (s.name, b), key, _task_claims_block, args))
    return tasks


def _collect_block(run: Runner, done: Done) -> None:
    """Block rows, then each setting's two ranking rows; the sample-size curve table."""
    from maxent.stats.bootstrap import run_groups

    cs = run.cfg.claims.settings()
    frames = [items["rows"] for _, items in done]
    for s in run.cfg.settings:
        mine = [(t.where[1], items) for t, items in done if t.where[0] == s.name and t.where[1] != "full"]
        R = len(run_groups(run.res.runs(s.name)))
        gap = {b: (r["values"]["gap"], r["gap_boot"], r["gap_null"]) for b, r in mine}
        r2 = {b: (r["values"]["r2"], r["r2_boot"], r["r2_null"]) for b, r in mine}
        for row in (
            C.ranking_row(
                s.name,
                "most_liquid_block",
                f"margin of the smallest null-corrected entropy gap (PL, alpha={cs.alpha:g})",
                gap,
                R,
                cs,
            ),
            C.ranking_row(
                s.name, "least_correlated_block", "margin of the smallest null-corrected mean r^2", r2, R, cs
            ),
        ):
            if row is not None:
                frames.append(pd.DataFrame([row], columns=C.CLAIM_COLUMNS))
    _set_claims(run, frames, [t.key for t, _ in done], replace=True)
    curves = [items["curve"] for _, items in done]
    run.res.tables["claims_curve"] = (
        pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=C.CURVE_COLUMNS)
    )
    run.res.table_keys["claims_curve"] = stable_hash([t.key for t, _ in done])


def _set_claims(run: Runner, frames: list[pd.DataFrame], keys: list[str], replace: bool = False) -> None:
    """Append rows to ``tables/claims.csv`` (the three claim stages each add theirs)."""
    tables, table_keys = run.res.tables, run.res.table_keys
    if not replace and "claims" in tables and len(tables["claims"]):
        frames = [tables["claims"], *frames]
        keys = [table_keys["claims"], *keys]
    tables["claims"] = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=C.CLAIM_COLUMNS)
    )
    table_keys["claims"] = stable_hash(keys)


def _jump_blocks(run: Runner) -> pd.DataFrame:
    """(setting, block, reference) to test: one per block whose landscapes jump, around the
    "medium" reference when its landscape jumps, else the first configured one that does."""
    trans = run.res.tables.get("transitions")
    if not run.cfg.claims.landscape or trans is None or not len(trans):
        return pd.DataFrame(columns=["setting", "block", "reference"])
    found = trans[["setting", "block", "reference"]].drop_duplicates()
    order = {k: i for i, k in enumerate(["medium", *run.cfg.landscape.references])}
    return (
        found.assign(_o=found["reference"].map(order))
        .sort_values(["setting", "block", "_o"], kind="stable")
        .drop_duplicates(["setting", "block"])
        .drop(columns="_o")
    )


def _plan_jump(run: Runner) -> list[Task]:
    cfg, res = run.cfg, run.res
    lc, cs = cfg.landscape, cfg.claims.settings()
    tasks = []
    for r in _jump_blocks(run).itertuples(index=False):
        s = cfg.setting(r.setting)
        if r.block not in claim_blocks(run, s) or (r.setting, r.block) not in res.references:
            continue
        names, R_refs, _ = res.references[(r.setting, r.block)]
        est = cfg.fit.estimator_for(r.block)
        name, params = refit_spec(est.name, dict(est.params), res.fit_info[(r.setting, r.block)])
        seed = task_seed(cfg.seed, "claims-jump", r.setting, r.block, r.reference)
        landscape = (lc.x, lc.tol, lc.max_iter, lc.damping)
        key = run.key(
            "claims-jump", res.fit_key[(r.setting, r.block)], r.reference, *landscape, cs, seed, name, params
        )
        args = (
            name,
            params,
            res.X(r.setting, r.block),
            res.runs(r.setting),
            R_refs[names.index(r.reference)],
            r.reference,
            lc.x.values(),
            cs,
            seed,
            lc.tol,
            lc.max_iter,
            lc.damping,
        )
        tasks.append(Task("claims-jump", (r.setting, r.block, r.reference), key, _task_claims_jump, args))
    return tasks


def _collect_jump(run: Runner, done: Done) -> None:
    from maxent.stats.bootstrap import run_groups

    cs = run.cfg.claims.settings()
    frames = []
    for t, items in done:
        setting, block, reference = t.where
        R = len(run_groups(run.res.runs(setting)))
        row = C.jump_claim(setting, block, reference, items["value"]["area"], items, R, cs)
        frames.append(pd.DataFrame([row], columns=C.CLAIM_COLUMNS))
    _set_claims(run, frames, [t.key for t, _ in done])


def _plan_tap(run: Runner) -> list[Task]:
    cfg, res = run.cfg, run.res
    tap = res.tables.get("tap")
    if not cfg.claims.tap or tap is None or not len(tap):
        return []
    cs = cfg.claims.settings()
    counts = tap[tap["converged"].astype(bool)].groupby(["setting", "block"], sort=False).size()
    tasks = []
    for (sn, b), n_states in counts.items():
        if n_states < 2 or b not in claim_blocks(run, cfg.setting(sn)):
            continue
        est = cfg.fit.estimator_for(b)
        name, params = refit_spec(est.name, dict(est.params), res.fit_info[(sn, b)])
        seed = task_seed(cfg.seed, "claims-tap", sn, b)
        key = run.key("claims-tap", res.fit_key[(sn, b)], cs, seed, name, params)
        args = (sn, b, res.models[(sn, b)], name, params, res.X(sn, b), res.runs(sn), cs, seed)
        tasks.append(Task("claims-tap", (sn, b), key, _task_claims_tap, args))
    return tasks


def _collect_tap(run: Runner, done: Done) -> None:
    _set_claims(run, [items["rows"] for _, items in done], [t.key for t, _ in done])


def _claims_on(cfg) -> bool:
    return cfg.claims.enabled


_CODE = ("maxent.stats.claims", "maxent.pipeline.claims")

#: the claims stages, in order (each appends its rows to ``tables/claims.csv``)
CLAIM_STAGES = (
    Stage("claims-block", _CODE, _plan_block, _collect_block, _claims_on),
    Stage("claims-jump", _CODE, _plan_jump, _collect_jump, _claims_on),
    Stage("claims-tap", (*_CODE, "maxent.model.tap"), _plan_tap, _collect_tap, _claims_on),
)

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

from maxent.stats import claims as C

if TYPE_CHECKING:  # pragma: no cover
    from maxent.pipeline.runner import _Runner

__all__ = ["stage_claims"]


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


def claim_blocks(run: _Runner, s) -> list[str]:
    """Blocks whose claims are tested: the layers, and "full" when ``claims.include_full``."""
    return [b for b in run.blocks(s) if b != "full" or run.cfg.claims.include_full]


def stage_claims(run: _Runner) -> None:
    """Compute ``tables/claims.csv`` and ``tables/claims_curve.csv`` (see the module docstring)."""
    from maxent.pipeline.keys import task_seed
    from maxent.pipeline.runner import _Task
    from maxent.stats.bootstrap import run_groups

    cfg = run.cfg
    cc = cfg.claims
    if not cc.enabled:
        return
    cs = cc.settings()
    smp_runs = {s.name: run.samples[s.name].run for s in cfg.settings}

    def runs_of(setting: str, part: str) -> np.ndarray:
        return smp_runs[setting][run.split[setting][0 if part == "train" else 1]]

    # ---- per block
    tasks, index = [], []
    for s in cfg.settings:
        boot_seed = task_seed(cfg.seed, "claims-boot", s.name)
        for b in claim_blocks(run, s):
            X_test = run.X(s.name, b, "test")
            has_test = X_test.shape[0] >= 2 and len(np.unique(runs_of(s.name, "test"))) >= 2
            key = run.key("claims-block", run.samples_key[s.name], b, cfg.fit.holdout, cs, boot_seed)
            tasks.append(
                _Task(
                    "claims-block",
                    f"{s.name}/{b}",
                    key,
                    _task_claims_block,
                    (
                        s.name,
                        b,
                        run.X(s.name, b),
                        runs_of(s.name, "train"),
                        X_test if has_test else None,
                        runs_of(s.name, "test") if has_test else None,
                        cs,
                        boot_seed,
                        task_seed(cfg.seed, "claims-null", s.name, b),
                    ),
                )
            )
            index.append((s.name, b, key))
    res = run.run_stage("claims-block", tasks)
    index = [row for row in index if row[-1] in res]  # failed tasks are listed in run.failures
    frames = [res[k]["rows"] for *_, k in index]
    curves = [res[k]["curve"] for *_, k in index]
    keys = [k for *_, k in index]
    for s in cfg.settings:
        mine = [(b, res[k]) for sn, b, k in index if sn == s.name and b != "full"]
        R = len(run_groups(runs_of(s.name, "train")))
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

    # ---- first-order jumps found by the landscape stage
    trans = run.tables.get("transitions")
    if cc.landscape and trans is not None and len(trans):
        lc = cfg.landscape
        jtasks, jindex = [], []
        found = trans[["setting", "block", "reference"]].drop_duplicates()
        # one test per (setting, block) with a jump (the report states jumps per block): around
        # the "medium" reference when its landscape jumps, else the first configured one that does
        order = {k: i for i, k in enumerate(["medium", *lc.references])}
        found = (
            found.assign(_o=found["reference"].map(order))
            .sort_values(["setting", "block", "_o"], kind="stable")
            .drop_duplicates(["setting", "block"])
            .drop(columns="_o")
        )
        for r in found.itertuples(index=False):
            s = cfg.setting(r.setting)
            if r.block not in claim_blocks(run, s) or (r.setting, r.block) not in run.references:
                continue
            names, R_refs, _ = run.references[(r.setting, r.block)]
            est = cfg.fit.estimator_for(r.block)
            name, params = refit_spec(est.name, dict(est.params), run.fit_info[(r.setting, r.block)])
            seed = task_seed(cfg.seed, "claims-jump", r.setting, r.block, r.reference)
            key = run.key(
                "claims-jump",
                run.fit_key[(r.setting, r.block)],
                r.reference,
                lc.x,
                lc.tol,
                lc.max_iter,
                lc.damping,
                cs,
                seed,
                name,
                params,
            )
            jtasks.append(
                _Task(
                    "claims-jump",
                    f"{r.setting}/{r.block}/{r.reference}",
                    key,
                    _task_claims_jump,
                    (
                        name,
                        params,
                        run.X(r.setting, r.block),
                        runs_of(r.setting, "train"),
                        R_refs[names.index(r.reference)],
                        r.reference,
                        lc.x.values(),
                        cs,
                        seed,
                        lc.tol,
                        lc.max_iter,
                        lc.damping,
                    ),
                )
            )
            jindex.append((r.setting, r.block, r.reference, key))
        jres = run.run_stage("claims-jump", jtasks)
        for sn, b, ref, k in [row for row in jindex if row[-1] in jres]:
            R = len(run_groups(runs_of(sn, "train")))
            row = C.jump_claim(sn, b, ref, jres[k]["value"]["area"], jres[k], R, cs)
            frames.append(pd.DataFrame([row], columns=C.CLAIM_COLUMNS))
            keys.append(k)

    # ---- several TAP states found by the clustering stage
    tap = run.tables.get("tap")
    if cc.tap and tap is not None and len(tap):
        ttasks, tindex = [], []
        conv = tap[tap["converged"].astype(bool)]
        counts = conv.groupby(["setting", "block"], sort=False).size()
        for (sn, b), n_states in counts.items():
            s = cfg.setting(sn)
            if n_states < 2 or b not in claim_blocks(run, s):
                continue
            est = cfg.fit.estimator_for(b)
            name, params = refit_spec(est.name, dict(est.params), run.fit_info[(sn, b)])
            seed = task_seed(cfg.seed, "claims-tap", sn, b)
            key = run.key("claims-tap", run.fit_key[(sn, b)], cs, seed, name, params)
            ttasks.append(
                _Task(
                    "claims-tap",
                    f"{sn}/{b}",
                    key,
                    _task_claims_tap,
                    (sn, b, run.models[(sn, b)], name, params, run.X(sn, b), runs_of(sn, "train"), cs, seed),
                )
            )
            tindex.append(key)
        tres = run.run_stage("claims-tap", ttasks)
        tindex = [k for k in tindex if k in tres]
        frames += [tres[k]["rows"] for k in tindex]
        keys += tindex

    from maxent.pipeline.config import stable_hash

    run.tables["claims"] = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=C.CLAIM_COLUMNS)
    )
    run.table_keys["claims"] = stable_hash(keys)
    run.tables["claims_curve"] = (
        pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=C.CURVE_COLUMNS)
    )
    run.table_keys["claims_curve"] = stable_hash([k for *_, k in index])

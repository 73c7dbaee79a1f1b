r"""Claims with confidence intervals and null comparisons.

Every conclusion the pipeline states about the geometry of a weight space is one row of a claims
table: a *statistic* computed on the data, its run-level bootstrap interval
(:mod:`maxent.stats.bootstrap`), and its distribution on column-shuffled nulls
(:mod:`maxent.stats.nulls`, same magnetizations, no correlations). A claim is stated as
**significant** only when both

* the permutation p-value p = (1 + #{null >= value}) / (K + 1) is at most ``significance``, and
* the bootstrap interval lies above the null's median (the effect is not a bootstrap artefact),

and the interval is trustworthy (``ci_reliable``: the bootstrap replicates of the excess sit
within two standard deviations of the data's excess; a claim without a trustworthy interval is
not stated, whatever its p-value), and otherwise as **not resolvable with R runs**, together
with ``runs_needed``: the number of runs
at which the effect seen would be resolved if it is real (from the 1/sqrt(R) scaling of the
noise; an approximation, stated as such in the report). Descriptive rows (no null) carry the
verdict "descriptive".

Claims and their statistics (all per setting and block unless noted):

``pair_correlations``
    Excess mean squared Pearson correlation of the data over the null,
    mean_{i<j} r_ij^2 - E_null[mean r^2] (E_null ~ 1/M). runs_needed: runs at which a pair of the
    rms excess correlation is at 3 sigma, R * 9 / (excess * M).
``pairs_resolved``
    Fraction of pairs with |r_ij| above the null's 99.9% quantile (the null expects 0.001).
``constrained_beyond_magnetizations``
    Entropy gap s_ind - s_Bethe of a pseudo-likelihood fit at a *common* penalty alpha (the
    same for every block and for the nulls): how much the couplings reduce the entropy below
    that of independent spins with the same magnetizations.
``generalizes_beyond_independent``
    Held-out pseudo-log-likelihood per spin of that fit minus that of the independent-spin
    model (fields from the training magnetizations); interval from resampling held-out runs.
``overfitting``
    Training minus held-out pseudo-log-likelihood per spin (descriptive).
``most_liquid_block`` (per setting, block = the winner)
    Headline liquidity metric: the *null-corrected* entropy gap Delta_b = gap_b - median null
    gap_b at the common penalty. The most liquid block minimizes Delta_b; the statistic is its
    margin min_{b != b*} Delta_b - Delta_{b*}. The null repeats the selection on shuffled data.
``first_order_jump`` (per setting, block, reference)
    Hysteresis area of the entropy landscape, integral |d_down(x) - d_up(x)| dx over the points
    where both sweeps converged; nulls are refitted with the same estimator on shuffled data.
``multiple_tap_states``
    Fraction of TAP starts that do not end in the dominant state; Clopper-Pearson interval over
    starts; null: the same on models fitted to shuffled data (verdict: the interval lies above
    the null's interval).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from maxent.stats.bootstrap import basic_interval, resample_runs, run_groups, subsample_runs
from maxent.stats.nulls import column_shuffle
from maxent.stats.settings import ClaimSettings

__all__ = [
    "CLAIM_COLUMNS",
    "CURVE_COLUMNS",
    "pearson_upper",
    "pair_claims",
    "gap_replicates",
    "gap_claims",
    "ranking_row",
    "curve_rows",
    "hysteresis_area",
    "jump_replicates",
    "jump_claim",
    "tap_claim",
    "claim_row",
    "verdict",
]

#: columns of the claims table, in order
CLAIM_COLUMNS = [
    "setting",
    "block",
    "claim",
    "statistic",
    "value",
    "ci_low",
    "ci_high",
    "null_value",
    "null_quantile",
    "p_value",
    "n_runs",
    "n_boot",
    "n_null",
    "ci_reliable",
    "verdict",
    "runs_needed",
]
#: columns of the sample-size curve
CURVE_COLUMNS = ["setting", "block", "statistic", "fraction", "n_runs", "value", "null_value", "excess"]


# ----------------------------------------------------------------------------- verdicts
def bootstrap_reliable(excess: float, replicates: np.ndarray, max_bias_sd: float = 2.0) -> bool:
    """Whether the bootstrap replicates of an excess are centred near the data's excess.

    A refitted statistic (e.g. the entropy gap of a pseudo-likelihood fit) can respond to the
    repeated runs of a replicate differently on real and shuffled data, and the paired excess
    replicates then sit many standard deviations from the data's excess. Such an interval says
    little; it is flagged when |mean(replicates) - excess| > ``max_bias_sd`` sd(replicates).
    """
    reps = np.asarray(replicates, dtype=np.float64)
    reps = reps[np.isfinite(reps)]
    if reps.size < 2 or not np.isfinite(excess):
        return False
    sd = float(np.std(reps, ddof=1))
    return bool(abs(float(np.mean(reps)) - excess) <= max_bias_sd * sd + 1e-15)


def p_value(value: float, null: np.ndarray) -> float:
    """One-sided permutation p-value (1 + #{null >= value}) / (K + 1); NaN without a finite value."""
    null = np.asarray(null, dtype=np.float64)
    null = null[np.isfinite(null)]
    if not np.isfinite(value) or null.size == 0:
        return float("nan")
    return float((1 + np.sum(null >= value)) / (null.size + 1))


def null_quantile(value: float, null: np.ndarray) -> float:
    """Quantile of ``value`` in the null distribution (fraction below, ties counted half)."""
    null = np.asarray(null, dtype=np.float64)
    null = null[np.isfinite(null)]
    if not np.isfinite(value) or null.size == 0:
        return float("nan")
    return float((np.sum(null < value) + 0.5 * np.sum(null == value)) / null.size)


def runs_needed(n_runs: int, effect: float, se: float, significance: float, power: float) -> float:
    """Runs at which an effect of this size would be significant with the given power.

    Assumes the standard error scales as 1/sqrt(R):
    R_needed = R * ((z_{1 - significance} + z_power) * se / effect)^2. NaN when no positive effect
    is seen (more runs of the same data would not be expected to resolve it).
    """
    if not (np.isfinite(effect) and np.isfinite(se)) or effect <= 0 or se <= 0:
        return float("nan")
    z = sps.norm.ppf(1.0 - significance) + sps.norm.ppf(power)
    return float(max(n_runs, math.ceil(n_runs * (z * se / effect) ** 2)))


def verdict(
    value: float, ci_low: float, null_value: float, p: float, significance: float, n_runs: int
) -> str:
    """ "significant" when p <= significance and the interval lies above the null median."""
    if not np.isfinite(value):
        return "not computed"
    if np.isfinite(p) and p <= significance and np.isfinite(ci_low) and ci_low > null_value:
        return "significant"
    return f"not resolvable with {n_runs} runs"


def claim_row(
    setting: str,
    block: str,
    claim: str,
    statistic: str,
    value: float,
    excess_replicates: np.ndarray,
    null: np.ndarray | None,
    n_runs: int,
    cs: ClaimSettings,
    *,
    runs_needed_value: float | None = None,
    floor: float = -np.inf,
) -> dict:
    """One row of the claims table.

    Parameters
    ----------
    value : the statistic on the data
    excess_replicates : array (B,)
        Bootstrap replicates of the *excess over the null*: on replicate b, the statistic of the
        resampled runs minus the statistic of a column shuffle of those same resampled runs
        (paired, so the upward bias that repeated runs give pair statistics cancels). For a
        descriptive row, replicates of the statistic itself.
    null : array (K,) or None
        The statistic on K column-shuffled copies of the data; None for a descriptive row.

    The interval of ``value`` is null_value + the basic bootstrap interval of the excess
    value - null_value, null_value being the null median; ``runs_needed`` follows
    :func:`runs_needed` unless given. ``floor``: the interval must also lie above it (e.g. 0 for
    "better than the independent model", which beating a worse null does not establish).
    """
    reps = np.asarray(excess_replicates, dtype=np.float64)
    enough = np.isfinite(reps).sum() >= 2
    n_boot = int(np.isfinite(reps).sum())
    if null is None:
        ci = basic_interval(value, reps, cs.level) if enough else (np.nan, np.nan)
        row = (setting, block, claim, statistic, value)
        return _row(*row, n_runs=n_runs, verdict="descriptive", ci=ci, n_boot=n_boot)
    null = np.asarray(null, dtype=np.float64)
    nv = float(np.nanmedian(null)) if np.isfinite(null).any() else float("nan")
    excess = value - nv
    lo, hi = basic_interval(excess, reps, cs.level) if enough else (np.nan, np.nan)
    lo, hi = nv + lo, nv + hi
    p = p_value(value, null)
    reliable = bootstrap_reliable(excess, reps)
    v = verdict(value, lo, max(nv, floor), p, cs.significance, n_runs)
    if not reliable and v == "significant":
        # without a trustworthy interval a claim is not stated, whatever its p-value
        v = f"not resolvable with {n_runs} runs"
    if v == "significant":
        need = float(n_runs)
    elif not reliable:
        need = float("nan")  # the replicates do not measure the noise of this statistic
    elif runs_needed_value is not None:
        need = runs_needed_value
    else:
        se = float(np.nanstd(reps, ddof=1)) if enough else float("nan")
        need = runs_needed(n_runs, excess, se, cs.significance, cs.power)
    return _row(
        setting,
        block,
        claim,
        statistic,
        value,
        n_runs=n_runs,
        verdict=v,
        ci=(lo, hi),
        null_value=nv,
        null_quantile=null_quantile(value, null),
        p_value=p,
        n_boot=n_boot,
        n_null=int(np.isfinite(null).sum()),
        ci_reliable=reliable,
        runs_needed=need,
    )


def _row(
    setting: str,
    block: str,
    claim: str,
    statistic: str,
    value: float,
    *,
    n_runs: int,
    verdict: str,
    ci: tuple[float, float] = (np.nan, np.nan),
    null_value: float = np.nan,
    null_quantile: float = np.nan,
    p_value: float = np.nan,
    n_boot: int = 0,
    n_null: int = 0,
    ci_reliable: bool = True,
    runs_needed: float = np.nan,
) -> dict:
    """One row of the claims table, columns :data:`CLAIM_COLUMNS`."""
    return {
        "setting": setting,
        "block": block,
        "claim": claim,
        "statistic": statistic,
        "value": float(value),
        "ci_low": float(ci[0]),
        "ci_high": float(ci[1]),
        "null_value": float(null_value),
        "null_quantile": float(null_quantile),
        "p_value": float(p_value),
        "n_runs": int(n_runs),
        "n_boot": int(n_boot),
        "n_null": int(n_null),
        "ci_reliable": bool(ci_reliable),
        "verdict": verdict,
        "runs_needed": float(runs_needed),
    }


# ----------------------------------------------------------------------------- pairs
def pearson_upper(X: np.ndarray) -> np.ndarray:
    """Pearson correlations r_ij (i < j) of the columns of ±1 samples, NaN-free.

    r_ij = c_ij / sqrt((1 - m_i^2)(1 - m_j^2)); pairs involving a constant column are dropped.
    Returns the upper-triangle values as a 1-D array (pairs of non-constant spins only).
    """
    Xf = np.asarray(X, dtype=np.float64)
    M = Xf.shape[0]
    m = Xf.mean(axis=0)
    C = (Xf.T @ Xf) / M - np.outer(m, m)
    v = 1.0 - m**2
    keep = v > 1e-12
    Ck = C[np.ix_(keep, keep)] / np.sqrt(np.outer(v[keep], v[keep]))
    iu = np.triu_indices(int(keep.sum()), 1)
    return Ck[iu]


def _mean_sq(r: np.ndarray) -> float:
    """mean r^2 of the pair correlations (NaN without pairs)."""
    return float(np.mean(r**2)) if r.size else float("nan")


def _frac_above(r: np.ndarray, thr: float) -> float:
    """Fraction of pairs with |r| > thr (NaN without pairs)."""
    return float(np.mean(np.abs(r) > thr)) if r.size else float("nan")


def _mean_r2(X: np.ndarray) -> float:
    return _mean_sq(pearson_upper(X))


def pair_claims(
    setting: str,
    block: str,
    X: np.ndarray,
    runs: np.ndarray,
    cs: ClaimSettings,
    *,
    boot_seed: int,
    null_seed: int,
    n_null: int = 199,
) -> tuple[list[dict], dict]:
    """Rows ``pair_correlations`` and ``pairs_resolved`` of one block (see the module docstring).

    Pair statistics are cheap: ``n_null`` (default 199) shuffles are used whatever ``cs.n_null``.
    Returns the rows and the replicates of mean r^2 (``value``, ``boot`` excess, ``null``) for a
    ranking of blocks by pair structure; ``boot_seed`` shared by the blocks of a setting pairs
    their bootstrap replicates (same runs resampled).
    """
    rng = np.random.default_rng(null_seed)
    brng = np.random.default_rng(boot_seed)
    X = np.asarray(X, dtype=np.int8)
    runs = np.asarray(runs)
    R = len(run_groups(runs))
    r = pearson_upper(X)
    # threshold from the first half of the shuffles (kept), null fractions from the second half
    # (computed as they come: only half of the null correlations is ever held in memory)
    half = max(1, n_null // 2)
    nulls = [pearson_upper(column_shuffle(X, groups=runs, random_state=rng)) for _ in range(half)]
    thr = float(np.quantile(np.abs(np.concatenate(nulls)), 0.999)) if r.size else np.nan
    null_r2 = [_mean_sq(rn) for rn in nulls]
    null_frac = []
    for _ in range(half, n_null):
        rn = pearson_upper(column_shuffle(X, groups=runs, random_state=rng))
        null_r2.append(_mean_sq(rn))
        null_frac.append(_frac_above(rn, thr))
    del nulls
    null_r2, null_frac = np.array(null_r2), np.array(null_frac if null_frac else [np.nan])
    boot_r2 = np.empty(cs.n_boot)
    boot_frac = np.empty(cs.n_boot)
    for b in range(cs.n_boot):
        idx = resample_runs(runs, brng)
        rb = pearson_upper(X[idx])
        # paired null copy with the same repeated runs: shuffle the data, then take the same rows
        rn = pearson_upper(column_shuffle(X, groups=runs, random_state=rng)[idx])
        boot_r2[b] = _mean_sq(rb) - _mean_sq(rn)
        boot_frac[b] = _frac_above(rb, thr) - _frac_above(rn, thr)
    value_r2 = _mean_sq(r)
    excess = value_r2 - float(np.nanmedian(null_r2))
    need = (
        float(max(R, math.ceil(R * 9.0 / (excess * X.shape[0]))))
        if np.isfinite(excess) and excess > 0
        else float("nan")
    )
    rows = [
        claim_row(
            setting,
            block,
            "pair_correlations",
            "mean r_ij^2 (Pearson, i<j)",
            value_r2,
            boot_r2,
            null_r2,
            R,
            cs,
            runs_needed_value=need,
        ),
        claim_row(
            setting,
            block,
            "pairs_resolved",
            "fraction of pairs with |r_ij| > null 99.9% quantile",
            _frac_above(r, thr),
            boot_frac,
            null_frac,
            R,
            cs,
        ),
    ]
    return rows, {"value": value_r2, "boot": boot_r2, "null": null_r2}


# ----------------------------------------------------------------------------- entropy gap
def _fit_common(X: np.ndarray, cs: ClaimSettings):
    import warnings

    from maxent.fit.pseudolikelihood import PseudoLikelihood

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PseudoLikelihood(alpha=cs.alpha, alpha_h=cs.alpha_h).fit(X).model_


def _independent_fields(X: np.ndarray) -> np.ndarray:
    """Fields of the independent-spin model, h_i = atanh(m_i), with m clipped to |m| <= 1 - 1/(2M)."""
    M = X.shape[0]
    m = np.clip(np.asarray(X, dtype=np.float64).mean(axis=0), -1 + 0.5 / M, 1 - 0.5 / M)
    return np.arctanh(m)


def _pll_per_sample(h: np.ndarray, J: np.ndarray | None, X: np.ndarray) -> np.ndarray:
    """Pseudo-log-likelihood per spin of every row: (1/N) sum_i log P(s_i | s_-i)."""
    Xf = np.asarray(X, dtype=np.float64)
    H = h + (Xf @ J if J is not None else 0.0)
    return -np.logaddexp(0.0, -2.0 * Xf * H).mean(axis=1)


def _gap_per_spin(model) -> float:
    from maxent.geometry.liquid import entropy_gap

    return entropy_gap(model)


def gap_replicates(
    X: np.ndarray,
    runs: np.ndarray,
    X_test: np.ndarray | None,
    cs: ClaimSettings,
    *,
    boot_seed: int,
    null_seed: int,
) -> dict:
    """Entropy gaps and held-out likelihood gains of common-penalty fits: data, bootstrap, nulls.

    ``boot_seed`` should be shared by the blocks of one setting (same runs resampled for every
    block, so the replicates of a ranking are paired).

    Returns a dict of arrays: ``gap`` (float), ``gap_boot`` (B,), ``gap_null`` (K,),
    ``gain`` (held-out PLL gain per spin, float; NaN without held-out rows), ``gain_rows``
    (per held-out row), ``gain_null`` (K,), ``overfit`` (train - held-out PLL per spin), and the
    sample-size curve ``curve`` (list of (fraction, n_runs, gap, null median gap, mean r^2,
    null mean r^2)).
    """
    X = np.asarray(X, dtype=np.int8)
    runs = np.asarray(runs)
    # Constant spins (|m| = 1, common in well-trained shallow nets) carry no entropy in either
    # model and make the field of the fit diverge: they are left out, and per-spin quantities are
    # rescaled to the block's full N (exact for the gap: such spins add 0 to s_ind and s_Bethe).
    keep = X.min(axis=0) != X.max(axis=0)
    scale = keep.sum() / X.shape[1]
    if keep.sum() < 2:
        raise ValueError("fewer than two non-constant spins: no pair structure to test")
    X = X[:, keep]
    if X_test is not None:
        X_test = np.asarray(X_test, dtype=np.int8)[:, keep]

    def _gap(model) -> float:
        return scale * _gap_per_spin(model)

    model = _fit_common(X, cs)
    out: dict = {"gap": _gap(model)}
    brng = np.random.default_rng(boot_seed)
    boot = []
    for _ in range(cs.n_boot):
        idx = resample_runs(runs, brng)
        Xb = X[idx]
        Xbn = column_shuffle(X, groups=runs, random_state=brng)[idx]  # same repeated runs, no pairs
        boot.append(_gap(_fit_common(Xb, cs)) - _gap(_fit_common(Xbn, cs)))
    out["gap_boot"] = np.array(boot)
    nrng = np.random.default_rng(null_seed)
    nulls = [column_shuffle(X, groups=runs, random_state=nrng) for _ in range(cs.n_null)]
    null_models = [_fit_common(Xn, cs) for Xn in nulls]
    out["gap_null"] = np.array([_gap(m) for m in null_models])
    if X_test is not None and len(X_test):
        h0 = _independent_fields(X)
        base = _pll_per_sample(h0, None, X_test)
        rows = scale * (_pll_per_sample(model.h, model.J, X_test) - base)
        out["gain"] = float(rows.mean())
        out["gain_rows"] = rows
        out["gain_null"] = np.array(
            [scale * float((_pll_per_sample(m.h, m.J, X_test) - base).mean()) for m in null_models]
        )
        out["overfit"] = scale * float(
            _pll_per_sample(model.h, model.J, X).mean() - _pll_per_sample(model.h, model.J, X_test).mean()
        )
    else:
        out["gain"] = float("nan")
    curve = []
    crng = np.random.default_rng(null_seed + 1)
    for frac in cs.curve:
        rows_f = subsample_runs(runs, frac, crng) if frac < 1 else np.arange(len(X))
        Xf, rf = X[rows_f], np.asarray(runs)[rows_f]
        g = _gap(_fit_common(Xf, cs)) if frac < 1 else out["gap"]
        k = min(9, cs.n_null)
        if frac < 1:
            ng = [_gap(_fit_common(column_shuffle(Xf, groups=rf, random_state=crng), cs)) for _ in range(k)]
        else:
            ng = list(out["gap_null"])
        nr2 = [_mean_r2(column_shuffle(Xf, groups=rf, random_state=crng)) for _ in range(k)]
        curve.append(
            (
                float(frac),
                len(run_groups(rf)),
                g,
                float(np.nanmedian(ng)),
                _mean_r2(Xf),
                float(np.nanmean(nr2)),
            )
        )
    out["curve"] = curve
    return out


def gap_claims(
    setting: str,
    block: str,
    rep: Mapping,
    runs: np.ndarray,
    test_runs: np.ndarray | None,
    cs: ClaimSettings,
    *,
    seed: int = 0,
) -> list[dict]:
    """Rows ``constrained_beyond_magnetizations``, ``generalizes_beyond_independent`` and
    ``overfitting`` of one block from :func:`gap_replicates`."""
    R = len(run_groups(runs))
    rng = np.random.default_rng(seed)
    rows = [
        claim_row(
            setting,
            block,
            "constrained_beyond_magnetizations",
            f"entropy gap s_ind - s_Bethe per spin (PL, alpha={cs.alpha:g})",
            rep["gap"],
            rep["gap_boot"],
            rep["gap_null"],
            R,
            cs,
        )
    ]
    if np.isfinite(rep.get("gain", np.nan)) and test_runs is not None:
        gain_rows = np.asarray(rep["gain_rows"])
        nv = float(np.nanmedian(rep["gain_null"]))
        # a mean over held-out rows: linear, no resampling bias; the excess is taken over the fixed null
        boot = np.array(
            [gain_rows[resample_runs(test_runs, rng)].mean() - nv for _ in range(max(cs.n_boot, 99))]
        )
        rows.append(
            claim_row(
                setting,
                block,
                "generalizes_beyond_independent",
                f"held-out PLL per spin minus independent model's (PL, alpha={cs.alpha:g})",
                rep["gain"],
                boot,
                rep["gain_null"],
                len(run_groups(test_runs)),
                cs,
                floor=0.0,
            )
        )
        rows.append(
            claim_row(
                setting,
                block,
                "overfitting",
                "train minus held-out PLL per spin",
                rep["overfit"],
                np.array([np.nan]),
                None,
                R,
                cs,
            )
        )
    return rows


def ranking_row(
    setting: str,
    claim: str,
    statistic: str,
    per_block: Mapping[str, tuple[float, np.ndarray, np.ndarray]],
    n_runs: int,
    cs: ClaimSettings,
) -> dict | None:
    """Row of a "this block has the smallest excess" claim.

    ``per_block[b] = (value, excess replicates (B,), null values (K,))``, bootstrap replicates
    paired across blocks (same runs resampled). Delta_b = value_b - median(null_b); the winner b*
    minimizes Delta_b; the statistic is the margin min_{b != b*} Delta_b - Delta_{b*}, its
    replicates the same margin on each paired replicate (winner kept), its null the margin on
    each shuffle with the null's own winner (the selection is part of the test).
    """
    blocks = [b for b in per_block if np.isfinite(per_block[b][0])]
    if len(blocks) < 2:
        return None
    med = {b: float(np.nanmedian(per_block[b][2])) for b in blocks}
    delta = {b: per_block[b][0] - med[b] for b in blocks}
    best = min(blocks, key=lambda b: delta[b])
    margin = min(delta[b] for b in blocks if b != best) - delta[best]
    B = min(len(per_block[b][1]) for b in blocks)
    boot = np.array(
        [min(per_block[b][1][i] for b in blocks if b != best) - per_block[best][1][i] for i in range(B)]
    )
    K = min(len(per_block[b][2]) for b in blocks)
    null = []
    for k in range(K):
        d = sorted(per_block[b][2][k] - med[b] for b in blocks)
        null.append(d[1] - d[0])  # the null selects its own winner too
    # the margin's excess replicates are taken over the null median margin
    null = np.array(null)
    boot = boot - float(np.nanmedian(null))
    return claim_row(
        setting, best, claim, f"{statistic} among {', '.join(blocks)}", margin, boot, null, n_runs, cs
    )


# ----------------------------------------------------------------------------- landscapes
def hysteresis_area(df: pd.DataFrame, *, atol: float = 1e-4) -> float:
    """Integral over x of |d_down(x) - d_up(x)| on the grid points where both sweeps converged.

    0 for a continuous landscape (the sweeps agree); > 0 when they follow different branches
    (the signature of a first-order transition). Differences below ``atol`` count as 0: two
    sweeps of one branch differ by the BP tolerance only, and such noise must not make a
    "jump" out of a continuous landscape. NaN with fewer than two such points.
    """
    need = {"sweep", "x", "d", "converged"}
    if not need <= set(df.columns):
        raise ValueError(f"df is not a landscape table: missing columns {sorted(need - set(df.columns))}")
    down = df[df["sweep"] == "down"].set_index("x")
    up = df[df["sweep"] == "up"].set_index("x")
    x = np.intersect1d(down.index.to_numpy(float), up.index.to_numpy(float))
    if x.size < 2:
        return float("nan")
    ok = down.loc[x, "converged"].to_numpy(bool) & up.loc[x, "converged"].to_numpy(bool)
    if ok.sum() < 2:
        return float("nan")
    gap = np.abs(down.loc[x, "d"].to_numpy(float) - up.loc[x, "d"].to_numpy(float))
    gap = np.where(gap < atol, 0.0, gap)
    return float(np.trapezoid(np.where(ok, gap, 0.0), x))


def jump_replicates(
    fit: Callable[[np.ndarray], object],
    X: np.ndarray,
    runs: np.ndarray,
    reference: np.ndarray,
    reference_kind: str,
    x: Sequence[float],
    cs: ClaimSettings,
    *,
    seed: int,
    tol: float = 1e-6,
    max_iter: int = 1000,
    damping: float = 0.0,
) -> dict:
    """Hysteresis area of the landscape around ``reference``: on the data, on run-level bootstrap
    replicates (same reference) and on column-shuffled nulls (reference of the same kind chosen
    among the null's samples), each refitted with ``fit(X) -> IsingModel``.

    Constant spins (the same value in every sample, common in well-trained shallow nets) are
    treated as frozen: the model is fitted on the other spins, and areas are scaled by
    N_free / N, which is exact for the limit of infinite fields (a frozen spin agrees with every
    sampled reference, so it adds 0 to d and to the entropy). It also spares the fits the
    divergent fields of constant spins, which made them many times slower.

    Bootstrap replicates are paired excesses: the area on the resampled runs minus the area on
    a column shuffle of the same resampled runs. Returns ``{"value": float, "boot": (B,),
    "null": (K,), "n_free": int}``.
    """
    import warnings

    from maxent.geometry.landscape import choose_references, entropy_landscape

    rng = np.random.default_rng(seed)
    grid = np.asarray(x, dtype=np.float64)
    X = np.asarray(X, dtype=np.int8)
    keep = X.min(axis=0) != X.max(axis=0)
    scale = keep.sum() / X.shape[1]
    X = X[:, keep]
    reference = np.asarray(reference)[keep]
    runs = np.asarray(runs)

    def area(model, ref) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = entropy_landscape(
                model, ref, x=grid, sweep="both", tol=tol, max_iter=max_iter, damping=damping
            )
        return scale * hysteresis_area(df)

    def null_area(Xn: np.ndarray) -> float:
        m = fit(Xn)
        return area(m, choose_references(m, Xn)[reference_kind])

    if keep.sum() < 2:
        nan = np.full(1, np.nan)
        return {"value": float("nan"), "boot": nan, "null": nan, "n_free": int(keep.sum())}
    value = area(fit(X), reference)
    boot = []
    for _ in range(cs.n_boot_landscape):
        idx = resample_runs(runs, rng)
        boot.append(
            area(fit(X[idx]), reference) - null_area(column_shuffle(X, groups=runs, random_state=rng)[idx])
        )
    null = [null_area(column_shuffle(X, groups=runs, random_state=rng)) for _ in range(cs.n_null_landscape)]
    return {"value": value, "boot": np.array(boot), "null": np.array(null), "n_free": int(keep.sum())}


def jump_claim(
    setting: str, block: str, reference_kind: str, value: float, rep: Mapping, n_runs: int, cs: ClaimSettings
) -> dict:
    """Row ``first_order_jump`` of one landscape."""
    row = claim_row(
        setting,
        block,
        "first_order_jump",
        f"hysteresis area ∫|d_down - d_up| dx (reference {reference_kind})",
        value,
        rep["boot"],
        rep["null"],
        n_runs,
        cs,
    )
    return row


# ----------------------------------------------------------------------------- TAP states
def _minor_fraction(model, n_starts: int, seed: int) -> tuple[int, int, int]:
    """(starts outside the dominant converged state, converged starts, number of states)."""
    import warnings

    from maxent.model.tap import tap_states

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = tap_states(model, n_starts, random_state=seed)
    t = ts.table
    conv = t[t["converged"].astype(bool)]
    n_conv = int(conv["count"].sum())
    top = int(conv["count"].max()) if len(conv) else 0
    return n_conv - top, n_conv, int(len(conv))


def tap_claim(
    setting: str, block: str, model, null_models: Sequence, n_runs: int, cs: ClaimSettings, seed: int
) -> dict:
    """Row ``multiple_tap_states``: fraction of converged starts outside the dominant state.

    Interval: Clopper-Pearson at ``level`` over the starts (each start is an independent draw of
    a basin). Null: the same fraction pooled over the starts on models fitted to shuffled data;
    significant when the interval lies above the null's interval.
    """
    k, n, n_states = _minor_fraction(model, cs.n_starts, seed)
    what = ("multiple_tap_states", "fraction of TAP starts outside the dominant state")
    if n == 0:
        return _row(setting, block, *what, np.nan, n_runs=n_runs, verdict="not computed")
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=cs.level, method="exact")
    nk = nn = 0
    for j, m in enumerate(null_models):
        a, b, _ = _minor_fraction(m, cs.n_starts, seed + 1 + j)
        nk, nn = nk + a, nn + b
    if nn:
        nci = sps.binomtest(nk, nn).proportion_ci(confidence_level=cs.level, method="exact")
        nv, n_hi = nk / nn, nci.high
        p = float(sps.fisher_exact([[k, n - k], [nk, nn - nk]], alternative="greater").pvalue)
    else:
        nv, n_hi, p = np.nan, np.nan, np.nan
    sig = np.isfinite(n_hi) and ci.low > n_hi and p <= cs.significance
    return _row(
        setting,
        block,
        what[0],
        f"fraction of {n} converged TAP starts outside the dominant of {n_states} states",
        k / n,
        n_runs=n_runs,
        verdict="significant" if sig else f"not resolvable with {n_runs} runs",
        ci=(ci.low, ci.high),
        null_value=nv,
        p_value=p,
        n_null=len(null_models),
        runs_needed=float(n_runs) if sig else np.nan,
    )


def curve_rows(setting: str, block: str, curve: Sequence[tuple]) -> list[dict]:
    """Tidy sample-size-curve rows from :func:`gap_replicates`'s ``curve``."""
    rows = []
    for frac, n_runs, gap, gap0, r2, r20 in curve:
        rows.append(
            {
                "setting": setting,
                "block": block,
                "statistic": "entropy_gap",
                "fraction": frac,
                "n_runs": n_runs,
                "value": gap,
                "null_value": gap0,
                "excess": gap - gap0,
            }
        )
        rows.append(
            {
                "setting": setting,
                "block": block,
                "statistic": "mean_r2",
                "fraction": frac,
                "n_runs": n_runs,
                "value": r2,
                "null_value": r20,
                "excess": r2 - r20,
            }
        )
    return rows

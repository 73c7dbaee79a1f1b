r"""Function sensitivity of the trained binary-synapse ensembles, block by block.

The trained networks of the core pipeline (:class:`maxent.data.samples.WeightSamples`) already have
±1 weights, so binarization W -> sign(W) is the identity on them. The meaningful perturbations of
a *binary* network are therefore:

* ``"dilution"`` of one block: keep each weight of block Wl with probability c, zero the rest
  (weight correlation rho = sqrt(c); the 1/sqrt(c) rescaling is irrelevant here because leaky
  ReLU is positively homogeneous, so the argmax of the logits and every cosine overlap is
  unchanged by a positive scale of a layer);
* ``"flip"`` of one block: flip each weight's sign with probability p (rho = 1 - 2p), the binary
  analogue of weight noise.

Both are indexed by the weight correlation rho, so that dilution and flips (and the random-network
theory of :mod:`.theory`) are compared at equal rho: c = rho^2, p = (1 - rho)/2.
Binarization proper applies to *continuous* weights; for LR-net runs the continuous object is the
mean network mu = tanh(theta/2), which a :class:`WeightSamples` file does not store; see
:func:`mean_network_binarization` for runs trained with :func:`maxent.data.train.train_runs`.

Per network (row of the samples) and perturbation, on the test inputs x of the dataset:

    accuracy   fraction of test inputs classified correctly by the perturbed network;
    agreement  fraction of test inputs whose predicted class is unchanged (function overlap);
    overlap    mean over inputs of the cosine between perturbed and unperturbed logit vectors;

averaged over ``n_draws`` independent perturbation draws. Means over the ensemble carry run-level
bootstrap intervals (:func:`maxent.stats.bootstrap.run_bootstrap`: draws of one training run are
never split). :func:`block_contrasts` answers "is block Wk the least sensitive?" with paired
bootstrap intervals of the differences between blocks at equal rho.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from maxent.companion.sensitivity._checks import check_int, check_perturbation, check_real
from maxent.companion.sensitivity.perturb import dilute, flip_signs, level_for_rho
from maxent.data.datasets import Dataset
from maxent.data.nets import forward, spins_to_weights
from maxent.data.samples import WeightSamples
from maxent.stats.bootstrap import run_bootstrap

__all__ = [
    "TRAINED_PERTURBATIONS",
    "METRICS",
    "per_network_sensitivity",
    "summarize_sensitivity",
    "block_contrasts",
    "trained_sensitivity",
    "mean_network_binarization",
    "shuffled_null",
]

TRAINED_PERTURBATIONS = ("dilution", "flip")
METRICS = ("accuracy", "agreement", "overlap")


def _check_levels(levels: Sequence[float]) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(levels, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("levels must be a non-empty 1-D sequence of weight correlations rho")
    if not np.all(np.isfinite(arr)) or np.any((arr <= 0) | (arr > 1)):
        raise ValueError(f"levels are weight correlations rho and must lie in (0, 1], got {arr.tolist()}")
    return arr


def _slope(samples: WeightSamples, slope: float | None) -> float:
    if slope is not None:
        s = check_real(slope, "slope")
    else:
        s = float(samples.meta.get("config", {}).get("slope", 0.1))
    if not (0.0 <= s < 1.0):
        raise ValueError(f"slope must lie in [0, 1), got {s!r}")
    return s


def _metrics(logits: torch.Tensor, base: torch.Tensor, y: torch.Tensor) -> dict[str, np.ndarray]:
    """logits, base: (S, P, C); y: (P,) -> per-network metrics (S,)."""
    pred, pred0 = logits.argmax(dim=2), base.argmax(dim=2)
    cos = torch.nn.functional.cosine_similarity(logits, base, dim=2, eps=1e-12)
    return {
        "accuracy": (pred == y[None, :]).double().mean(dim=1).numpy(),
        "agreement": (pred == pred0).double().mean(dim=1).numpy(),
        "overlap": cos.double().mean(dim=1).numpy(),
    }


def per_network_sensitivity(
    samples: WeightSamples,
    dataset: Dataset,
    *,
    levels: Sequence[float] = (0.9, 0.7, 0.5, 0.3),
    perturbations: Sequence[str] = TRAINED_PERTURBATIONS,
    blocks: Sequence[str] | None = None,
    n_draws: int = 4,
    slope: float | None = None,
    seed: int = 0,
    max_floats: int = 2**25,
) -> pd.DataFrame:
    """Accuracy, agreement and logit overlap of every perturbed network (tidy, one row per value).

    Parameters
    ----------
    samples : WeightSamples
        M trained ±1 networks; widths[0] must equal the dataset's number of features.
    dataset : Dataset
        Its test split is the input ensemble.
    levels : sequence of float in (0, 1]
        Weight correlations rho (dilution keeps c = rho^2, flips have p = (1 - rho)/2). rho = 1
        rows (unperturbed) are added for every block and perturbation.
    perturbations : subset of {"dilution", "flip"}
    blocks : subset of samples.blocks ("W1".."WL"), default all
    n_draws : int >= 1
        Independent perturbation draws per network (averaged).
    slope : float, optional
        Leaky-ReLU slope (default: the trainer's, from samples.meta, else 0.1).
    seed : int
        Seed of the perturbation draws.
    max_floats : int
        Memory bound: networks are processed in chunks whose activations (chunk x n_draws x test
        inputs x widest layer, float32) stay near this many numbers. The perturbations are drawn
        for all networks at once, so the result does not depend on the chunking.

    Returns
    -------
    DataFrame with columns sample, run, block, perturbation, rho, strength (c or p), metric, value:
    M x blocks x perturbations x (levels + 1) x 3 rows.
    """
    if not isinstance(samples, WeightSamples):
        raise TypeError(f"samples must be a WeightSamples, got {type(samples).__name__}")
    if samples.widths[0] != dataset.n_features or samples.widths[-1] != dataset.n_classes:
        raise ValueError(
            f"samples of widths {samples.widths} do not fit the dataset "
            f"({dataset.n_features} features, {dataset.n_classes} classes)"
        )
    rhos = _check_levels(levels)
    perturbations = [check_perturbation(p, TRAINED_PERTURBATIONS) for p in perturbations]
    if not perturbations:
        raise ValueError("perturbations is empty")
    names = list(samples.blocks)
    blocks = names if blocks is None else list(blocks)
    unknown = [b for b in blocks if b not in names]
    if unknown or not blocks:
        raise ValueError(f"unknown or no blocks {unknown}; available: {names}")
    n_draws = check_int(n_draws, "n_draws", 1)
    s = _slope(samples, slope)
    max_floats = check_int(max_floats, "max_floats", 1)
    rng = np.random.default_rng(seed)
    M = samples.n_samples
    weights = [np.asarray(W, dtype=np.float32) for W in spins_to_weights(samples.spins, samples.widths)]
    X = torch.tensor(dataset.X_test)
    y = torch.tensor(dataset.y_test)
    # networks per chunk: keep (chunk * n_draws) x P x max width activations near max_floats
    chunk = max(1, int(max_floats) // (n_draws * X.shape[0] * max(samples.widths)))
    conditions = [(block, pert, 1.0) for block in blocks for pert in perturbations]
    conditions += [
        (block, pert, float(rho)) for block in blocks for pert in perturbations for rho in rhos if rho < 1
    ]
    values = {(c, name): np.empty(M) for c in conditions for name in METRICS}
    for block, pert, rho in conditions:  # loop over conditions; networks x draws are batched
        layer = names.index(block)
        Wp = None
        if rho < 1.0:  # one draw of the perturbed block for all networks: results do not depend on chunking
            strength = level_for_rho(pert, rho)
            W = np.repeat(weights[layer], n_draws, axis=0)
            Wp = (
                dilute(W, strength, rng, rescale=False)
                if pert == "dilution"
                else flip_signs(W, strength, rng)
            )
            Wp = np.ascontiguousarray(Wp, dtype=np.float32)
        for start in range(0, M, chunk):  # memory chunks of networks
            rows = slice(start, min(M, start + chunk))
            S = rows.stop - rows.start
            ws0 = [torch.from_numpy(np.ascontiguousarray(W[rows])) for W in weights]
            with torch.no_grad():
                base = forward(ws0, X, s)  # (S, P, C)
                if Wp is None:
                    met = _metrics(base, base, y)
                else:
                    ws = [W.repeat_interleave(n_draws, dim=0) for W in ws0]
                    ws[layer] = torch.from_numpy(Wp[rows.start * n_draws : rows.stop * n_draws])
                    logits = forward(ws, X, s)
                    met = _metrics(logits, base.repeat_interleave(n_draws, dim=0), y)
                    met = {k: v.reshape(S, n_draws).mean(axis=1) for k, v in met.items()}
            for name in METRICS:
                values[((block, pert, rho), name)][rows] = met[name]
    frames = [
        pd.DataFrame(
            {
                "sample": np.arange(M),
                "run": samples.run,
                "block": block,
                "perturbation": pert,
                "rho": rho,
                "strength": level_for_rho(pert, rho),
                "metric": name,
                "value": values[((block, pert, rho), name)],
            }
        )
        for block, pert, rho in conditions
        for name in METRICS
    ]
    return pd.concat(frames, ignore_index=True)


_KEYS = ["block", "perturbation", "rho", "strength", "metric"]


def _wide(per_network: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    missing = [c for c in ["sample", "run", "value", *_KEYS] if c not in per_network.columns]
    if missing:
        raise ValueError(f"per_network table lacks columns {missing} (make it with per_network_sensitivity)")
    if per_network.duplicated(["sample", *_KEYS]).any():
        raise ValueError("per_network table has duplicate (sample, condition) rows; concatenated tables?")
    wide = per_network.pivot_table(index="sample", columns=_KEYS, values="value", aggfunc="first")
    if wide.isna().any().any():
        raise ValueError("per_network table is incomplete: every sample needs every condition")
    runs = per_network.drop_duplicates("sample").set_index("sample").loc[wide.index, "run"].to_numpy()
    return wide, runs


def summarize_sensitivity(
    per_network: pd.DataFrame, *, n_boot: int = 200, level: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """Ensemble means with run-level bootstrap intervals.

    Returns
    -------
    DataFrame, one row per (block, perturbation, rho, metric): columns block, perturbation, rho,
    strength, metric, value (mean over networks), ci_low, ci_high (basic bootstrap interval at
    ``level``), se, n_runs, n_samples.
    """
    wide, runs = _wide(per_network)
    V = wide.to_numpy()
    res = run_bootstrap(
        lambda rows: V[rows].mean(axis=0), runs, n_boot=n_boot, level=level, random_state=seed
    )
    out = wide.columns.to_frame(index=False)
    out["value"] = res.value
    out["ci_low"] = res.ci_low
    out["ci_high"] = res.ci_high
    out["se"] = res.se
    out["n_runs"] = res.n_runs
    out["n_samples"] = V.shape[0]
    return out.sort_values(_KEYS, ignore_index=True)


def block_contrasts(
    per_network: pd.DataFrame,
    *,
    reference: str = "W2",
    metric: str = "agreement",
    n_boot: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Paired differences (reference block minus each other block) at equal perturbation and rho.

    A positive difference in ``agreement``/``overlap``/``accuracy`` means the reference block is
    *less* sensitive. Differences are computed network by network (the same networks perturbed in
    two blocks) and bootstrapped over runs together.

    Returns
    -------
    DataFrame, one row per (other block, perturbation, rho < 1): reference, block, perturbation,
    rho, metric, difference, ci_low, ci_high, se, excludes_zero (the interval excludes 0), n_runs.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")
    sub = per_network[(per_network["metric"] == metric) & (per_network["rho"] < 1.0)]
    blocks = sorted(sub["block"].unique())
    if reference not in blocks or len(blocks) < 2:
        raise ValueError(f"reference block {reference!r} and at least one other block needed; have {blocks}")
    wide, runs = _wide(sub)
    position = {(c[0], c[1], c[2]): k for k, c in enumerate(wide.columns)}  # (block, perturbation, rho)
    cols = []  # (block, perturbation, rho, column of the reference, column of the block)
    for (block, pert, rho), k in position.items():
        if block == reference:
            continue
        if (reference, pert, rho) not in position:
            raise ValueError(f"the reference block {reference!r} lacks the condition ({pert}, rho={rho})")
        cols.append((block, pert, rho, position[(reference, pert, rho)], k))
    V = wide.to_numpy()
    ia = np.array([c[3] for c in cols])
    ib = np.array([c[4] for c in cols])
    res = run_bootstrap(
        lambda rows: V[rows][:, ia].mean(axis=0) - V[rows][:, ib].mean(axis=0),
        runs,
        n_boot=n_boot,
        level=level,
        random_state=seed,
    )
    out = pd.DataFrame(
        {
            "reference": reference,
            "block": [c[0] for c in cols],
            "perturbation": [c[1] for c in cols],
            "rho": [c[2] for c in cols],
            "metric": metric,
            "difference": res.value,
            "ci_low": res.ci_low,
            "ci_high": res.ci_high,
            "se": res.se,
        }
    )
    out["excludes_zero"] = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    out["n_runs"] = res.n_runs
    return out.sort_values(["perturbation", "block", "rho"], ignore_index=True)


def shuffled_null(
    samples: WeightSamples, *, random_state: int | np.random.Generator | None = None
) -> WeightSamples:
    """Column-shuffled copy of the samples (:func:`maxent.stats.nulls.column_shuffle`, run-level).

    Every weight keeps its magnetization across runs; the coordination between weights that
    training built is destroyed. Running the stage on it tells architecture (block size, fan-in,
    position) from learned structure: a block ordering that the null shows too is architectural.
    Accuracies are set to NaN (the shuffled networks were never evaluated).
    """
    from maxent.stats.nulls import column_shuffle

    spins = column_shuffle(samples.spins, groups=samples.run, random_state=random_state)
    nan = np.full(samples.n_samples, np.nan)
    meta = {**samples.meta, "null": "column_shuffle"}
    return WeightSamples(spins, samples.widths, nan, nan.copy(), samples.run.copy(), meta)


def trained_sensitivity(
    samples: WeightSamples,
    dataset: Dataset,
    *,
    levels: Sequence[float] = (0.9, 0.7, 0.5, 0.3),
    n_boot: int = 200,
    seed: int = 0,
    n_draws: int = 4,
    perturbations: Sequence[str] = TRAINED_PERTURBATIONS,
    blocks: Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """The pipeline stage: :func:`per_network_sensitivity` then :func:`summarize_sensitivity`."""
    per = per_network_sensitivity(
        samples,
        dataset,
        levels=levels,
        perturbations=perturbations,
        blocks=blocks,
        n_draws=n_draws,
        seed=seed,
    )
    return summarize_sensitivity(per, n_boot=n_boot, level=level, seed=seed)


def mean_network_binarization(
    mu: np.ndarray, widths: Sequence[int], dataset: Dataset, *, slope: float = 0.1
) -> pd.DataFrame:
    """Binarize the continuous mean network of LR-net runs block by block.

    For runs with parameters theta (:attr:`maxent.data.train.TrainedRuns.params`), the mean network has
    real weights mu = tanh(theta / 2) in (-1, 1). Binarizing block Wl means W_l -> sign(mu_l)
    (scale irrelevant, see the module docstring), the other blocks kept continuous; "all"
    binarizes every block.

    Parameters
    ----------
    mu : ndarray (R, N) of finite values in [-1, 1]
    widths : layer widths (n_0, ..., n_L)
    dataset : Dataset (test split used)
    slope : leaky-ReLU slope

    Returns
    -------
    DataFrame, one row per (run, block in W1..WL and "all"): run, block, accuracy_mean_network,
    accuracy (binarized), agreement, overlap (as in :func:`per_network_sensitivity`), rho (the
    empirical weight correlation sum |mu| / sqrt(N_block sum mu^2) of the block; NaN for "all").
    """
    mu = np.asarray(mu, dtype=np.float64)
    widths = tuple(int(w) for w in widths)
    if mu.ndim != 2 or not np.all(np.isfinite(mu)) or np.any(np.abs(mu) > 1):
        raise ValueError("mu must be an (R, N) array of finite mean weights in [-1, 1]")
    weights = [np.asarray(W, dtype=np.float32) for W in spins_to_weights(mu, widths)]
    X = torch.tensor(dataset.X_test)
    y = torch.tensor(dataset.y_test)
    R = mu.shape[0]
    with torch.no_grad():
        base = forward([torch.from_numpy(np.ascontiguousarray(W)) for W in weights], X, slope)
    acc0 = _metrics(base, base, y)["accuracy"]
    rows = []
    names = [f"W{l + 1}" for l in range(len(weights))] + ["all"]
    for k, name in enumerate(names):  # loop over blocks
        ws = [np.ascontiguousarray(W) for W in weights]
        targets = range(len(weights)) if name == "all" else [k]
        for l in targets:
            ws[l] = np.where(weights[l] >= 0, 1.0, -1.0).astype(np.float32)
        with torch.no_grad():
            logits = forward([torch.from_numpy(W) for W in ws], X, slope)
        met = _metrics(logits, base, y)
        if name == "all":
            rho = np.full(R, np.nan)
        else:
            W = weights[k].reshape(R, -1).astype(np.float64)
            rho = np.abs(W).sum(axis=1) / np.sqrt(W.shape[1] * (W * W).sum(axis=1))
        rows.append(
            pd.DataFrame(
                {
                    "run": np.arange(R),
                    "block": name,
                    "accuracy_mean_network": acc0,
                    "rho": rho,
                    **met,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)

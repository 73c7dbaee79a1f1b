r"""Bridge to the core: dimension of trained networks' hidden activity vs networks drawn from
the fitted Ising models of their weights and from the models' independent (J = 0) counterparts.

The fitted couplings J of a block define a synaptic correlation structure (the maximum-entropy
model's pair correlations); the question of the seed paper, asked of trained binary networks,
is whether that structure changes the dimension of the hidden representations. Sources of
±1 networks (all with the architecture of the samples):

    "trained"      the trained networks themselves (WeightSamples rows)
    "ising"        every block W_l drawn from its fitted IsingModel (blocks independent of each
                   other: the per-block models carry no between-block couplings)
    "independent"  every block drawn from the J = 0 counterpart: independent spins with the
                   Ising model's magnetizations (``independent="magnetization"``, the default:
                   only the couplings differ from "ising") or with P(s_i) ∝ exp(h_i s_i) for the
                   fitted fields (``independent="fields"``)
    "random"       unbiased i.i.d. ±1 synapses (the untrained reference)

Each network is run on the dataset's inputs with the core's forward convention
(:mod:`maxent.data.nets`: a_l = leaky_relu(W_l a_{l-1}, slope) / sqrt(n_{l-1}) for hidden layers,
logits z_L = W_L a_{L-1}); per layer the participation ratio D_l / n_l and the decorrelation
Delta_l of :mod:`.propagation` are computed over the inputs (unbiased Tr C^2). The ensemble
mean over networks gets a run-level bootstrap interval (:mod:`maxent.stats.bootstrap`; draws of
one training run are resampled together; model draws count as independent runs, MCMC draws
being thinned).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

from maxent.data.nets import hidden_activation, spins_to_weights
from maxent.data.samples import WeightSamples
from maxent.model.ising import IsingModel
from maxent.stats.bootstrap import basic_interval, resample_runs, run_bootstrap

from .propagation import covariance_statistics

__all__ = [
    "SOURCES",
    "network_activities",
    "weight_sources",
    "trained_dimension",
    "synapse_pair_structure",
    "per_network_statistics",
    "coupling_share",
]

SOURCES = ("trained", "ising", "independent", "random")
STATISTICS = ("D_over_N", "offdiag_corr2")


def network_activities(
    spins: np.ndarray, widths: tuple[int, ...], X: np.ndarray, slope: float = 0.1
) -> list[np.ndarray]:
    """Activities of M ±1 networks on inputs X (P, n_0): list of (M, P, n_l), l = 0..L (layer L
    holds the logits), with the core's forward convention."""
    spins = np.asarray(spins)
    if spins.ndim != 2:
        raise ValueError(f"spins must be (M, N), got shape {spins.shape}")
    X = np.array(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != widths[0]:
        raise ValueError(f"X must be (P, {widths[0]}), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains non-finite values (NaN or inf)")
    Ws = [
        torch.from_numpy(np.ascontiguousarray(W, dtype=np.float32)) for W in spins_to_weights(spins, widths)
    ]
    M = spins.shape[0]
    a = torch.from_numpy(X).t().expand(M, -1, -1).contiguous()
    out = [np.broadcast_to(X, (M, *X.shape))]
    with torch.no_grad():
        for layer, W in enumerate(Ws):
            z = torch.bmm(W, a)
            a = z if layer == len(Ws) - 1 else hidden_activation(z, W.shape[2], slope)
            out.append(a.transpose(1, 2).numpy().astype(np.float64))
    return out


def _check_models(samples: WeightSamples, models: Mapping[str, IsingModel]) -> None:
    missing = [b for b in samples.blocks if b not in models]
    if missing:
        raise ValueError(
            f"models lack the block(s) {missing}; need one IsingModel per block {list(samples.blocks)}"
        )
    for b, sl in samples.blocks.items():
        if not isinstance(models[b], IsingModel):
            raise TypeError(f"models[{b!r}] must be an IsingModel, got {type(models[b]).__name__}")
        if models[b].n_spins != sl.stop - sl.start:
            raise ValueError(
                f"models[{b!r}] has {models[b].n_spins} spins but block {b} has {sl.stop - sl.start}"
            )


def _bernoulli_spins(m: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    p = np.clip((1.0 + m) / 2.0, 0.0, 1.0)
    return np.where(rng.random((n, m.size)) < p, 1, -1).astype(np.int8)


def weight_sources(
    samples: WeightSamples,
    models: Mapping[str, IsingModel],
    *,
    n_model_samples: int | None = None,
    independent: str = "magnetization",
    sampler: Mapping | None = None,
    random_state: int | np.random.Generator | None = None,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """±1 networks (M_s, N) and their run ids (M_s,) for each source in SOURCES.

    Parameters
    ----------
    samples : WeightSamples
        The trained networks.
    models : dict block name -> IsingModel
        One fitted model per block ("W1", ..., "WL").
    n_model_samples : int, optional
        Networks drawn per model source (default: as many as there are samples).
    independent : {"magnetization", "fields"}
        The J = 0 counterpart (module docstring).
    sampler : dict, optional
        Keyword arguments of :meth:`IsingModel.sample` (default Gibbs, 64 chains, burn 200,
        thin 10; ``method="exact"`` for blocks of <= 24 spins).
    """
    if not isinstance(samples, WeightSamples):
        raise TypeError(f"samples must be a WeightSamples, got {type(samples).__name__}")
    _check_models(samples, models)
    if independent not in ("magnetization", "fields"):
        raise ValueError(f"independent must be 'magnetization' or 'fields', got {independent!r}")
    n = samples.n_samples if n_model_samples is None else int(n_model_samples)
    if n < 2:
        raise ValueError(f"n_model_samples must be >= 2, got {n_model_samples!r}")
    rng = np.random.default_rng(random_state)
    kw = {"method": "gibbs", "n_chains": 64, "burn": 200, "thin": 10, **(sampler or {})}
    ising, indep = [], []
    for b in samples.blocks:
        model = models[b]
        S = model.sample(n, random_state=rng, **kw)
        ising.append(S)
        m = S.mean(axis=0) if independent == "magnetization" else np.tanh(model.h)
        indep.append(_bernoulli_spins(m, n, rng))
    ids = np.arange(n, dtype=np.int64)
    return {
        "trained": (samples.spins, np.asarray(samples.run)),
        "ising": (np.concatenate(ising, axis=1), ids),
        "independent": (np.concatenate(indep, axis=1), ids),
        "random": (_bernoulli_spins(np.zeros(samples.n_spins), n, rng), ids),
    }


def _inputs(samples: WeightSamples, dataset, split: str) -> tuple[np.ndarray, float]:
    """The dataset inputs of ``split`` (checked against the architecture) and the hidden slope."""
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    X = np.asarray(dataset.X_test if split == "test" else dataset.X_train)
    if X.ndim != 2 or X.shape[1] != samples.widths[0]:
        raise ValueError(
            f"the dataset has {X.shape[-1]} features but the networks take {samples.widths[0]} inputs"
        )
    if X.shape[0] < 4:
        raise ValueError(
            f"need at least 4 inputs to estimate a covariance, the {split} split has {X.shape[0]}"
        )
    return X, float(samples.meta.get("config", {}).get("slope", 0.1))


def per_network_statistics(
    sources: Mapping[str, tuple[np.ndarray, np.ndarray]],
    widths: tuple[int, ...],
    X: np.ndarray,
    slope: float = 0.1,
) -> dict[str, dict[str, np.ndarray]]:
    """Per-network D_l / n_l and Delta_l of every source given (e.g. :func:`weight_sources`, plus
    any other ±1 networks such as a shuffled null): source -> statistic -> array (M_source, L + 1)."""
    out = {}
    for name in sources:
        acts = network_activities(sources[name][0], widths, X, slope)
        per_layer = [covariance_statistics(A) for A in acts]
        out[name] = {s: np.stack([st[s] for st in per_layer], axis=1) for s in STATISTICS}
    return out


def trained_dimension(
    samples: WeightSamples,
    models: Mapping[str, IsingModel],
    dataset,
    *,
    n_boot: int = 200,
    seed: int = 0,
    split: str = "test",
    n_model_samples: int | None = None,
    independent: str = "magnetization",
    sampler: Mapping | None = None,
    level: float = 0.95,
    sources: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """D_l / n_l and Delta_l of the trained networks' activity on the dataset, against networks
    drawn from the fitted models and their J = 0 counterparts (pipeline stage).

    Parameters
    ----------
    samples, models, n_model_samples, independent, sampler
        See :func:`weight_sources` (``sources`` may pass its result to skip the sampling).
    dataset : maxent.data.datasets.Dataset
        Inputs X_train / X_test (``split``); widths[0] must equal its number of features.
    n_boot, level, seed
        Run-level bootstrap replicates, interval coverage, and the seed of model draws and
        bootstrap.

    Returns
    -------
    DataFrame, one row per (source, layer, statistic): ``source``, ``layer`` (0 = inputs,
    L = logits), ``width``, ``role`` ("input", "hidden", "output"), ``statistic``
    ("D_over_N" or "offdiag_corr2"), ``value`` (mean over networks), ``ci_low``, ``ci_high``
    (basic run-level bootstrap), ``n_networks``, ``n_runs``, ``n_inputs``.
    """
    X, slope = _inputs(samples, dataset, split)
    rng = np.random.default_rng(seed)
    if sources is None:
        sources = weight_sources(
            samples,
            models,
            n_model_samples=n_model_samples,
            independent=independent,
            sampler=sampler,
            random_state=rng,
        )
    widths = samples.widths
    per_network = per_network_statistics(sources, widths, X, slope)
    L = len(widths) - 1
    rows = []
    for name, stats in per_network.items():
        spins, runs = sources[name]
        for s, arr in stats.items():
            res = run_bootstrap(
                lambda rows_, arr=arr: np.nanmean(arr[rows_], axis=0),
                runs,
                n_boot=n_boot,
                level=level,
                random_state=rng,
            )
            for layer in range(L + 1):
                rows.append(
                    dict(
                        source=name,
                        layer=layer,
                        width=widths[layer],
                        role="input" if layer == 0 else ("output" if layer == L else "hidden"),
                        statistic=s,
                        value=float(res.value[layer]),
                        ci_low=float(res.ci_low[layer]),
                        ci_high=float(res.ci_high[layer]),
                        n_networks=int(spins.shape[0]),
                        n_runs=int(res.n_runs),
                        n_inputs=int(X.shape[0]),
                    )
                )
    return pd.DataFrame(rows)


def synapse_pair_structure(
    sources: Mapping[str, tuple[np.ndarray, np.ndarray]], widths: tuple[int, ...]
) -> pd.DataFrame:
    """Mean connected correlation of synapse pairs of each block by class (the inferred structures):
    "post" (same postsynaptic unit, a row of W_l), "pre" (same presynaptic unit, a column) and
    "none". Columns: ``source``, ``block``, ``pair``, ``mean_corr``, ``rms_corr``, ``n_pairs``,
    ``noise_floor`` (1/sqrt(M), the rms of pure sampling noise). Blocks with a constant spin get
    NaN correlations for that spin's pairs (ignored in the averages)."""
    rows = []
    slices = list(zip(widths[:-1], widths[1:], strict=True))
    for name, (spins, _runs) in sources.items():
        offset = 0
        for layer, (n_in, n_out) in enumerate(slices, start=1):
            B = np.asarray(spins[:, offset : offset + n_in * n_out], dtype=np.float64)
            offset += n_in * n_out
            with np.errstate(invalid="ignore", divide="ignore"):
                R = np.corrcoef(B, rowvar=False)
            idx = np.arange(n_in * n_out)
            post, pre = idx // n_in, idx % n_in
            same_post = post[:, None] == post[None, :]
            same_pre = pre[:, None] == pre[None, :]
            off = ~np.eye(idx.size, dtype=bool)
            for pair, mask in (
                ("post", same_post & off),
                ("pre", same_pre & off),
                ("none", ~same_post & ~same_pre),
            ):
                v = R[mask]
                rows.append(
                    dict(
                        source=name,
                        block=f"W{layer}",
                        pair=pair,
                        mean_corr=float(np.nanmean(v)),
                        rms_corr=float(np.sqrt(np.nanmean(v * v))),
                        n_pairs=int(mask.sum() // 2),
                        noise_floor=1.0 / np.sqrt(B.shape[0]),
                    )
                )
    return pd.DataFrame(rows)


def coupling_share(
    samples: WeightSamples,
    models: Mapping[str, IsingModel],
    dataset,
    *,
    n_boot: int = 200,
    seed: int = 0,
    split: str = "test",
    level: float = 0.95,
    sources: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    **source_options,
) -> pd.DataFrame:
    """How much of the trained networks' dimension reduction do the fitted couplings reproduce?

    Per layer l >= 1, with D = mean D_l / n_l of each source,

        gap       = D_independent - D_trained     (reduction of the trained networks relative to
                                                    independent synapses with the same magnetizations)
        explained = D_independent - D_ising       (the part reproduced by the couplings J)
        share     = explained / gap

    Intervals: basic bootstrap with the three sources resampled independently (trained networks
    by run, model draws one by one); the small dependence of the "independent" draws on the
    Ising draws (their magnetizations) is ignored. ``share`` is unstable where the gap's interval
    reaches 0 (``gap_resolved`` False). Other keywords go to :func:`weight_sources`.

    Returns
    -------
    DataFrame, one row per layer >= 1: ``layer``, ``width``, ``role``, and ``value``, ``ci_low``,
    ``ci_high`` for each of ``gap``, ``explained``, ``share`` (columns ``gap``, ``gap_ci_low``, ...),
    ``gap_resolved``.
    """
    X, slope = _inputs(samples, dataset, split)
    rng = np.random.default_rng(seed)
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer >= 2, got {n_boot!r}")
    if sources is None:
        sources = weight_sources(samples, models, random_state=rng, **source_options)
    missing = [k for k in ("trained", "ising", "independent") if k not in sources]
    if missing:
        raise ValueError(f"sources lack {missing}")
    # layers >= 1 only (layer 0 is the data itself: no gap)
    D = {
        k: v["D_over_N"][:, 1:] for k, v in per_network_statistics(sources, samples.widths, X, slope).items()
    }

    def stats(t: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        dt, di, dj = np.nanmean(t, axis=0), np.nanmean(i, axis=0), np.nanmean(j, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.stack([dj - dt, dj - di, (dj - di) / (dj - dt)])  # (3, L)

    value = stats(D["trained"], D["ising"], D["independent"])
    reps = np.empty((n_boot, *value.shape))
    runs = sources["trained"][1]
    n_i, n_j = D["ising"].shape[0], D["independent"].shape[0]
    for b in range(n_boot):
        reps[b] = stats(
            D["trained"][resample_runs(runs, rng)],
            D["ising"][rng.integers(0, n_i, n_i)],
            D["independent"][rng.integers(0, n_j, n_j)],
        )
    lo, hi = basic_interval(value, reps, level)
    L = len(samples.widths) - 1
    rows = []
    for layer in range(1, L + 1):
        row = dict(layer=layer, width=samples.widths[layer], role="output" if layer == L else "hidden")
        for k, name in enumerate(("gap", "explained", "share")):
            row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"] = (
                value[k, layer - 1],
                lo[k, layer - 1],
                hi[k, layer - 1],
            )
        row["gap_resolved"] = bool(row["gap_ci_low"] > 0 or row["gap_ci_high"] < 0)
        rows.append(row)
    return pd.DataFrame(rows)

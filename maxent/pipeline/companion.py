"""Pipeline stages of the companion analyses that read the trained ensembles.

* ``sensitivity`` (config ``sensitivity:``), per setting trained by the pipeline: how much the
  function of the trained networks changes when one block is diluted or has signs flipped, at
  equal weight correlation rho (:mod:`maxent.companion.sensitivity`); ensemble means with
  run-level bootstrap intervals, and paired contrasts "reference block minus each other block",
  for the trained ensemble and (``null: true``) its column-shuffled null — an ordering the null
  shows too comes from the architecture, not from what training learned.
  Tables ``sensitivity.csv`` and ``sensitivity_contrasts.csv`` (column ``ensemble``).
* ``dimension`` (config ``dimension:``), per setting with hidden layers: participation-ratio
  dimension D_l / N_l of the hidden representations of the trained networks against their
  column-shuffled null, networks drawn from the fitted block models and from their J = 0
  counterparts (:mod:`maxent.companion.correlated`), with run-level bootstrap intervals, and the share of the
  trained networks' dimension reduction that the fitted couplings reproduce.
  Tables ``dimension.csv`` and ``dimension_share.csv``.

Both need the dataset the networks were trained on, so settings that read existing samples
(``samples:``) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from maxent.data.samples import WeightSamples
from maxent.model.ising import IsingModel
from maxent.pipeline.config import PipelineConfig, SettingConfig, stable_hash
from maxent.pipeline.keys import task_seed
from maxent.pipeline.stage import Done, Stage, Task, setting_table
from maxent.pipeline.tasks import load_dataset

if TYPE_CHECKING:  # pragma: no cover
    from maxent.pipeline.runner import Runner

__all__ = ["COMPANION_STAGES"]


def _at_most(samples: WeightSamples, max_networks: int, seed: int) -> WeightSamples:
    """A random subset of ``max_networks`` networks (rows keep their run ids: intervals still
    resample runs), or all of them. Per-network statistics are averaged, so a subset only widens
    the intervals; it bounds the cost on ensembles of 10^4-10^5 draws."""
    if samples.n_samples <= max_networks:
        return samples
    rng = np.random.default_rng(task_seed(seed, "subset"))
    return samples.subset(np.sort(rng.choice(samples.n_samples, size=max_networks, replace=False)))


# ----------------------------------------------------------------------------- tasks
def _task_sensitivity(
    samples: WeightSamples,
    dataset: dict,
    n_train: int | None,
    levels: tuple[float, ...],
    n_draws: int,
    n_boot: int,
    reference: str,
    null: bool,
    seed: int,
    max_networks: int = 4000,
) -> dict[str, Any]:
    from maxent.companion import sensitivity as sens

    samples = _at_most(samples, max_networks, seed)
    ds = load_dataset(dataset, n_train)
    ensembles = [("trained", samples)]
    if null:
        ensembles.append(("shuffled null", sens.shuffled_null(samples, random_state=seed)))
    summaries, contrasts = [], []
    for name, smp in ensembles:
        per = sens.per_network_sensitivity(smp, ds, levels=levels, n_draws=n_draws, seed=seed)
        summaries.append(sens.summarize_sensitivity(per, n_boot=n_boot, seed=seed).assign(ensemble=name))
        if reference in smp.blocks and len(smp.blocks) > 1:
            c = sens.block_contrasts(per, reference=reference, n_boot=n_boot, seed=seed)
            contrasts.append(c.assign(ensemble=name))
    return {
        "sensitivity": pd.concat(summaries, ignore_index=True),
        "contrasts": pd.concat(contrasts, ignore_index=True) if contrasts else pd.DataFrame(),
    }


def _task_dimension(
    samples: WeightSamples,
    models: dict[str, IsingModel],
    dataset: dict,
    n_train: int | None,
    n_boot: int,
    seed: int,
    max_networks: int = 4000,
) -> dict[str, Any]:
    from maxent.companion import correlated as cor

    samples = _at_most(samples, max_networks, seed)
    ds = load_dataset(dataset, n_train)
    from maxent.stats.nulls import column_shuffle

    sources = cor.weight_sources(samples, models, random_state=seed)
    # the column-shuffled null: each weight permuted across runs (same magnetizations, no coordination)
    shuffled = column_shuffle(samples.spins, groups=samples.run, random_state=task_seed(seed, "null"))
    with_null = {**sources, "shuffled null": (shuffled, np.asarray(samples.run))}
    table = cor.trained_dimension(samples, models, ds, n_boot=n_boot, seed=seed, sources=with_null)
    share = cor.coupling_share(samples, models, ds, n_boot=n_boot, seed=seed, sources=sources)
    return {"dimension": table, "share": share}


# ----------------------------------------------------------------------------- stages
def _trained_settings(cfg: PipelineConfig) -> list[SettingConfig]:
    return [s for s in cfg.settings if s.samples is None]


def _dataset_spec(cfg: PipelineConfig) -> dict:
    return {"name": cfg.dataset.name, **cfg.dataset.load_kwargs()}


def _plan_sensitivity(run: Runner) -> list[Task]:
    cfg, res = run.cfg, run.res
    sc = cfg.sensitivity
    tasks = []
    for s in _trained_settings(cfg):
        seed = task_seed(cfg.seed, "sensitivity", s.name)
        spec = (tuple(sc.levels), sc.n_draws, sc.n_boot, sc.reference, sc.null, seed, sc.max_networks)
        key = run.key("sensitivity", res.samples_key[s.name], _dataset_spec(cfg), s.n_train, *spec)
        args = (res.samples[s.name], _dataset_spec(cfg), s.n_train, *spec)
        tasks.append(Task("sensitivity", (s.name,), key, _task_sensitivity, args))
    return tasks


def _tables(names: dict[str, str]) -> Callable[[Runner, Done], None]:
    """A collect step writing ``tables[name]`` from each task's item ``names[name]``."""

    def collect(run: Runner, done: Done) -> None:
        keys = stable_hash([t.key for t, _ in done])
        for name, item in names.items():
            parts = [(t, items[item]) for t, items in done]
            run.res.tables[name] = setting_table(parts, front=("setting", "ensemble"))
            run.res.table_keys[name] = keys

    return collect


def _plan_dimension(run: Runner) -> list[Task]:
    cfg, res = run.cfg, run.res
    tasks = []
    for s in _trained_settings(cfg):
        layers = s.block_names(include_full=False)
        if len(layers) < 2 or any((s.name, b) not in res.models for b in layers):
            continue  # no hidden layer, or a block's fit failed
        seed = task_seed(cfg.seed, "dimension", s.name)
        spec = (cfg.dimension.n_boot, seed, cfg.dimension.max_networks)
        fit_keys = [res.fit_key[(s.name, b)] for b in layers]
        key = run.key("dimension", res.samples_key[s.name], fit_keys, _dataset_spec(cfg), s.n_train, *spec)
        models = {b: res.models[(s.name, b)] for b in layers}
        args = (res.samples[s.name], models, _dataset_spec(cfg), s.n_train, *spec)
        tasks.append(Task("dimension", (s.name,), key, _task_dimension, args))
    return tasks


#: the companion stages, run after the claims
COMPANION_STAGES = (
    Stage(
        "sensitivity",
        ("maxent.companion.sensitivity", "maxent.pipeline.companion"),
        _plan_sensitivity,
        _tables({"sensitivity": "sensitivity", "sensitivity_contrasts": "contrasts"}),
        lambda cfg: cfg.sensitivity.enabled,
    ),
    Stage(
        "dimension",
        ("maxent.companion.correlated", "maxent.pipeline.companion"),
        _plan_dimension,
        _tables({"dimension": "dimension", "dimension_share": "share"}),
        lambda cfg: cfg.dimension.enabled,
    ),
)

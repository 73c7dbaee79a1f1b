"""Checks made before anything is trained or the output folder is claimed."""

from __future__ import annotations

import numpy as np

from maxent.fit.registry import EstimatorError, check_estimator
from maxent.pipeline.config import (
    ConfigError,
    PipelineConfig,
)

__all__ = ["plan_config", "check_estimators"]


def check_estimators(cfg: PipelineConfig) -> None:
    """Check every estimator of ``cfg.fit`` (names, parameters, a dry-run fit); ConfigError names
    the config key (``fit.estimator`` or ``fit.blocks.<block>``)."""
    for b, est in [("(default)", cfg.fit.estimator), *cfg.fit.blocks.items()]:
        try:
            check_estimator(est.name, est.params)
        except EstimatorError as exc:
            where = "fit.estimator" if b == "(default)" else f"fit.blocks.{b}"
            raise ConfigError(f"{where}: {exc}") from None


def plan_config(cfg: PipelineConfig) -> None:
    """Fail early, before anything is trained or the output folder is claimed: estimators (names,
    parameter types and values, by a dry-run fit), data sizes, architectures. Raises ConfigError."""
    check_estimators(cfg)
    for k, s in enumerate(cfg.settings):
        if s.samples is not None:
            from maxent.data.samples import load_spins_file

            try:
                smp = load_spins_file(s.samples, s.widths)
            except (OSError, ValueError, TypeError) as exc:
                raise ConfigError(f"settings[{k}].samples: {exc}") from None
            if len(np.unique(smp.run)) < 4:
                raise ConfigError(f"settings[{k}].samples: {s.samples} holds fewer than 4 runs")
    from maxent.data import datasets

    try:
        ds = datasets.load(cfg.dataset.name, **cfg.dataset.load_kwargs())
    except (ValueError, TypeError, FileNotFoundError) as exc:
        raise ConfigError(f"dataset: {exc}") from None
    for k, s in enumerate(cfg.settings):
        if s.widths[-1] != ds.n_classes:
            raise ConfigError(
                f"settings[{k}].widths ends with {s.widths[-1]} outputs but the dataset "
                f"{cfg.dataset.name!r} has {ds.n_classes} classes"
            )
        if s.n_train is not None and cfg.dataset.name != "teacher" and s.n_train > ds.n_train:
            raise ConfigError(
                f"settings[{k}].n_train={s.n_train} exceeds the {ds.n_train} training examples "
                f"of {cfg.dataset.name!r}"
            )
        if s.regime == "under" and s.n_train is None and ds.n_train < s.n_weights:
            raise ConfigError(
                f"settings[{k}]: regime 'under' but all {ds.n_train} training examples are fewer "
                f"than the {s.n_weights} weights"
            )

"""The pipeline configuration: a YAML file validated into frozen dataclasses.

A config names the data, the networks and how to train them (``settings``), the inverse-Ising
estimator per block (``fit``), and the analyses (``quality``, ``landscape``, ``clustering``) and
outputs. Every section is optional except ``settings``; omitted keys take the defaults below.
Unknown keys are errors (they are almost always typos); the message gives the path of the key
(e.g. ``settings[2].n_trian``) and the allowed keys. Bad values say what was expected.

Schema (defaults in brackets)::

    name: str                       run name shown in the report            [maxent]
    description: str                free text for the report                [""]
    seed: int >= 0                  master seed of every random choice      [0]
    device: cpu | cuda | cuda:K     torch device of the trainer              [cpu]
    dataset:
      name: digits | mnist5k | mnist | fashion-mnist | teacher              [digits]
      n_components: int >= 1        PCA inputs (= widths[0])                [20]
      path: str | null              local files for mnist/fashion-mnist     [null]
      seed: int >= 0                train/test split and subsampling seed   [0]
      scaling: global | component | none   PCA input scaling; none keeps the raw PCA
                                    variances (the reference study)         [global]
      n_test, n_classes: int | null; teacher_hidden: [int]   (teacher only)
    trainer:                        maxent.data.train.TrainConfig fields but widths, shared by all
      method, epochs, lr, batch_size, weight_decay, activation, slope, init_std, ...
    settings:                       list, at least one
      - name: str                   [A-Za-z0-9_.-]+, unique; used in file names
        widths: [int, ...]          (n_0, ..., n_L)
        n_train: int | null         training examples P; null = all         [null]
        regime: under | over | null checked: over needs P < #weights, under P >= #weights  [null]
        n_runs: int >= 2            independent training runs               [64]
        draws_per_run: int >= 1     binary networks drawn per run           [1]
        min_accuracy: float | null  keep networks of test accuracy >= it    [null]
        gauge: none | sort          hidden-unit permutation gauge           [none]
        samples: str | null         existing samples instead of training (a path relative to
                                    the config file's folder): a WeightSamples .npz
                                    (maxent sample / OUT/samples) or a plain ±1 (M, N) .npy
                                    whose columns follow widths              [null]
        null_model: none | column_shuffle  run the setting on a column-shuffled copy of its samples
                                    (same magnetizations, no correlations)  [none]
        trainer: {...}              overrides of the shared trainer section [{}]
    fit:
      estimator: {name, params}     default estimator for every block       [pseudolikelihood]
      blocks: {W1: {name, params}, full: ...}   per-block overrides         [{}]
      include_full: bool            also fit the whole network ("full")     [true]
      holdout: float in [0, 0.9]    fraction of runs held out for quality   [0.2]
    quality:
      enabled: bool                                                         [true]
      n_model_samples: int >= 10    model samples compared with the data    [2000]
      n_chains, burn, thin: int     MCMC model samples (N > 20): parallel chains, burn-in
                                    and thinning in sweeps                  [256, 500, 2]
      n_triplets: int               three-point correlations compared       [2000]
    landscape:
      enabled: bool                                                         [true]
      blocks: all | [names]         blocks whose landscape is computed      [all]
      x: {start, stop, step}        tilt grid, both sweeps                  [-3, 3, 0.05]
      references: [low|medium|high] reference configurations                [all three]
      tol: float > 0; max_iter: int; damping: float in [0, 1)               [1e-6, 1000, 0]
      liquidity_references: int >= 0  references per energy class (among the well-performing
                                    samples) over which the liquidity table averages the
                                    landscape area and largest gap (the study used 20)  [0]
    clustering:
      enabled: bool                                                         [true]
      blocks: all | [names]                                                 [all]
      n_starts: int >= 1            TAP random starts per block             [64]
      max_samples: int >= 2         samples used for P(q) and the dendrogram [500]
    claims:                         conclusions with intervals and nulls (maxent.stats.claims)
      enabled: bool                                                         [true]
      alpha, alpha_h: float > 0     common PL penalty of couplings / fields  [3.0, 0.01]
      n_boot, n_null: int >= 2      run-level bootstrap replicates, shuffles [49, 49]
      n_boot_landscape, n_null_landscape: int >= 2  (first-order jump claims) [19, 19]
      n_null_tap: int >= 1; n_starts: int >= 16    (TAP-state claims)       [4, 256]
      level: float in (0, 1)        interval coverage                       [0.95]
      significance: float in (0, 0.5]  largest p-value called significant   [0.05]
      power: float in (0, 1)        power at which runs_needed is estimated  [0.8]
      curve: [float in (0, 1]]      fractions of runs of the sample-size curve [[0.25, 0.5, 1.0]]
      include_full: bool            also test the whole network's block     [false]
      landscape, tap: bool          test the jumps / TAP states found       [true, true]
    sensitivity:                    companion 1: function sensitivity of the trained networks to
                                    dilution / sign flips of one block (maxent.companion.sensitivity)
      enabled: bool                                                         [false]
      levels: [float in (0, 1]]     weight correlations rho of the perturbations [[0.9, 0.7, 0.5, 0.3]]
      n_draws: int >= 1; n_boot: int >= 2  perturbations per network; run bootstrap [4, 200]
      reference: str                block the contrasts compare with        [W2]
      null: bool                    also on the column-shuffled ensemble    [true]
      max_networks: int >= 10       networks used (a random subset of larger ensembles) [4000]
    dimension:                      companion 3: participation-ratio dimension of hidden layers,
                                    trained vs drawn from the fitted models (maxent.companion.correlated)
      enabled: bool; n_boot: int >= 2; max_networks: int >= 10              [false, 200, 4000]
    outputs:
      figures: bool                                                         [true]
      export_formats: [npz|json|csv|txt]  model files written per block     [[npz]]
      dpi: int                                                              [110]

Estimator names: ``exact``, ``mean_field``, ``pseudolikelihood``, ``pseudolikelihood_cv``,
``bethe``, ``mcmc`` (see :data:`ESTIMATORS`); ``params`` are the estimator's ``__init__``
arguments and are checked against them when the pipeline is planned.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from maxent.fit.registry import ESTIMATORS
from maxent.stats.settings import ClaimSettings

__all__ = [
    "ConfigError",
    "PipelineConfig",
    "DatasetConfig",
    "SettingConfig",
    "EstimatorConfig",
    "FitConfig",
    "QualityConfig",
    "GridConfig",
    "LandscapeConfig",
    "ClusteringConfig",
    "OutputsConfig",
    "ClaimsConfig",
    "load_config",
    "parse_config",
    "config_hash",
    "stable_hash",
]

REFERENCES = ("low", "medium", "high")
EXPORT_FORMATS = ("npz", "json", "csv", "txt")


def trainer_keys() -> list[str]:
    """Keys allowed in a ``trainer`` section: the fields of ``TrainConfig`` but widths."""
    from maxent.data.train import TrainConfig

    return [f.name for f in dataclasses.fields(TrainConfig) if f.name != "widths"]


_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


class ConfigError(ValueError):
    """An invalid pipeline configuration; the message names the offending key path."""


# --------------------------------------------------------------------------- schema
@dataclass(frozen=True)
class DatasetConfig:
    name: str = "digits"
    n_components: int = 20
    path: str | None = None
    seed: int = 0
    n_test: int | None = None
    n_classes: int | None = None
    teacher_hidden: tuple[int, ...] = ()
    scaling: str = "global"

    def _check(self, at: str) -> None:
        from maxent.data.datasets import DATASETS, SCALINGS

        _choice(self.name, DATASETS, f"{at}.name")
        _choice(self.scaling, SCALINGS, f"{at}.scaling")
        _int_at_least(self.n_components, 1, f"{at}.n_components")
        _int_at_least(self.seed, 0, f"{at}.seed")
        teacher_only = self.n_test is not None or self.n_classes is not None or self.teacher_hidden
        if self.name != "teacher" and teacher_only:
            raise ConfigError(f"{at}: n_test, n_classes and teacher_hidden apply to the 'teacher' data only")

    def load_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`maxent.data.datasets.load` (without n_train)."""
        kw: dict[str, Any] = {"n_components": self.n_components, "seed": self.seed, "path": self.path}
        if self.name == "teacher":
            kw.update(n_test=self.n_test, n_classes=self.n_classes, teacher_hidden=self.teacher_hidden)
        if self.scaling != "global":
            kw["scaling"] = self.scaling
        return kw


@dataclass(frozen=True)
class SettingConfig:
    name: str
    widths: tuple[int, ...]
    n_train: int | None = None
    regime: str | None = None
    n_runs: int = 64
    draws_per_run: int = 1
    gauge: str = "none"
    trainer: dict = field(default_factory=dict)
    samples: str | None = None
    null_model: str = "none"
    min_accuracy: float | None = None

    @property
    def n_weights(self) -> int:
        return sum(a * b for a, b in zip(self.widths[:-1], self.widths[1:], strict=True))

    @property
    def n_samples(self) -> int:
        return self.n_runs * self.draws_per_run

    def block_names(self, include_full: bool = True) -> list[str]:
        """Blocks W1..WL, plus "full" when asked and the network has more than one layer."""
        names = [f"W{i}" for i in range(1, len(self.widths))]
        if include_full and len(names) > 1:
            names.append("full")
        return names

    def _check(self, at: str) -> None:
        if not _NAME_RE.match(self.name):
            raise ConfigError(
                f"{at}.name must match [A-Za-z0-9_.-]+ (it is used in file names), got {self.name!r}"
            )
        if set(self.name) == {"."}:
            raise ConfigError(
                f"{at}.name {self.name!r} names a folder (it is used in file names); choose a real name"
            )
        if len(self.widths) < 2:
            raise ConfigError(f"{at}.widths must list at least two layer sizes, got {list(self.widths)}")
        for k, w in enumerate(self.widths):
            _int_at_least(w, 1, f"{at}.widths[{k}]")
        if self.n_train is not None:
            _int_at_least(self.n_train, 1, f"{at}.n_train")
        _int_at_least(self.n_runs, 2, f"{at}.n_runs")
        _int_at_least(self.draws_per_run, 1, f"{at}.draws_per_run")
        _choice(self.gauge, ("none", "sort"), f"{at}.gauge")
        _choice(self.null_model, ("none", "column_shuffle"), f"{at}.null_model")
        if self.samples is not None and not self.samples.strip():
            raise ConfigError(f"{at}.samples must be a file path or null, got {self.samples!r}")
        if self.min_accuracy is not None and not (0.0 <= self.min_accuracy <= 1.0):
            raise ConfigError(f"{at}.min_accuracy must lie in [0, 1] or be null, got {self.min_accuracy!r}")
        if self.regime is not None:
            _choice(self.regime, ("under", "over"), f"{at}.regime")
            if self.regime == "over" and (self.n_train is None or self.n_train >= self.n_weights):
                raise ConfigError(
                    f"{at}: regime 'over' (over-parametrized) needs n_train below the number of weights "
                    f"({self.n_weights} for widths {list(self.widths)}), got n_train={self.n_train}"
                )
            if self.regime == "under" and self.n_train is not None and self.n_train < self.n_weights:
                raise ConfigError(
                    f"{at}: regime 'under' (under-parametrized) needs n_train >= the number of weights "
                    f"({self.n_weights}), got n_train={self.n_train}"
                )
        unknown = sorted(set(self.trainer) - set(trainer_keys()))
        if unknown:
            raise ConfigError(f"unknown keys {unknown} in {at}.trainer; allowed: {trainer_keys()}")


@dataclass(frozen=True)
class EstimatorConfig:
    name: str = "pseudolikelihood"
    params: dict = field(default_factory=dict)

    def _check(self, at: str) -> None:
        _choice(self.name, tuple(ESTIMATORS), f"{at}.name")


@dataclass(frozen=True)
class FitConfig:
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)
    blocks: dict[str, EstimatorConfig] = field(default_factory=dict)
    include_full: bool = True
    holdout: float = 0.2

    def _check(self, at: str) -> None:
        if not (0.0 <= self.holdout <= 0.9):
            raise ConfigError(f"{at}.holdout must lie in [0, 0.9], got {self.holdout!r}")
        for name in self.blocks:
            if not re.match(r"^(W[1-9][0-9]*|full)$", name):
                raise ConfigError(f"{at}.blocks: block names are W1, W2, ... or 'full', got {name!r}")

    def estimator_for(self, block: str) -> EstimatorConfig:
        return self.blocks.get(block, self.estimator)


@dataclass(frozen=True)
class QualityConfig:
    enabled: bool = True
    n_model_samples: int = 2000
    n_chains: int = 256
    burn: int = 500
    thin: int = 2
    n_triplets: int = 2000

    def _check(self, at: str) -> None:
        _int_at_least(self.n_model_samples, 10, f"{at}.n_model_samples")
        _int_at_least(self.n_chains, 1, f"{at}.n_chains")
        _int_at_least(self.burn, 0, f"{at}.burn")
        _int_at_least(self.thin, 1, f"{at}.thin")
        _int_at_least(self.n_triplets, 1, f"{at}.n_triplets")


@dataclass(frozen=True)
class GridConfig:
    start: float = -3.0
    stop: float = 3.0
    step: float = 0.05

    def _check(self, at: str) -> None:
        if not self.step > 0:
            raise ConfigError(f"{at}.step must be > 0, got {self.step!r}")
        if not self.stop > self.start:
            raise ConfigError(f"{at}: stop ({self.stop}) must exceed start ({self.start})")
        if (self.stop - self.start) / self.step > 100_000:
            raise ConfigError(f"{at}: the grid has more than 100000 points; use a larger step")

    def values(self) -> list[float]:
        """Grid points start, start+step, ..., stop (inclusive within step/1000), rounded to 12 digits."""
        n = int((self.stop - self.start) / self.step + 1e-3) + 1
        return [round(self.start + k * self.step, 12) for k in range(n)]


@dataclass(frozen=True)
class LandscapeConfig:
    enabled: bool = True
    blocks: str | tuple[str, ...] = "all"
    x: GridConfig = field(default_factory=GridConfig)
    references: tuple[str, ...] = REFERENCES
    tol: float = 1e-6
    max_iter: int = 1000
    damping: float = 0.0
    liquidity_references: int = 0

    def _check(self, at: str) -> None:
        _blocks_spec(self.blocks, f"{at}.blocks")
        _int_at_least(self.liquidity_references, 0, f"{at}.liquidity_references")
        if not self.references:
            raise ConfigError(f"{at}.references must name at least one of {list(REFERENCES)}")
        for k, r in enumerate(self.references):
            _choice(r, REFERENCES, f"{at}.references[{k}]")
        if len(set(self.references)) != len(self.references):
            raise ConfigError(f"{at}.references lists a reference twice: {list(self.references)}")
        if not self.tol > 0:
            raise ConfigError(f"{at}.tol must be > 0, got {self.tol!r}")
        _int_at_least(self.max_iter, 1, f"{at}.max_iter")
        if not (0.0 <= self.damping < 1.0):
            raise ConfigError(f"{at}.damping must lie in [0, 1), got {self.damping!r}")


@dataclass(frozen=True)
class ClusteringConfig:
    enabled: bool = True
    blocks: str | tuple[str, ...] = "all"
    n_starts: int = 64
    max_samples: int = 500

    def _check(self, at: str) -> None:
        _blocks_spec(self.blocks, f"{at}.blocks")
        _int_at_least(self.n_starts, 1, f"{at}.n_starts")
        _int_at_least(self.max_samples, 2, f"{at}.max_samples")


@dataclass(frozen=True)
class ClaimsConfig(ClaimSettings):  # the fields of ClaimSettings, and the switches below
    enabled: bool = True
    include_full: bool = False
    landscape: bool = True
    tap: bool = True

    def _check(self, at: str) -> None:
        for name in ("alpha", "alpha_h"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{at}.{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("n_boot", "n_null", "n_boot_landscape", "n_null_landscape"):
            _int_at_least(getattr(self, name), 2, f"{at}.{name}")
        _int_at_least(self.n_null_tap, 1, f"{at}.n_null_tap")
        _int_at_least(self.n_starts, 16, f"{at}.n_starts")
        if not (0.0 < self.level < 1.0):
            raise ConfigError(f"{at}.level must lie in (0, 1), got {self.level!r}")
        if not (0.0 < self.power < 1.0):
            raise ConfigError(f"{at}.power must lie in (0, 1), got {self.power!r}")
        if not (0.0 < self.significance <= 0.5):
            raise ConfigError(f"{at}.significance must lie in (0, 0.5], got {self.significance!r}")
        if not self.curve or any(not (0.0 < f <= 1.0) for f in self.curve):
            raise ConfigError(f"{at}.curve must list fractions in (0, 1], got {list(self.curve)}")

    def settings(self) -> ClaimSettings:
        """The :class:`maxent.stats.settings.ClaimSettings` of this section (fractions sorted)."""
        kw = {f.name: getattr(self, f.name) for f in dataclasses.fields(ClaimSettings)}
        return ClaimSettings(**{**kw, "curve": tuple(sorted(set(self.curve)))})


@dataclass(frozen=True)
class SensitivityConfig:
    """Companion analysis 1 on the trained ensembles (:mod:`maxent.companion.sensitivity`)."""

    enabled: bool = False
    levels: tuple[float, ...] = (0.9, 0.7, 0.5, 0.3)
    n_draws: int = 4
    n_boot: int = 200
    reference: str = "W2"
    null: bool = True
    max_networks: int = 4000

    def _check(self, at: str) -> None:
        if not self.levels or any(not 0.0 < float(v) <= 1.0 for v in self.levels):
            raise ConfigError(f"{at}.levels must be weight correlations in (0, 1], got {list(self.levels)}")
        _int_at_least(self.n_draws, 1, f"{at}.n_draws")
        _int_at_least(self.n_boot, 2, f"{at}.n_boot")
        _int_at_least(self.max_networks, 10, f"{at}.max_networks")


@dataclass(frozen=True)
class DimensionConfig:
    """Companion analysis 3 on the trained ensembles (:mod:`maxent.companion.correlated`)."""

    enabled: bool = False
    n_boot: int = 200
    max_networks: int = 4000

    def _check(self, at: str) -> None:
        _int_at_least(self.n_boot, 2, f"{at}.n_boot")
        _int_at_least(self.max_networks, 10, f"{at}.max_networks")


#: analysis sections that leave a config's identity (its hash) unchanged while disabled: adding
#: one to the library does not make existing runs "different runs"
OPTIONAL_SECTIONS = ("sensitivity", "dimension")


@dataclass(frozen=True)
class OutputsConfig:
    figures: bool = True
    export_formats: tuple[str, ...] = ("npz",)
    dpi: int = 110

    def _check(self, at: str) -> None:
        for k, f in enumerate(self.export_formats):
            _choice(f, EXPORT_FORMATS, f"{at}.export_formats[{k}]")
        _int_at_least(self.dpi, 20, f"{at}.dpi")


@dataclass(frozen=True)
class PipelineConfig:
    settings: tuple[SettingConfig, ...]
    name: str = "maxent"
    description: str = ""
    seed: int = 0
    device: str = "cpu"
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    trainer: dict = field(default_factory=dict)
    fit: FitConfig = field(default_factory=FitConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    landscape: LandscapeConfig = field(default_factory=LandscapeConfig)
    clustering: ClusteringConfig = field(default_factory=ClusteringConfig)
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)
    sensitivity: SensitivityConfig = field(default_factory=SensitivityConfig)
    dimension: DimensionConfig = field(default_factory=DimensionConfig)
    outputs: OutputsConfig = field(default_factory=OutputsConfig)

    def _check(self, at: str) -> None:
        _int_at_least(self.seed, 0, "seed")
        if not re.match(r"^(cpu|cuda(:[0-9]+)?)$", self.device):
            raise ConfigError(f"device must be 'cpu', 'cuda' or 'cuda:K', got {self.device!r}")
        if not self.settings:
            raise ConfigError("settings must list at least one setting")
        names = [s.name for s in self.settings]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"setting names must be unique; repeated: {dup}")
        unknown = sorted(set(self.trainer) - set(trainer_keys()))
        if unknown:
            raise ConfigError(f"unknown keys {unknown} in trainer; allowed: {trainer_keys()}")
        for k, s in enumerate(self.settings):
            if s.widths[0] != self.dataset.n_components:
                raise ConfigError(
                    f"settings[{k}].widths starts with {s.widths[0]} inputs but dataset.n_components is "
                    f"{self.dataset.n_components}"
                )
            try:
                self.train_config(s)
            except (ValueError, TypeError) as exc:
                raise ConfigError(f"settings[{k}] (trainer): {exc}") from None
            holdout_runs = int(round(self.fit.holdout * s.n_runs))
            if s.n_runs - holdout_runs < 2:
                raise ConfigError(
                    f"settings[{k}]: n_runs={s.n_runs} leaves fewer than 2 runs to fit after holding "
                    f"out fit.holdout={self.fit.holdout}"
                )
            if self.quality.enabled and self.fit.holdout > 0 and holdout_runs < 1:
                raise ConfigError(f"settings[{k}]: n_runs={s.n_runs} is too small to hold out any run")
            specs = (
                (self.landscape.blocks, "landscape.blocks"),
                (self.clustering.blocks, "clustering.blocks"),
            )
            for spec, where in specs:
                if spec != "all":
                    have = s.block_names(self.fit.include_full)
                    missing = [b for b in spec if b not in have]
                    if missing:
                        raise ConfigError(
                            f"{where} names {missing}, which setting {s.name!r} does not have "
                            f"(its blocks: {have})"
                        )
        every_block = {b for s in self.settings for b in s.block_names(self.fit.include_full)}
        stray = sorted(set(self.fit.blocks) - every_block)
        if stray:
            raise ConfigError(
                f"fit.blocks names {stray}, which no setting has (blocks present: {sorted(every_block)})"
            )

    # ------------------------------------------------------------------ helpers
    def train_config(self, setting: SettingConfig):  # -> maxent.data.train.TrainConfig
        """The :class:`maxent.data.train.TrainConfig` of a setting (shared trainer + its overrides)."""
        from maxent.data.train import TrainConfig

        return TrainConfig.from_dict({**self.trainer, **setting.trainer, "widths": list(setting.widths)})

    def setting(self, name: str) -> SettingConfig:
        for s in self.settings:
            if s.name == name:
                return s
        raise KeyError(f"no setting {name!r}; settings: {[s.name for s in self.settings]}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples as lists) of the validated config, defaults filled in."""
        return _plain(dataclasses.asdict(self))


# --------------------------------------------------------------------------- validation
def _choice(value: object, allowed: tuple, at: str) -> None:
    if value not in allowed:
        raise ConfigError(f"{at} must be one of {list(allowed)}, got {value!r}")


def _int_at_least(value: object, minimum: int, at: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{at} must be an integer >= {minimum}, got {value!r}")


def _blocks_spec(spec: object, at: str) -> None:
    if spec == "all":
        return
    if isinstance(spec, str) or not spec:
        raise ConfigError(f"{at} must be 'all' or a non-empty list of block names, got {spec!r}")
    for k, b in enumerate(spec):
        if not isinstance(b, str) or not re.match(r"^(W[1-9][0-9]*|full)$", b):
            raise ConfigError(f"{at}[{k}] must be a block name W1, W2, ... or 'full', got {b!r}")


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin in (tuple, list):
        return "list"
    if origin is dict or tp is dict:
        return "mapping"
    if tp is type(None):
        return "null"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any, at: str) -> Any:
    """Convert a YAML value to type ``tp`` (dataclass, containers, scalars), or raise ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            with contextlib.suppress(ConfigError):  # the next member of the union may fit
                return _convert(value, arg, at)
        raise ConfigError(f"{at} must be {_type_name(tp)}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, at)
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{at} must be a list, got {value!r}")
        return tuple(_convert(v, args[0], f"{at}[{k}]") for k, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{at} must be a mapping, got {value!r}")
        args = typing.get_args(tp)
        if not args:
            return dict(_freeze_params(value, at))
        return {str(k): _convert(v, args[1], f"{at}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{at} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{at} must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{at} must be a number, got {value!r}")
        v = float(value)
        if v != v or v in (float("inf"), float("-inf")):
            raise ConfigError(f"{at} must be a finite number, got {value!r}")
        return v
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{at} must be a string, got {value!r}")
        return value
    raise ConfigError(f"{at}: unsupported type {tp!r}")  # pragma: no cover


def _freeze_params(value: dict, at: str) -> dict:
    """Free-form parameter mappings: keys are strings, values JSON scalars or lists/mappings of them."""
    out = {}
    for k, v in value.items():
        if not isinstance(k, str):
            raise ConfigError(f"{at}: keys must be strings, got {k!r}")
        try:
            json.dumps(v, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{at}.{k}: value {v!r} is not a plain YAML scalar/list/mapping") from exc
        out[k] = v
    return out


def _build(cls: type, value: Any, at: str) -> Any:
    where = at or "the config"
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping, got {value!r}")
    hints = typing.get_type_hints(cls)
    fields_ = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in value if k not in fields_]
    if unknown:
        keys = ", ".join(f"{at}.{k}" if at else str(k) for k in unknown)
        raise ConfigError(f"unknown key(s) {keys}; allowed keys{' in ' + at if at else ''}: {list(fields_)}")
    kwargs = {}
    for name, f in fields_.items():
        sub = f"{at}.{name}" if at else name
        if name in value:
            kwargs[name] = _convert(value[name], hints[name], sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where} lacks the required key {name!r}")
    obj = cls(**kwargs)
    obj._check(at)
    return obj


def parse_config(data: Any) -> PipelineConfig:
    """Validate a mapping (parsed YAML) into a :class:`PipelineConfig`; raise ConfigError if invalid."""
    if not isinstance(data, dict):
        raise ConfigError(
            f"a pipeline config must be a YAML mapping at the top level, got {type(data).__name__}"
        )
    if "settings" in data and isinstance(data["settings"], list):
        for k, s in enumerate(data["settings"]):
            if isinstance(s, dict) and "name" not in s:
                raise ConfigError(f"settings[{k}] lacks the required key 'name'")
    return _build(PipelineConfig, data, "")


def load_config(path: str | os.PathLike) -> PipelineConfig:
    """Read and validate a YAML pipeline config (safe loader: plain data only)."""
    import yaml

    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not a UTF-8 text file") from exc
    if isinstance(data, dict) and isinstance(data.get("settings"), list):
        # a samples file named relative to the config is found from the config's folder
        for s in data["settings"]:
            if isinstance(s, dict) and isinstance(s.get("samples"), str) and not os.path.isabs(s["samples"]):
                s["samples"] = os.path.normpath(os.path.join(path.parent, s["samples"]))
    try:
        return parse_config(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def stable_hash(obj: Any, length: int = 16) -> str:
    """Hex SHA-256 prefix of the canonical JSON of ``obj`` (sorted keys, tuples as lists)."""
    text = json.dumps(_plain(obj), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def config_hash(config: PipelineConfig) -> str:
    """Identity of a run: hash of the validated config without its free-text description."""
    d = config.to_dict()
    d.pop("description", None)
    for section in OPTIONAL_SECTIONS:
        if not d[section]["enabled"]:
            d.pop(section)
    return stable_hash(d)

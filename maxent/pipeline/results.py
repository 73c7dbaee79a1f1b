"""What a run produced, as one object: :class:`Results`.

The stages fill it (samples, the held-out split, fitted models, tables); the report, the data
cards and the exports are functions of it. :meth:`Results.load` reads it back from an output
folder (config from ``OUT/.maxent/run.json``, ``tables/*.csv``, ``samples/*.npz``,
``models/<setting>/<block>.npz``, and ``OUT/.maxent/results.json`` for what is not a table:
failures, figure failures, skipped outputs, compute times), so ``maxent report OUT`` rebuilds the
report without the cache.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from maxent._atomic import atomic_write_text
from maxent.data.samples import WeightSamples
from maxent.model.ising import IsingModel
from maxent.pipeline.config import PipelineConfig, SettingConfig, parse_config

__all__ = ["Results", "RESULTS_STATE"]

#: what is not a table, next to the run's config (relative to OUT)
RESULTS_STATE = ".maxent/results.json"


@dataclass
class Results:
    """The results of one pipeline run.

    Attributes
    ----------
    config : PipelineConfig
        The run's config (settings whose samples failed are dropped from it).
    samples : dict setting -> WeightSamples
    split : dict setting -> (train rows, held-out rows)
        Row indices into ``samples[setting]``; all draws of a held-out run go together.
    models : dict (setting, block) -> IsingModel
    fit_info : dict (setting, block) -> dict
        Estimator, parameters, sizes, iterations, convergence, chosen penalty of each fit.
    references : dict (setting, block) -> (names, configurations (k, N), energies)
    tables : dict name -> DataFrame
        Every table written to ``OUT/tables/<name>.csv``.
    failures : list of {"stage", "task", "error"}
        Tasks that raised; their results are missing downstream.
    figure_failures : dict path -> error; skipped_outputs : list of paths
        Figures that could not be drawn; outputs left alone (a file maxent did not write).
    compute_times : DataFrame
        Per stage: tasks, summed wall and CPU seconds of the task computations.
    config_hash : str
        The config's hash when the run started (``OUT/.maxent/run.json``).
    """

    config: PipelineConfig
    samples: dict[str, WeightSamples] = field(default_factory=dict)
    split: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    models: dict[tuple[str, str], IsingModel] = field(default_factory=dict)
    fit_info: dict[tuple[str, str], dict] = field(default_factory=dict)
    references: dict[tuple[str, str], tuple[list[str], np.ndarray, list[float]]] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    failures: list[dict[str, str]] = field(default_factory=list)
    figure_failures: dict[str, str] = field(default_factory=dict)
    skipped_outputs: list[str] = field(default_factory=list)
    compute_times: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the run's identity as recorded when it ran (a later library may add config defaults)
    config_hash: str = ""
    # provenance of the entries above: cache keys (inputs of downstream keys and output files)
    samples_key: dict[str, str] = field(default_factory=dict)
    fit_key: dict[tuple[str, str], str] = field(default_factory=dict)
    table_keys: dict[str, str] = field(default_factory=dict)
    reference_keys: dict[tuple[str, str], str] = field(default_factory=dict)
    failed_blocks: set[tuple[str, str]] = field(default_factory=set)
    #: full fit-quality tables per block (figures); the summary is ``tables["fit_quality"]``
    quality_full: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)

    # ------------------------------------------------------------------ views
    def blocks(self, s: SettingConfig) -> list[str]:
        """Blocks of setting ``s`` whose fit did not fail."""
        return [
            b for b in s.block_names(self.config.fit.include_full) if (s.name, b) not in self.failed_blocks
        ]

    def X(self, setting: str, block: str, part: str = "train") -> np.ndarray:
        """±1 samples (M, N) of ``block`` in ``setting``: the fitted rows or the held-out ones."""
        rows = self.split[setting][0 if part == "train" else 1]
        return self.samples[setting].block(block)[rows]

    def runs(self, setting: str, part: str = "train") -> np.ndarray:
        """Run index of each row of :meth:`X` (M,)."""
        return self.samples[setting].run[self.split[setting][0 if part == "train" else 1]]

    def quality_blocks(self) -> list[tuple[str, str]]:
        """(setting, block) pairs with fit-quality results, in table order."""
        fq = self.tables.get("fit_quality")
        if fq is None or fq.empty:
            return []
        pairs = fq[["setting", "block"]].drop_duplicates()
        return [(str(s), str(b)) for s, b in pairs.itertuples(index=False)]

    def failure_text(self) -> str:
        return "; ".join(f"{f['stage']} {f['task']}: {f['error']}" for f in self.failures)

    # ------------------------------------------------------------------ persistence
    def save_state(self, out: str | os.PathLike) -> None:
        """Write what is not a table (failures, figure failures, skipped outputs, compute times)."""
        state = {
            "failures": self.failures,
            "figure_failures": self.figure_failures,
            "skipped_outputs": self.skipped_outputs,
            "compute_times": self.compute_times.to_dict(orient="split", index=False),
        }
        atomic_write_text(Path(out) / RESULTS_STATE, json.dumps(state, indent=1, sort_keys=True))

    @classmethod
    def load(cls, out: str | os.PathLike) -> Results:
        """Read a finished run's results from its output folder ``out``.

        Raises FileNotFoundError when ``out`` holds no maxent run, ValueError when its state
        files are corrupt. Models and samples are read only if they were exported.
        """
        out = Path(out)
        run_json = out / ".maxent" / "run.json"
        if not run_json.is_file():
            raise FileNotFoundError(f"{out} holds no maxent run (no .maxent/run.json)")
        try:
            run_state = json.loads(run_json.read_text(encoding="utf-8"))
            config = parse_config(run_state["config"])
            state_path = out / RESULTS_STATE
            state: dict[str, Any] = (
                json.loads(state_path.read_text(encoding="utf-8")) if state_path.is_file() else {}
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{out}/.maxent holds a corrupt run state: {exc}") from None
        res = cls(config=config, config_hash=str(run_state.get("config_hash", "")))
        tables = sorted((out / "tables").glob("*.csv"))
        res.tables = {p.stem: pd.read_csv(p) for p in tables}
        kept = []
        for s in config.settings:
            path = out / "samples" / f"{s.name}.npz"
            if path.is_file():
                res.samples[s.name] = WeightSamples.load(path)
                kept.append(s)
            for b in s.block_names(config.fit.include_full):
                model_path = out / "models" / s.name / f"{b}.npz"
                if model_path.is_file():
                    res.models[(s.name, b)] = IsingModel.load(model_path)
        if len(kept) != len(config.settings):  # settings whose samples failed were dropped
            import dataclasses

            res.config = dataclasses.replace(config, settings=tuple(kept))
        res.failures = list(state.get("failures", []))
        res.figure_failures = dict(state.get("figure_failures", {}))
        res.skipped_outputs = list(state.get("skipped_outputs", []))
        times = state.get("compute_times", {"columns": [], "data": []})
        res.compute_times = pd.DataFrame(times["data"], columns=times["columns"])
        return res

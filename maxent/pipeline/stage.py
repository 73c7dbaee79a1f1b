"""The two types a pipeline stage is declared with, :class:`Task` and :class:`Stage`, and
:func:`setting_table`, which assembles the per-setting frames of a stage into one table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from maxent.pipeline.config import PipelineConfig
    from maxent.pipeline.runner import Runner

__all__ = ["Task", "Stage", "Done", "setting_table"]


@dataclass
class Task:
    """One unit of cached work: ``fn(*args, **kwargs)`` -> dict of cache items.

    ``where`` names what it is about ((setting,), (setting, block) or (setting, block,
    reference)); ``extra`` carries values the stage's collect step needs next to the items.
    """

    stage: str
    where: tuple[str, ...]
    key: str
    fn: Callable[..., dict[str, Any]]
    args: tuple
    kwargs: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return "/".join(self.where)


Done = list[tuple[Task, dict[str, Any]]]


@dataclass(frozen=True)
class Stage:
    """A stage: its cache namespace, the code its tasks run, when it runs, plan and collect."""

    name: str
    code: tuple[str, ...]
    plan: Callable[[Runner], list[Task]]
    collect: Callable[[Runner, Done], None]
    enabled: Callable[[PipelineConfig], bool] = lambda cfg: True

    def run(self, runner: Runner) -> None:
        """Plan the tasks, serve or compute them (:meth:`Runner.run_stage`), collect them."""
        if self.enabled(runner.cfg):
            self.collect(runner, runner.run_stage(self.name, self.plan(runner)))


def setting_table(parts: list[tuple[Task, Any]], front: tuple[str, ...] = ("setting",)) -> Any:
    """One table from per-setting frames: each frame led by its task's setting (``where[0]``,
    replacing any ``setting`` column it has), then the other ``front`` columns; empty frames add
    nothing; no frames give an empty DataFrame."""
    import pandas as pd

    frames = [
        df.drop(columns="setting", errors="ignore").assign(setting=t.where[0]) for t, df in parts if len(df)
    ]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    lead = [c for c in front if c in table.columns]
    return table[[*lead, *[c for c in table.columns if c not in lead]]]

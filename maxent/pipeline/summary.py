"""What a run did: per-stage counts of cached and computed tasks, failures; the errors a run raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PipelineError", "OutputFolderError", "StageStats", "RunSummary"]


class PipelineError(RuntimeError):
    """A stage failed while running (the log holds the traceback)."""


class OutputFolderError(ValueError):
    """The output folder holds another run's results, or is in use by another run."""


# ============================================================================ summary
@dataclass
class StageStats:
    """Bookkeeping of one stage: tasks served from the cache vs computed, and wall time."""

    name: str
    n_tasks: int = 0
    cached: int = 0
    computed: int = 0
    corrupt: int = 0
    seconds: float = 0.0


@dataclass
class RunSummary:
    """What :func:`run_pipeline` did."""

    out: Path
    config_hash: str
    stages: dict[str, StageStats] = field(default_factory=dict)
    seconds: float = 0.0
    #: tasks that failed ({"stage", "task", "error"}); run_pipeline raises PipelineError after
    #: writing the other results when there are any
    failures: list[dict[str, str]] = field(default_factory=list)
    #: output paths left alone because a file maxent did not write was there
    skipped_outputs: list[str] = field(default_factory=list)

    @property
    def computed(self) -> int:
        return sum(s.computed for s in self.stages.values())

    @property
    def cached(self) -> int:
        return sum(s.cached for s in self.stages.values())

    def __str__(self) -> str:
        rows = [
            f"{s.name:<12} {s.n_tasks:>5} tasks  {s.cached:>5} cached  {s.computed:>5} computed  "
            f"{s.seconds:7.1f} s"
            for s in self.stages.values()
        ]
        return "\n".join([f"run {self.config_hash} -> {self.out} in {self.seconds:.1f} s", *rows])

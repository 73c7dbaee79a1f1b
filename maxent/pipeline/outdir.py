"""The output folder: guard, lock, bookkeeping of what maxent wrote, and the run log."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from maxent import __version__
from maxent._atomic import atomic_write_text
from maxent.pipeline.cache import OutputManifest
from maxent.pipeline.config import (
    PipelineConfig,
    config_hash,
)
from maxent.pipeline.summary import OutputFolderError

#: sub-folders of OUT written by a run (removed by ``force=True`` before a different run)
OUTPUT_DIRS = ("figures", "tables", "models", "samples", "data_cards")
_OUTPUT_FILES = ("report.md", "run.log")
_STATE_DIR = ".maxent"
LOGGER_NAME = "maxent.pipeline"

__all__ = ["OUTPUT_DIRS"]


class _OutputFolder:
    """Guard, lock and bookkeeping of the output folder.

    maxent replaces only files it wrote itself: those recorded in ``OUT/.maxent/outputs.json``
    that still hold what it wrote. ``force`` deletes those of a different previous run
    (:attr:`replaced` lists them; files edited since are kept, :attr:`kept`), and every other
    file found at a path maxent writes to is protected (:attr:`protected`): the runner leaves it
    as it is and says so. A user's ``report.md`` or ``run.log`` (which every run writes) in a
    folder without a maxent run is refused even with ``force``.
    """

    def __init__(self, out: Path, config: PipelineConfig, force: bool) -> None:
        self.out = out
        self.config = config
        self.force = force
        self.state = out / _STATE_DIR
        self._lock_obj: Any = None
        self.replaced: list[str] = []
        self.kept: list[str] = []
        self.protected: set[str] = set()

    def __enter__(self) -> _OutputFolder:
        out = self.out
        if out.exists() and not out.is_dir():
            raise OutputFolderError(f"--out {out} exists and is not a folder")
        created_out = not out.exists()
        created_state = not self.state.exists()
        try:
            self._lock()  # first: the checks below must not race with another run
        except BaseException:
            self._undo(created_out, created_state)
            raise
        try:
            self._check_and_claim()
        except BaseException:
            self.__exit__()
            self._undo(created_out, created_state)
            raise
        return self

    def _undo(self, created_out: bool, created_state: bool) -> None:
        if created_state:
            shutil.rmtree(self.state, ignore_errors=True)
        if created_out:
            with contextlib.suppress(OSError):
                self.out.rmdir()  # only if still empty

    def _maxent_files(self) -> list[str]:
        """Paths (relative to OUT) of the existing files at places a run writes to."""
        found = [f for f in _OUTPUT_FILES if (self.out / f).is_file()]
        for d in OUTPUT_DIRS:
            base = self.out / d
            if base.is_dir():
                found.extend(p.relative_to(self.out).as_posix() for p in base.rglob("*") if p.is_file())
        return sorted(found)

    def _check_and_claim(self) -> None:
        out = self.out
        chash = config_hash(self.config)
        run_json = self.state / "run.json"
        outputs = OutputManifest(out, self.state / "outputs.json")
        if run_json.exists():
            try:
                prev = json.loads(run_json.read_text())
                if not isinstance(prev, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError):
                prev = {"config_hash": "unreadable"}
            if prev.get("config_hash") != chash:
                if not self.force:
                    raise OutputFolderError(
                        f"{out} holds the results of a different run (config {prev.get('name')!r}, "
                        f"hash {prev.get('config_hash')}; this config's hash is {chash}). Choose another "
                        "--out folder, or pass --force to replace that run's outputs (only files maxent "
                        "wrote are replaced)."
                    )
                self._remove_outputs(outputs, with_log=True)
                outputs = OutputManifest(out, self.state / "outputs.json")
        else:
            foreign = [p.name for p in out.iterdir() if p.name not in (".cache", _STATE_DIR)]
            if foreign and not self.force:
                raise OutputFolderError(
                    f"{out} is not empty and holds no maxent run ({', '.join(sorted(foreign)[:5])} ...). "
                    "Choose a new or empty folder, or pass --force to write into it anyway "
                    "(only maxent's own outputs are replaced; your files are left as they are)."
                )
            clash = [f for f in _OUTPUT_FILES if (out / f).exists()]
            if clash:
                raise OutputFolderError(
                    f"{out} holds {', '.join(clash)}, which maxent did not write and every run writes; "
                    "move it away or choose another --out folder (--force never replaces your files)."
                )
            # a manifest without run.json is a leftover of an aborted claim: it proves nothing
            with contextlib.suppress(FileNotFoundError):
                (self.state / "outputs.json").unlink()
            outputs = OutputManifest(out, self.state / "outputs.json")
        ours_log = run_json.exists()  # the log of the run resumed here
        self.protected = {
            f for f in self._maxent_files() if not outputs.owned(f) and not (f == "run.log" and ours_log)
        }
        doc = {
            "config_hash": chash,
            "name": self.config.name,
            "config": self.config.to_dict(),
            "maxent": __version__,
        }
        atomic_write_text(run_json, json.dumps(doc, indent=1, sort_keys=True))

    def _lock(self) -> None:
        from filelock import FileLock, Timeout

        if self._lock_obj is not None:
            return
        self.state.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.state / "lock"), timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise OutputFolderError(f"{self.out} is in use by another running maxent pipeline") from None
        self._lock_obj = lock

    def _remove_outputs(self, outputs: OutputManifest, with_log: bool) -> None:
        """Delete the files the previous run wrote (per its manifest) and its bookkeeping."""
        for rel in sorted(outputs.entries):
            path = self.out / rel
            if not path.is_file() or path.is_symlink():
                continue
            if outputs.owned(rel):
                path.unlink()
                self.replaced.append(rel)
                with contextlib.suppress(OSError):  # prune folders left empty (never OUT itself)
                    parent = path.parent
                    while parent != self.out and not any(parent.iterdir()):
                        parent.rmdir()
                        parent = parent.parent
            else:
                self.kept.append(rel)
        if with_log and (self.out / "run.log").is_file():
            (self.out / "run.log").unlink()
            self.replaced.append("run.log")
        for f in ("run.json", "outputs.json"):
            with contextlib.suppress(FileNotFoundError):
                (self.state / f).unlink()

    def log_changes(self, log: logging.Logger) -> None:
        """Say what the claim replaced and what it leaves alone."""
        if self.replaced:
            log.info(
                "--force: replaced %d file(s) of the previous run: %s",
                len(self.replaced),
                ", ".join(self.replaced[:20]) + (" ..." if len(self.replaced) > 20 else ""),
            )
        if self.kept:
            log.warning(
                "kept %d file(s) of the previous run that were edited since maxent wrote them: %s",
                len(self.kept),
                ", ".join(self.kept[:20]),
            )
        if self.protected:
            log.info(
                "%d file(s) in %s are not maxent's and are left untouched: %s",
                len(self.protected),
                self.out,
                ", ".join(sorted(self.protected)[:20]),
            )

    def __exit__(self, *exc: object) -> None:
        if self._lock_obj is not None:
            with contextlib.suppress(OSError):
                self._lock_obj.release()
            self._lock_obj = None


@contextlib.contextmanager
def _logging_to(path: Path, verbose: bool) -> Iterator[logging.Logger]:
    log = logging.getLogger(LOGGER_NAME)
    log.setLevel(logging.INFO)
    log.propagate = False
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = logging.FileHandler(path, encoding="utf-8")
    fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    handlers: list[logging.Handler] = [fh]
    if verbose:
        sh = logging.StreamHandler(sys.stderr)
        sh.setFormatter(logging.Formatter("[maxent] %(message)s"))
        handlers.append(sh)
    for h in handlers:
        log.addHandler(h)
    try:
        yield log
    finally:
        for h in handlers:
            log.removeHandler(h)
            h.close()

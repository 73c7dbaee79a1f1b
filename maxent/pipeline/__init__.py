"""The pipeline: one YAML config -> samples, fits, geometry, figures, report, exports, data cards.

Modules: :mod:`~maxent.pipeline.config` (the YAML schema), :mod:`~maxent.pipeline.stages` (one
declarative :class:`Stage` each: inputs, task, outputs), :mod:`~maxent.pipeline.tasks` (the work of
each task), :mod:`~maxent.pipeline.runner` (generic: cache or compute, in parallel),
:mod:`~maxent.pipeline.results` (:class:`Results`: what a run produced, also read back from OUT),
:mod:`~maxent.pipeline.report` / :mod:`~maxent.pipeline.cards` (functions of the results),
:mod:`~maxent.pipeline.cache`, :mod:`~maxent.pipeline.keys` (content-addressed cache and its
keys), :mod:`~maxent.pipeline.outdir` (folder guard, lock, log), :mod:`~maxent.pipeline.parallel`
(joblib / dask), :mod:`~maxent.pipeline.plan` (checks before training), :mod:`~maxent.pipeline.api`
(:func:`run_pipeline`).

Stages, in order (each one a set of independent *tasks*)::

    samples     train n_runs networks per setting, collect their ±1 weights   (maxent.data.train)
    fit         one inverse-Ising fit per (setting, block), blocks W1..WL and "full"  (maxent.fit)
    quality     held-out checks of every fit                                  (maxent.fit.quality)
    references  low / medium / high model-energy reference configurations     (geometry.landscape)
    landscape   entropy landscape s(d) per (setting, block, reference), both sweeps
    clustering  TAP states and the overlap distribution P(q) per (setting, block)
    liquidity   per-block liquidity profile per setting                       (geometry.liquid)
    tables -> figures -> report -> exports -> data cards                       (OUT/...)

Caching and resuming. Every task's result is stored in a content-addressed cache
(:mod:`maxent.pipeline.cache`, default ``OUT/.cache``) under a key that hashes the config subsection it
depends on, the keys of its upstream results and the library version. A rerun finds every
entry and is near instant; a run killed at any point (even SIGKILL) keeps every finished entry
(writes are atomic) and resumes where it stopped; sample collection also checkpoints chunks of
runs inside a setting. Every downstream stage reads its inputs back from the cache, so a resumed
run and an uninterrupted one compute from identical bytes and write identical tables. A cache
entry that fails its checksums is reported in the log, deleted and recomputed. The final
outputs (figures, report, exports, cards) are skipped when the file on disk was produced from
the same inputs (``OUT/.maxent/outputs.json``).

Randomness. Every task gets its own seed, a hash of (config seed, stage, setting, block, ...),
so results depend neither on the order in which tasks run nor on the parallel backend.

Parallelism. Tasks of a stage run through joblib (``n_jobs``; backend "loky" by default). With
``backend="dask"`` the same tasks run on a dask.distributed cluster through joblib's dask
backend: the cluster at ``scheduler`` (an address such as ``tcp://host:8786``), or a
``LocalCluster`` started for the run when no address is given. Results come back to the main
process, which alone writes the cache and the outputs (workers need no shared file system).

Output folder. ``OUT`` holds exactly one run: ``OUT/.maxent/run.json`` records the config hash.
Running a different config into a folder that holds another run's results is refused
(:class:`OutputFolderError`); ``force=True`` deletes the previous run's outputs first (the
content-addressed cache is kept: it cannot mix results, and it lets shared stages be reused).
A lock (``OUT/.maxent/lock``) refuses two concurrent runs on one folder.

Layout of ``OUT``: ``report.md``, ``run.log``, ``figures/*.png``, ``tables/*.csv``,
``models/<setting>/<block>.npz`` (plus other ``outputs.export_formats``),
``samples/<setting>.npz``, ``data_cards/<setting>.md``.
"""

from __future__ import annotations

from maxent._lazy import attach

_MODULES = ["api", "summary", "config", "plan", "keys", "outdir", "results", "stages", "report", "cards"]
__getattr__, __dir__ = attach(__name__, __file__, _MODULES)

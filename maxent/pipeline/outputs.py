"""What a run writes after its stages: tables, figures, the report, exports, data cards.

Each output is written only when the file on disk was not produced from the same inputs (its key
in ``OUT/.maxent/outputs.json``), atomically, and never over a file maxent did not write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from maxent import __version__
from maxent._atomic import atomic_write_text
from maxent.pipeline.config import stable_hash

if TYPE_CHECKING:  # pragma: no cover
    from maxent.pipeline.runner import Runner

__all__ = ["write_all"]


def write_all(run: Runner) -> None:
    """Tables, figures, the report (and the results state it is rebuilt from), exports, cards."""
    samples_tables(run)
    write_tables(run)
    figures(run)
    run.res.compute_times = compute_times(run)
    report(run)
    run.res.save_state(run.out)
    exports(run)
    data_cards(run)


def samples_tables(run: Runner) -> None:
    frames = []
    for s in run.cfg.settings:
        smp = run.res.samples[s.name]
        test_rows = set(run.res.split[s.name][1].tolist())
        frames.append(
            pd.DataFrame(
                {
                    "setting": s.name,
                    "sample": np.arange(smp.n_samples),
                    "run": smp.run,
                    "accuracy": smp.accuracy,
                    "train_accuracy": smp.train_accuracy,
                    "held_out": [i in test_rows for i in range(smp.n_samples)],
                }
            )
        )
    run.res.tables["samples"] = pd.concat(frames, ignore_index=True)
    run.res.table_keys["samples"] = stable_hash([run.res.samples_key[s.name] for s in run.cfg.settings])
    rows = []
    for (sname, b), info in run.res.fit_info.items():
        rows.append(
            {
                "setting": sname,
                "block": b,
                "estimator": info["estimator"],
                "n_samples": info["n_samples"],
                "n_spins": info["n_spins"],
                "alpha": info.get("alpha"),
                "alpha_on_edge": info.get("alpha_on_edge", False),
                "n_iter": info["n_iter"],
                "converged": info["converged"],
            }
        )
    run.res.tables["fits"] = pd.DataFrame(rows)
    run.res.table_keys["fits"] = stable_hash(sorted(run.res.fit_key.values()))


def write_tables(run: Runner) -> None:
    """``tables/<name>.csv`` of every table of the results (skipped when up to date)."""
    for name, df in run.res.tables.items():
        key = run.key("table", name, run.res.table_keys[name])
        run.write_output(
            "tables", f"tables/{name}.csv", key, lambda p, df=df: atomic_write_text(p, df.to_csv(index=False))
        )
    run.outputs.save()


def figures(run: Runner) -> None:
    if not run.cfg.outputs.figures:
        return
    from maxent.pipeline import report

    for rel, key, writer in report.figure_writers(run.res, run.key):
        try:
            run.write_output("figures", rel, key, writer)
        except Exception as exc:  # noqa: BLE001 - a broken figure must not cost the other outputs
            run.log.exception("figure %s failed (the run goes on without it)", rel)
            run.res.figure_failures[rel] = f"{type(exc).__name__}: {exc}"
    run.outputs.save()


def report(run: Runner) -> None:
    from maxent.pipeline import report

    key = run.key(
        "report",
        sorted(run.res.table_keys.items()),
        run.res.config_hash,
        run.cfg.outputs,
        sorted(run.res.figure_failures.items()),
        run.res.failures,
        sorted(run.res.skipped_outputs),
    )
    run.write_output(
        "report", "report.md", key, lambda p: atomic_write_text(p, report.render_report(run.res))
    )
    run.outputs.save()


def exports(run: Runner) -> None:
    from maxent import formats as mio

    for (sname, b), model in run.res.models.items():
        info = run.res.fit_info[(sname, b)]
        meta = {
            "setting": sname,
            "block": b,
            "estimator": info["estimator"],
            "params": info["params"],
            "n_samples": info["n_samples"],
            "samples_file": f"samples/{sname}.npz",
            "pipeline": run.cfg.name,
            "maxent": __version__,
        }
        for fmt in run.cfg.outputs.export_formats:
            rel = f"models/{sname}/{b}{mio.FORMATS[fmt]}"
            key = run.key("export", run.res.fit_key[(sname, b)], fmt, meta)
            run.write_output(
                "exports",
                rel,
                key,
                lambda p, m=model, f=fmt, mt=meta: mio.export(m, p, format=f, meta=mt),
            )
    for s in run.cfg.settings:
        rel = f"samples/{s.name}.npz"
        key = run.key("export-samples", run.res.samples_key[s.name])
        run.write_output("exports", rel, key, lambda p, smp=run.res.samples[s.name]: smp.save(p))
    run.outputs.save()


def data_cards(run: Runner) -> None:
    from maxent.pipeline.cards import setting_card

    for s in run.cfg.settings:
        rel = f"data_cards/{s.name}.md"
        key = run.key("card", run.res.samples_key[s.name], s, run.cfg.fit.holdout)
        smp = run.res.samples[s.name]  # the card is rendered only when it is written
        run.write_output(
            "data_cards", rel, key, lambda p, m=smp, s=s: atomic_write_text(p, setting_card(m, s))
        )
    run.outputs.save()


def compute_times(run: Runner) -> pd.DataFrame:
    """Per stage: number of tasks, summed wall and CPU seconds of their computations (from the
    cache entries' records, so a resumed run reports what the results cost, not the resume)."""
    rows = []
    for stage in run.summary.stages:
        if not run.cache_keys_by_stage.get(stage):  # not run, or nothing to do
            continue
        infos = [run.cache.info(stage, k) for k in run.cache_keys_by_stage[stage]]
        rows.append(
            {
                "stage": stage,
                "tasks": len(infos),
                "wall seconds (sum over tasks)": float(sum(i.get("seconds", 0.0) for i in infos)),
                "CPU seconds": float(sum(i.get("cpu_seconds", 0.0) for i in infos)),
            }
        )
    return pd.DataFrame(rows)

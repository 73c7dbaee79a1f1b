"""Sub-commands ``run``, ``fit``, ``landscape``, ``export`` and ``info`` of the ``maxent`` CLI.

They are registered on the group in :mod:`maxent.cli`. Each works on files written by the
others (or by hand): weight samples (.npz from ``maxent sample`` / ``WeightSamples.save``, or
any .npz/.npy holding a 2-D array of ±1), model files (:mod:`maxent.formats` formats) and pipeline
configs (YAML).

Exit codes (for scripts): 0 success; 1 a failure while running (details in the message, and
for ``run`` in ``OUT/run.log``); 2 bad usage or bad input — a missing, corrupt or invalid file,
an invalid config, impossible sizes, an output folder holding another run — reported as one line
``Error: ...`` on stderr, never as a traceback; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import contextlib
import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import numpy as np

__all__ = ["run", "fit", "landscape", "export", "info", "BadInput"]


class BadInput(click.ClickException):
    """Bad input: one-line message, exit code 2."""

    exit_code = 2


class RunFailure(click.ClickException):
    """A failure while running: one-line message, exit code 1."""

    exit_code = 1


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _script_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map library exceptions to exit codes and one-line messages (no tracebacks)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from maxent._atomic import CorruptFileError
        from maxent.pipeline import OutputFolderError, PipelineError
        from maxent.pipeline.config import ConfigError

        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted (rerun the same command to resume).", err=True)
            sys.exit(130)
        except BrokenPipeError:  # output piped into e.g. `head`, which closed early
            sys.stderr.close()
            sys.exit(0)
        except PipelineError as exc:
            raise RunFailure(_one_line(exc)) from None
        except (
            ConfigError,
            OutputFolderError,
            CorruptFileError,
            FileNotFoundError,
            IsADirectoryError,
        ) as exc:
            raise BadInput(_one_line(exc)) from None
        except (ValueError, TypeError, KeyError) as exc:
            raise BadInput(_one_line(exc)) from None
        except Exception as exc:  # noqa: BLE001 - scripts get one line, not a traceback
            raise RunFailure(f"{type(exc).__name__}: {_one_line(exc)}") from None

    return wrapper


def _parse_params(items: tuple[str, ...]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BadInput(f"--param expects KEY=VALUE, got {item!r}")
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise BadInput(f"--param {item!r}: cannot parse the value ({_one_line(exc)})") from None
        if isinstance(parsed, str):  # YAML 1.1 reads 1e3 as a string: it is the number 1000
            with contextlib.suppress(ValueError):
                parsed = float(parsed)
        out[key.strip()] = parsed
    return out


# ================================================================================ run
@click.command()
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (report.md, figures/, tables/, models/, samples/, data_cards/, run.log).",
)
@click.option(
    "--n-jobs",
    "-j",
    default=-1,
    show_default=True,
    type=int,
    help="Parallel tasks per stage (-1: one per core). Results do not depend on it.",
)
@click.option(
    "--backend",
    type=click.Choice(["loky", "dask"]),
    default="loky",
    show_default=True,
    help="joblib backend; 'dask' runs the tasks on a dask.distributed cluster.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="dask scheduler address (tcp://host:8786); without it --backend dask starts a LocalCluster.",
)
@click.option(
    "--force",
    is_flag=True,
    help="If OUT holds a different run's results (or other files), run there anyway: only files that "
    "maxent wrote are replaced, and the log names them; your own files are never touched (default: refuse).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Cache folder (default OUT/.cache); can be shared between output folders and concurrent runs. "
    "A non-empty folder that is not a maxent cache is refused.",
)
@click.option(
    "--threads-per-task",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="BLAS/torch threads of each task; parallelism comes from --n-jobs.",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress bars or log lines on stderr (run.log is still written)."
)
@_script_errors
def run(
    config: Path,
    out: Path,
    n_jobs: int,
    backend: str,
    scheduler: str | None,
    force: bool,
    cache_dir: Path | None,
    threads_per_task: int,
    quiet: bool,
) -> None:
    """Run the whole pipeline of a YAML CONFIG into the folder OUT.

    Stages: samples -> fit per block -> quality -> landscape -> clustering -> liquidity ->
    tables, figures, report.md, model exports, data cards. Every task is cached under OUT/.cache:
    a rerun is near instant and an interrupted run (even killed) resumes where it stopped.

    OUT holds one run only: a folder with another config's results is refused unless --force.

    \b
    Example:
      maxent run pipelines/default.yaml --out results/ --n-jobs 2
      maxent run pipelines/default.yaml --out results/ --backend dask --scheduler tcp://10.0.0.5:8786
    """
    from maxent.pipeline import run_pipeline

    if scheduler is not None and backend != "dask":
        raise BadInput("--scheduler needs --backend dask")
    if n_jobs == 0 or n_jobs < -1:
        raise BadInput(f"--n-jobs must be a positive integer or -1, got {n_jobs}")
    summary = run_pipeline(
        config,
        out,
        n_jobs=n_jobs,
        backend=backend,
        scheduler=scheduler,
        force=force,
        progress=not quiet,
        verbose=not quiet,
        cache_dir=cache_dir,
        threads_per_task=threads_per_task,
    )
    click.echo(
        f"{out}: report.md written in {summary.seconds:.1f} s "
        f"({summary.cached} task(s) from cache, {summary.computed} computed)"
    )
    if summary.skipped_outputs:
        click.echo(
            f"  not written (a file that maxent did not write is there): {', '.join(summary.skipped_outputs)}"
        )


# ================================================================================ fit
@click.command()
@click.argument("samples", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Model file (one block; format from the suffix) or folder (several blocks: <block>.npz).",
)
@click.option(
    "--block",
    "-b",
    "blocks",
    multiple=True,
    help="Block(s) to fit: W1, W2, ..., full, or 'all' (W1..WL and full). Default: full.",
)
@click.option(
    "--estimator",
    "-e",
    default="pseudolikelihood",
    show_default=True,
    type=click.Choice(["exact", "mean_field", "pseudolikelihood", "pseudolikelihood_cv", "bethe", "mcmc"]),
    help="Inverse-Ising estimator.",
)
@click.option(
    "--param",
    "-p",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Estimator parameter (repeatable), e.g. -p alpha=0.01 -p penalty=l1.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["npz", "json", "csv", "txt"]),
    default=None,
    help="Model file format (default: from the suffix of --out, npz for folders).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="random_state of stochastic estimators.")
@click.option(
    "--quality",
    "quality_csv",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also check each fit on statistics it did not see; write the tidy table to this CSV.",
)
@_script_errors
def fit(
    samples: Path,
    out: Path,
    blocks: tuple[str, ...],
    estimator: str,
    params: tuple[str, ...],
    fmt: str | None,
    seed: int,
    quality_csv: Path | None,
) -> None:
    """Fit a pairwise Ising model to ±1 SAMPLES (one model per block).

    SAMPLES: a weight-sample file from `maxent sample` / `maxent run` (OUT/samples/<setting>.npz),
    or any .npz/.npy holding an (M, N) array of ±1 (key 'spins' or 'X', or its only 2-D array).

    \b
    Examples:
      maxent fit results/samples/deep-under.npz --block all --out models/
      maxent fit my_spins.npz --out model.json -e pseudolikelihood -p alpha=0.005
    """
    import pandas as pd

    from maxent import formats as mio
    from maxent._atomic import atomic_write_text
    from maxent.fit.registry import check_estimator, make_estimator
    from maxent.formats import load_spins

    kw = _parse_params(params)
    check_estimator(estimator, kw)  # bad parameters fail before any file is read or written
    X_all, smp = load_spins(samples)
    if smp is not None:
        names = list(smp.blocks) + (["full"] if len(smp.blocks) > 1 else [])
    else:
        names = ["full"]
    chosen = list(blocks) or ["full"]
    if "all" in chosen:
        chosen = names
    bad = [b for b in chosen if b not in names and not (b == "full")]
    if bad:
        raise BadInput(f"unknown block(s) {bad}; {samples.name} has {names}")
    several = len(chosen) > 1
    if several and out.suffix in mio.FORMATS.values():
        raise BadInput(f"--out {out} looks like a file but {len(chosen)} blocks are fitted; give a folder")
    quality_frames = []
    for b in chosen:
        X = X_all if smp is None else smp.block(b)
        est = make_estimator(estimator, kw, random_state=seed)
        est.fit(X)
        if several or (out.suffix not in mio.FORMATS.values() and fmt is None and not out.suffix):
            target = out / f"{b}{mio.FORMATS[fmt or 'npz']}"
        else:
            target = out
        meta = {
            "block": b,
            "estimator": estimator,
            "params": kw,
            "samples_file": str(samples),
            "n_samples": int(X.shape[0]),
        }
        mio.export(est.model_, target, format=fmt, meta=meta)
        conv = "converged" if getattr(est, "converged_", True) else "NOT converged"
        click.echo(
            f"{b}: {X.shape[1]} spins, {X.shape[0]} samples, {estimator} {conv} "
            f"({getattr(est, 'n_iter_', 0)} iterations) -> {target}"
        )
        if quality_csv is not None:
            from maxent.fit.quality import fit_quality

            q = fit_quality(est.model_, X, random_state=seed)
            q.insert(0, "block", b)
            quality_frames.append(q)
    if quality_csv is not None:
        atomic_write_text(quality_csv, pd.concat(quality_frames, ignore_index=True).to_csv(index=False))
        click.echo(f"fit quality -> {quality_csv}")


# ================================================================================ landscape
@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV table: x, sweep, q, d, entropy, energy, converged, n_iter (one row per x and sweep).",
)
@click.option(
    "--samples",
    "-s",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Samples to pick the reference from (needed for low/medium/high/INDEX references).",
)
@click.option(
    "--block",
    "-b",
    default=None,
    help="Block of a WeightSamples file matching the model (default: the model file's 'block' metadata).",
)
@click.option(
    "--reference",
    "-r",
    default="low",
    show_default=True,
    help="low | medium | high (model-energy rank among the samples) or a row INDEX of the samples.",
)
@click.option(
    "--reference-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="A ±1 vector (.npy, or text with one value per line/space) used as the reference instead.",
)
@click.option("--x-start", default=-3.0, show_default=True, type=float)
@click.option("--x-stop", default=3.0, show_default=True, type=float)
@click.option("--x-step", default=0.05, show_default=True, type=float)
@click.option("--sweep", type=click.Choice(["both", "down", "up"]), default="both", show_default=True)
@click.option("--tol", default=1e-6, show_default=True, type=float, help="BP tolerance.")
@click.option(
    "--figure",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also draw s(d) with the independent bound to this PNG.",
)
@_script_errors
def landscape(
    model: Path,
    out: Path,
    samples: Path | None,
    block: str | None,
    reference: str,
    reference_file: Path | None,
    x_start: float,
    x_stop: float,
    x_step: float,
    sweep: str,
    tol: float,
    figure: Path | None,
) -> None:
    """Entropy landscape s(d) of a fitted MODEL around a reference configuration (belief propagation).

    The model is tilted toward the reference s*: P_x(s) ∝ exp(Σ J s s + Σ (h_i + x s*_i) s_i), and x
    is swept over the grid in both directions (warm-started), so first-order jumps and hysteresis show.

    \b
    Examples:
      maxent landscape results/models/shallow-under/W1.npz \
          -s results/samples/shallow-under.npz -r low -o land.csv
      maxent landscape model.json --reference-file ref.npy -o land.csv --figure land.png
    """
    from maxent import formats as mio
    from maxent._atomic import atomic_write_text
    from maxent._validation import check_spin_vector
    from maxent.formats import load_spins
    from maxent.geometry.landscape import choose_references, entropy_landscape, find_transitions
    from maxent.pipeline.config import GridConfig

    m, meta = mio.load_model(model, return_meta=True)
    grid = GridConfig(x_start, x_stop, x_step)
    grid._check("--x-start/--x-stop/--x-step")
    x = np.asarray(grid.values())
    if reference_file is not None:
        if reference_file.suffix == ".npy":
            from maxent._atomic import load_npy

            ref = load_npy(reference_file)
        else:
            if not reference_file.is_file():
                raise FileNotFoundError(f"no such file: {reference_file}")
            ref = np.loadtxt(reference_file).reshape(-1)
        ref = check_spin_vector(ref, n_spins=m.n_spins, name=f"reference in {reference_file.name}")
        ref_name = reference_file.name
    else:
        if samples is None:
            raise BadInput("--samples is needed to choose a reference (or give --reference-file)")
        X, _ = load_spins(samples, block or meta.get("block"))
        if X.shape[1] != m.n_spins:
            raise BadInput(
                f"the samples have {X.shape[1]} spins but the model has {m.n_spins}; "
                "choose the matching --block"
            )
        if reference in ("low", "medium", "high"):
            ref = choose_references(m, X)[reference]
        else:
            try:
                idx = int(reference)
            except ValueError:
                raise BadInput(
                    f"--reference must be low, medium, high or an integer row, got {reference!r}"
                ) from None
            if not -X.shape[0] <= idx < X.shape[0]:
                raise BadInput(f"--reference {idx} is out of range for {X.shape[0]} samples")
            ref = X[idx]
        ref_name = reference
    df = entropy_landscape(m, np.asarray(ref, dtype=np.float64), x=x, sweep=sweep, tol=tol)
    atomic_write_text(out, df.to_csv(index=False))
    n_bad = int((~df["converged"].astype(bool)).sum())
    click.echo(
        f"landscape of {model.name} around reference {ref_name}: {len(df)} rows -> {out}"
        + (f" ({n_bad} rows where BP did not converge)" if n_bad else "")
    )
    tr = find_transitions(df)
    jumps = tr[tr["kind"] == "jump"] if len(tr) else tr
    if len(jumps):
        for r in jumps.itertuples():
            unconverged = "" if bool(r.converged) else "UNCONVERGED "
            note = (
                ""
                if bool(r.converged)
                else " (BP did not converge at one or both points: not evidence of a transition)"
            )
            click.echo(
                f"  {unconverged}jump ({r.sweep} sweep) between x={r.x_from:g} and x={r.x_to:g}: "
                f"d {r.d_from:.4f} -> {r.d_to:.4f}{note}"
            )
    else:
        click.echo("  no jump in d: s(d) is continuous on this grid")
    if figure is not None:
        from maxent import plots
        from maxent.pipeline.report import _use_agg, save_figure

        _use_agg()
        plot_df = df.assign(reference=str(ref_name), block=str(meta.get("block", "model")), setting="model")
        save_figure(plots.plot_landscape(plot_df), figure, dpi=110)
        click.echo(f"  figure -> {figure}")


# ================================================================================ export
@click.command()
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["npz", "json", "csv", "txt"]),
    default=None,
    help="Format of DEST (default: from its suffix).",
)
@click.option("--force", is_flag=True, help="Replace DEST if it exists (default: refuse).")
@_script_errors
def export(model: Path, dest: Path, fmt: str | None, force: bool) -> None:
    """Convert a model file MODEL to DEST in another format (npz, json, csv edge list, txt matrices).

    Metadata (convention, provenance) is carried over. Formats are described in `maxent.formats`.

    \b
    Example:
      maxent export results/models/deep-under/W2.npz W2.csv
    """
    from maxent import formats as mio

    _check_destination(dest, fmt, force)
    m, meta = mio.load_model(model, return_meta=True)
    meta = {k: v for k, v in meta.items() if k != "convention"}
    mio.export(m, dest, format=fmt, meta={**meta, "converted_from": model.name})
    click.echo(f"{model} -> {dest} ({mio.infer_format(dest, fmt)}, {m.n_spins} spins)")


def _check_destination(dest: Path, fmt: str | None, force: bool) -> None:
    """Refuse a DEST that exists (unless ``force``), is a symlink or folder, or whose suffix
    names another format than ``--format``."""
    from maxent import formats as mio

    suffix_fmt = next((f for f, suf in mio.FORMATS.items() if dest.suffix.lower() == suf), None)
    if fmt is not None and suffix_fmt is not None and suffix_fmt != fmt:
        raise BadInput(f"--format {fmt} does not match the suffix of {dest} (a {suffix_fmt} file name)")
    if dest.is_symlink():
        raise BadInput(f"{dest} is a symbolic link; give the real path (a link is never replaced)")
    if dest.is_dir():
        raise BadInput(f"{dest} is a folder, not a file name")
    if dest.exists() and not force:
        raise BadInput(f"{dest} exists; pass --force to replace it")


# ================================================================================ info
def _info_samples(path: Path) -> dict[str, Any]:
    from maxent.data.samples import WeightSamples

    smp = WeightSamples.load(path)
    acc = smp.accuracy
    return {
        "kind": "weight samples",
        "path": str(path),
        "n_samples": smp.n_samples,
        "n_spins": smp.n_spins,
        "widths": list(smp.widths),
        "blocks": {k: s.stop - s.start for k, s in smp.blocks.items()},
        "accuracy_mean": float(acc.mean()),
        "accuracy_min": float(acc.min()),
        "accuracy_max": float(acc.max()),
        "dataset": smp.meta.get("dataset", {}).get("name"),
        "n_train": smp.meta.get("dataset", {}).get("n_train"),
        "method": smp.meta.get("config", {}).get("method"),
        "gauge": smp.meta.get("gauge"),
    }


def _info_run(path: Path) -> dict[str, Any]:
    doc = json.loads((path / ".maxent" / "run.json").read_text())
    return {
        "kind": "pipeline results",
        "path": str(path),
        "name": doc.get("name"),
        "config_hash": doc.get("config_hash"),
        "maxent": doc.get("maxent"),
        "settings": [s["name"] for s in doc.get("config", {}).get("settings", [])],
        "report": (path / "report.md").exists(),
        "tables": sorted(p.name for p in (path / "tables").glob("*.csv"))
        if (path / "tables").exists()
        else [],
        "models": sorted(str(p.relative_to(path)) for p in (path / "models").rglob("*.*"))
        if (path / "models").exists()
        else [],
    }


def _info_config(path: Path) -> dict[str, Any]:
    from maxent.pipeline import check_estimators
    from maxent.pipeline.config import config_hash, load_config

    cfg = load_config(path)
    check_estimators(cfg)
    return {
        "kind": "pipeline config (valid)",
        "path": str(path),
        "name": cfg.name,
        "config_hash": config_hash(cfg),
        "dataset": cfg.dataset.name,
        "settings": [
            {
                "name": s.name,
                "widths": list(s.widths),
                "weights": s.n_weights,
                "n_train": s.n_train,
                "regime": s.regime,
                "samples": s.n_samples,
            }
            for s in cfg.settings
        ],
        "estimator": cfg.fit.estimator.name,
    }


@click.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@_script_errors
def info(path: Path, as_json: bool) -> None:
    """Describe PATH: weight samples, a model file, a pipeline config (validated) or a results folder.

    Exit code 2 if PATH is missing, corrupt or invalid, so `maxent info config.yaml` checks a config.

    \b
    Examples:
      maxent info results/samples/deep-under.npz
      maxent info pipelines/default.yaml --json
    """
    from maxent import formats as mio
    from maxent._atomic import load_npz

    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.is_dir():
        if not (path / ".maxent" / "run.json").exists():
            raise BadInput(f"{path} is a folder without maxent results")
        d = _info_run(path)
    elif path.suffix in (".yaml", ".yml"):
        d = _info_config(path)
    elif path.suffix == ".npz" and {"spins", "widths"} <= set(load_npz(path)[0]):
        d = _info_samples(path)
    else:
        d = {"kind": "Ising model", **mio.describe(path)}
    if as_json:
        click.echo(json.dumps(d, indent=1, default=str))
        return
    click.echo(f"{d.pop('kind')}: {d.pop('path')}")
    for k, v in d.items():
        click.echo(f"  {k}: {v}")

"""``maxent info PATH``: what a samples file, model, config or output folder holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from maxent.cli.errors import BadInput, script_errors

__all__ = ["info"]


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
@script_errors
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

"""The work of each stage, one picklable module-level function per kind of task.

Each takes plain arrays, models and dicts (what a joblib / dask worker can receive) and returns a
dict of cache items (arrays, models, DataFrames, JSON-able info).
"""

from __future__ import annotations

import inspect
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from maxent.data.samples import WeightSamples
from maxent.fit.registry import make_estimator
from maxent.model.ising import IsingModel
from maxent.pipeline.keys import task_seed

#: runs trained together and checkpointed as one chunk: a killed collection loses at most one
#: chunk of a setting (the spins do not depend on it: each run's randomness is its own)
SAMPLES_CHUNK = 64


def load_dataset(dataset: dict, n_train: int | None):
    """The :class:`~maxent.data.datasets.Dataset` of a task: ``dataset`` is ``{"name", **load kwargs}``
    (``DatasetConfig.load_kwargs``), ``n_train`` the setting's number of training examples."""
    from maxent.data import datasets

    kwargs = {k: v for k, v in dataset.items() if k != "name"}
    return datasets.load(dataset["name"], n_train=n_train, **kwargs)


def _task_samples(
    dataset: dict,
    n_train: int | None,
    train: dict,
    n_runs: int,
    draws_per_run: int,
    gauge: str,
    seed: int,
    device: str,
    checkpoint_dir: str | None,
    setting_meta: dict,
    samples_file: str | None = None,
    widths: tuple[int, ...] = (),
    null: str = "none",
    min_accuracy: float | None = None,
) -> dict[str, Any]:
    from maxent._atomic import CorruptFileError, load_npz
    from maxent.data.train import TrainConfig, sample_weights

    if samples_file is not None:
        from maxent.data.samples import load_spins_file

        samples = load_spins_file(samples_file, widths)
        samples.meta["setting"] = {**setting_meta, "n_train": None, "samples_file": samples_file}
        return {"samples": _apply_null(samples, null, seed)}
    ds = load_dataset(dataset, n_train)

    def collect() -> WeightSamples:
        return sample_weights(
            ds,
            TrainConfig.from_dict(train),
            n_runs=n_runs,
            draws_per_run=draws_per_run,
            seed=seed,
            device=device,
            gauge=gauge,
            checkpoint_dir=checkpoint_dir,
            progress=False,
            chunk_size=SAMPLES_CHUNK,
            min_accuracy=min_accuracy,
        )

    try:
        samples = collect()
    except CorruptFileError:
        # a damaged checkpoint chunk (the checkpoint folder belongs to the cache): drop the chunks
        # that do not load and retrain them, as a corrupted cache entry is recomputed
        if checkpoint_dir is None:
            raise
        for chunk in sorted(Path(checkpoint_dir).glob("chunk_*.npz")):
            try:
                load_npz(chunk)
            except CorruptFileError:
                chunk.unlink()
        samples = collect()
    samples.meta["setting"] = {**setting_meta, "n_train": ds.n_train}
    return {"samples": _apply_null(samples, null, seed)}


def _apply_null(samples: WeightSamples, null: str, seed: int) -> WeightSamples:
    """The samples, or their column-shuffled null (whole runs move together; same magnetizations)."""
    if null == "none":
        return samples
    from maxent.stats.nulls import column_shuffle

    spins = column_shuffle(samples.spins, groups=samples.run, random_state=task_seed(seed, "null", null))
    meta = {**samples.meta, "null": null}
    return WeightSamples(spins, samples.widths, samples.accuracy, samples.train_accuracy, samples.run, meta)


def _task_fit(
    X: np.ndarray, name: str, params: dict, seed: int, groups: np.ndarray | None = None
) -> dict[str, Any]:
    est = make_estimator(name, params, random_state=seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if groups is not None and "groups" in inspect.signature(est.fit).parameters:
            est.fit(X, groups=groups)  # CV folds of whole runs
        else:
            est.fit(X)
    info = {
        "estimator": name,
        "params": params,
        "n_samples": int(X.shape[0]),
        "n_spins": int(X.shape[1]),
        "n_iter": int(getattr(est, "n_iter_", 0)),
        "converged": bool(getattr(est, "converged_", True)),
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
        # penalties chosen by cross-validation (PseudoLikelihoodCV), when the estimator has one
        "alpha": float(est.alpha_) if hasattr(est, "alpha_") else est.get_params().get("alpha"),
        # a cross-validated penalty still on the edge of its (extended) grid was not selected
        "alpha_on_edge": bool(getattr(est, "on_edge_", False)),
        "seconds": time.perf_counter() - t0,
    }
    history = getattr(est, "history_", None)
    items: dict[str, Any] = {"model": est.model_, "info": info}
    if isinstance(history, pd.DataFrame) and len(history):
        items["history"] = history.reset_index(drop=True)
    return items


def _task_quality(model: IsingModel, X: np.ndarray, X_test: np.ndarray | None, q: dict, seed: int):
    from maxent.fit.quality import fit_quality, quality_summary

    df = fit_quality(
        model,
        X,
        X_test=X_test,
        n_model_samples=q["n_model_samples"],
        n_chains=q["n_chains"],
        burn=q["burn"],
        thin=q["thin"],
        n_triplets=q["n_triplets"],
        random_state=seed,
    )
    return {"quality": df.reset_index(drop=True), "summary": quality_summary(df).reset_index(drop=True)}


def _task_references(model: IsingModel, X: np.ndarray) -> dict[str, Any]:
    from maxent.geometry.landscape import choose_references

    refs = choose_references(model, X)
    names = list(refs)
    R = np.stack([np.asarray(refs[k], dtype=np.int8) for k in names])
    energies = model.energy(R.astype(np.float64))
    return {
        "references": R,
        "info": {"names": names, "energies": [float(e) for e in np.atleast_1d(energies)]},
    }


def _task_landscape(
    model: IsingModel, reference: np.ndarray, x: list[float], tol: float, max_iter: int, damping: float
) -> dict[str, Any]:
    from maxent.geometry.landscape import entropy_landscape

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-convergence is flagged per row in `converged`
        df = entropy_landscape(
            model,
            reference.astype(np.float64),
            x=np.asarray(x),
            sweep="both",
            tol=tol,
            max_iter=max_iter,
            damping=damping,
        )
    return {"landscape": df.reset_index(drop=True)}


def _task_tap(model: IsingModel, n_starts: int, seed: int) -> dict[str, Any]:
    from maxent.model.tap import tap_states

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unconverged starts are flagged in the table
        res = tap_states(model, n_starts, random_state=seed)
    return {"tap": res.table.reset_index(drop=True)}


def _task_overlap(X: np.ndarray) -> dict[str, Any]:
    from maxent.geometry.clustering import overlap_distribution

    return {"overlap": overlap_distribution(X, bins=min(101, X.shape[1] + 1)).reset_index(drop=True)}


def _task_liquidity(
    models: dict[str, IsingModel],
    data: dict[str, np.ndarray],
    landscapes: dict[str, pd.DataFrame] | None,
    reference: str,
    x: list[float],
    tol: float,
    max_iter: int,
    damping: float,
    n_references: int = 0,
    accuracy: np.ndarray | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Liquidity table of one setting's layers; the landscape area is taken from the landscape
    stage's "down" sweep around ``reference`` when it ran (else computed here on grid ``x``).

    With ``n_references`` > 0, the landscape area and largest gap are also averaged over
    ``n_references`` references per energy class drawn among the well-performing samples
    (:func:`maxent.geometry.liquid.reference_classes`), as the reference study reads liquidity:
    columns ``landscape_area_mean``, ``landscape_area_sd``, ``landscape_max_gap_mean``,
    ``n_references``."""
    from maxent.geometry.liquid import landscape_area, landscape_liquidity, liquidity, reference_classes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BP non-convergence is a column of the table
        df = liquidity(
            models,
            data,
            references=reference,
            x=np.asarray(x),
            tol=tol,
            max_iter=max_iter,
            damping=damping,
            landscape=landscapes is None,
        )
    if landscapes is not None:
        df = df.copy()
        df["reference"] = reference
        df["landscape_area"] = [landscape_area(landscapes[b]) for b in df["block"]]
        df["landscape_converged"] = [
            bool(landscapes[b].loc[landscapes[b]["sweep"] == "down", "converged"].astype(bool).all())
            for b in df["block"]
        ]
    if n_references > 0:
        df = df.copy()
        stats = []
        for k, b in enumerate(df["block"]):
            refs = reference_classes(
                models[b], data[b], n_references, accuracy=accuracy, random_state=seed + k
            )
            t = landscape_liquidity(
                models[b], refs, x=np.asarray(x), tol=tol, max_iter=max_iter, damping=damping
            )
            stats.append(t)
        df["landscape_area_mean"] = [float(t["landscape_area"].mean()) for t in stats]
        df["landscape_area_sd"] = [float(t["landscape_area"].std(ddof=1)) for t in stats]
        df["landscape_max_gap_mean"] = [float(t["landscape_max_gap"].mean()) for t in stats]
        df["n_references"] = [len(t) for t in stats]
    return {"liquidity": df.reset_index(drop=True)}

r"""Liquid-like layers: how close each block's model is to "as random as possible".

For each block (a fitted :class:`~maxent.IsingModel` with its data moments) :func:`liquidity`
collects, per spin where it is a density:

* coupling strength: mean |h_i|, mean |J_ij| and rms J_ij over pairs i < j;
* data correlations: mean |c_ij| over i < j, c_ij = <s_i s_j> - <s_i><s_j> (connected);
* the Bethe entropy density of the model at zero tilt, s_Bethe = S_Bethe / N (belief propagation,
  :func:`maxent.model.bp.run_bp`);
* the entropy density of independent spins with the same (Bethe) magnetizations,
  s_ind = (1/N) sum_i S_b(m_i), S_b(m) = -(1+m)/2 ln((1+m)/2) - (1-m)/2 ln((1-m)/2).
  For the exact measure S <= sum_i S_b(m_i) (the independent model is the maximum-entropy
  model given the magnetizations alone), so the gap s_ind - s_Bethe >= 0 measures how much the
  couplings constrain the block (the Bethe approximation can violate the sign slightly);
* the area between the entropy landscape s(d) around a reference configuration and the
  independent-spin bound s_ub(d) = -d ln d - (1-d) ln(1-d)::

      A = integral over [d_min, d_max] of ( s_ub(d) - s(d) ) dd       (trapezoid rule)

  over the points of the "down" sweep of :func:`maxent.geometry.landscape.entropy_landscape`
  (x from its largest value down, warm-started from the reference-dominated state at large x),
  converged points only, sorted by d; a jump in d (first-order transition) is bridged by a
  straight segment. A = 0 means that around the reference the model is as random as
  independent, unbiased spins; it is > 0 for couplings and also for fields not aligned with the
  reference (for J = 0 the tilted spins are independent but with unequal distances d_i, and
  mean_i S_b(d_i) < s_ub(mean_i d_i) by concavity).

A block is "liquid-like" when its couplings are weak, its gap s_ind - s_Bethe is close to 0 and
its area A is small: its weights are nearly independent given their magnetizations.

As the reference study reads it, the landscape measures are averaged over many references per
energy class drawn among the well-performing samples (:func:`reference_classes`,
:func:`landscape_liquidity`: area and largest gap max_d (s_ub - s) per reference).

These are descriptive numbers. Which block is most liquid is a *claim*: with a few hundred
samples the raw numbers are dominated by fitting noise (a column-shuffled copy of the data gives
similar gaps), and the penalties chosen per block differ. The tested headline metric is the
null-corrected entropy gap at a common penalty (:mod:`maxent.stats.claims`,
``most_liquid_block``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from maxent._validation import check_spin_vector
from maxent.data.moments import Moments
from maxent.data.samples import WeightSamples
from maxent.geometry.clustering import binary_entropy
from maxent.geometry.landscape import choose_references, entropy_landscape, independent_bound
from maxent.model.bp import run_bp
from maxent.model.ising import IsingModel

__all__ = [
    "liquidity",
    "landscape_area",
    "landscape_max_gap",
    "entropy_gap",
    "reference_classes",
    "landscape_liquidity",
    "COLUMNS",
]

#: columns of the liquidity table, in order
COLUMNS = [
    "block",
    "n_spins",
    "n_samples",
    "mean_abs_h",
    "mean_abs_J",
    "rms_J",
    "mean_abs_connected",
    "bethe_entropy",
    "independent_entropy",
    "entropy_gap",
    "m_mismatch",
    "bp_converged",
    "bp_n_iter",
    "reference",
    "landscape_area",
    "landscape_converged",
]

_REFERENCE_KINDS = ("low", "medium", "high")


def landscape_area(df: pd.DataFrame, *, sweep: str = "down") -> float:
    """Area between s_ub(d) and s(d) of one landscape table: integral of (s_ub - s) dd.

    Parameters
    ----------
    df : DataFrame
        A landscape table (columns ``sweep``, ``d``, ``entropy``, ``converged``) of a single
        reference.
    sweep : str
        Which sweep to integrate ("down" by default).

    Returns
    -------
    float
        Trapezoid integral over the converged points of the sweep sorted by d; NaN when fewer
        than two converged points exist.
    """
    missing = {"sweep", "d", "entropy", "converged"} - set(df.columns)
    if missing:
        raise ValueError(f"df is not a landscape table: missing columns {sorted(missing)}")
    g = df[(df["sweep"] == sweep) & df["converged"].astype(bool)]
    if len(g) < 2:
        return float("nan")
    g = g.sort_values("d", kind="stable")
    d = np.clip(g["d"].to_numpy(float), 0.0, 1.0)
    gap = independent_bound(d) - g["entropy"].to_numpy(float)
    return float(np.trapezoid(gap, d))


def landscape_max_gap(df: pd.DataFrame, *, sweep: str = "down") -> float:
    """Largest gap max_d (s_ub(d) - s(d)) over the converged points of one sweep (NaN if none)."""
    g = df[(df["sweep"] == sweep) & df["converged"].astype(bool)]
    if len(g) == 0:
        return float("nan")
    d = np.clip(g["d"].to_numpy(float), 0.0, 1.0)
    return float(np.max(independent_bound(d) - g["entropy"].to_numpy(float)))


def reference_classes(
    model: IsingModel,
    samples: np.ndarray,
    n_per_class: int,
    *,
    accuracy: np.ndarray | None = None,
    random_state: int | np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    """References of low, medium and high model energy, ``n_per_class`` each, as the reference
    study draws them: among the well-performing samples (test accuracy at or above the median,
    all samples when accuracies are unknown), split into energy terciles, drawn at random within
    each tercile without replacement.

    Returns {"low", "medium", "high"} -> int8 array (k, N), k = min(n_per_class, tercile size).
    """
    S = np.asarray(samples)
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be an integer >= 1, got {n_per_class!r}")
    rows = np.arange(S.shape[0])
    if accuracy is not None:
        acc = np.asarray(accuracy, dtype=np.float64)
        if acc.shape != (S.shape[0],):
            raise ValueError(f"accuracy must have shape ({S.shape[0]},), got {acc.shape}")
        if np.isfinite(acc).all():
            rows = rows[acc >= np.median(acc)]
    E = model.energy(S[rows].astype(np.float64))
    order = rows[np.argsort(E, kind="stable")]
    rng = np.random.default_rng(random_state)
    out = {}
    for name, part in zip(("low", "medium", "high"), np.array_split(order, 3), strict=True):
        k = min(int(n_per_class), part.size)
        out[name] = S[np.sort(rng.choice(part, size=k, replace=False))].astype(np.int8)
    return out


def landscape_liquidity(
    model: IsingModel,
    references: dict[str, np.ndarray],
    *,
    x: Sequence[float] | np.ndarray | None = None,
    tol: float = 1e-6,
    damping: float = 0.0,
    max_iter: int = 1000,
) -> pd.DataFrame:
    """Area and largest gap between s_ub(d) and the down-sweep landscape s(d), per reference.

    Returns one row per reference: ``reference_class``, ``index``, ``landscape_area``,
    ``landscape_max_gap``, ``converged`` (every point of the sweep converged).
    """
    rows = []
    for cls, R in references.items():
        for i, ref in enumerate(np.atleast_2d(R)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # non-convergence is the `converged` column
                df = entropy_landscape(
                    model, ref, x=x, sweep="down", tol=tol, damping=damping, max_iter=max_iter
                )
            rows.append(
                {
                    "reference_class": cls,
                    "index": i,
                    "landscape_area": landscape_area(df),
                    "landscape_max_gap": landscape_max_gap(df),
                    "converged": bool(df["converged"].all()),
                }
            )
    return pd.DataFrame(
        rows, columns=["reference_class", "index", "landscape_area", "landscape_max_gap", "converged"]
    )


def entropy_gap(model: IsingModel, *, tol: float = 1e-6, damping: float = 0.0, max_iter: int = 1000) -> float:
    """Entropy gap per spin s_ind - s_Bethe of a model at zero tilt (NaN when BP does not converge).

    s_Bethe = S_Bethe / N from belief propagation; s_ind = (1/N) sum_i S_b(m_i) with the Bethe
    magnetizations: the entropy the spins would have without couplings, given the same m.
    """
    bp = run_bp(model.h, model.J, tol=tol, damping=damping, max_iter=max_iter, correlations=False, warn=False)
    if not bp.converged:
        return float("nan")
    return float(binary_entropy(bp.m).mean() - bp.entropy / model.n_spins)


def _as_moments(block: str, value: Any, n_spins: int) -> tuple[Moments, np.ndarray | None]:
    if isinstance(value, Moments):
        mom, samples = value, None
    else:
        arr = np.asarray(value)
        if arr.ndim != 2:
            raise ValueError(
                f"block {block!r}: samples must be a 2-D (n_samples, n_spins) ±1 array or a Moments, "
                f"got shape {arr.shape}"
            )
        try:
            mom = Moments.from_samples(arr)
        except (ValueError, TypeError) as err:
            raise type(err)(f"block {block!r}: {err}") from None
        samples = arr
    if mom.n_spins != n_spins:
        raise ValueError(f"block {block!r}: the data have {mom.n_spins} spins but the model has {n_spins}")
    return mom, samples


def _reference_for(
    block: str, model: IsingModel, samples: np.ndarray | None, spec: Any
) -> tuple[np.ndarray | None, str]:
    """The reference vector of a block and its label (None when none can be chosen)."""
    if spec is None:
        spec = "medium"
    if isinstance(spec, str):
        if spec not in _REFERENCE_KINDS:
            raise ValueError(
                f"block {block!r}: reference must be one of {_REFERENCE_KINDS}, a ±1 vector "
                f"or a sample index, got {spec!r}"
            )
        if samples is None:
            return None, "none"
        return choose_references(model, samples)[spec].astype(np.float64), spec
    if isinstance(spec, (int, np.integer)) and not isinstance(spec, (bool, np.bool_)):
        if samples is None:
            raise ValueError(
                f"block {block!r}: an integer reference indexes the samples, but only moments were given"
            )
        if not 0 <= int(spec) < samples.shape[0]:
            raise IndexError(
                f"block {block!r}: reference index {spec} out of range for {samples.shape[0]} samples"
            )
        return np.asarray(samples[int(spec)], dtype=np.float64), f"sample {int(spec)}"
    ref = check_spin_vector(spec, n_spins=model.n_spins, name=f"references[{block!r}]")
    return ref, "given"


def liquidity(
    models: Mapping[str, IsingModel],
    samples_or_moments: Mapping[str, np.ndarray | Moments] | WeightSamples,
    *,
    references: Mapping[str, Any] | str | None = None,
    x: Sequence[float] | np.ndarray | None = None,
    tol: float = 1e-6,
    damping: float = 0.0,
    max_iter: int = 1000,
    landscape: bool = True,
) -> pd.DataFrame:
    """Per-block liquidity table: coupling strength, correlations, entropies, landscape area.

    Parameters
    ----------
    models : dict of block name -> IsingModel
        The fitted models, in the order the rows should have (e.g. W1, W2, W3, full).
    samples_or_moments : dict of block name -> array (M, N) of ±1 or Moments, or WeightSamples
        The data each model was fitted to (a WeightSamples gives every block by name through
        :meth:`WeightSamples.block`). Raw samples are needed to choose a landscape reference
        automatically.
    references : str, or dict of block name -> (str | int | array (N,) of ±1), optional
        The landscape reference of each block: "low", "medium" or "high" (the sample of low,
        median or high model energy, :func:`maxent.geometry.landscape.choose_references`), an
        index into the block's samples, or a ±1 vector. A single string applies to all blocks.
        Default "medium". A block given by moments only and no explicit vector gets no landscape
        (area NaN, reference "none", with a warning).
    x : array, optional
        Tilt grid of the landscape (default that of
        :func:`~maxent.geometry.landscape.entropy_landscape`, -3..3 step 0.05).
    tol, damping, max_iter
        Belief-propagation settings (zero tilt and landscape).
    landscape : bool
        Compute the landscape area (the costly part: one BP sweep over the x grid per block).

    Returns
    -------
    DataFrame
        One row per block, in the order of ``models``, with the columns of :data:`COLUMNS`:
        ``block``, ``n_spins``, ``n_samples`` (0 for exact moments), ``mean_abs_h``,
        ``mean_abs_J``, ``rms_J`` (over i < j), ``mean_abs_connected`` (mean |c_ij|, i < j, of
        the data), ``bethe_entropy`` (S_Bethe / N at x = 0), ``independent_entropy``
        ((1/N) sum_i S_b(m_i) with the Bethe m), ``entropy_gap`` (independent - Bethe),
        ``m_mismatch`` (max_i |m_i^Bethe - m_i^data|: a check of the fit), ``bp_converged``,
        ``bp_n_iter``, ``reference`` (how the landscape reference was chosen),
        ``landscape_area`` (see the module docstring) and ``landscape_converged`` (every point
        of the sweep converged). Blocks of a single spin have NaN coupling and correlation
        averages.

    Raises
    ------
    TypeError
        A model is not an IsingModel.
    ValueError
        No models, a block without data, data with the wrong number of spins or non-±1 entries,
        a reference of the wrong length or not ±1.
    """
    if not isinstance(models, Mapping) or len(models) == 0:
        raise ValueError("models must be a non-empty dict of block name -> IsingModel")
    if isinstance(samples_or_moments, WeightSamples):
        ws = samples_or_moments
        data: dict[str, Any] = {}
        for name in models:
            try:
                data[name] = ws.block(name)
            except (KeyError, ValueError) as err:
                raise ValueError(f"block {name!r} is not a block of the weight samples: {err}") from None
    elif isinstance(samples_or_moments, Mapping):
        data = dict(samples_or_moments)
    else:
        raise TypeError("samples_or_moments must be a dict of block -> samples or Moments, or WeightSamples")
    missing = [name for name in models if name not in data]
    if missing:
        raise ValueError(f"no samples or moments for blocks {missing}")
    if isinstance(references, Mapping):
        unknown = sorted(set(references) - set(models))
        if unknown:
            raise ValueError(f"references given for unknown blocks {unknown}")
    elif references is not None and not isinstance(references, str):
        raise TypeError("references must be a string ('low', 'medium', 'high') or a dict per block")

    rows = []
    for name, model in models.items():
        if not isinstance(model, IsingModel):
            raise TypeError(f"models[{name!r}] must be an IsingModel, got {type(model).__name__}")
        n = model.n_spins
        mom, samples = _as_moments(name, data[name], n)
        spec = references.get(name) if isinstance(references, Mapping) else references
        ref, ref_label = (None, "none")
        if landscape:
            ref, ref_label = _reference_for(name, model, samples, spec)
            if ref is None:
                warnings.warn(
                    f"block {name!r} is given by moments only: no landscape reference can be chosen, "
                    "landscape_area is NaN (pass samples or a reference vector)",
                    UserWarning,
                    stacklevel=2,
                )

        iu = np.triu_indices(n, 1)
        has_pairs = iu[0].size > 0
        Jp = model.J[iu]
        conn = mom.connected()[iu]
        bp = run_bp(model.h, model.J, tol=tol, damping=damping, max_iter=max_iter, correlations=False)
        s_bethe = bp.entropy / n
        s_ind = float(binary_entropy(bp.m).mean())
        area, lconv = float("nan"), False
        if ref is not None:
            df = entropy_landscape(model, ref, x=x, sweep="down", tol=tol, damping=damping, max_iter=max_iter)
            area = landscape_area(df, sweep="down")
            lconv = bool(df["converged"].all())
        rows.append(
            {
                "block": name,
                "n_spins": n,
                "n_samples": mom.n_samples,
                "mean_abs_h": float(np.abs(model.h).mean()),
                "mean_abs_J": float(np.abs(Jp).mean()) if has_pairs else np.nan,
                "rms_J": float(np.sqrt(np.mean(Jp**2))) if has_pairs else np.nan,
                "mean_abs_connected": float(np.abs(conn).mean()) if has_pairs else np.nan,
                "bethe_entropy": s_bethe,
                "independent_entropy": s_ind,
                "entropy_gap": s_ind - s_bethe,
                "m_mismatch": float(np.abs(bp.m - mom.m).max()),
                "bp_converged": bool(bp.converged),
                "bp_n_iter": int(bp.n_iter),
                "reference": ref_label,
                "landscape_area": area,
                "landscape_converged": lconv,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)

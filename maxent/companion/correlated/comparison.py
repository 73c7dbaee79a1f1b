"""Theory against simulation over the width N: the error of the mean-field closure and its scaling."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from maxent._validation import check_int

from .generators import SynapseEnsemble
from .propagation import input_covariance, simulate_depth
from .theory import TheoryDomainWarning, theory_depth

__all__ = ["DEFAULT_ENSEMBLES", "depth_study", "compare_over_width", "error_scaling"]

DEFAULT_ENSEMBLES = (
    SynapseEnsemble("gaussian"),
    SynapseEnsemble("binary"),
    SynapseEnsemble("gaussian", c_pre=1.0),
    SynapseEnsemble("gaussian", c_post=1.0),
    SynapseEnsemble("gaussian", c_pre=1.0, c_post=1.0, exponent=0.5, exponent_post=1.0),
    SynapseEnsemble("binary", c_pre=1.0),
    SynapseEnsemble("orthogonal"),
)

_STATS = ("D_over_N", "N_offdiag_corr2")


def depth_study(
    N: int = 256,
    depth: int = 6,
    ensembles: Sequence[SynapseEnsemble] = DEFAULT_ENSEMBLES,
    *,
    activation: str = "tanh",
    sigma: float = 1.0,
    alpha: float = 0.5,
    inputs_per_unit: int = 4,
    n_networks: int = 4,
    random_state: int | np.random.Generator | None = 0,
) -> pd.DataFrame:
    """D_l / N and decorrelation along depth, simulation and theory in one tidy table (a stage for
    the synthetic part of the analysis; ``plot_depth`` draws it).

    Equal widths N, inputs x ~ N(0, C0) with C0 from :func:`input_covariance` (``alpha``).
    Returns the rows of :func:`simulate_depth` (one per network and layer) and of
    :func:`theory_depth` (``network`` = -1), plus ``theory_warning``: the closure's
    :class:`TheoryDomainWarning` for that ensemble (empty when none).
    """
    rng = np.random.default_rng(random_state)
    widths = [check_int(N, "N", 1)] * (check_int(depth, "depth", 1) + 1)
    C0 = input_covariance(N, alpha=alpha, random_state=rng)
    sim = simulate_depth(
        widths,
        ensembles,
        input_cov=C0,
        n_inputs=inputs_per_unit * N,
        n_networks=n_networks,
        activation=activation,
        sigma=sigma,
        random_state=rng,
    )
    sim["theory_warning"] = ""
    parts = [sim]
    for ens in ensembles:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TheoryDomainWarning)
            th = theory_depth(widths, ens, input_cov=C0, activation=activation, sigma=sigma)
        msgs = [str(w.message) for w in caught if issubclass(w.category, TheoryDomainWarning)]
        th["theory_warning"] = msgs[0] if msgs else ""
        parts.append(th)
    return pd.concat(parts, ignore_index=True)


def compare_over_width(
    Ns: Sequence[int],
    ensembles: Sequence[SynapseEnsemble],
    *,
    depth: int = 4,
    activation: str = "tanh",
    sigma: float = 1.0,
    input_cov: Callable[[int], np.ndarray] | None = None,
    inputs_per_unit: int = 4,
    n_networks: int = 8,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulate equal-width networks (N, ..., N) of ``depth`` layers for each N and ensemble and
    set the theory beside them.

    ``input_cov(N)`` gives the input covariance (default :func:`input_covariance` with alpha 0.5,
    seeded); every network sees ``inputs_per_unit * N`` fresh Gaussian inputs.

    Returns a tidy DataFrame, one row per (N, synapses, layer, statistic): ``N``, ``synapses``,
    ``kind``, ``layer``, ``statistic`` ("D_over_N" or "N_offdiag_corr2"), ``simulation`` (mean
    over networks), ``sem`` (its standard error), ``theory``, ``error`` (simulation - theory),
    ``n_networks``, ``seconds`` (simulation wall time of that N and ensemble).
    """
    rng = np.random.default_rng(random_state)
    depth = check_int(depth, "depth", 1)
    rows = []
    for N in Ns:
        N = check_int(N, "N", 1)
        C0 = input_covariance(N, alpha=0.5, random_state=rng) if input_cov is None else input_cov(N)
        for ens in ensembles:
            t0 = time.perf_counter()
            sim = simulate_depth(
                [N] * (depth + 1),
                [ens],
                input_cov=C0,
                n_inputs=inputs_per_unit * N,
                n_networks=n_networks,
                activation=activation,
                sigma=sigma,
                random_state=rng,
            )
            seconds = time.perf_counter() - t0
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", TheoryDomainWarning)
                th = theory_depth([N] * (depth + 1), ens, input_cov=C0, activation=activation, sigma=sigma)
            g = sim.groupby("layer")
            for stat in _STATS:
                mean, sem = g[stat].mean(), g[stat].sem(ddof=1)
                for layer, t in zip(th["layer"], th[stat], strict=True):
                    rows.append(
                        dict(
                            N=N,
                            synapses=ens.name,
                            kind=ens.kind,
                            layer=int(layer),
                            statistic=stat,
                            simulation=float(mean[layer]),
                            sem=float(sem[layer]),
                            theory=float(t),
                            error=float(mean[layer] - t),
                            n_networks=n_networks,
                            seconds=seconds,
                        )
                    )
    return pd.DataFrame(rows)


def error_scaling(df: pd.DataFrame, *, min_layer: int = 1) -> pd.DataFrame:
    """Mean |error| over layers >= min_layer per (synapses, statistic, N), with the log-log slope of
    |error| against N fitted per (synapses, statistic) (column ``slope``)."""
    need = {"N", "synapses", "statistic", "layer", "error", "sem"}
    if not need <= set(df.columns):
        raise ValueError(
            f"df lacks the columns {sorted(need - set(df.columns))}; pass compare_over_width's output"
        )
    d = df[df["layer"] >= min_layer].assign(abs_error=lambda x: x["error"].abs())
    out = d.groupby(["synapses", "statistic", "N"], as_index=False).agg(
        abs_error=("abs_error", "mean"), sem=("sem", "mean")
    )
    slopes = {}
    for key, grp in out.groupby(["synapses", "statistic"]):
        if grp["N"].nunique() >= 2 and (grp["abs_error"] > 0).all():
            slopes[key] = float(np.polyfit(np.log(grp["N"]), np.log(grp["abs_error"]), 1)[0])
        else:
            slopes[key] = float("nan")
    out["slope"] = [slopes[(s, t)] for s, t in zip(out["synapses"], out["statistic"], strict=True)]
    return out

r"""Direct simulation of random networks and their perturbed copies (the oracle of :mod:`.theory`).

A batch of B independent random networks of width N (input width N too) and depth L, each with
its perturbed copy, propagates P shared Gaussian inputs x ~ N(0, I_N):

    h_l = W_l a_{l-1},  h'_l = W'_l a'_{l-1},  a_0 = a'_0 = x,  W_l ~ N(0, sigma^2/N) i.i.d.,
    W'_l = perturbation(W_l) (fresh randomness in every layer and network).

Shapes: weights (B, N, N), activities feature-major (B, N, P), overlaps (B, P) per layer.
Networks are processed in chunks that keep B N^2 near ``max_floats`` (float32); the Python
loop runs over layers and chunks only. Overlaps (see :mod:`.theory`): sign -> (1/N) sum a a';
relu -> cosine, defined as 0 when an activity vector vanishes (probability ~ 2^-N per layer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from maxent.companion.sensitivity._checks import (
    check_activation,
    check_int,
    check_perturbation,
    check_real,
)
from maxent.companion.sensitivity.perturb import perturb, weight_correlation
from maxent.companion.sensitivity.theory import overlap_recursion

__all__ = [
    "activate",
    "overlap",
    "layer_step",
    "simulate_overlaps",
    "finite_size_table",
    "random_network_overlaps",
    "DEFAULT_CONDITIONS",
]


def activate(h: np.ndarray, activation: str) -> np.ndarray:
    """sign (sign(0) = +1) or relu, elementwise."""
    if activation == "sign":
        return np.where(h >= 0, 1.0, -1.0).astype(h.dtype)
    return np.maximum(h, 0)


def overlap(a: np.ndarray, ap: np.ndarray, activation: str) -> np.ndarray:
    """Order parameter over the unit axis (-2) of activities (..., N, P) -> (..., P) float64.

    sign: (1/N) sum_i a_i a'_i; relu: cosine sum a a' / (|a| |a'|), 0 where a norm vanishes.
    """
    a = a.astype(np.float64)
    ap = ap.astype(np.float64)
    dot = np.einsum("...np,...np->...p", a, ap)
    if activation == "sign":
        return dot / a.shape[-2]
    norm = np.sqrt(np.einsum("...np,...np->...p", a, a) * np.einsum("...np,...np->...p", ap, ap))
    return np.divide(dot, norm, out=np.zeros_like(dot), where=norm > 0)


def layer_step(
    a: np.ndarray,
    ap: np.ndarray,
    activation: str,
    perturbation: str,
    level: float | None,
    rng: np.random.Generator,
    *,
    width: int | None = None,
    sigma: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """One layer for B network pairs with fresh weights: (B, n_in, P) x2 -> (B, N, P) x2, float32."""
    B, n_in, _ = a.shape
    N = n_in if width is None else width
    W = rng.standard_normal((B, N, n_in), dtype=np.float32) * np.float32(sigma / np.sqrt(n_in))
    Wp = perturb(W, perturbation, level, rng).astype(np.float32, copy=False)
    return activate(W @ a, activation), activate(Wp @ ap, activation)


def simulate_overlaps(
    activation: str,
    perturbation: str,
    level: float | None,
    *,
    width: int,
    depth: int,
    n_networks: int,
    n_inputs: int,
    sigma: float = 1.0,
    random_state: int | np.random.Generator | None = None,
    max_floats: int = 2**23,
) -> np.ndarray:
    """Overlaps q_l of ``n_networks`` random network pairs on ``n_inputs`` inputs each.

    Parameters
    ----------
    activation : {"sign", "relu"}
    perturbation : {"dilution", "binarization", "flip"}
    level : float or None
        c for dilution, p for flip, None for binarization.
    width, depth : int
        N >= 2 (inputs have width N too) and L >= 1.
    n_networks, n_inputs : int >= 1
    sigma : float > 0
        Weight scale (drops out of every overlap; kept for completeness).

    Returns
    -------
    ndarray (n_networks, n_inputs, depth) float64: q_l for l = 1..L.
    """
    activation = check_activation(activation)
    perturbation = check_perturbation(perturbation)
    weight_correlation(perturbation, level)  # validates the level
    N = check_int(width, "width", 2)
    L = check_int(depth, "depth", 1)
    S = check_int(n_networks, "n_networks", 1)
    P = check_int(n_inputs, "n_inputs", 1)
    if check_real(sigma, "sigma") <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    rng = np.random.default_rng(random_state)
    out = np.empty((S, P, L))
    chunk = max(1, min(S, int(max_floats) // (N * N)))
    for start in range(0, S, chunk):  # chunks of networks (memory), not single samples
        B = min(chunk, S - start)
        x = rng.standard_normal((B, N, P), dtype=np.float32)
        a, ap = x, x
        for layer in range(L):
            a, ap = layer_step(a, ap, activation, perturbation, level, rng, sigma=sigma)
            out[start : start + B, :, layer] = overlap(a, ap, activation)
    return out


def finite_size_table(
    activation: str,
    perturbation: str,
    level: float | None,
    *,
    widths: tuple[int, ...] = (100, 200, 500, 1000, 2000),
    depth: int = 6,
    n_networks: int | None = None,
    n_inputs: int = 32,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulated q_l against the mean-field recursion, for several widths N (tidy).

    ``n_networks`` defaults to max(2, 4000 // N) (fewer large networks: the spread of q shrinks
    with N anyway).

    Returns
    -------
    DataFrame, one row per (width, layer), columns: activation, perturbation, level, rho, width,
    layer, q_theory, q_mean, q_sd (sd over networks x inputs), q_sem (standard error of q_mean,
    over networks), bias (q_mean - q_theory), rmse (root mean square of q - q_theory over
    networks x inputs: the typical single-network error, expected ~ 1/sqrt(N)), n_networks,
    n_inputs.
    """
    rho = weight_correlation(perturbation, level)
    theory = overlap_recursion(activation, rho, depth)[1:]
    rng = np.random.default_rng(random_state)
    rows = []
    for N in widths:
        S = max(2, 4000 // int(N)) if n_networks is None else int(n_networks)
        q = simulate_overlaps(
            activation,
            perturbation,
            level,
            width=int(N),
            depth=depth,
            n_networks=S,
            n_inputs=n_inputs,
            random_state=rng,
        )
        per_net = q.mean(axis=1)  # (S, L)
        for layer in range(depth):
            ql = q[:, :, layer]
            rows.append(
                {
                    "activation": activation,
                    "perturbation": perturbation,
                    "level": np.nan if level is None else float(level),
                    "rho": rho,
                    "width": int(N),
                    "layer": layer + 1,
                    "q_theory": float(theory[layer]),
                    "q_mean": float(ql.mean()),
                    "q_sd": float(ql.std(ddof=1)),
                    "q_sem": float(per_net[:, layer].std(ddof=1) / np.sqrt(S)),
                    "bias": float(ql.mean() - theory[layer]),
                    "rmse": float(np.sqrt(np.mean((ql - theory[layer]) ** 2))),
                    "n_networks": S,
                    "n_inputs": int(n_inputs),
                }
            )
    return pd.DataFrame(rows)


DEFAULT_CONDITIONS: tuple[tuple[str, str, float | None], ...] = (
    ("sign", "dilution", 0.5),
    ("sign", "binarization", None),
    ("relu", "dilution", 0.5),
    ("relu", "binarization", None),
)


def random_network_overlaps(
    conditions: tuple[tuple[str, str, float | None], ...] = DEFAULT_CONDITIONS,
    *,
    widths: tuple[int, ...] = (100, 200, 500, 1000, 2000),
    depth: int = 6,
    n_inputs: int = 32,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """:func:`finite_size_table` for several (activation, perturbation, level) conditions, concatenated."""
    rng = np.random.default_rng(random_state)
    return pd.concat(
        [
            finite_size_table(act, pert, lev, widths=widths, depth=depth, n_inputs=n_inputs, random_state=rng)
            for act, pert, lev in conditions
        ],
        ignore_index=True,
    )

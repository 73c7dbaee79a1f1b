r"""Propagation of an input ensemble through layered networks; covariance, dimension, decorrelation.

Network (the depth study's convention). Widths (n_0, ..., n_L), standardized synapses W_l of
shape (n_l, n_{l-1}) (see :mod:`.generators`), a gain sigma, activation phi:

    h_l = (sigma / sqrt(n_{l-1})) W_l a_{l-1},     a_l = phi(h_l),     a_0 = x.

Every layer is a hidden layer here (phi everywhere). Per layer, over the input ensemble, the
neural covariance C_l = Cov_x(a_l) (n_l x n_l) gives

    D_l = (Tr C)^2 / Tr C^2                     participation-ratio dimension (reported D_l / n_l)
    Delta_l = sum_{i != k} C_ik^2 / sum_{i != k} C_ii C_kk
                                                 mean squared off-diagonal correlation
                                                 (variance-weighted: = mean r_ik^2 when all
                                                 variances are equal)

Estimation from P inputs. Tr C^2 from the sample covariance S is biased upwards by about
(Tr C)^2 / P, i.e. D is biased downwards by a relative D / P (large when P ~ n). We use the
unbiased estimator of Himeno & Yamada (2014), valid without normality,

    T2_hat = (P-1) / (P (P-2) (P-3)) [ (P-1)(P-2) Tr S^2 + (Tr S)^2 - P Q ],
    Q = sum_t |x_t - xbar|^4 / (P - 1),

and the same formula per coordinate for sum_i C_ii^2 (so that the off-diagonal mass
sum_{i != k} C_ik^2 is unbiased as well). Tr C is estimated by Tr S (unbiased). The ratios D
and Delta are not exactly unbiased but close: measured on Gaussian inputs with P = N samples,
D/N lands within 0.006 of the exact value at N = 64 and 256 (exact 0.70 and 0.60; the plug-in
Tr S^2 gives 0.41 and 0.37), N Delta within 2%.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from maxent._validation import check_int

from .generators import SynapseEnsemble

__all__ = [
    "ACTIVATIONS",
    "activation_function",
    "propagate",
    "trace_square_unbiased",
    "covariance_statistics",
    "statistics_from_covariance",
    "input_covariance",
    "gaussian_inputs",
    "simulate_depth",
]

ACTIVATIONS = ("linear", "tanh", "relu", "leaky_relu")
LEAKY_SLOPE = 0.1


def activation_function(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """phi for a name in ACTIVATIONS ("leaky_relu" has slope 0.1, the core's default)."""
    if name == "linear":
        return lambda h: h
    if name == "tanh":
        return np.tanh
    if name == "relu":
        return lambda h: np.maximum(h, 0.0)
    if name == "leaky_relu":
        return lambda h: np.where(h > 0, h, LEAKY_SLOPE * h)
    raise ValueError(f"unknown activation {name!r}; choose one of {list(ACTIVATIONS)}")


def _check_matrix(X: object, name: str, ndim: int) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return arr


def propagate(
    X: np.ndarray, weights: Sequence[np.ndarray], *, sigma: float = 1.0, activation: str = "tanh"
) -> list[np.ndarray]:
    """Activities of every layer for S networks.

    Parameters
    ----------
    X : (P, n_0) inputs shared by all networks, or (S, P, n_0)
    weights : list of (S, n_l, n_{l-1}) standardized synapses
    sigma : gain; h_l = sigma / sqrt(n_{l-1}) W_l a_{l-1}
    activation : name in ACTIVATIONS

    Returns
    -------
    list of L + 1 arrays (S, P, n_l), layer 0 the inputs.
    """
    phi = activation_function(activation)
    if not weights:
        raise ValueError("weights is empty")
    Ws = [_check_matrix(W, f"weights[{k}]", 3) for k, W in enumerate(weights)]
    S = Ws[0].shape[0]
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 2:
        X = np.broadcast_to(X, (S, *X.shape))
    X = _check_matrix(X, "X", 3)
    if X.shape[0] != S or X.shape[2] != Ws[0].shape[2]:
        raise ValueError(f"X has shape {X.shape}; the first layer expects (S={S}, P, n_0={Ws[0].shape[2]})")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive finite gain, got {sigma!r}")
    out = [X]
    a = X
    for k, W in enumerate(Ws):
        if W.shape[0] != S or W.shape[2] != a.shape[2]:
            raise ValueError(f"weights[{k}] has shape {W.shape}, incompatible with activities {a.shape}")
        a = phi(np.matmul(a, W.transpose(0, 2, 1)) * (sigma / np.sqrt(W.shape[2])))
        out.append(a)
    return out


def _hy(tr_s2: np.ndarray, tr_s: np.ndarray, Q: np.ndarray, P: int) -> np.ndarray:
    """Himeno-Yamada unbiased Tr C^2 from Tr S^2, Tr S and Q (module docstring)."""
    return (P - 1) / (P * (P - 2) * (P - 3)) * ((P - 1) * (P - 2) * tr_s2 + tr_s**2 - P * Q)


def _centered(X: np.ndarray) -> tuple[np.ndarray, int]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim < 2:
        raise ValueError(f"samples must have shape (..., P, n), got {X.shape}")
    P = X.shape[-2]
    if P < 4:
        raise ValueError(f"the unbiased Tr C^2 estimator needs at least 4 samples, got {P}")
    if not np.all(np.isfinite(X)):
        raise ValueError("samples contain non-finite values (NaN or inf)")
    return X - X.mean(axis=-2, keepdims=True), P


def trace_square_unbiased(X: np.ndarray) -> np.ndarray:
    """Unbiased estimate of Tr C^2 (Himeno & Yamada 2014) from samples X (..., P, n); shape (...)."""
    Xc, P = _centered(X)
    S = np.matmul(np.swapaxes(Xc, -1, -2), Xc) / (P - 1)
    norms2 = np.sum(Xc * Xc, axis=-1)
    return _hy(
        np.sum(S * S, axis=(-2, -1)),
        np.trace(S, axis1=-2, axis2=-1),
        np.sum(norms2 * norms2, axis=-1) / (P - 1),
        P,
    )


def covariance_statistics(A: np.ndarray) -> dict[str, np.ndarray]:
    """Dimension and decorrelation of activities A (..., P, n) over the P inputs.

    Returns arrays of shape (...): ``variance`` (Tr C / n), ``D`` and ``D_over_N`` (unbiased
    Tr C^2 in the denominator), ``offdiag_corr2`` (Delta, see the module docstring) and
    ``D_plugin_over_N`` (plain sample-covariance estimate, for comparison).
    """
    Ac, P = _centered(A)
    n = Ac.shape[-1]
    S = np.matmul(np.swapaxes(Ac, -1, -2), Ac) / (P - 1)
    var = np.diagonal(S, axis1=-2, axis2=-1)  # (..., n) sample variances
    t1 = var.sum(axis=-1)
    tr_s2 = np.sum(S * S, axis=(-2, -1))
    norms2 = np.sum(Ac * Ac, axis=-1)
    t2 = _hy(tr_s2, t1, np.sum(norms2 * norms2, axis=-1) / (P - 1), P)
    sq = Ac * Ac
    diag2 = _hy(var * var, var, np.sum(sq * sq, axis=-2) / (P - 1), P)  # unbiased C_ii^2, per unit
    offdiag_mass = t2 - diag2.sum(axis=-1)
    denom = t1**2 - np.sum(var**2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        D = t1**2 / t2
        return {
            "variance": t1 / n,
            "D": D,
            "D_over_N": D / n,
            "offdiag_corr2": offdiag_mass / denom if n > 1 else np.full_like(t1, np.nan),
            "D_plugin_over_N": t1**2 / tr_s2 / n,
        }


def statistics_from_covariance(C: np.ndarray) -> dict[str, float]:
    """The same statistics from an exact covariance matrix C (n, n)."""
    C = _check_matrix(C, "C", 2)
    if C.shape[0] != C.shape[1] or not np.allclose(C, C.T, atol=1e-10 * max(1.0, np.abs(C).max())):
        raise ValueError(f"C must be a symmetric square matrix, got shape {C.shape}")
    n = C.shape[0]
    d = np.diag(C)
    t1, t2 = float(d.sum()), float(np.sum(C * C))
    return {
        "variance": t1 / n,
        "D": t1**2 / t2,
        "D_over_N": t1**2 / t2 / n,
        "offdiag_corr2": (t2 - float(d @ d)) / (t1**2 - float(d @ d)) if n > 1 else float("nan"),
    }


def input_covariance(
    n: int, *, alpha: float = 1.0, random_state: int | np.random.Generator | None = None
) -> np.ndarray:
    """A weakly correlated input covariance (n, n): spectrum lambda_k ∝ k^(-alpha), k = 1..n, in a
    Haar-random basis, normalized to Tr C = n. alpha = 0 gives the identity (D/N = 1); for
    0 < alpha < 1/2 the dimension stays extensive (D/N -> (1 - 2 alpha) / (1 - alpha)^2 as n grows)
    and the off-diagonal covariances are O(1/sqrt(n)); alpha = 1/2 is marginal (D/N decays like
    1/ln n: 0.70 at n = 64, 0.60 at n = 256, 0.51 at n = 1024)."""
    n = check_int(n, "n", 1)
    alpha = float(alpha)
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    lam = np.arange(1, n + 1, dtype=np.float64) ** (-alpha)
    lam *= n / lam.sum()
    Q, R = np.linalg.qr(np.random.default_rng(random_state).standard_normal((n, n)))
    Q = Q * np.sign(np.diag(R))
    C = (Q * lam) @ Q.T
    return 0.5 * (C + C.T)


def gaussian_inputs(
    C: np.ndarray, n_inputs: int, *, size: int = 1, random_state: int | np.random.Generator | None = None
) -> np.ndarray:
    """x ~ N(0, C): (size, n_inputs, n) float64."""
    C = _check_matrix(C, "input covariance", 2)
    if C.shape[0] != C.shape[1] or not np.allclose(C, C.T, atol=1e-10 * max(1.0, np.abs(C).max())):
        raise ValueError(f"the input covariance must be symmetric and square, got shape {C.shape}")
    lam, V = np.linalg.eigh(C)
    if lam.min() < -1e-9 * max(1.0, lam.max()):
        raise ValueError(f"the input covariance is not positive semidefinite (eigenvalue {lam.min():.3g})")
    root = V * np.sqrt(np.clip(lam, 0, None))
    Z = np.random.default_rng(random_state).standard_normal(
        (check_int(size, "size", 1), check_int(n_inputs, "n_inputs", 1), C.shape[0])
    )
    return Z @ root.T


def simulate_depth(
    widths: Sequence[int],
    ensembles: Sequence[SynapseEnsemble],
    *,
    input_cov: np.ndarray,
    n_inputs: int,
    n_networks: int = 4,
    activation: str = "tanh",
    sigma: float = 1.0,
    random_state: int | np.random.Generator | None = None,
) -> pd.DataFrame:
    """Simulate networks of each ensemble on fresh Gaussian inputs; statistics per layer.

    Returns a tidy DataFrame, one row per (ensemble, network, layer): columns ``synapses``,
    ``kind``, ``network``, ``layer``, ``width``, ``variance``, ``D_over_N``, ``offdiag_corr2``,
    ``N_offdiag_corr2`` (width * Delta, O(1) for weak correlations), ``D_plugin_over_N``,
    ``method`` ("simulation").
    """
    widths = [check_int(w, "width", 1) for w in widths]
    if len(widths) < 2:
        raise ValueError(f"widths must list at least two layers, got {widths}")
    if np.asarray(input_cov).shape != (widths[0], widths[0]):
        raise ValueError(f"input_cov must be ({widths[0]}, {widths[0]}), got {np.asarray(input_cov).shape}")
    rng = np.random.default_rng(random_state)
    n_networks = check_int(n_networks, "n_networks", 1)
    rows = []
    for ens in ensembles:
        X = gaussian_inputs(input_cov, n_inputs, size=n_networks, random_state=rng)
        Ws = [
            ens.draw(n_out, n_in, size=n_networks, random_state=rng)
            for n_in, n_out in zip(widths[:-1], widths[1:], strict=True)
        ]
        acts = propagate(X, Ws, sigma=sigma, activation=activation)
        for layer, A in enumerate(acts):
            st = covariance_statistics(A)
            for net in range(n_networks):
                row = {k: float(v[net]) for k, v in st.items()}
                row.update(synapses=ens.name, kind=ens.kind, network=net, layer=layer, width=widths[layer])
                rows.append(row)
    df = pd.DataFrame(rows)
    df["N_offdiag_corr2"] = df["width"] * df["offdiag_corr2"]
    df["method"] = "simulation"
    cols = [
        "synapses",
        "kind",
        "method",
        "network",
        "layer",
        "width",
        "variance",
        "D_over_N",
        "offdiag_corr2",
        "N_offdiag_corr2",
        "D_plugin_over_N",
    ]
    return df[cols]

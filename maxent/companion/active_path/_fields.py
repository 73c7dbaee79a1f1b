r"""Numerically stable p-spin message algebra shared by instance BP and population dynamics.

A factor psi_a(s) = exp(beta J_a prod_{k in a} s_k) and cavity fields x_k (distributions
proportional to exp(beta x_k s_k)) combine through products of t_k = tanh(beta x_k). Near zero
temperature t_k -> ±1 and 1 - prod t_k cancels catastrophically, so products are carried as

    prod_k t_k = s (1 - D),    s = prod_k sign(x_k),
    D = 1 - prod_k (1 - delta_k),    delta_k = 1 - tanh(beta |x_k|) = 2 sigmoid(-2 beta |x_k|),

with D computed as -expm1(sum_k log1p(-delta_k)) (exact to rounding even when D ~ 1e-40).
From (s, D):

    atanh(s (1 - D))   = s * 0.5 * log((2 - D) / D)
    log(1 + s (1 - D)) = log(2 - D) if s > 0 else log(D)

A zero field has delta = 1, hence D = 1 and a zero message, whatever its sign convention.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

__all__ = ["signed_defect", "atanh_product", "log1p_product", "log2cosh"]


def signed_defect(x: np.ndarray, beta: float, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """(s, D) with prod_k tanh(beta x_k) = s (1 - D) along ``axis`` (see module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    s = np.where(np.sum(x < 0, axis=axis) % 2 == 1, -1.0, 1.0)
    delta = 2.0 * expit(-2.0 * beta * np.abs(x))
    with np.errstate(divide="ignore"):
        D = -np.expm1(np.sum(np.log1p(-delta), axis=axis))
    return s, D


def atanh_product(x: np.ndarray, beta: float, axis: int = -1) -> np.ndarray:
    """atanh(prod_k tanh(beta x_k)) along ``axis``, stable at large beta."""
    s, D = signed_defect(x, beta, axis)
    with np.errstate(divide="ignore"):
        return s * 0.5 * (np.log(2.0 - D) - np.log(D))


def log1p_product(x: np.ndarray, beta: float, axis: int = -1) -> np.ndarray:
    """log(1 + prod_k tanh(beta x_k)) along ``axis``, stable at large beta (may be -inf)."""
    s, D = signed_defect(x, beta, axis)
    with np.errstate(divide="ignore"):
        return np.where(s > 0, np.log(2.0 - D), np.log(D))


def log2cosh(x: np.ndarray) -> np.ndarray:
    """log(2 cosh x) = |x| + log1p(exp(-2|x|)), without overflow."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    return a + np.log1p(np.exp(-2.0 * a))

"""Argument checks of the sensitivity analysis: clear ValueErrors that name the problem."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from maxent._validation import check_int, check_real  # noqa: F401  (the checks of this package)

ACTIVATIONS = ("sign", "relu")
PERTURBATIONS = ("dilution", "binarization", "flip")


def check_activation(activation: object) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {list(ACTIVATIONS)}")
    return str(activation)


def check_perturbation(perturbation: object, allowed: Sequence[str] = PERTURBATIONS) -> str:
    if perturbation not in allowed:
        raise ValueError(f"unknown perturbation {perturbation!r}; choose one of {list(allowed)}")
    return str(perturbation)


def check_keep(c: object) -> float:
    """Dilution keep probability c in (0, 1]."""
    f = check_real(c, "keep probability c")
    if not (0.0 < f <= 1.0):
        raise ValueError(f"keep probability c must lie in (0, 1], got {c!r}")
    return f


def check_flip(p: object) -> float:
    """Sign-flip probability p in [0, 1/2] (p > 1/2 is a flip plus a smaller noise)."""
    f = check_real(p, "flip probability p")
    if not (0.0 <= f <= 0.5):
        raise ValueError(f"flip probability p must lie in [0, 0.5], got {p!r}")
    return f


def check_rho(rho: object, *, allow_one: bool = True) -> float:
    """Weight correlation rho in (0, 1] (or (0, 1) where rho = 1 is degenerate)."""
    f = check_real(rho, "weight correlation rho")
    if not (0.0 < f < 1.0 or (allow_one and f == 1.0)):
        raise ValueError(f"weight correlation rho must lie in (0, {'1]' if allow_one else '1)'}, got {rho!r}")
    return f


def check_overlap_array(q: object, name: str, lo: float = -1.0) -> np.ndarray:
    arr = np.asarray(q, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if np.any(arr < lo) or np.any(arr > 1.0):
        raise ValueError(f"{name} must lie in [{lo}, 1], got values in [{arr.min()}, {arr.max()}]")
    return arr

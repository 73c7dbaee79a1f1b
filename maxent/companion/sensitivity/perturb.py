r"""Weight perturbations: dilution, binarization, sign flips, and the weight correlation rho.

A perturbation maps a weight matrix W to W'. What the overlap recursions need of it is the
weight correlation

    rho = E[W W'] / sqrt(E[W^2] E[W'^2])

of one entry with its perturbed copy (entries independent, zero mean).

* dilution, keep probability c in (0, 1]: W' = m W / sqrt(c), m ~ Bernoulli(c) i.i.d.; the
  1/sqrt(c) keeps E[W'^2] = E[W^2]; rho = c / sqrt(c) = sqrt(c).
* binarization: W' = sign(W) s, with s = sqrt(mean W^2) (the matrix rms, which for
  W ~ N(0, sigma^2/N) is sigma/sqrt(N) up to O(1/N)); for Gaussian W,
  rho = E|W| / sqrt(E W^2) = sqrt(2/pi).
* sign flips, probability p in [0, 1/2]: W' = -W with probability p; rho = 1 - 2p. For ±1
  weights (the trained networks of this library, where binarization is the identity) this is the
  natural "noise" perturbation; dilution of ±1 weights has rho = sqrt(c) as for any weights.

The variance-preserving scales do not affect any quantity computed here: sign activations and
the normalized (cosine) overlap of ReLU activities are invariant under a positive rescaling of
a layer, and so is the argmax of the logits (leaky ReLU is positively homogeneous).
All functions work on arrays of any leading shape (batches of matrices) and take a numpy
Generator for the randomness.
"""

from __future__ import annotations

import numpy as np

from maxent.companion.sensitivity._checks import check_flip, check_keep, check_perturbation

__all__ = ["dilute", "binarize", "flip_signs", "weight_correlation", "perturb", "level_for_rho"]


def dilute(W: np.ndarray, c: float, rng: np.random.Generator, *, rescale: bool = True) -> np.ndarray:
    """Keep each entry with probability c (i.i.d.), zero the rest; divide by sqrt(c) if ``rescale``.

    Parameters
    ----------
    W : ndarray (..., n_out, n_in), real
    c : float in (0, 1]
    rng : numpy Generator

    Returns
    -------
    ndarray, same shape, float (float32 stays float32)
    """
    c = check_keep(c)
    W = np.asarray(W)
    dtype = W.dtype if W.dtype.kind == "f" else np.float32
    keep = rng.random(W.shape, dtype=np.float32) < c
    out = np.where(keep, W, 0).astype(dtype, copy=False)
    return out / dtype.type(np.sqrt(c)) if rescale else out


def binarize(W: np.ndarray, *, scale: float | None = None) -> np.ndarray:
    """W' = sign(W) * scale, sign(0) = +1; default scale = rms of each matrix (last two axes).

    The default keeps sum W'^2 = sum W^2 for every matrix of the batch.
    """
    W = np.asarray(W)
    dtype = W.dtype if W.dtype.kind == "f" else np.float32
    s = np.where(W >= 0, 1, -1).astype(dtype)
    if scale is None:
        rms = np.sqrt(np.mean(np.square(W, dtype=np.float64), axis=(-2, -1), keepdims=True))
        return s * rms.astype(dtype)
    return s * dtype.type(scale)


def flip_signs(W: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Flip the sign of each entry with probability p (i.i.d.)."""
    p = check_flip(p)
    W = np.asarray(W)
    flip = rng.random(W.shape, dtype=np.float32) < p
    return np.where(flip, -W, W)


def weight_correlation(perturbation: str, level: float | None = None) -> float:
    """rho of a perturbation: sqrt(c) (dilution), sqrt(2/pi) (binarization of Gaussian W), 1 - 2p (flip)."""
    perturbation = check_perturbation(perturbation)
    if perturbation == "binarization":
        return float(np.sqrt(2.0 / np.pi))
    if level is None:
        raise ValueError(f"perturbation {perturbation!r} needs a level (c for dilution, p for flip)")
    if perturbation == "dilution":
        return float(np.sqrt(check_keep(level)))
    return float(1.0 - 2.0 * check_flip(level))


def level_for_rho(perturbation: str, rho: float) -> float:
    """Inverse of :func:`weight_correlation`: c = rho^2 (dilution), p = (1 - rho)/2 (flip)."""
    perturbation = check_perturbation(perturbation, ("dilution", "flip"))
    r = float(rho)
    if not (0.0 < r <= 1.0):
        raise ValueError(f"weight correlation rho must lie in (0, 1], got {rho!r}")
    return r * r if perturbation == "dilution" else (1.0 - r) / 2.0


def perturb(
    W: np.ndarray,
    perturbation: str,
    level: float | None,
    rng: np.random.Generator,
    *,
    scale: float | None = None,
) -> np.ndarray:
    """Dispatch: ``"dilution"`` (level c), ``"binarization"`` (no level), ``"flip"`` (level p).

    ``scale`` is the binarization scale (default: the rms of each matrix, see :func:`binarize`).
    """
    perturbation = check_perturbation(perturbation)
    if perturbation == "binarization":
        return binarize(W, scale=scale)
    if level is None:
        raise ValueError(f"perturbation {perturbation!r} needs a level (c for dilution, p for flip)")
    if perturbation == "dilution":
        return dilute(W, level, rng)
    return flip_signs(W, level, rng)

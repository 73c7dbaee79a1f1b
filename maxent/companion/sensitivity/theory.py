r"""Mean-field (infinite-width) overlap recursions of a random network and its perturbed copy.

**Inferred** derivation (Li & Saad 2020 was available as an abstract only); every formula here
is checked against direct simulation in :mod:`.simulate` and the tests.

Setting. A random network of depth L and width N: a_0 = x (one input, shared by both
networks), h_l = W_l a_{l-1}, a_l = phi(h_l), with W_l entries i.i.d. N(0, sigma^2/N). The
perturbed network uses W'_l = perturbation(W_l) in *every* layer and sees the *same* input,
so its activities a'_l start from a'_0 = a_0 (q_0 = 1). Order parameter of layer l:

    sign:  q_l = (1/N) sum_i a_{l,i} a'_{l,i}                         (a = sign(h) in {-1, +1})
    relu:  q_l = sum_i a_{l,i} a'_{l,i} / sqrt(sum_i a_{l,i}^2 sum_i a'_{l,i}^2)   (cosine)

Step. Given layer l-1, the rows of (W_l, W'_l) are i.i.d., so the pairs (h_i, h'_i) are i.i.d.
over units i with (for large N, by the central limit theorem over the fan-in) a bivariate
Gaussian law of correlation

    r_l = E[h h'] / sqrt(E h^2 E h'^2) = rho * sum_j a_j a'_j / (|a| |a'|) = rho * q_{l-1},

where rho is the weight correlation of :mod:`.perturb` (sqrt(c) for dilution, sqrt(2/pi) for
binarization, 1 - 2p for flips). For sign units the cosine of a_{l-1}, a'_{l-1} *is* q_{l-1};
for ReLU units it is the normalized overlap, which is why ReLU's order parameter is the cosine
and not the raw (1/N) sum a a'. By the law of large numbers over units:

    sign:  q_l = E[sign h sign h'] = (2/pi) asin(rho q_{l-1})
    relu:  q_l = E[relu h relu h'] / E[relu(h)^2] = k(rho q_{l-1}),
           k(r) = [sqrt(1 - r^2) + (pi - acos r) r] / pi          (arc-cosine kernel, degree 1)

using E[relu h relu h'] = sigma_h sigma_h' [sqrt(1 - r^2) + (pi - acos r) r] / (2 pi) and
E relu(h)^2 = sigma_h^2 / 2 (Cho & Saul). These are the recursions stated in the issue; the
derivation confirms them *provided* that (i) q_0 = 1 (same input, perturbation in every
layer), and (ii) the ReLU order parameter is the cosine (uncentred normalized overlap) of the
activities: the kernel k gives the normalized second moment of ReLU outputs, and the next
layer's correlation needs exactly this normalized uncentred overlap. With a centred overlap
(Pearson correlation of activities) the recursion would not close. sigma drops out.

Consequences: sign: the map q -> (2/pi) asin(rho q) is convex on [0, 1] with slope 2 rho / pi < 1
at 0 and value < 1 at 1, so q_l -> 0 with depth for every rho < 1 (the function is lost). ReLU:
k(0) = 1/pi > 0, so q_l -> q* > 1/pi (a fixed point q* = k(rho q*)): random ReLU networks keep a
finite overlap at any depth -- they are more robust than sign networks.

Finite width: the per-network, per-input q_l fluctuates around the recursion with standard
deviation O(1/sqrt(N)) (an average of N i.i.d. unit terms); the bias of its mean is O(1/N).
"""

from __future__ import annotations

import numpy as np

from maxent.companion.sensitivity._checks import check_activation, check_int, check_overlap_array, check_rho

__all__ = ["sign_kernel", "arccos_kernel", "layer_map", "overlap_recursion", "fixed_point"]


def sign_kernel(r: np.ndarray | float) -> np.ndarray:
    """E[sign h sign h'] = (2/pi) asin(r) for standard bivariate Gaussians of correlation r in [-1, 1]."""
    r = check_overlap_array(r, "correlation r")
    return (2.0 / np.pi) * np.arcsin(r)


def arccos_kernel(r: np.ndarray | float) -> np.ndarray:
    """Normalized ReLU kernel k(r) = [sqrt(1 - r^2) + (pi - acos r) r] / pi, r in [-1, 1].

    k(r) = E[relu h relu h'] / E[relu(h)^2] for standard bivariate Gaussians of correlation r;
    k(1) = 1, k(0) = 1/pi, k(-1) = 0.
    """
    r = check_overlap_array(r, "correlation r")
    return (np.sqrt(np.clip(1.0 - r * r, 0.0, None)) + (np.pi - np.arccos(r)) * r) / np.pi


def layer_map(activation: str, r: np.ndarray | float) -> np.ndarray:
    """The per-layer map r -> q: :func:`sign_kernel` or :func:`arccos_kernel`."""
    return sign_kernel(r) if check_activation(activation) == "sign" else arccos_kernel(r)


def overlap_recursion(activation: str, rho: float, depth: int, q0: float = 1.0) -> np.ndarray:
    """Mean-field overlaps q_0..q_L, q_l = F(rho q_{l-1}) with F = :func:`layer_map`.

    Parameters
    ----------
    activation : {"sign", "relu"}
    rho : float in (0, 1]
        Weight correlation of the perturbation (see :func:`.perturb.weight_correlation`).
    depth : int >= 1
        Number of layers L.
    q0 : float
        Overlap of the inputs (1: both networks see the same input).

    Returns
    -------
    ndarray (L + 1,): q_0, q_1, ..., q_L.
    """
    rho = check_rho(rho)
    depth = check_int(depth, "depth", 1)
    q = np.empty(depth + 1)
    q[0] = float(check_overlap_array(q0, "q0"))
    for layer in range(1, depth + 1):  # loop over layers (a recursion)
        q[layer] = layer_map(activation, rho * q[layer - 1])
    return q


def fixed_point(activation: str, rho: float, *, tol: float = 1e-13, max_iter: int = 100_000) -> float:
    """Large-depth limit q* of the recursion from q_0 = 1 (0 for sign, > 1/pi for relu, 1 if rho = 1)."""
    rho = check_rho(rho)
    q = 1.0
    for _ in range(max_iter):
        new = float(layer_map(activation, rho * q))
        if abs(new - q) < tol:
            return new
        q = new
    return q

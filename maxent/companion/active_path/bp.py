r"""Belief propagation for p-spin factor graphs (active path instances), Bethe thermodynamics.

Messages are cavity fields: h_{i->a} (variable to factor) and u_{a->i} (factor to variable),
both arrays (M, p) aligned with ``instance.factors``::

    u_{a->i} = (1/beta) atanh( tanh(beta J_a) prod_{j in a \ i} tanh(beta h_{j->a}) )
    H_i      = f_i + sum_{a ∋ i} u_{a->i},         h_{i->a} = H_i - u_{a->i}

(updated in parallel, with optional damping on h). At a fixed point the Bethe free entropy is

    log Z_Bethe = sum_i log Z_i + sum_a log Z_a - sum_{(i,a)} log Z_{ia},
    Z_i   = 2 cosh(beta H_i) / prod_{a ∋ i} 2 cosh(beta u_{a->i})    (times e^{0} for free spins),
    Z_a   = cosh(beta J_a) (1 + tanh(beta J_a) prod_{i in a} tanh(beta h_{i->a})),
    Z_ia  = (1 + tanh(beta h_{i->a}) tanh(beta u_{a->i})) / 2,

the energy <E> = -sum_a J_a <prod_{i in a} w_i>_a - sum_i f_i m_i with the factor beliefs
<prod w>_a = (tanh beta J_a + T_a) / (1 + tanh(beta J_a) T_a), T_a = prod_i tanh(beta h_{i->a}),
the entropy S = log Z + beta <E>, the magnetizations m_i = tanh(beta H_i) and the self-overlap
q = (1/n) sum_i m_i^2 (Edwards-Anderson parameter of the BP state; 0 in the paramagnet).
All products use the stable forms of :mod:`._fields`. BP and the Bethe quantities are exact on
tree factor graphs and approximate on loopy ones (the tests measure the error against exact
enumeration).

Without fields the paramagnet h = u = 0 is always a fixed point (log Z = n ln 2 +
sum_a log cosh beta J_a); in the glass phase other fixed points exist (reached e.g. from the
planted configuration, ``init="planted"``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ._fields import atanh_product, log1p_product, log2cosh
from .instances import PathInstance, _check_beta

__all__ = ["BPResult", "run_bp"]


@dataclass(frozen=True)
class BPResult:
    """Fixed point of BP and its Bethe thermodynamics (extensive totals; divide by n for densities)."""

    h: np.ndarray  # (M, p) cavity fields variable -> factor
    u: np.ndarray  # (M, p) factor -> variable
    magnetizations: np.ndarray  # (n,)
    log_z: float
    energy: float
    entropy: float
    q_ea: float
    converged: bool
    n_iter: int


def _factor_messages(h: np.ndarray, J: np.ndarray, beta: float) -> np.ndarray:
    M, p = h.shape
    u = np.empty_like(h)
    for k in range(p):
        others = np.concatenate([J[:, None], np.delete(h, k, axis=1)], axis=1)
        u[:, k] = atanh_product(others, beta, axis=1) / beta
    return u


def run_bp(
    instance: PathInstance,
    beta: float,
    *,
    init: str = "random",
    damping: float = 0.0,
    tol: float = 1e-10,
    max_iter: int = 2000,
    seed: int | np.random.Generator | None = None,
    warn: bool = True,
) -> BPResult:
    """Run parallel BP on ``instance`` at inverse temperature ``beta``.

    Parameters
    ----------
    instance : PathInstance
    beta : float > 0
    init : {"random", "zero", "planted"}
        Starting h: N(0, 1) fields; zeros (the paramagnet when fields are zero); or 10 w*_i (needs
        ``instance.planted``).
    damping : float in [0, 1)
        h <- damping * h_old + (1 - damping) * h_new.
    tol : float
        Convergence when max |Δh| < tol.
    max_iter : int
    seed : int or Generator (for init="random")
    warn : bool
        Warn when BP did not converge.

    Returns
    -------
    BPResult
    """
    beta = _check_beta(beta)
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must lie in [0, 1), got {damping!r}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter!r}")
    F, J, f = instance.factors, instance.J, instance.fields
    M, p = F.shape
    n = instance.n_vars
    if init == "random":
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        h = rng.normal(size=(M, p))
    elif init == "zero":
        h = np.zeros((M, p))
    elif init == "planted":
        if instance.planted is None:
            raise ValueError("init='planted' needs a planted instance (planted_beta=...)")
        h = 10.0 * instance.planted[F].astype(np.float64)
    else:
        raise ValueError(f"init must be 'random', 'zero' or 'planted', got {init!r}")
    flat = F.ravel()
    converged = False
    n_done = 0
    for it in range(1, max_iter + 1):
        n_done = it
        u = _factor_messages(h, J, beta)
        H = f + np.bincount(flat, weights=u.ravel(), minlength=n)
        h_new = H[F] - u
        diff = float(np.max(np.abs(h_new - h))) if h.size else 0.0
        h = damping * h + (1.0 - damping) * h_new if damping else h_new
        if diff < tol:
            converged = True
            break
    if not converged and warn:
        warnings.warn(
            f"BP did not converge in {max_iter} iterations (last max|Δh| = {diff:.2e})", stacklevel=2
        )
    u = _factor_messages(h, J, beta)
    H = f + np.bincount(flat, weights=u.ravel(), minlength=n)
    h = H[F] - u
    m = np.tanh(beta * H)
    # Bethe free entropy
    bu = beta * u
    log_zi = log2cosh(beta * H) - np.bincount(flat, weights=log2cosh(bu).ravel(), minlength=n)
    Jh = np.concatenate([J[:, None], h], axis=1)
    log_za = (log2cosh(beta * J) - np.log(2.0)) + log1p_product(Jh, beta, axis=1)
    pair = np.stack([h, u], axis=-1)
    log_zia = log1p_product(pair, beta, axis=-1) - np.log(2.0)
    log_z = float(log_zi.sum() + log_za.sum() - log_zia.sum())
    # factor beliefs <prod w>_a
    tJ = np.tanh(beta * J)
    T = np.prod(np.tanh(beta * h), axis=1)
    corr = (tJ + T) / (1.0 + tJ * T)
    energy = float(-(J @ corr) - f @ m)
    return BPResult(h, u, m, log_z, energy, log_z + beta * energy, float(np.mean(m**2)), converged, n_done)

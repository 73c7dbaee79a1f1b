r"""Population dynamics for the diluted +-J p-spin ensemble (large-N active path model).

Ensemble: variables of Poisson(c) degree, factors of size p with J = ±1; on a random tree-like
graph the cavity fields of BP (:mod:`.bp`) become random variables whose law solves

    h  =_d  sum_{b=1}^{K} u_b,        K ~ Poisson(c)            (excess degree, Poisson graph)
    u  =_d  (1/beta) atanh( tanh(beta J) prod_{j=1}^{p-1} tanh(beta h_j) ),

represented by a population of ``pop_size`` samples updated in parallel (one iteration replaces
every member). Densities per variable (Bethe, averaged over the population):

    phi = E log Z_i + (c/p) E log Z_a - c E log Z_ia         (free entropy, log Z / n)
    e   = -(c/p) E[ J (tanh beta J + T) / (1 + tanh(beta J) T) ],  T = prod_{k=1}^p tanh(beta h_k)
    s   = phi + beta e

with Z_i, Z_a, Z_ia as in :mod:`.bp`. The paramagnet h = 0 gives the closed forms (oracle)

    phi_para = ln 2 + (c/p) ln cosh beta,   e_para = -(c/p) tanh beta,
    s_para   = ln 2 + (c/p) (ln cosh beta - beta tanh beta).

**Replica symmetric** (:func:`rs_population`): J uniform ±1, any start. At high T or small c
it converges to the paramagnet; at low T and large c a random start reaches an RS spin-glass
solution (q_EA > 0, e.g. q_EA = 0.82 at c = 6, T = 1/3) whose entropy is negative (s = -0.13
there), as is the paramagnet's at low T: the RS entropy crisis, the sign that replica symmetry
is wrong there and 1RSB is needed.

**1RSB at Parisi parameter m = 1** (:func:`cavity_m1`). At m = 1 the 1RSB equations reduce to
the reconstruction problem on the tree (Mezard & Montanari 2006): in the gauge where the planted
(equilibrium) configuration is all +1, draw J = +1 with probability e^beta / (2 cosh beta), start
from h = +infinity (the leaves know the configuration) and iterate the *same* recursion. The
order parameter

    q = E tanh(beta H)      (overlap of a typical state with the configuration inside it)

is 0 in the paramagnet and jumps to q_d > 0 at the dynamical (clustering) transition c_d(T)
(p >= 3: the paramagnet stays locally stable because u ~ h^(p-1), so the jump is discontinuous,
a random first-order transition; p = 2: the Kesten-Stigum instability c tanh^2 beta = 1 makes
it continuous). The complexity of the states at m = 1 is

    Sigma(1) = phi_para - phi_state,

phi_state being the Bethe free entropy above evaluated on the planted population (with the
planted law of J); it vanishes at the static (condensation, Kauzmann) transition c_s(T). At
T -> 0 the planted recursion becomes warning propagation on the core and Sigma(1) -> ln 2 x the
XORSAT complexity (:mod:`.xorsat`), which the tests check.

Approximations: finite population (statistical error ~ pop_size^-1/2, systematic bias
O(1/pop_size)), finite number of iterations (near c_d the approach to the fixed point is slow);
the mapping active path model -> Poisson p-spin ensemble is exact only as N -> infinity at fixed
c (and *inferred*, see :mod:`.instances`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maxent._validation import check_int

from ._fields import atanh_product, log1p_product, log2cosh
from .instances import _check_beta

__all__ = ["PopulationResult", "rs_population", "cavity_m1", "paramagnet"]


@dataclass(frozen=True)
class PopulationResult:
    """Densities per variable from population dynamics (means over the measurement iterations,
    with their standard errors ``*_err`` from those iterations, taken as independent)."""

    c: float
    p: int
    beta: float
    q: float  # E tanh(beta H) (planted overlap; RS: mean magnetization)
    q_ea: float  # E tanh^2(beta H)
    phi: float
    energy: float
    entropy: float
    complexity: float  # phi_para - phi (m = 1 complexity for the planted population)
    q_err: float
    phi_err: float
    complexity_err: float
    h: np.ndarray  # final cavity-field population (pop_size,)


def paramagnet(c: float, p: int, beta: float) -> dict[str, float]:
    """Closed-form paramagnetic densities phi, energy, entropy (the h = 0 fixed point)."""
    lc = float(log2cosh(beta) - np.log(2.0))
    return {
        "phi": np.log(2.0) + c / p * lc,
        "energy": -c / p * np.tanh(beta),
        "entropy": np.log(2.0) + c / p * (lc - beta * np.tanh(beta)),
    }


def _check(c: float, p: int, beta: float, pop_size: int, n_iter: int, n_measure: int) -> tuple:
    c = float(c)
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"mean degree c must be a finite positive float, got {c!r}")
    p = check_int(p, "p", 1)
    beta = _check_beta(beta)
    if beta > 200:
        raise ValueError(f"beta={beta} is beyond the stable range (<= 200); use the T = 0 solvers in .xorsat")
    pop_size = check_int(pop_size, "pop_size", 2)
    return c, p, beta, pop_size, check_int(n_iter, "n_iter", 0), check_int(n_measure, "n_measure", 1)


def _draw_J(rng: np.random.Generator, size: int, beta: float, planted: bool) -> np.ndarray:
    p_plus = 0.5 * (1.0 + np.tanh(beta)) if planted else 0.5
    return np.where(rng.random(size) < p_plus, 1.0, -1.0)


def _u_messages(
    h: np.ndarray, n: int, p: int, beta: float, planted: bool, rng: np.random.Generator
) -> np.ndarray:
    """n fresh factor messages from random members of the h population."""
    J = _draw_J(rng, n, beta, planted)
    idx = rng.integers(0, h.size, size=(n, p - 1))
    return atanh_product(np.concatenate([J[:, None], h[idx]], axis=1), beta, axis=1) / beta


def _step(
    h: np.ndarray, c: float, p: int, beta: float, planted: bool, rng: np.random.Generator
) -> np.ndarray:
    K = rng.poisson(c, size=h.size)
    u = _u_messages(h, int(K.sum()), p, beta, planted, rng)
    return np.bincount(np.repeat(np.arange(h.size), K), weights=u, minlength=h.size)


def _measure(h: np.ndarray, c: float, p: int, beta: float, planted: bool, rng: np.random.Generator) -> tuple:
    n = h.size
    u_pop = _u_messages(h, n, p, beta, planted, rng)
    # variable term and full fields: full degree Poisson(c)
    K = rng.poisson(c, size=n)
    us = u_pop[rng.integers(0, n, size=int(K.sum()))]
    owner = np.repeat(np.arange(n), K)
    H = np.bincount(owner, weights=us, minlength=n)
    log_zi = log2cosh(beta * H) - np.bincount(owner, weights=log2cosh(beta * us), minlength=n)
    # factor term
    J = _draw_J(rng, n, beta, planted)
    hs = h[rng.integers(0, n, size=(n, p))]
    log_za = (
        log2cosh(beta * J)
        - np.log(2.0)
        + log1p_product(np.concatenate([J[:, None], hs], axis=1), beta, axis=1)
    )
    # edge term
    pair = np.stack([h[rng.integers(0, n, size=n)], u_pop[rng.integers(0, n, size=n)]], axis=1)
    log_zia = log1p_product(pair, beta, axis=1) - np.log(2.0)
    # control variate: the paramagnetic value of log Z_i given the degree, (1 - K) ln 2, has the
    # known mean (1 - c) ln 2; subtracting it removes the degree noise from phi
    ln2 = np.log(2.0)
    phi_i = np.mean(log_zi - (1.0 - K) * ln2) + (1.0 - c) * ln2
    phi = phi_i + c / p * log_za.mean() - c * log_zia.mean()
    tJ = np.tanh(beta * J)
    T = np.prod(np.tanh(beta * hs), axis=1)
    e = -c / p * np.mean(J * (tJ + T) / (1.0 + tJ * T))
    t = np.tanh(beta * H)
    return t.mean(), (t**2).mean(), phi, e


def _run(c, p, beta, pop_size, n_iter, n_measure, seed, planted, h0) -> PopulationResult:
    c, p, beta, pop_size, n_iter, n_measure = _check(c, p, beta, pop_size, n_iter, n_measure)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    h = h0(rng, pop_size)
    for _ in range(n_iter):
        h = _step(h, c, p, beta, planted, rng)
    rows = []
    for _ in range(n_measure):
        h = _step(h, c, p, beta, planted, rng)
        rows.append(_measure(h, c, p, beta, planted, rng))
    R = np.array(rows)
    mean = R.mean(axis=0)
    err = R.std(axis=0, ddof=1) / np.sqrt(n_measure) if n_measure > 1 else np.full(4, np.nan)
    para = paramagnet(c, p, beta)
    q, q_ea, phi, e = mean
    return PopulationResult(
        c,
        p,
        beta,
        float(q),
        float(q_ea),
        float(phi),
        float(e),
        float(phi + beta * e),
        float(para["phi"] - phi),
        float(err[0]),
        float(err[2]),
        float(err[2]),
        h,
    )


def rs_population(
    c: float,
    p: int,
    beta: float,
    *,
    pop_size: int = 10_000,
    n_iter: int = 100,
    n_measure: int = 20,
    init_scale: float = 1.0,
    seed: int | np.random.Generator | None = None,
) -> PopulationResult:
    """Replica-symmetric population dynamics (J uniform ±1) from h ~ N(0, init_scale^2).

    Parameters
    ----------
    c : float > 0
        Mean variable degree (paths per weight).
    p : int >= 1
        Factor size (depth L).
    beta : float > 0
    pop_size, n_iter, n_measure : int
        Population size, equilibration iterations, measurement iterations.
    init_scale : float
    seed : int or Generator
    """
    return _run(
        c, p, beta, pop_size, n_iter, n_measure, seed, False, lambda r, n: init_scale * r.normal(size=n)
    )


def cavity_m1(
    c: float,
    p: int,
    beta: float,
    *,
    pop_size: int = 10_000,
    n_iter: int = 200,
    n_measure: int = 20,
    seed: int | np.random.Generator | None = None,
) -> PopulationResult:
    """1RSB cavity at m = 1 by planted (reconstruction) population dynamics, from h = +infinity.

    Returns a :class:`PopulationResult` whose ``q`` is the order parameter of the clustered phase
    (0 in the paramagnet, > 0 beyond the dynamical transition) and ``complexity`` = Sigma(1)
    (meaningful where q > 0; it crosses zero at the static transition). Parameters as in
    :func:`rs_population`.
    """
    return _run(c, p, beta, pop_size, n_iter, n_measure, seed, True, lambda r, n: np.full(n, 50.0))

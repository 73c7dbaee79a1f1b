r"""Rare events of the last-layer overlap by tilted sampling of real finite-width networks.

The large-deviation theory (:mod:`.large_deviations`) predicts P(q_L ~ q) ~ exp(-N Phi_L(q)) and
lambda(theta) = lim (1/N) ln E exp(N theta q_L). Plain simulation cannot reach probabilities like
1e-15; this module samples the *tilted* law P_theta(path) ~ P(path) exp(N theta q_L) of actual
networks (Gaussian weights, the real perturbation, no Gaussian approximation of preactivations)
with a sequential Monte Carlo (particle) method whose steps are *units*, not layers.

Why units. Tilting whole layers (weight exp(N theta q_l) per layer) degenerates: the log-weights
of K particles spread by ~ theta sqrt(N) and one particle takes all the weight. But q_l is an
average over units that are i.i.d. given the previous layer, so the tilt factorizes over units.

Algorithm. Particles k = 1..K are network pairs with one shared input (q_0 = 1). Along the
theory's optimal path q*_l for the target tilt (:func:`.large_deviations.path_rate`),
layer l uses the unit tilt t_l = the one-layer Legendre multiplier that makes q*_l typical given
r = rho q*_{l-1}, and the unit score y (sign: s s'; relu: phi phi' - q*_l (phi^2 + phi'^2)/2 on
standardized preactivations, the exponent of :func:`relu_layer_cgf`). Unit i of layer l draws a
fresh weight row for every particle and multiplies its weight by

    exp(t_l y_i - Lambda_l(t_l; rho q_{l-1}))        (Lambda_l: the one-unit CGF of the theory),

and at the end of layer l by exp(N [Lambda_{l+1}(t_{l+1}; rho q_l) - t_l Ybar_l]) (l < L) or
exp(N [theta q_L - t_L Ybar_L]) (l = L), with a constant exp(N Lambda_1(t_1; rho)) up front.
The product telescopes to exactly exp(N theta q_L) whatever the theory's accuracy, so

    Z_hat = prod over resampling epochs of mean_k (accumulated weight)   is unbiased for E exp(N theta q_L);

the theory only chooses the twist (hence the variance). Particles are resampled (systematic)
whenever the effective sample size drops below K/2 and at every layer end. The weighted final
particles give unbiased tail probabilities P(q_L in bin) = Z_hat sum_k w_k 1_bin exp(-N theta q_L^k).
ln Z_hat is biased low by about half its variance; independent repeats give error bars.

The Python loop runs over layers and blocks of units (the sequential steps of the algorithm);
each step is vectorized over particles and the units of the block. Cost per step: K x b x N
normal numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from maxent.companion.sensitivity._checks import (
    check_activation,
    check_int,
    check_perturbation,
    check_real,
)
from maxent.companion.sensitivity.large_deviations import (
    PathRate,
    path_rate,
    relu_layer_cgf,
    relu_layer_rate,
    scgf,
    sign_layer_cgf,
    sign_layer_tilt,
)
from maxent.companion.sensitivity.perturb import perturb, weight_correlation
from maxent.companion.sensitivity.simulate import activate

__all__ = ["TiltedRun", "twist", "tilted_run", "tilted_tails"]


@dataclass(frozen=True)
class TiltedRun:
    """One particle run at tilt theta.

    Attributes
    ----------
    theta : float
    log_z : float
        ln Z_hat, estimate of ln E exp(N theta q_L).
    q : ndarray (K,)
        Final-layer overlaps of the particles.
    log_w : ndarray (K,)
        Their normalized log weights (logsumexp = 0).
    width : int
    n_resample : int
        Number of resampling events (diagnostic).
    """

    theta: float
    log_z: float
    q: np.ndarray
    log_w: np.ndarray
    width: int
    n_resample: int

    @property
    def scgf(self) -> float:
        """lambda_N(theta) = ln Z_hat / N."""
        return self.log_z / self.width

    @property
    def ess(self) -> float:
        """Effective sample size of the final weights, 1 / sum w^2."""
        return float(np.exp(-logsumexp(2.0 * self.log_w)))

    def log_prob(self, edges: np.ndarray) -> np.ndarray:
        """ln of the estimated P(q_L in [edges[i], edges[i+1])) (-inf for bins without particles)."""
        edges = np.asarray(edges, dtype=np.float64)
        which = np.searchsorted(edges, self.q, side="right") - 1
        terms = self.log_w - self.width * self.theta * self.q + self.log_z
        out = np.full(edges.size - 1, -np.inf)
        ok = (which >= 0) & (which < edges.size - 1)
        for b in np.unique(which[ok]):  # loop over occupied bins (<= number of bins)
            out[b] = logsumexp(terms[which == b])
        return out

    def counts(self, edges: np.ndarray) -> np.ndarray:
        """Particles in each bin (how well the tilted law covers it)."""
        return np.histogram(self.q, bins=edges)[0]


def twist(theory: PathRate, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """Optimal path q*_0..q*_L (q*_0 = 1) for the final tilt theta, and unit tilts t_1..t_L.

    q*_L = argmax_q [theta q - Phi_L(q)]; the path is the minimizer of the contraction; t_l is the
    one-layer Legendre multiplier u*(q*_l | rho q*_{l-1}).
    """
    g = int(np.argmax(theta * theory.grid - theory.rates[-1]))
    path = np.concatenate([[1.0], theory.paths[-1, g]])
    r = theory.rho * path[:-1]
    if theory.activation == "sign":
        t = sign_layer_tilt(np.clip(path[1:], -1 + 1e-9, 1 - 1e-9), r)
    else:
        t = relu_layer_rate(path[1:], r, return_tilt=True)[1]
    return path, np.asarray(t, dtype=np.float64)


def _unit_cgf(activation: str, t: float, q_ref: float, r: np.ndarray) -> np.ndarray:
    if activation == "sign":
        return sign_layer_cgf(t, np.clip(r, -1.0, 1.0))
    return relu_layer_cgf(t, q_ref, np.clip(r, 0.0, 1.0 - 1e-12))


def _systematic(log_w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    w = np.exp(log_w - logsumexp(log_w))
    K = w.size
    return np.minimum(np.searchsorted(np.cumsum(w), (rng.random() + np.arange(K)) / K), K - 1)


def _ess(log_w: np.ndarray) -> float:
    return float(np.exp(2.0 * logsumexp(log_w) - logsumexp(2.0 * log_w)))


def _cosine(a: np.ndarray, ap: np.ndarray, activation: str) -> np.ndarray:
    dot = np.einsum("kn,kn->k", a, ap)
    if activation == "sign":
        return dot / a.shape[1]
    norm = np.sqrt(np.einsum("kn,kn->k", a, a) * np.einsum("kn,kn->k", ap, ap))
    return np.divide(dot, norm, out=np.zeros_like(dot), where=norm > 0)


def tilted_run(
    activation: str,
    perturbation: str,
    level: float | None,
    *,
    theta: float,
    width: int,
    depth: int,
    n_particles: int = 1000,
    block: int = 4,
    theory: PathRate | None = None,
    random_state: int | np.random.Generator | None = None,
) -> TiltedRun:
    """Sample the tilted law of q_L with ``n_particles`` particles (see the module docstring).

    Parameters
    ----------
    activation : {"sign", "relu"}
    perturbation : {"dilution", "binarization", "flip"}
    level : float or None
        c (dilution), p (flip), None (binarization).
    theta : float
        Tilt; theta < 0 favours small overlaps (large function changes), 0 is plain sampling.
    width, depth : int
        N >= 2 (input width N too), L >= 1.
    n_particles : int >= 2
    block : int >= 1
        Units drawn per step (ESS is checked after every block).
    theory : PathRate, optional
        The contraction for (activation, rho, depth), if already computed.
    """
    activation = check_activation(activation)
    perturbation = check_perturbation(perturbation)
    rho = weight_correlation(perturbation, level)
    theta = check_real(theta, "theta")
    N = check_int(width, "width", 2)
    L = check_int(depth, "depth", 1)
    K = check_int(n_particles, "n_particles", 2)
    block = check_int(block, "block", 1)
    rng = np.random.default_rng(random_state)
    if theory is None:
        theory = path_rate(activation, rho, L)
    path, t = twist(theory, theta)
    a = rng.standard_normal((K, N)).astype(np.float64)
    ap = a.copy()
    q_prev = np.ones(K)
    log_z = float(N * _unit_cgf(activation, t[0], path[1], np.array([rho]))[0])
    log_w = np.zeros(K)
    n_res = 0
    scale = 1.0 / np.sqrt(N)  # weight sd (sigma = 1); also the binarization scale
    for layer in range(L):  # sequential steps: layers ...
        sd = np.sqrt(np.einsum("kn,kn->k", a, a)) * scale  # sd of h given the previous layer
        sdp = np.sqrt(np.einsum("kn,kn->k", ap, ap)) * scale
        lam = _unit_cgf(activation, t[layer], path[layer + 1], rho * q_prev)  # (K,)
        new_a = np.empty((K, N))
        new_ap = np.empty((K, N))
        y_sum = np.zeros(K)
        for s in range(0, N, block):  # ... and blocks of units
            b = min(block, N - s)
            W = rng.standard_normal((K, b, N)) * scale
            Wp = perturb(W, perturbation, level, rng, scale=scale)
            h = np.einsum("kbn,kn->kb", W, a)
            hp = np.einsum("kbn,kn->kb", Wp, ap)
            new_a[:, s : s + b] = activate(h, activation)
            new_ap[:, s : s + b] = activate(hp, activation)
            if activation == "sign":
                y = new_a[:, s : s + b] * new_ap[:, s : s + b]
            else:
                f = np.maximum(h / np.where(sd > 0, sd, 1.0)[:, None], 0.0)
                fp = np.maximum(hp / np.where(sdp > 0, sdp, 1.0)[:, None], 0.0)
                y = f * fp - path[layer + 1] * (f * f + fp * fp) / 2.0
            y = y.sum(axis=1)
            y_sum += y
            log_w += t[layer] * y - b * lam
            if _ess(log_w) < K / 2 and s + b < N:
                log_z += float(logsumexp(log_w) - np.log(K))
                idx = _systematic(log_w, rng)
                a, ap, new_a, new_ap = a[idx], ap[idx], new_a[idx], new_ap[idx]
                q_prev, lam, y_sum, sd, sdp = q_prev[idx], lam[idx], y_sum[idx], sd[idx], sdp[idx]
                log_w = np.zeros(K)
                n_res += 1
        a, ap = new_a, new_ap
        q = _cosine(a, ap, activation)
        if layer < L - 1:
            nxt = _unit_cgf(activation, t[layer + 1], path[layer + 2], rho * q)
            log_w += N * nxt - t[layer] * y_sum
            log_z += float(logsumexp(log_w) - np.log(K))
            idx = _systematic(log_w, rng)
            a, ap, q = a[idx], ap[idx], q[idx]
            log_w = np.zeros(K)
            n_res += 1
        else:
            log_w += N * theta * q - t[layer] * y_sum
        q_prev = q
    log_z += float(logsumexp(log_w) - np.log(K))
    return TiltedRun(
        theta=theta, log_z=log_z, q=q_prev, log_w=log_w - logsumexp(log_w), width=N, n_resample=n_res
    )


def tilted_tails(
    activation: str,
    perturbation: str,
    level: float | None,
    *,
    thetas: np.ndarray,
    width: int,
    depth: int,
    n_particles: int = 1000,
    n_repeats: int = 3,
    n_bins: int = 40,
    min_count: int = 20,
    random_state: int | np.random.Generator | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated SCGF and tail rate of q_L against the path-minimized theory.

    Returns
    -------
    scgf_table : DataFrame, one row per theta: theta, lambda_sim (mean over repeats), lambda_sem,
        lambda_theory, error (lambda_sim - lambda_theory), ess (mean final effective sample size),
        width, depth, activation, perturbation, rho.
    rate_table : DataFrame, one row per bin (sign: bins of whole lattice cells of q, spacing 2/N):
        q (bin centre), rate_sim = -(1/N) ln(P(bin) / bin width) (P pooled over the repeats, from
        the theta that put the most particles into the bin; NaN where no theta put ``min_count``),
        rate_theory (Phi_L at the bin centre, interpolated),
        theta (the tilt used), count, width, depth, activation, perturbation, rho.
    """
    rho = weight_correlation(perturbation, level)
    thetas = np.atleast_1d(np.asarray(thetas, dtype=np.float64))
    n_repeats = check_int(n_repeats, "n_repeats", 1)
    rng = np.random.default_rng(random_state)
    theory = path_rate(activation, rho, depth)
    phi_L = theory.rates[-1]
    n_bins = check_int(n_bins, "n_bins", 2)
    if activation == "sign":
        # q lives on the lattice -1, -1 + 2/N, ..., 1: bins hold the same number of lattice points
        step = max(1, int(round(width / n_bins))) * 2.0 / width
        edges = np.arange(-1.0 - 1.0 / width, 1.0 + 1.0 / width + step, step)
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    bw = edges[1] - edges[0]
    scgf_rows, best = [], {}
    for th in thetas:  # loop over tilts and repeats (each a vectorized particle run)
        runs = [
            tilted_run(
                activation,
                perturbation,
                level,
                theta=th,
                width=width,
                depth=depth,
                n_particles=n_particles,
                theory=theory,
                random_state=rng,
            )
            for _ in range(n_repeats)
        ]
        lam = np.array([r.scgf for r in runs])
        lam_th = float(scgf(theory.grid, phi_L, th))
        scgf_rows.append(
            {
                "theta": float(th),
                "lambda_sim": float(lam.mean()),
                "lambda_sem": float(lam.std(ddof=1) / np.sqrt(n_repeats)) if n_repeats > 1 else np.nan,
                "lambda_theory": lam_th,
                "error": float(lam.mean() - lam_th),
                "ess": float(np.mean([r.ess for r in runs])),
            }
        )
        counts = sum(r.counts(edges) for r in runs)
        # pooled estimate: the mean of the repeats' unbiased probabilities
        logp = logsumexp([r.log_prob(edges) for r in runs], axis=0) - np.log(n_repeats)
        for b in np.flatnonzero(counts >= min_count):
            if b not in best or counts[b] > best[b][0]:
                best[b] = (int(counts[b]), float(th), float(logp[b]))
    common = {
        "width": int(width),
        "depth": int(depth),
        "activation": activation,
        "perturbation": perturbation,
        "rho": rho,
    }
    scgf_table = pd.DataFrame(scgf_rows).assign(**common)
    rate_rows = []
    for b, centre in enumerate(
        centres
    ):  # one row per bin: the theory everywhere, the simulation where covered
        count, th, lp = best.get(b, (0, np.nan, np.nan))
        rate_rows.append(
            {
                "q": float(centre),
                "rate_sim": -(lp - np.log(bw)) / width if count else np.nan,
                "rate_theory": float(np.interp(centre, theory.grid, phi_L)),
                "theta": th,
                "count": count,
            }
        )
    return scgf_table, pd.DataFrame(rate_rows).assign(**common)

r"""Mean-field theory of the layer covariance for correlated, i.i.d. and orthogonal synapses.

*Inferred* (the seed paper's derivation is not available, only its abstract): a closure of the
neural covariance C_l = Cov_x(a_l) over the input ensemble in a few traces, averaged over the
synapses (quenched, one network, self-averaging at large N). Network as in :mod:`.propagation`,
h = s W a with s^2 = sigma^2 / n_in and Corr(W) the Kronecker sum of :mod:`.generators` with
b = rho_post, c = rho_pre, a = 1 - b - c.

State of a layer (A = C_{l-1}, abar = mean activity vector over the inputs, 1 = ones):

    T1 = Tr A,  T2 = Tr A^2,  S1 = 1^T A 1,  S2 = 1^T A^2 1,  M2 = |abar|^2,  M1 = 1^T abar.

Linear step, G = s^2 W A W^T (the covariance of the fields), exact Gaussian averages by
Isserlis' theorem with S = (a + c) I + b 1 1^T (rows i != k, k' distinct):

    g      = E G_ii           = s^2 Tr(A S),   Tr(A S) = (a+c) T1 + b S1
    Var G_ii                  = 2 s^4 Tr(A S A S),
                                Tr(ASAS) = (a+c)^2 T2 + 2 (a+c) b S2 + b^2 S1^2
    m_G    = E G_ik           = s^2 c T1                       (coherent part, pre-shared)
    E G_ik^2                  = s^4 [c^2 T1^2 + Tr(ASAS) + c^2 T2]
    E G_ik G_ik'              = s^4 [c^2 T1^2 + c ((a+c) T2 + b S2) + c^2 T2]
    tau^2  = E mu_i^2         = s^2 [(a+c) M2 + b M1^2]        (mean field mu_i = s w_i . abar)

Orthogonal synapses (square layers, W W^T = n I): g = sigma^2 T1 / n, m_G = 0,
E G_ik G_ik' = 0, sum_i E G_ii^2 = sigma^4 (T1^2 + 2 T2) / (n + 2) (Haar vector moments) and
E G_ik^2 = sigma^4 [T2 - (T1^2 + 2 T2)/(n + 2)] / (n (n - 1)), so Tr G^2 = sigma^4 T2 exactly.
Binary synapses enter through their (exact) pair correlations: a *Gaussian-equivalent*
approximation (their fourth cumulants are dropped; an O(1/N) error, tested).

Nonlinear step. Each field h_i(x) is Gaussian over the inputs with variance g and a quenched
mean mu_i ~ N(0, tau^2); with V(mu) = Var phi(h), kappa(mu) = E phi'(h), M(mu) = E phi(h),
cross-covariances are linearized (first term of Mehler's expansion, valid while
|G_ik| << g, i.e. rho -> 0 as N grows):

    C_ii = V(mu_i),   C_ik = kappa_i kappa_k G_ik   (i != k),

and with E over mu (outer Gauss-Hermite; closed forms for (leaky) ReLU, inner quadrature for
tanh; fluctuations of G_ii enter E V^2 by the delta method, V'(g)^2 Var G_ii):

    T1' = n E V,       T2' = n E V^2 + n (n-1) (E kappa^2)^2 E G_ik^2,
    S1' = n E V + n (n-1) kappabar^2 m_G,
    S2' = n [E V^2 + 2 E[V kappa] kappabar (n-1) m_G
             + E kappa^2 ((n-1) E kappa^2 E G_ik^2 + (n-1)(n-2) kappabar^2 E G_ik G_ik')],
    M2' = n E M^2,     M1' = n E M.

Predictions: D_l / n_l = T1'^2 / (n T2') and Delta_l = (E kappa^2)^2 E G_ik^2 / (E V)^2.

For a linear network the one-step traces T1, T2 are exact in expectation; over several layers
the closure replaces E[T1^2] by E[T1]^2 (relative error O(1/N)); the nonlinear closure carries
the linearization error O(1/N) relative. A second approximation: a neuron's gain kappa_i
(a function of its field variance G_ii) and its cross-covariances G_ik are averaged
independently, while both grow with the same row's alignment to the top of the spectrum of A
(relative sd of G_ii ~ sqrt(2 / D)); for tanh this overestimates N Delta (orthogonal synapses,
N = 64: 0.367 with independent averaging vs 0.344 with the per-neuron gains, same G). Correcting
it needs Tr A^3 and a longer hierarchy; it is not done. Measured errors (tanh, depth 4,
16 networks, ``benchmarks/bench_correlated.py``): mean |D/N error| over layers 0.001-0.004 at
N = 512 for i.i.d., pre- or post-correlated Gaussian and binary synapses (about N^-0.7 to
N^-1.2 from N = 64), 0.006 for orthogonal synapses (not decreasing: the gain/cross-covariance
correlation above), and outside the domain (pre and post both at N^-1/2) 0.006 with a growing
N Delta error.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr

from maxent._validation import check_int

from .generators import SynapseEnsemble
from .propagation import ACTIVATIONS, LEAKY_SLOPE, statistics_from_covariance

__all__ = [
    "LayerState",
    "FieldMoments",
    "TheoryDomainWarning",
    "linear_step",
    "nonlinear_step",
    "theory_depth",
]


class TheoryDomainWarning(UserWarning):
    """The mean-field closure is used outside the regime where it was checked against simulation."""


_HE_Z, _HE_W = np.polynomial.hermite_e.hermegauss(81)
_HE_W = _HE_W / np.sqrt(2.0 * np.pi)
_MU_Y, _MU_W = np.polynomial.hermite_e.hermegauss(41)
_MU_W = _MU_W / np.sqrt(2.0 * np.pi)


@dataclass(frozen=True)
class LayerState:
    """Trace order parameters of a layer's activity (see the module docstring)."""

    n: int
    T1: float
    T2: float
    S1: float
    S2: float
    M2: float = 0.0
    M1: float = 0.0

    @classmethod
    def from_covariance(cls, C: np.ndarray, mean: np.ndarray | None = None) -> LayerState:
        """State of an exact covariance C (n, n) and mean activity (n,) (default 0)."""
        C = np.asarray(C, dtype=np.float64)
        statistics_from_covariance(C)  # validates
        n = C.shape[0]
        one = C.sum(axis=1)
        m = np.zeros(n) if mean is None else np.asarray(mean, dtype=np.float64)
        if m.shape != (n,) or not np.all(np.isfinite(m)):
            raise ValueError(f"mean must be a finite vector of shape ({n},)")
        return cls(
            n,
            float(np.trace(C)),
            float(np.sum(C * C)),
            float(one.sum()),
            float(one @ one),
            float(m @ m),
            float(m.sum()),
        )

    @property
    def D_over_N(self) -> float:
        return self.T1**2 / self.T2 / self.n


@dataclass(frozen=True)
class FieldMoments:
    """Synapse-averaged moments of the field covariance G of one layer (module docstring)."""

    n: int
    g: float
    var_g: float
    m_G: float
    G2: float
    GG: float
    tau2: float


def linear_step(state: LayerState, n_out: int, ensemble: SynapseEnsemble, sigma: float = 1.0) -> FieldMoments:
    """Field moments of the next layer (exact Gaussian/Haar averages; Gaussian-equivalent for binary)."""
    n_out = check_int(n_out, "n_out", 1)
    n_in = state.n
    T1, T2, S1, S2, M2, M1 = state.T1, state.T2, state.S1, state.S2, state.M2, state.M1
    sig2 = float(sigma) ** 2
    if ensemble.kind == "orthogonal":
        if n_out != n_in:
            raise ValueError(f"the orthogonal theory needs square layers, got n_out={n_out}, n_in={n_in}")
        n = n_in
        diag2 = sig2**2 * (T1**2 + 2 * T2) / (n * (n + 2))
        g = sig2 * T1 / n
        G2 = sig2**2 * (T2 - n * diag2 / sig2**2) / (n * (n - 1)) if n > 1 else 0.0
        return FieldMoments(n, g, diag2 - g**2, 0.0, G2, 0.0, sig2 * M2 / n)
    c, b = ensemble.correlations(n_out, n_in)
    a = 1.0 - b - c
    s2 = sig2 / n_in
    tr_as = (a + c) * T1 + b * S1
    tr_asas = (a + c) ** 2 * T2 + 2 * (a + c) * b * S2 + b**2 * S1**2
    return FieldMoments(
        n=n_out,
        g=s2 * tr_as,
        var_g=2 * s2**2 * tr_asas,
        m_G=s2 * c * T1,
        G2=s2**2 * (c**2 * T1**2 + tr_asas + c**2 * T2),
        GG=s2**2 * (c**2 * T1**2 + c * ((a + c) * T2 + b * S2) + c**2 * T2),
        tau2=s2 * ((a + c) * M2 + b * M1**2),
    )


def _gauss_moments(activation: str, mu: np.ndarray, g: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E phi, E phi^2, E phi' for h ~ N(mu, g) (vectorized over mu)."""
    sd = np.sqrt(g)
    if activation == "linear":
        return mu, mu**2 + g, np.ones_like(mu)
    if activation in ("relu", "leaky_relu"):
        al = LEAKY_SLOPE if activation == "leaky_relu" else 0.0
        t = mu / sd
        Pp, Pm = ndtr(t), ndtr(-t)
        pdf = np.exp(-0.5 * t * t) / np.sqrt(2 * np.pi)
        e_pos, e_neg = mu * Pp + sd * pdf, mu * Pm - sd * pdf
        e2_pos = (mu**2 + g) * Pp + mu * sd * pdf
        e2_neg = (mu**2 + g) * Pm - mu * sd * pdf
        return e_pos + al * e_neg, e2_pos + al**2 * e2_neg, Pp + al * Pm
    if activation == "tanh":
        h = mu[:, None] + sd * _HE_Z[None, :]
        th = np.tanh(h)
        return th @ _HE_W, (th * th) @ _HE_W, (1 - th * th) @ _HE_W
    raise ValueError(f"unknown activation {activation!r}; choose one of {list(ACTIVATIONS)}")


def nonlinear_step(f: FieldMoments, activation: str) -> tuple[LayerState, float]:
    """The next layer's state and its decorrelation Delta (module docstring)."""
    n = f.n
    mu = np.sqrt(max(f.tau2, 0.0)) * _MU_Y
    M, E2, K = _gauss_moments(activation, mu, f.g)
    V = E2 - M**2
    dg = 1e-5 * f.g  # V'(g) by a central difference, for the delta-method term of E V^2
    Mp, E2p, _ = _gauss_moments(activation, mu, f.g + dg)
    Mm, E2m, _ = _gauss_moments(activation, mu, f.g - dg)
    Vg = ((E2p - Mp**2) - (E2m - Mm**2)) / (2 * dg)
    w = _MU_W
    EV, EV2 = V @ w, (V * V + Vg * Vg * max(f.var_g, 0.0)) @ w
    Ek, Ek2, EVk = K @ w, (K * K) @ w, (V * K) @ w
    EM, EM2 = M @ w, (M * M) @ w
    T1 = n * EV
    T2 = n * EV2 + n * (n - 1) * Ek2**2 * f.G2
    S1 = n * EV + n * (n - 1) * Ek**2 * f.m_G
    S2 = n * (
        EV2 + 2 * EVk * Ek * (n - 1) * f.m_G + Ek2 * ((n - 1) * Ek2 * f.G2 + (n - 1) * (n - 2) * Ek**2 * f.GG)
    )
    delta = Ek2**2 * f.G2 / EV**2
    return LayerState(n, T1, T2, S1, S2, n * EM2, n * EM), float(delta)


def theory_depth(
    widths: Sequence[int],
    ensemble: SynapseEnsemble,
    *,
    input_cov: np.ndarray,
    input_mean: np.ndarray | None = None,
    activation: str = "tanh",
    sigma: float = 1.0,
) -> pd.DataFrame:
    """Mean-field D_l / n_l and Delta_l for every layer; same columns as ``simulate_depth``
    (``method`` = "theory", ``network`` = -1, no plug-in column)."""
    widths = [check_int(w, "width", 1) for w in widths]
    if len(widths) < 2:
        raise ValueError(f"widths must list at least two layers, got {widths}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {list(ACTIVATIONS)}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive finite gain, got {sigma!r}")
    C0 = np.asarray(input_cov, dtype=np.float64)
    if C0.shape != (widths[0], widths[0]):
        raise ValueError(f"input_cov must be ({widths[0]}, {widths[0]}), got {C0.shape}")
    correlated = ensemble.kind != "orthogonal" and (ensemble.c_pre or ensemble.c_post)
    if correlated and activation in ("relu", "leaky_relu"):
        warnings.warn(
            f"{ensemble.name} with {activation}: activities with a non-zero mean make the coherent mode "
            "of correlated synapses non-self-averaging (and rho_post ~ N^-1/2 makes mean fields grow like "
            "N^1/4); the closure is checked against simulation for odd activations (linear, tanh) only",
            TheoryDomainWarning,
            stacklevel=2,
        )
    state = LayerState.from_covariance(C0, input_mean)
    st0 = statistics_from_covariance(C0)
    rows = [
        dict(
            layer=0,
            width=widths[0],
            variance=st0["variance"],
            D_over_N=st0["D_over_N"],
            offdiag_corr2=st0["offdiag_corr2"],
        )
    ]
    for layer, n_out in enumerate(widths[1:], start=1):
        f = linear_step(state, n_out, ensemble, sigma)
        ratio = max(abs(f.m_G), np.sqrt(max(f.G2, 0.0))) / f.g if f.g > 0 else np.inf
        if ratio > 0.3:
            warnings.warn(
                f"layer {layer}: field cross-covariances reach {ratio:.2f} of the variance; the linearized "
                "closure assumes |G_ik| << G_ii (weak correlations, rho -> 0 with N)",
                TheoryDomainWarning,
                stacklevel=2,
            )
        state, delta = nonlinear_step(f, activation)
        rows.append(
            dict(
                layer=layer,
                width=n_out,
                variance=state.T1 / n_out,
                D_over_N=state.D_over_N,
                offdiag_corr2=delta,
            )
        )
    df = pd.DataFrame(rows)
    df["N_offdiag_corr2"] = df["width"] * df["offdiag_corr2"]
    df.insert(0, "network", -1)
    df.insert(0, "method", "theory")
    df.insert(0, "kind", ensemble.kind)
    df.insert(0, "synapses", ensemble.name)
    return df

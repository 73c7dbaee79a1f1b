r"""Synapse generators: correlated Gaussian, binary (signs of correlated Gaussians), orthogonal.

A layer's synapses form a matrix W of shape (n_out, n_in): W[i, j] connects presynaptic unit j
to postsynaptic unit i. Generators return *standardized* synapses (every entry has mean 0 and
variance 1); the network applies the scale sigma / sqrt(n_in) (see :mod:`.propagation`).

Correlation structure (*inferred* from the seed paper's abstract; the paper's exact choice is
not known, so both options are exposed). Two synapses are correlated when they share a neuron:

    Corr(W_ij, W_kl) = rho_post   if i == k, j != l   (same postsynaptic neuron: a row)
                       rho_pre    if j == l, i != k   (same presynaptic neuron: a column)
                       0          otherwise.

The covariance of vec(W) (row-major) is the Kronecker sum

    Sigma = a I_out (x) I_in + rho_post I_out (x) 1 1^T_in + rho_pre 1 1^T_out (x) I_in,
    a = 1 - rho_pre - rho_post,

whose eigenvectors are products of the uniform vector 1 and its orthogonal complement, with
eigenvalues

    lambda(perp, perp) = a
    lambda(perp, 1)    = a + rho_post n_in
    lambda(1, perp)    = a + rho_pre n_out
    lambda(1, 1)       = a + rho_post n_in + rho_pre n_out.

Sigma is a covariance iff all four (those whose eigenspace is not empty) are >= 0; e.g. a
single structure needs -1/(n - 1) <= rho <= 1. Sampling uses this spectral form:
W = sum_ab sqrt(lambda_ab) P_a Z P_b with Z standard normal and P the projectors on 1 and its
complement (no (n_out n_in)^2 matrix is ever built).

Binary synapses are signs of correlated Gaussians. For a standard bivariate Gaussian with
correlation r, E[sign(x) sign(y)] = (2/pi) arcsin(r) exactly (Sheppard's formula), so a target
binary correlation rho_b needs the latent Gaussian correlation r = sin(pi rho_b / 2) (and the
latent structure must be a valid covariance). Uncorrelated latent pairs stay uncorrelated.

Scaling with N (*inferred* self-consistency argument, see :mod:`.theory`): the layer covariance
of the next layer's fields is W C W^T / n_in. Pre-shared correlations add a coherent part
sigma^2 rho_pre q to every off-diagonal field covariance, post-shared correlations a rank-one
part sigma^2 rho_post (1^T C 1 / n_in) u_i u_k (u the row loadings). Against the O(1/sqrt(N))
off-diagonal covariances that random synapses already create, both matter at O(1) in D/N
exactly when rho ~ c / sqrt(N); rho ~ c / N leaves the dimension unchanged as N -> infinity,
and rho = O(1) makes the neural correlations O(1) (collapse of the dimension). For activities
with a non-zero mean (ReLU), rho_post must even be O(1/N) for the mean fields sum_j W_ij <a_j>
to stay O(1). Both structures at once: the post-shared term feeds back the coherent mode that
the pre-shared one creates (1^T C 1 ~ N^(3/2) instead of N), adding ~ N^3 rho_pre^2 rho_post^2
to N Delta; self-consistency then needs rho_pre rho_post = O(N^(-3/2)), e.g. one structure at
N^(-1/2) and the other at N^(-1) (``exponent_post``), whose interplay is then a finite,
N-independent change of D/N. With both at c / sqrt(N) the dimension keeps falling with N
(c = 0.5, tanh, simulated D/N at depth 4: 0.090, 0.057, 0.039, 0.024 for N = 64 ... 512).
:func:`scaled_correlation` implements rho = c / N^exponent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from maxent._validation import check_int, check_real

__all__ = [
    "SYNAPSE_KINDS",
    "SynapseEnsemble",
    "scaled_correlation",
    "induced_binary_correlation",
    "latent_gaussian_correlation",
    "structure_eigenvalues",
    "check_correlations",
    "synapse_covariance",
    "gaussian_synapses",
    "binary_synapses",
    "orthogonal_synapses",
    "draw_synapses",
]

SYNAPSE_KINDS = ("gaussian", "binary", "orthogonal")
_EIG_TOL = 1e-12


def scaled_correlation(c: float, n: int, exponent: float = 0.5) -> float:
    """rho = c / n^exponent: the correlation amplitude c at width n (exponent 0.5 is the
    weak-correlation scaling at which the dimension changes at O(1); see the module docstring)."""
    c = check_real(c, "c")
    exponent = check_real(exponent, "exponent")
    if exponent < 0:
        raise ValueError(f"exponent must be >= 0, got {exponent}")
    return c / check_int(n, "n", 1) ** exponent


def induced_binary_correlation(rho: np.ndarray | float) -> np.ndarray | float:
    """Exact correlation of sign(x), sign(y) for standard Gaussians with correlation rho:
    (2/pi) arcsin(rho)."""
    r = np.asarray(rho, dtype=np.float64)
    if np.any(~np.isfinite(r)) or np.any(np.abs(r) > 1):
        raise ValueError(f"a correlation must lie in [-1, 1], got {rho!r}")
    out = (2.0 / np.pi) * np.arcsin(r)
    return float(out) if out.ndim == 0 else out


def latent_gaussian_correlation(rho_binary: np.ndarray | float) -> np.ndarray | float:
    """Inverse of :func:`induced_binary_correlation`: sin(pi rho_b / 2)."""
    r = np.asarray(rho_binary, dtype=np.float64)
    if np.any(~np.isfinite(r)) or np.any(np.abs(r) > 1):
        raise ValueError(f"a correlation must lie in [-1, 1], got {rho_binary!r}")
    out = np.sin(0.5 * np.pi * r)
    return float(out) if out.ndim == 0 else out


def structure_eigenvalues(n_out: int, n_in: int, rho_pre: float, rho_post: float) -> dict[str, float]:
    """Eigenvalues of the synapse correlation matrix (keys "perp,perp", "perp,1", "1,perp",
    "1,1": out-space x in-space eigenvector); only non-empty eigenspaces are listed."""
    n_out, n_in = check_int(n_out, "n_out", 1), check_int(n_in, "n_in", 1)
    a = 1.0 - rho_pre - rho_post
    lam = {
        "perp,perp": a,
        "perp,1": a + rho_post * n_in,
        "1,perp": a + rho_pre * n_out,
        "1,1": a + rho_post * n_in + rho_pre * n_out,
    }
    if n_out == 1:
        lam.pop("perp,perp")
        lam.pop("perp,1")
    if n_in == 1:
        lam.pop("perp,perp", None)
        lam.pop("1,perp")
    return lam


def check_correlations(n_out: int, n_in: int, rho_pre: float, rho_post: float) -> tuple[float, float]:
    """Validate (rho_pre, rho_post) for an (n_out, n_in) layer; ValueError names the problem."""
    rho_pre = check_real(rho_pre, "rho_pre")
    rho_post = check_real(rho_post, "rho_post")
    for name, r in (("rho_pre", rho_pre), ("rho_post", rho_post)):
        if abs(r) > 1:
            raise ValueError(f"{name} is a correlation and must lie in [-1, 1], got {r}")
    lam = structure_eigenvalues(n_out, n_in, rho_pre, rho_post)
    bad = {k: v for k, v in lam.items() if v < -_EIG_TOL}
    if bad:
        raise ValueError(
            f"rho_pre={rho_pre}, rho_post={rho_post} do not give a positive semidefinite synapse "
            f"covariance for a ({n_out}, {n_in}) layer: negative eigenvalue(s) {bad} "
            f"(one structure alone needs -1/(n - 1) <= rho <= 1; together 1 - rho_pre - rho_post >= 0)"
        )
    return rho_pre, rho_post


def synapse_covariance(n_out: int, n_in: int, rho_pre: float = 0.0, rho_post: float = 0.0) -> np.ndarray:
    """The explicit (n_out n_in, n_out n_in) correlation matrix of vec(W) (small layers; tests)."""
    rho_pre, rho_post = check_correlations(n_out, n_in, rho_pre, rho_post)
    i_out, i_in = np.eye(n_out), np.eye(n_in)
    a = 1.0 - rho_pre - rho_post
    return (
        a * np.kron(i_out, i_in)
        + rho_post * np.kron(i_out, np.ones((n_in, n_in)))
        + rho_pre * np.kron(np.ones((n_out, n_out)), i_in)
    )


def gaussian_synapses(
    n_out: int,
    n_in: int,
    *,
    rho_pre: float = 0.0,
    rho_post: float = 0.0,
    size: int = 1,
    random_state: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Standard Gaussian synapses with the pre/post correlation structure; (size, n_out, n_in).

    W = sqrt(l_pp) Q_o Z Q_i + sqrt(l_p1) Q_o Z P_i + sqrt(l_1p) P_o Z Q_i + sqrt(l_11) P_o Z P_i,
    P = 1 1^T / n (projector on the uniform vector), Q = I - P: Cov(vec W) = sum lambda P (x) P.
    """
    rho_pre, rho_post = check_correlations(n_out, n_in, rho_pre, rho_post)
    size = check_int(size, "size", 1)
    lam = {
        k: math.sqrt(max(v, 0.0)) for k, v in structure_eigenvalues(n_out, n_in, rho_pre, rho_post).items()
    }
    Z = np.random.default_rng(random_state).standard_normal((size, n_out, n_in))
    m_out = Z.mean(axis=1, keepdims=True)  # P_o Z  (mean over postsynaptic units)
    m_in = Z.mean(axis=2, keepdims=True)  # Z P_i  (mean over presynaptic units)
    m_all = Z.mean(axis=(1, 2), keepdims=True)
    W = np.zeros_like(Z)
    parts = {
        "perp,perp": Z - m_out - m_in + m_all,
        "perp,1": m_in - m_all,
        "1,perp": m_out - m_all,
        "1,1": np.broadcast_to(m_all, Z.shape),
    }
    for key, scale in lam.items():
        W += scale * parts[key]
    return W


def binary_synapses(
    n_out: int,
    n_in: int,
    *,
    rho_pre: float = 0.0,
    rho_post: float = 0.0,
    size: int = 1,
    random_state: int | np.random.Generator | None = None,
) -> np.ndarray:
    """±1 synapses (int8, (size, n_out, n_in)) whose pair correlations are exactly rho_pre/rho_post.

    They are sign(G) for Gaussian G with latent correlations sin(pi rho / 2) (Sheppard); the
    latent structure must be a valid covariance (ValueError otherwise).
    """
    rho_pre = check_real(rho_pre, "rho_pre")
    rho_post = check_real(rho_post, "rho_post")
    for name, r in (("rho_pre", rho_pre), ("rho_post", rho_post)):
        if abs(r) > 1:
            raise ValueError(f"{name} is a correlation and must lie in [-1, 1], got {r}")
    lat_pre = latent_gaussian_correlation(rho_pre)
    lat_post = latent_gaussian_correlation(rho_post)
    try:
        check_correlations(n_out, n_in, lat_pre, lat_post)
    except ValueError as exc:
        raise ValueError(
            f"binary correlations rho_pre={rho_pre}, rho_post={rho_post} need latent Gaussian "
            f"correlations ({lat_pre:.4g}, {lat_post:.4g}) that are not realizable: {exc}"
        ) from None
    G = gaussian_synapses(
        n_out, n_in, rho_pre=lat_pre, rho_post=lat_post, size=size, random_state=random_state
    )
    return np.where(G >= 0, 1, -1).astype(np.int8)


def orthogonal_synapses(
    n_out: int, n_in: int, *, size: int = 1, random_state: int | np.random.Generator | None = None
) -> np.ndarray:
    """Haar-random (semi-)orthogonal synapses with unit-variance entries; (size, n_out, n_in).

    n_out <= n_in: orthonormal rows times sqrt(n_in) (W W^T = n_in I); n_out > n_in: orthonormal
    columns times sqrt(n_out). QR of a Gaussian matrix with the sign of diag(R) fixed is Haar.
    """
    n_out, n_in = check_int(n_out, "n_out", 1), check_int(n_in, "n_in", 1)
    size = check_int(size, "size", 1)
    big, small = max(n_out, n_in), min(n_out, n_in)
    A = np.random.default_rng(random_state).standard_normal((size, big, small))
    Q, R = np.linalg.qr(A)
    Q = Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]
    Q = Q * math.sqrt(big)
    return Q.transpose(0, 2, 1) if n_out <= n_in else Q


@dataclass(frozen=True)
class SynapseEnsemble:
    """A family of synapse matrices for every layer of a network.

    Parameters
    ----------
    kind : {"gaussian", "binary", "orthogonal"}
    c_pre, c_post : float
        Correlation amplitudes; a layer with fan-in n_in gets rho = c / n_in**exponent
        (:func:`scaled_correlation`). For "binary" rho is the correlation of the ±1 synapses
        themselves. "orthogonal" takes none.
    exponent : float
        Scaling exponent (0.5: weak, self-consistent; 0: fixed correlation; 1: vanishing).
    exponent_post : float, optional
        A different exponent for rho_post (default: ``exponent``); see the module docstring for
        why both structures together need a faster decay of their product.
    label : str, optional
        Name in tables and figures (default from the parameters).
    """

    kind: str = "gaussian"
    c_pre: float = 0.0
    c_post: float = 0.0
    exponent: float = 0.5
    label: str | None = None
    exponent_post: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in SYNAPSE_KINDS:
            raise ValueError(f"unknown synapse kind {self.kind!r}; choose one of {list(SYNAPSE_KINDS)}")
        if self.exponent_post is None:
            object.__setattr__(self, "exponent_post", self.exponent)
        for name in ("c_pre", "c_post", "exponent", "exponent_post"):
            object.__setattr__(self, name, check_real(getattr(self, name), name))
            if name.startswith("exponent") and getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.kind == "orthogonal" and (self.c_pre or self.c_post):
            raise ValueError("orthogonal synapses carry no pair correlations; set c_pre = c_post = 0")

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        if self.kind == "orthogonal":
            return "orthogonal"
        if not (self.c_pre or self.c_post):
            return f"iid {self.kind}"
        parts = [f"{k}={v:g}" for k, v in (("c_pre", self.c_pre), ("c_post", self.c_post)) if v]
        name = f"{self.kind} " + ", ".join(parts)
        if self.exponent_post != self.exponent and self.c_pre and self.c_post:
            return name + f" (N^-{self.exponent:g}, N^-{self.exponent_post:g})"
        used = self.exponent if self.c_pre else self.exponent_post
        return name if used == 0.5 else name + f" (N^-{used:g})"

    def correlations(self, n_out: int, n_in: int) -> tuple[float, float]:
        """(rho_pre, rho_post) of an (n_out, n_in) layer (validated)."""
        rho_pre = scaled_correlation(self.c_pre, n_in, self.exponent)
        rho_post = scaled_correlation(self.c_post, n_in, self.exponent_post)
        if self.kind == "binary":
            for name, r in (("rho_pre", rho_pre), ("rho_post", rho_post)):
                if abs(r) > 1:
                    raise ValueError(f"{name} = {r:.4g} at n_in={n_in} is not a correlation")
            check_correlations(
                n_out, n_in, latent_gaussian_correlation(rho_pre), latent_gaussian_correlation(rho_post)
            )
            return rho_pre, rho_post
        return check_correlations(n_out, n_in, rho_pre, rho_post)

    def draw(
        self, n_out: int, n_in: int, *, size: int = 1, random_state: int | np.random.Generator | None = None
    ) -> np.ndarray:
        """Standardized synapses (size, n_out, n_in) float64."""
        return draw_synapses(self, n_out, n_in, size=size, random_state=random_state)


def draw_synapses(
    ensemble: SynapseEnsemble,
    n_out: int,
    n_in: int,
    *,
    size: int = 1,
    random_state: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Draw ``size`` standardized (n_out, n_in) synapse matrices of an ensemble (float64)."""
    if ensemble.kind == "orthogonal":
        return orthogonal_synapses(n_out, n_in, size=size, random_state=random_state)
    rho_pre, rho_post = ensemble.correlations(n_out, n_in)
    if ensemble.kind == "binary":
        return binary_synapses(
            n_out, n_in, rho_pre=rho_pre, rho_post=rho_post, size=size, random_state=random_state
        ).astype(np.float64)
    return gaussian_synapses(
        n_out, n_in, rho_pre=rho_pre, rho_post=rho_post, size=size, random_state=random_state
    )

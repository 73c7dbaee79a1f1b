r"""Instances of the (inferred) random active path model and of random p-spin / p-XORSAT.

Random active path model (inferred from the abstract of Huang & Goudarzi, Phys. Rev. E 98,
042311 (2018); the paper itself was not available). A deep network has layers 0..L of width N
and L weight blocks; each of the L N^2 possible edges is removed independently with probability
rho (the dilution). Each surviving edge e carries a binary weight w_e = ±1 (a *variable*).
M active paths a = (i_0, i_1, ..., i_L) are drawn uniformly among all input-output paths through
surviving edges; path a uses one edge per block, so it is a factor on p = L variables, and its
input sets the sign J_a = ±1 (uniform, independent). The energy is the p-weight glass

    E(w) = - sum_a J_a prod_{e in a} w_e  -  sum_e f_e w_e        (f: optional external fields),

with Boltzmann weight exp(-beta E). Weights on no active path are free (entropy ln 2 each).

Ensemble view. Per surviving edge the number of paths through it is close to Poisson with mean

    c = L M / (L N^2 (1 - rho)) = alpha_path / (1 - rho),     alpha_path = M / N^2,

(the spread of node degrees adds a relative O(1/sqrt(N (1 - rho))) correction), and the factor
graph is locally tree-like, so the large-N ensemble is the diluted +-J p-spin glass with p = L
and Poisson variable degree c (= random p-XORSAT at zero temperature with alpha = c / p clauses
per variable). The dilution enters through c: removing edges concentrates the same paths on
fewer weights.

Planted instances (``planted_beta``): draw w* uniformly, then J_a with probability
proportional to exp(beta J_a prod_{e in a} w*_e). The degree statistics are unchanged, and in
the paramagnetic/dynamical phase (above the condensation) w* is a typical equilibrium sample
("quiet planting"), which gives an equilibrated start for Monte Carlo at any temperature there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from maxent._validation import check_int

__all__ = ["PathInstance", "active_path_instance", "random_pspin_instance", "mean_degree"]


def check_rho(rho: object) -> float:
    """Validate a removal probability: a finite float in [0, 1)."""
    r = float(rho)  # type: ignore[arg-type]
    if not np.isfinite(r) or r < 0.0 or r >= 1.0:
        raise ValueError(f"removal probability rho must lie in [0, 1), got {rho!r}")
    return r


def _check_beta(beta: object, name: str = "beta") -> float:
    b = float(beta)  # type: ignore[arg-type]
    if not np.isfinite(b) or b <= 0:
        raise ValueError(f"{name} must be a finite positive float, got {beta!r}")
    return b


def mean_degree(path_density: float, rho: float) -> float:
    """Mean number of active paths through a surviving edge, c = alpha_path / (1 - rho)."""
    rho = check_rho(rho)
    a = float(path_density)
    if not np.isfinite(a) or a <= 0:
        raise ValueError(f"path_density must be a finite positive float, got {path_density!r}")
    return a / (1.0 - rho)


@dataclass(frozen=True)
class PathInstance:
    """A p-spin factor graph: E(w) = -sum_a J_a prod_{k} w_{factors[a, k]} - sum_i fields_i w_i.

    Attributes
    ----------
    factors : int64 array (M, p)
        Variable indices of each factor (distinct within a row).
    J : float64 array (M,)
        Factor couplings (±1 in the model; any finite value is accepted).
    n_vars : int
        Number of variables n (variables in no factor are free).
    fields : float64 array (n,)
        External fields f_i (zeros by default).
    edges : int64 array (n, 3) or None
        For active path instances: (block l = 1..L, source node, target node) of each weight.
    planted : int8 array (n,) or None
        The planted configuration w*, when the instance was planted.
    """

    factors: np.ndarray
    J: np.ndarray
    n_vars: int
    fields: np.ndarray = field(default=None)  # type: ignore[assignment]
    edges: np.ndarray | None = None
    planted: np.ndarray | None = None

    def __post_init__(self) -> None:
        F = np.asarray(self.factors)
        if F.ndim != 2 or F.shape[1] < 1 or not np.issubdtype(F.dtype, np.integer):
            raise ValueError(f"factors must be an integer array (M, p) with p >= 1, got shape {F.shape}")
        n = check_int(self.n_vars, "n_vars", 1)
        if F.size and (F.min() < 0 or F.max() >= n):
            raise ValueError(
                f"factor variable indices must lie in [0, {n}), got range [{F.min()}, {F.max()}]"
            )
        if F.shape[1] > 1 and F.shape[0] and np.any(np.diff(np.sort(F, axis=1), axis=1) == 0):
            raise ValueError("a factor lists the same variable twice")
        J = np.asarray(self.J, dtype=np.float64)
        if J.shape != (F.shape[0],) or not np.all(np.isfinite(J)):
            raise ValueError(f"J must be a finite array of shape ({F.shape[0]},), got shape {J.shape}")
        f = np.zeros(n) if self.fields is None else np.asarray(self.fields, dtype=np.float64)
        if f.shape != (n,) or not np.all(np.isfinite(f)):
            raise ValueError(f"fields must be a finite array of shape ({n},), got shape {f.shape}")
        object.__setattr__(self, "factors", F.astype(np.int64))
        object.__setattr__(self, "J", J)
        object.__setattr__(self, "fields", f)
        object.__setattr__(self, "n_vars", n)

    @property
    def n_factors(self) -> int:
        return int(self.factors.shape[0])

    @property
    def p(self) -> int:
        """Factor size (the depth L for active path instances)."""
        return int(self.factors.shape[1])

    def degrees(self) -> np.ndarray:
        """Number of factors on each variable, int array (n,)."""
        return np.bincount(self.factors.ravel(), minlength=self.n_vars)

    def with_fields(self, fields: np.ndarray) -> PathInstance:
        """The same instance with external fields ``fields`` (n,)."""
        return PathInstance(self.factors, self.J, self.n_vars, fields, self.edges, self.planted)

    def compact(self) -> PathInstance:
        """The instance restricted to variables in at least one factor (free weights dropped;
        each contributed exactly ln 2 to log Z and entropy and nothing else)."""
        used = np.unique(self.factors)
        remap = np.full(self.n_vars, -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        return PathInstance(
            remap[self.factors],
            self.J,
            max(int(used.size), 1),
            self.fields[used] if used.size else None,
            None if self.edges is None else self.edges[used],
            None if self.planted is None else self.planted[used],
        )

    def energy(self, W: np.ndarray) -> np.ndarray:
        """Energies E(w) of configurations W (S, n) of ±1 (or one (n,) vector)."""
        W = np.asarray(W)
        single = W.ndim == 1
        W2 = np.atleast_2d(W)
        if W2.shape[1] != self.n_vars:
            raise ValueError(f"configurations must have {self.n_vars} columns, got shape {W.shape}")
        if not np.all(np.abs(W2) == 1):
            raise ValueError("configurations must be ±1")
        Wf = W2.astype(np.float64)
        prods = np.prod(Wf[:, self.factors], axis=2)  # (S, M)
        E = -(prods @ self.J) - Wf @ self.fields
        return E[0] if single else E

    def is_tree(self) -> bool:
        """True when the factor graph (variables in some factor, and factors) has no cycle."""
        M, p = self.factors.shape
        used = np.unique(self.factors)
        rows = self.factors.ravel()
        cols = self.n_vars + np.repeat(np.arange(M), p)
        n_nodes = self.n_vars + M
        A = sp.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(n_nodes, n_nodes))
        n_comp, labels = connected_components(A, directed=False)
        # isolated variables are their own components; remove them from the count
        n_isolated = self.n_vars - used.size
        return rows.size == used.size + M - (n_comp - n_isolated)


def _plant(
    factors: np.ndarray, n: int, beta: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    w = rng.choice(np.array([-1, 1], dtype=np.int8), size=n)
    prod = np.prod(w[factors].astype(np.float64), axis=1)
    # P(J = prod) = e^beta / (2 cosh beta)
    agree = rng.random(factors.shape[0]) < 0.5 * (1.0 + np.tanh(beta))
    J = np.where(agree, prod, -prod)
    return J, w


def active_path_instance(
    n_layers: int,
    width: int,
    rho: float,
    n_paths: int,
    *,
    planted_beta: float | None = None,
    seed: int | np.random.Generator | None = None,
) -> PathInstance:
    """Draw an (inferred) random active path instance.

    Parameters
    ----------
    n_layers : int
        Depth L (number of weight blocks; factors have p = L variables). Layers 0..L, width N.
    width : int
        Width N of every layer.
    rho : float in [0, 1)
        Probability that each of the L N^2 edges is removed.
    n_paths : int
        Number M of active paths, drawn uniformly (with replacement) among all input-output paths
        through surviving edges (exact sampling by counting paths backwards from the output).
    planted_beta : float, optional
        If given, plant a configuration w* at this inverse temperature (module docstring).
    seed : int or Generator

    Returns
    -------
    PathInstance
        Variables are all surviving edges (``edges`` gives block, source, target); J_a = ±1.
    """
    L = check_int(n_layers, "n_layers", 1)
    N = check_int(width, "width", 1)
    rho = check_rho(rho)
    M = check_int(n_paths, "n_paths", 1)
    if L * N * N > 5_000_000:
        raise ValueError(f"L N^2 = {L * N * N} possible edges is too large (limit 5e6)")
    rng = np.random.default_rng(seed)
    alive = rng.random((L, N, N)) >= rho
    edge_id = np.full((L, N, N), -1, dtype=np.int64)
    edge_id[alive] = np.arange(int(alive.sum()))
    n = int(alive.sum())
    if n == 0:
        raise ValueError(f"all edges were removed (rho={rho}, L N^2={L * N * N}); no active path exists")
    # B[l][j]: number of surviving paths from node j of layer l to the output (rescaled per layer)
    B = np.ones((L + 1, N))
    for layer in range(L, 0, -1):
        b = alive[layer - 1].astype(np.float64) @ B[layer]
        top = b.max()
        if top == 0:
            raise ValueError(
                f"no input-output path survives the removal (rho={rho}, L={L}, N={N}); lower rho or raise N"
            )
        B[layer - 1] = b / top

    def draw(prob: np.ndarray) -> np.ndarray:
        cdf = np.cumsum(prob, axis=-1)
        u = rng.random(prob.shape[:-1]) * cdf[..., -1]
        return np.minimum((cdf < u[..., None]).sum(axis=-1), N - 1)

    factors = np.empty((M, L), dtype=np.int64)
    chunk = max(1, 2_000_000 // N)  # bounds the (paths, N) work arrays
    for s in range(0, M, chunk):
        rows = slice(s, min(s + chunk, M))
        node = draw(np.broadcast_to(B[0], (rows.stop - s, N)))
        for layer in range(1, L + 1):
            nxt = draw(alive[layer - 1][node] * B[layer][None, :])
            factors[rows, layer - 1] = edge_id[layer - 1, node, nxt]
            node = nxt
    blk, src, dst = np.nonzero(alive)
    edges = np.stack([blk + 1, src, dst], axis=1).astype(np.int64)
    if planted_beta is None:
        J = rng.choice(np.array([-1.0, 1.0]), size=M)
        return PathInstance(factors, J, n, edges=edges)
    J, w = _plant(factors, n, _check_beta(planted_beta, "planted_beta"), rng)
    return PathInstance(factors, J, n, edges=edges, planted=w)


def random_pspin_instance(
    n_vars: int,
    n_factors: int,
    p: int,
    *,
    planted_beta: float | None = None,
    seed: int | np.random.Generator | None = None,
) -> PathInstance:
    """Random +-J p-spin glass / p-XORSAT: each factor on p distinct uniform variables, J = ±1.

    At zero temperature, E = -M exactly when every XOR clause prod_k w_k = J_a is satisfied, so
    this is random p-XORSAT with alpha = M / n (the large-N limit of the active path model).
    """
    n = check_int(n_vars, "n_vars", 1)
    M = check_int(n_factors, "n_factors", 1)
    p = check_int(p, "p", 1)
    if p > n:
        raise ValueError(f"p={p} distinct variables per factor need n_vars >= p, got {n}")
    rng = np.random.default_rng(seed)
    # p distinct variables per factor: argsort of random keys, chunked to bound memory
    if p <= 8 and n > 4 * p:
        F = rng.integers(0, n, size=(M, p))
        bad = np.any(np.diff(np.sort(F, axis=1), axis=1) == 0, axis=1)
        while bad.any():
            F[bad] = rng.integers(0, n, size=(int(bad.sum()), p))
            bad = np.any(np.diff(np.sort(F, axis=1), axis=1) == 0, axis=1)
    else:
        F = np.argsort(rng.random((M, n)), axis=1)[:, :p]
    if planted_beta is None:
        J = rng.choice(np.array([-1.0, 1.0]), size=M)
        return PathInstance(F, J, n)
    J, w = _plant(F, n, _check_beta(planted_beta, "planted_beta"), rng)
    return PathInstance(F, J, n, planted=w)

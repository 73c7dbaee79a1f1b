"""Detect data for which an unregularized pairwise fit has no finite maximum.

The log-likelihood of the pairwise model is concave in (h, J); its maximum is finite exactly
when the data moments (m_i, C_ij) lie in the *interior* of the marginal polytope. Two cheap,
exact certificates that they do not, and one for the pseudo-likelihood:

* **Empty pair cell.** For a pair (i, j) the fraction of samples with (s_i, s_j) = (s, t) is

      p_st = (1 + s m_i + t m_j + s t C_ij) / 4,       s, t = ±1.

  If one of the four is zero, the inequality p_st >= 0, valid for every distribution, holds
  with equality: the moments are on the boundary, and the likelihood keeps growing as
  s t J_ij -> -inf (with the fields). Two empty cells are a perfectly correlated pair
  (s_i = s_j in every sample: p_+- = p_-+ = 0, e.g. a duplicated column) or a perfectly
  anti-correlated one (s_i = -s_j). One empty cell is an implication (s_i = s => s_j = t).
  The same pair also separates spin i's conditional given s_j, so the pseudo-likelihood
  has no finite maximum either. Exact: the cells are computed from the moments (to a tolerance
  of a quarter sample when the sample count is known, 1e-9 otherwise).
* **Separation** (pseudo-likelihood). The pseudo-likelihood sum_mu sum_i log sigmoid(2 s_i^mu
  (h_i + sum_j J_ij s_j^mu)) is <= 0 and has no finite maximum exactly when some direction
  (h, J) != 0 (J symmetric) makes no term worse and one better: s_i^mu (h_i + sum_j J_ij s_j^mu)
  >= 0 for every sample and spin, > 0 for one (complete or quasi-complete separation of the
  coupled logistic regressions). The linear program (after Konis, 2007)

      max sum_{mu,i} t_{mu i}   s.t.  t_{mu i} = s_i^mu (h_i + sum_j J_ij s_j^mu),  0 <= t <= 1,

  has a positive optimum exactly then. It has N(N+1)/2 variables and 2MN sparse constraints
  with N non-zeros each, so it runs only when N^2 M <= :data:`LP_BUDGET` (a documented limit:
  above it only the pair test runs, which finds the pairwise cases of separation but not the
  higher-order ones). It is not a certificate for the full likelihood, whose maximum can be
  finite for separated data; for those estimators only the pair test applies.

Constant spins (m_i = ±1) are reported elsewhere (their field is infinite) and skipped here.
A regularized fit (L2/L1 penalty on J > 0) has a finite maximum whatever the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["IdentifiabilityReport", "empty_pair_cells", "separable_spins", "check_identifiability"]

#: the separation LP runs when N * N * M is at most this
LP_BUDGET = 400_000


@dataclass
class IdentifiabilityReport:
    """What makes the unregularized maximum infinite (empty when nothing does)."""

    correlated: list[tuple[int, int]] = field(default_factory=list)
    anticorrelated: list[tuple[int, int]] = field(default_factory=list)
    implications: list[tuple[int, int]] = field(default_factory=list)
    separable: list[int] = field(default_factory=list)
    separation_checked: bool = False

    def __bool__(self) -> bool:
        return bool(self.correlated or self.anticorrelated or self.implications or self.separable)

    def describe(self, limit: int = 5) -> str:
        def pairs(ps: list[tuple[int, int]]) -> str:
            more = f", ... ({len(ps)} in all)" if len(ps) > limit else ""
            return ", ".join(f"({i}, {j})" for i, j in ps[:limit]) + more

        parts = []
        if self.correlated:
            parts.append(f"perfectly correlated pairs (s_i = s_j in every sample) {pairs(self.correlated)}")
        if self.anticorrelated:
            parts.append(f"perfectly anti-correlated pairs (s_i = -s_j) {pairs(self.anticorrelated)}")
        if self.implications:
            parts.append(f"pairs with a value combination that never occurs {pairs(self.implications)}")
        if self.separable:
            more = f", ... ({len(self.separable)} in all)" if len(self.separable) > limit else ""
            parts.append(
                "separable data (a hyperplane in the other spins separates the values of spins "
                f"{self.separable[:limit]}{more} in every sample)"
            )
        return "; ".join(parts)


def empty_pair_cells(
    m: np.ndarray, C: np.ndarray, n_samples: int | None = None
) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]]]:
    """Pairs i < j (non-constant spins) with empty cells: (correlated, anticorrelated, other).

    Parameters
    ----------
    m : ndarray (N,)
        Magnetizations.
    C : ndarray (N, N)
        Raw correlations <s_i s_j>.
    n_samples : int, optional
        Number of samples M; the tolerance is then 1/(4M) (cells are multiples of 1/M).
    """
    m = np.asarray(m, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    tol = 0.25 / n_samples if n_samples else 1e-9
    ok = np.abs(m) < 1.0 - tol  # constant spins are reported by the constant-spin check
    idx = np.flatnonzero(ok)
    if idx.size < 2:
        return [], [], []
    mm, CC = m[idx], C[np.ix_(idx, idx)]
    a, b = mm[:, None], mm[None, :]
    empty = {}
    for s in (1, -1):
        for t in (1, -1):
            empty[(s, t)] = (1 + s * a + t * b + s * t * CC) / 4 <= tol
    iu = np.triu(np.ones((idx.size, idx.size), dtype=bool), 1)
    corr = empty[(1, -1)] & empty[(-1, 1)] & iu
    anti = empty[(1, 1)] & empty[(-1, -1)] & iu
    anyempty = (empty[(1, 1)] | empty[(1, -1)] | empty[(-1, 1)] | empty[(-1, -1)]) & iu & ~corr & ~anti

    def as_pairs(mask: np.ndarray) -> list[tuple[int, int]]:
        i, j = np.nonzero(mask)
        return [(int(idx[p]), int(idx[q])) for p, q in zip(i, j, strict=True)]

    return as_pairs(corr), as_pairs(anti), as_pairs(anyempty)


def separable_spins(X: np.ndarray) -> list[int]:
    """Spins whose conditionals are (quasi-)separated: the pseudo-likelihood has no maximum.

    Solves the LP of the module docstring over symmetric directions (h, J), with one
    constraint 0 <= s_i^mu (h_i + sum_j J_ij s_j^mu) <= 1 per sample mu and spin i; returns the
    spins whose terms are positive at the optimum (empty when the optimum is 0: a finite
    maximum exists).

    Parameters
    ----------
    X : ndarray (M, N) of ±1
    """
    from scipy import sparse
    from scipy.optimize import linprog

    X = np.asarray(X, dtype=np.float64)
    M, N = X.shape
    iu, ju = np.triu_indices(N, 1)
    P = iu.size
    # row (mu, i): + s_i^mu on h_i, + s_i^mu s_j^mu on J_(i,j) for every j != i
    rows_h = np.arange(M * N)
    cols_h = np.tile(np.arange(N), M)
    vals_h = X.reshape(-1)
    prod = X[:, iu] * X[:, ju]  # (M, P)
    mu = np.repeat(np.arange(M), P)
    rows_j = np.concatenate([mu * N + np.tile(iu, M), mu * N + np.tile(ju, M)])
    cols_j = np.concatenate([N + np.tile(np.arange(P), M)] * 2)
    vals_j = np.concatenate([prod.reshape(-1)] * 2)
    rows = np.concatenate([rows_h, rows_j])
    cols = np.concatenate([cols_h, cols_j])
    A = sparse.csr_matrix((np.concatenate([vals_h, vals_j]), (rows, cols)), shape=(M * N, N + P))
    res = linprog(
        -np.asarray(A.sum(axis=0)).ravel(),
        A_ub=sparse.vstack([A, -A]).tocsr(),
        b_ub=np.concatenate([np.ones(M * N), np.zeros(M * N)]),
        bounds=[(None, None)] * (N + P),
        method="highs",
    )
    if res.status != 0 or -res.fun <= 1e-7:
        return []
    terms = (A @ res.x).reshape(M, N)
    return [int(i) for i in np.flatnonzero(terms.max(axis=0) > 1e-7)]


def check_identifiability(
    m: np.ndarray, C: np.ndarray, X: np.ndarray | None, n_samples: int | None, pseudo: bool
) -> IdentifiabilityReport:
    """Certificates that the unregularized maximum is infinite (see the module docstring).

    ``pseudo`` adds the separation LP (pseudo-likelihood fits) when ``X`` is given and the
    problem is within :data:`LP_BUDGET`.
    """
    corr, anti, other = empty_pair_cells(m, C, n_samples)
    rep = IdentifiabilityReport(corr, anti, other)
    if pseudo and X is not None and not rep:
        M, N = X.shape
        if N * N * M <= LP_BUDGET:
            rep.separation_checked = True
            rep.separable = separable_spins(X)
    return rep


def coupling_penalty(est: object) -> float:
    """The penalty an estimator puts on J (0 when unregularized): the chosen ``alpha_`` of a
    cross-validated fit, else its ``alpha`` (pseudo-likelihood), ``l2`` (Boltzmann learning) or
    ``shrinkage`` (mean field; "auto" counts as regularized)."""
    for name in ("alpha_", "alpha", "l2", "shrinkage"):
        v = getattr(est, name, None)
        if v is None:
            continue
        if isinstance(v, str):
            return float("inf")  # e.g. shrinkage="auto"
        try:
            return float(v)
        except (TypeError, ValueError):
            return 0.0
    return 0.0


def applies_to(est: object) -> bool:
    """Whether the estimator maximizes a likelihood (full or pseudo) whose maximum the checks
    concern. Closed-form approximations (mean field, TAP) are not maximizers and have their own
    checks (a singular correlation matrix is refused or shrunk there)."""
    return type(est).__name__ not in ("MeanField",)


def is_pseudolikelihood(est: object) -> bool:
    """Whether the estimator maximizes the pseudo-likelihood (so the separation LP applies)."""
    return type(est).__name__.startswith("PseudoLikelihood")

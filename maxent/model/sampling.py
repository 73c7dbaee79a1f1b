"""Markov chain Monte Carlo for the pairwise Ising model, vectorized over many chains (torch).

Model (see :mod:`maxent.model.ising`): P(s) ∝ exp(sum_{i<j} J_ij s_i s_j + sum_i h_i s_i). The local
field on spin i is H_i(s) = h_i + sum_j J_ij s_j, and the conditional law of one spin is

    P(s_i = +1 | s_{-i}) = sigmoid(2 H_i) = (1 + tanh H_i) / 2.

Updates (one *sweep* = one update of every spin, in the order i = 0, 1, ..., N-1):

* ``"gibbs"`` (heat bath): draw s_i from its conditional law. With U ~ Uniform(0, 1),
  s_i = +1 iff U < sigmoid(2 H_i) iff H_i > logit(U)/2, so a sweep pre-draws the thresholds
  T = logit(U)/2 for all (spin, chain) pairs at once.
* ``"metropolis"``: propose the flip s_i -> -s_i, accept with probability min(1, exp(-dE)),
  dE = 2 s_i H_i; with U ~ Uniform(0, 1): accept iff s_i H_i < -log(U)/2.

Both are exact single-spin MCMC: each update leaves P invariant, so does the deterministic
sequential scan. The loop over spins within a sweep is inherent to sequential single-spin
dynamics on a dense model; everything else is vectorized over chains. The local fields are
kept exact without an O(N) update per spin: spins are taken in blocks of B (default 64). At
the start of a block the fields of its B spins are computed in one matrix product,
H_b = h_b + J_{b,:} S (a GEMM over all chains), and inside the block each update adds the
change of the already-updated block spins, H_k += sum_{k'<k} J_{k k'} (s_k'^new - s_k'^old)
(a matrix-vector product over chains). The result is *exactly* the sequential-scan chain;
a sweep costs one (N x N) @ (N x n_chains) product plus N small vector operations.

Precision: spins, fields and couplings in the chains are float32 by default. The fields are
recomputed from the spins at every block (no accumulation of round-off across the run), so
the error of H_i is ~1e-7 relative; the resulting error of an acceptance probability
(< 1e-6) is far below any Monte Carlo error reachable in practice, while float32 halves the
memory and doubles the GEMM throughput of float64. ``dtype="float64"`` is available.

On CPU the same chain is by default run by compiled kernels (``engine="compiled"``,
:mod:`maxent.model._gibbs_numba`), without the Python loop over spins. While many spins change
per sweep they do what the torch sweep does (block fields by one GEMM, in-block corrections in
the kernel); once at most 10% of the updates change a spin (strongly coupled, slowly mixing
models), each chain keeps float64 local fields and updates them by one axpy per change only,
so a sweep costs little more than its N x C threshold comparisons. Both engines use the same
pre-drawn thresholds, so they run the same chain (tested bit for bit in float64).

Randomness comes from a ``torch.Generator`` seeded from the numpy ``Generator`` passed as
``rng``: the same seed, arguments and device give the same chains (CPU and CUDA streams
differ from each other).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from maxent._validation import check_fields_couplings, check_int, check_spins, resolve_device

__all__ = ["sample_chains", "PersistentChains", "resolve_device", "torch_generator"]

_METHODS = ("gibbs", "metropolis")
_DTYPES = {"float32": torch.float32, "float64": torch.float64}
ENGINES = ("auto", "compiled", "torch")
DEFAULT_BLOCK = 64


def torch_generator(rng: np.random.Generator, device: torch.device) -> torch.Generator:
    """A torch.Generator on ``device`` seeded by one draw from the numpy Generator ``rng``."""
    gen = torch.Generator(device=device)
    gen.manual_seed(int(rng.integers(0, 2**63 - 1)))
    return gen


def _check_init(init: object, n_chains: int, n_spins: int) -> np.ndarray:
    """Validate initial chain states: shape (n_chains, N), entries exactly ±1; returns float64."""
    shape = np.shape(init)
    if shape != (n_chains, n_spins):
        raise ValueError(
            f"init has shape {shape}, expected (n_chains, N) = ({n_chains}, {n_spins}): "
            "one ±1 state per chain"
        )
    return check_spins(init, name="init", n_spins=n_spins)


def _check_method(method: str) -> str:
    if method not in _METHODS:
        raise ValueError(f"unknown MCMC method {method!r}; use 'gibbs' or 'metropolis'")
    return method


class PersistentChains:
    """A population of ``n_chains`` Markov chains on ±1 spins that persists between calls.

    This is the sampler behind :func:`sample_chains` and the persistent-chain Boltzmann
    machine (:class:`maxent.fit.boltzmann_mcmc.MCMCBoltzmann`): the parameters can be changed with
    :meth:`set_params` between runs while the states carry over.

    Parameters
    ----------
    h : array-like, shape (N,)
        Fields.
    J : array-like, shape (N, N)
        Couplings (symmetric, zero diagonal).
    n_chains : int
        Number of independent chains C (>= 1), updated in parallel.
    method : {"gibbs", "metropolis"}
        Single-spin update rule (see the module docstring).
    rng : int, numpy Generator or None
        Seed for the initial states and all updates.
    device : str
        torch device ("cpu" or "cuda").
    dtype : {"float32", "float64"}
        Floating type of spins, fields and couplings inside the chains.
    block_size : int
        Number of spins whose fields are refreshed together by one GEMM (performance only;
        the chain is the same exact sequential scan for every block size).
    init : array-like (C, N) of ±1, optional
        Initial states; by default uniformly random.
    global_flip : bool
        After every sweep, also propose the flip of the whole configuration s -> -s, accepted
        with probability min(1, exp(-2 h.s)) (the pair energy is invariant under it). An exact
        Metropolis move that lets chains cross between the mirror-image valleys of an ordered,
        nearly symmetric model (h ~ 0), which single-spin updates practically never do.
    engine : {"auto", "compiled", "torch"}
        How a sweep is computed; the chain (update order, thresholds) is the same. "torch": the
        blocked GEMM sweep of the module docstring, on any device. "compiled" (CPU only): the
        numba kernels of :mod:`maxent.model._gibbs_numba` -- the same blocks without the
        per-spin Python loop, switching to incremental per-chain fields while fewer than 10% of
        the updates change a spin. Measured per sweep against "torch" (one thread): 1.6-13x at
        N = 300 with 200 chains (weak to frozen models), 1.2-2.5x at N = 675 with 1000 chains,
        about equal at N = 2000 where the GEMM dominates (``benchmarks/bench_gibbs_engines.py``;
        learning: ``benchmarks/bench_hard_fits.py``).
        "auto": "compiled" on CPU, "torch" elsewhere. The two engines make the same decisions
        on the same thresholds except where a local field lies within float32 round-off of its
        threshold (probability ~1e-7 per update).

    Attributes
    ----------
    spins : torch.Tensor, shape (N, C)
        Current states, one chain per column (±1 in ``dtype``), on ``device``.
    """

    def __init__(
        self,
        h: np.ndarray,
        J: np.ndarray,
        n_chains: int,
        *,
        method: str = "gibbs",
        rng: int | np.random.Generator | None = None,
        device: str | torch.device = "cpu",
        dtype: str = "float32",
        block_size: int = DEFAULT_BLOCK,
        init: np.ndarray | None = None,
        global_flip: bool = False,
        engine: str = "auto",
    ) -> None:
        self.n_chains = check_int(n_chains, "n_chains", 1)
        self.method = _check_method(method)
        self.block_size = check_int(block_size, "block_size", 1)
        self.global_flip = bool(global_flip)
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
        self.dtype = _DTYPES[dtype]
        self.device = resolve_device(device)
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; choose one of {list(ENGINES)}")
        if engine == "compiled" and self.device.type != "cpu":
            raise ValueError(
                f"engine='compiled' runs on the CPU only, not on {self.device}; use 'torch' or 'auto'"
            )
        self.engine = "torch" if engine == "torch" or self.device.type != "cpu" else "compiled"
        # compiled engine: incremental fields while at most this fraction of updates changes a
        # spin (an axpy of length N per change against GEMM work of N per update; the measured
        # crossover is at 0.12-0.15 for N = 300-675)
        self._incremental_below = 0.1
        self._change_rate = 1.0  # unknown until the first sweep: start with blocks
        self._gen = torch_generator(np.random.default_rng(rng), self.device)
        h_arr, J_arr = check_fields_couplings(h, J)
        self.n_spins = h_arr.shape[0]
        self.set_params(h_arr, J_arr, validate=False)
        if init is None:
            bits = torch.randint(0, 2, (self.n_spins, self.n_chains), generator=self._gen, device=self.device)
            self.spins = (2 * bits - 1).to(self.dtype)
        else:
            S0 = check_spins(init, name="init", n_spins=self.n_spins)
            if S0.shape[0] != self.n_chains:
                raise ValueError(f"init has {S0.shape[0]} states, expected n_chains={self.n_chains}")
            self.spins = torch.as_tensor(S0.T.copy(), dtype=self.dtype, device=self.device)
        self.n_sweeps_done = 0

    # ------------------------------------------------------------------ parameters
    def set_params(
        self, h: np.ndarray | torch.Tensor, J: np.ndarray | torch.Tensor, *, validate: bool = True
    ) -> None:
        """Replace the fields and couplings; the chain states are kept.

        With ``validate=False`` (used by the learning loop) h and J must already be a valid
        pair: J symmetric with zero diagonal, shapes (N,) and (N, N).
        """
        if validate:
            h, J = check_fields_couplings(
                h.detach().cpu().numpy() if isinstance(h, torch.Tensor) else h,
                J.detach().cpu().numpy() if isinstance(J, torch.Tensor) else J,
            )
        n = getattr(self, "n_spins", None)
        if n is not None and (tuple(h.shape) != (n,) or tuple(J.shape) != (n, n)):
            raise ValueError(f"new parameters have shapes {tuple(h.shape)}, {tuple(J.shape)}; expected N={n}")
        self.h = torch.as_tensor(h, dtype=self.dtype, device=self.device).clone()
        self.J = torch.as_tensor(J, dtype=self.dtype, device=self.device).clone()
        self._fields = None  # compiled engine: (C, N) float64 local fields, stale after a change

    @property
    def spins(self) -> torch.Tensor:
        """Current states, (N, C) tensor of ±1 in ``dtype`` (one chain per column)."""
        return self._spins

    @spins.setter
    def spins(self, value: torch.Tensor) -> None:
        self._spins = value
        self._fields = None

    # ------------------------------------------------------------------ dynamics
    @torch.no_grad()
    def run(self, n_sweeps: int = 1) -> None:
        """Advance every chain by ``n_sweeps`` full sequential sweeps (in place)."""
        n_sweeps = check_int(n_sweeps, "n_sweeps", 0)
        sweep = self._sweep_compiled if self.engine == "compiled" else self._sweep
        for _ in range(n_sweeps):
            sweep()
            if self.global_flip:
                self._flip_all()
        self.n_sweeps_done += n_sweeps

    def _thresholds(self) -> torch.Tensor:
        """Pre-drawn thresholds of one sweep, (N, C): logit(U)/2 (Gibbs) or -log(U)/2 (Metropolis)."""
        U = torch.rand(self.n_spins, self.n_chains, generator=self._gen, dtype=self.dtype, device=self.device)
        return 0.5 * torch.logit(U) if self.method == "gibbs" else -0.5 * torch.log(U)

    def _sweep_compiled(self) -> None:
        """One sweep by the compiled kernels: incremental fields while few spins change, blocks
        of GEMM-refreshed fields otherwise (the same chain either way; see the module docstring)."""
        from maxent.model import _gibbs_numba

        thr = self._thresholds().numpy()
        S = self._spins.numpy()
        metropolis = self.method == "metropolis"
        if self._change_rate <= self._incremental_below:
            if self._fields is None:  # one GEMM in the chains' dtype, as the torch sweep's fields
                self._J64 = self.J.double().numpy()
                H = torch.addmm(self.h[:, None], self.J, self._spins)
                self._fields = np.ascontiguousarray(H.T.double().numpy())
            changes = _gibbs_numba.sweep(S, self._fields, self._J64, thr, metropolis)
        else:
            self._fields = None  # not maintained by the block kernel
            N, B = self.n_spins, self.block_size
            changes = 0
            for b0 in range(0, N, B):
                b1 = min(N, b0 + B)
                Hb = torch.addmm(self.h[b0:b1, None], self.J[b0:b1], self._spins)  # (b, C)
                Jbb = self.J[b0:b1, b0:b1].numpy()
                changes += _gibbs_numba.sweep_block(S, Hb.numpy(), Jbb, thr, b0, metropolis)
        self._change_rate = changes / (self.n_spins * self.n_chains)

    def _sweep(self) -> None:
        N, C, B = self.n_spins, self.n_chains, self.block_size
        S, J, h = self.spins, self.J, self.h
        like = dict(dtype=self.dtype, device=self.device)
        gibbs = self.method == "gibbs"
        # Gibbs: s_i = +1 iff H_i - logit(U)/2 > 0.  Metropolis: flip iff s_i H_i < -log(U)/2.
        thr = self._thresholds()
        ones = torch.ones(C, **like)
        D = torch.empty(min(B, N), C, **like)  # spin changes (new - old) inside the current block
        DT, D_rows, S_rows, thr_rows = D.T, D.unbind(0), S.unbind(0), thr.unbind(0)
        hk = torch.empty(C, **like)
        new = torch.empty(C, **like)
        for b0 in range(0, N, B):
            b1 = min(N, b0 + B)
            Hb = torch.addmm(h[b0:b1, None], J[b0:b1], S)  # exact fields at block start (b, C)
            if gibbs:
                Hb -= thr[b0:b1]
            H_rows, J_rows = Hb.unbind(0), J[b0:b1, b0:b1].unbind(0)
            for k in range(b1 - b0):
                s = S_rows[b0 + k]
                if k:  # add the changes of the block spins updated before this one
                    torch.addmv(H_rows[k], DT[:, :k], J_rows[k][:k], out=hk)
                else:
                    hk.copy_(H_rows[k])
                if gibbs:
                    # copysign maps +0 to +1 and -0 to -1: never a zero spin (ties have prob ~1e-7)
                    torch.copysign(ones, hk, out=new)
                else:
                    hk.mul_(s).sub_(thr_rows[b0 + k])  # s*H - threshold < 0  <=>  flip
                    torch.copysign(ones, hk, out=new).mul_(s)
                torch.sub(new, s, out=D_rows[k])
                s.copy_(new)

    def _flip_all(self) -> None:
        # log P(-s) - log P(s) = -2 h.s: accept iff log U < -2 h.s
        U = torch.rand(self.n_chains, generator=self._gen, dtype=self.dtype, device=self.device)
        accept = torch.log(U) < -2.0 * (self.h @ self.spins)
        self._spins.mul_(1.0 - 2.0 * accept.to(self.dtype))
        if self._fields is not None:  # h + J(-s) = 2h - (h + J s)
            rows = accept.cpu().numpy()
            self._fields[rows] = 2.0 * self.h.double().numpy()[None, :] - self._fields[rows]

    # ------------------------------------------------------------------ read-out
    @property
    def states(self) -> np.ndarray:
        """Current states as an int8 array (C, N) of ±1 (a copy, on the host)."""
        return self.spins.T.to(torch.int8).cpu().numpy()

    @torch.no_grad()
    def local_fields(self) -> torch.Tensor:
        """Local fields H = h + J s of every spin in every chain, shape (N, C)."""
        return torch.addmm(self.h[:, None], self.J, self.spins)

    @torch.no_grad()
    def moment_sums(
        self, chains: slice | None = None, *, rao_blackwell: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Sums over chains of the first and second moments of the current states.

        Returns ``(sum_m (N,), sum_C (N, N), n)`` in float64 on the device, for the chains in
        ``chains`` (default all), so that m = sum_m / n and C = sum_C / n.

        With ``rao_blackwell=True`` the conditional expectations are used instead of the raw
        spins: E[s_i] = E[tanh H_i] and E[s_i s_j] = E[s_i tanh H_j] (i != j), symmetrized.
        Both are exact identities of the stationary distribution (s_i is a function of s_{-j})
        and have a smaller variance than s_i and s_i s_j, most strongly for weak couplings.
        """
        S = self.spins if chains is None else self.spins[:, chains]
        n = S.shape[1]
        if rao_blackwell:
            T = torch.tanh(torch.addmm(self.h[:, None], self.J, S))
            A = S @ T.T  # sum_c s_i tanh(H_j)
            sum_C = 0.5 * (A + A.T).double()
            sum_m = T.double().sum(dim=1)
        else:
            sum_C = (S @ S.T).double()  # integers: exact in float32 below 2^24 chains
            sum_m = S.double().sum(dim=1)
        sum_C.fill_diagonal_(float(n))
        return sum_m, sum_C, n


def sample_chains(
    h: np.ndarray,
    J: np.ndarray,
    n: int,
    *,
    method: str = "gibbs",
    n_chains: int = 64,
    burn: int = 200,
    thin: int = 1,
    rng: int | np.random.Generator | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    block_size: int = DEFAULT_BLOCK,
    global_flip: bool = False,
    init: np.ndarray | None = None,
    engine: str = "auto",
) -> np.ndarray:
    """Draw ``n`` configurations from the Ising model (h, J) by MCMC.

    ``C = min(n_chains, n)`` independent chains start from uniformly random states (or from
    ``init``), are burned in for ``burn`` sweeps, then record their state every ``thin`` sweeps
    until ``n`` states are collected. Rows are ordered record by record: rows 0..C-1 are the
    first record of chains 0..C-1, and so on (the last record may be partial). Successive records
    of one chain are correlated; the effective sample size is about n / (autocorrelation time in
    records).

    Parameters
    ----------
    h : array-like, shape (N,)
    J : array-like, shape (N, N)
        Symmetric couplings with zero diagonal.
    n : int
        Number of samples (>= 1).
    method : {"gibbs", "metropolis"}
        Sequential-scan heat-bath or Metropolis single-spin updates.
    n_chains : int
        Number of parallel chains (>= 1).
    burn : int
        Sweeps discarded before the first record (>= 0).
    thin : int
        Sweeps between records (>= 1).
    rng : int, numpy Generator or None
        Seed; the same seed (and arguments, device) gives the same samples.
    device : str
        "cpu" or "cuda".
    dtype : {"float32", "float64"}
        Arithmetic of the chains (see the module docstring).
    block_size : int
        Field-refresh block (performance only).
    global_flip : bool
        Add an exact whole-configuration flip move after every sweep (see
        :class:`PersistentChains`).
    init : array-like (n_chains, N) of ±1, optional
        Initial states, one row per chain (row c starts chain c); by default uniformly random.
        Starting at data rows keeps chains in the region of a model with several valleys where
        the data live (single-spin chains rarely cross between valleys). Burn-in still applies.
        If n < n_chains, only the first n rows are used.
    engine : {"auto", "compiled", "torch"}
        How a sweep is computed (see :class:`PersistentChains`); the same chain either way.

    Returns
    -------
    ndarray, shape (n, N), int8 ±1
    """
    n = check_int(n, "n", 1)
    n_chains = check_int(n_chains, "n_chains", 1)
    burn = check_int(burn, "burn", 0)
    thin = check_int(thin, "thin", 1)
    _check_method(method)
    if init is not None:
        h, J = check_fields_couplings(h, J)
        init = _check_init(init, n_chains, h.shape[0])[: min(n_chains, n)]
    chains = PersistentChains(
        h,
        J,
        min(n_chains, n),
        method=method,
        rng=rng,
        device=device,
        dtype=dtype,
        block_size=block_size,
        global_flip=global_flip,
        init=init,
        engine=engine,
    )
    n_records = math.ceil(n / chains.n_chains)
    out = np.empty((n_records * chains.n_chains, chains.n_spins), dtype=np.int8)
    chains.run(burn)
    for r in range(n_records):
        chains.run(thin)
        out[r * chains.n_chains : (r + 1) * chains.n_chains] = chains.states
    return out[:n]

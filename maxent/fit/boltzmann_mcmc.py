"""Persistent-chain Boltzmann machine learning (stochastic maximum likelihood).

The log-likelihood per sample of the pairwise model, as a function of (h, J), is

    L(h, J) = sum_i h_i m_i + sum_{i<j} J_ij C_ij - log Z(h, J)

with the data moments m_i = <s_i>_data and C_ij = <s_i s_j>_data; it is concave, and its
gradient is the moment mismatch

    dL/dh_i = m_i - <s_i>_model,        dL/dJ_ij = C_ij - <s_i s_j>_model    (i < j).

The model averages are estimated from ``n_chains`` persistent Markov chains
(:class:`maxent.model.sampling.PersistentChains`; Tieleman 2008, "persistent contrastive divergence"):
the chains are never restarted, only advanced by ``n_sweeps`` sweeps after each parameter
update, so they stay close to equilibrium of the slowly moving model. Each sweep is followed by
an exact whole-configuration flip move (``global_flip``), so that chains also cross between the
mirror-image valleys of ordered, nearly symmetric models. The chain averages use the
Rao-Blackwellized estimators <s_i> = <tanh H_i>, <s_i s_j> = <s_i tanh H_j> (symmetrized),
exact identities with a much smaller variance than the raw spins (7x at N = 20, beta = 0.5).

Steps are Adam steps (per-parameter normalized; Kingma & Ba 2015) on h and J, with optional
L2 penalties (l2/2) ||J||^2 (sum over i<j) and (l2_h/2) ||h||^2. The gradient is noisy (chain
noise ~ 1/sqrt(n_chains) per update), so the returned parameters are Polyak averages of the
iterates, and the model moments are averaged the same way, separately over two halves A and B
of the chains. Phases (the ``phase`` column of the history):

1. *learn*: exponential moving averages (EMA) over ``window`` iterations, constant step size;
2. *average*: once the systematic mismatch (below) is under ``tol``, the averages restart as
   cumulative (Polyak-Ruppert) means and the step size decays as (window / t)^decay;
3. *verify*: once the averaged moments and their chain noise are under ``tol``, the chains run
   at the *fixed* averaged parameters (``window`` sweeps of burn-in, then as many records as
   the average phase had, at most 4 windows) and the mismatch is measured again, now without
   any feedback from the parameters. If sys_m, sys_C < tol, the fit has converged. A near miss
   (< 2 tol) means the averaged parameters are still noisy: averaging goes on for another
   window. A clear miss means the chains lag behind the parameters (the bias of persistent
   chains in slowly mixing models): the sweeps per update are doubled (up to ``max_sweeps``)
   and learning resumes from the averaged parameters.

Everything is measured in units of the data's sampling noise: sigma_k^2 = (1 - x_k^2) / M for
a data moment x_k from M samples (for exact moments, n_samples = 0, the chains' resolution
M = n_chains * window is used instead). With Delta_k = x_k - (A_k + B_k) / 2 the mismatch of
the averaged model moments, and (A_k - B_k)^2 / 4 an unbiased estimate of the chain noise of
their mean (the halves are independent),

    z^2     = mean_k Delta_k^2 / sigma_k^2                 (total mismatch)
    noise^2 = mean_k (A_k - B_k)^2 / (4 sigma_k^2)           (chain noise of the average)
    sys^2   = z^2 - noise^2                                   (systematic part)

each computed separately over the N magnetizations (``_m``) and the N(N-1)/2 pairs (``_C``).
With L2 penalties the data moments x_k are replaced by the penalized stationarity target
x_k - l2 theta_k (theta_k the averaged parameter). Criteria: learn -> average when sys_m,
sys_C < tol (after at least 2 windows); average -> verify when z and noise are < tol for m
and C (after at least one window); verify passes when sys_m, sys_C < tol (see 3.).

Why noise as well as z during learning: the updates feed the noise of the chain mean back into
the parameters, which keeps the *averaged* moments close to the data while the parameters carry
the noise. The chain-noise estimate from the halves is unaffected by this feedback, and the
error it induces in the averaged parameters, F^-1 (chain noise), has the form of the
statistical error F^-1 (data noise) of the maximum-likelihood estimate (F: Fisher information).

What the criteria guarantee: moments within ``tol`` data-noise units, i.e. a model whose KL
divergence from the exact maximum-likelihood fit is small compared with the ML fit's own
statistical error, as long as the chains mix (the verify step tests this). In well-conditioned
problems this keeps the coupling error at a fraction of the statistical one; in strongly
coupled problems the likelihood is flat along some directions (Fisher eigenvalues 1e-3 of the
largest) and couplings along them converge slowly and are poorly determined by the data
anyway. Measured (SK-like, M = 2e4 exact samples, ratio = rmse(J - J_ML) / rmse(J_ML - J_true)
against :class:`~maxent.fit.exact.ExactBoltzmann`): N = 16-20: 0.1 (beta = 0.5), 0.2
(beta = 1.0), 0.15-0.5 (beta = 1.5; one glassy N = 20 instance: 1.1 in rmse, but 0.4 in the
Fisher metric, where the ML fit itself is 1.3 from the truth).

Centering (``centering=True``; cf. centered Boltzmann machines, Melchior et al. 2016): the Adam
steps are taken in the parameters (b, J), b = h + J mu, with mu = m the (fixed) data
magnetizations. With h_i = b_i - sum_k J_ik mu_k,

    L = sum_i b_i m_i + sum_{i<j} J_ij (C_ij - mu_i m_j - mu_j m_i) - log Z(b - J mu, J),

and the chain rule gives

    dL/db_i     = dL/dh_i,
    dL/dJ_ij|_b = dL/dJ_ij|_h - mu_j dL/dh_i - mu_i dL/dh_j
                = <(s_i - mu_i)(s_j - mu_j)>_data - <(s_i - mu_i)(s_j - mu_j)>_model,

the mismatch of the second moments centered at mu. A coupling step at fixed b changes the local
fields h_i + sum_j J_ij s_j only by sum_j dJ_ij (s_j - mu_j), which averages to 0 over the
data, instead of shifting all magnetizations: fields and couplings decouple. The Adam state of
the fields is that of b; after each step h = b - J mu is recomputed, and everything else
(chains, Polyak averages -- linear, so averaging h or b is the same --, criteria, result) uses
h. The L2 penalties stay on h and J and go through the same chain rule. The maximum is the same,
only the path differs. Measured (centered vs plain, default settings otherwise, same seeds,
busy 2-core CPU):

* SK N = 20, beta = 0.5, M = 2e4 exact samples, h ~ N(0, 0.1^2) (<|m|> = 0.08): identical
  (300 iterations, rmse J 0.0086; 5 seeds);
* the same with h ~ N(0.5, 0.3^2) (<|m|> = 0.58): 300 iterations both, rmse(J - J_ML) 0.0057
  vs 0.0037 (ML statistical error 0.016), rmse(h - h_true) 0.061 vs 0.046 (5 seeds);
* SK N = 100, beta = 0.5, h ~ N(0.5, 0.3^2), M = 5e4 Gibbs samples (<|m|> = 0.44): rmse J
  0.0076 both, but 1500-1600 vs 445-455 iterations (88 s vs 12 s; 2 seeds): the fixed-parameter
  checks miss narrowly (sys_m 0.8 falling slowly to 0.5) while the averaged h stays noisy;
* sparse strong N = 100 ("sparse100" of benchmarks/bench_inverse_ising.py, <|m|> = 0.32): the
  plain fit's magnetizations converge slowly (z_m 220, 35, 8, 3 after 100, 400, 1000, 3000
  iterations) and it never reaches the average phase (3000 iterations: rmse J 0.037, h 0.054);
  centered, z_m is 7 after 400 and 1.6-3 after 600 iterations, it reaches the average phase and
  the checks (which raise the sweeps to 48) and ends at rmse J 0.024, h 0.043 (neither converges
  in 3000 iterations; with n_sweeps = 12, 1500 iterations: 0.026, 0.031 vs 0.036, 0.19;
  pseudo-likelihood: 0.022, 0.013);
* the same kind of model at N = 16 (M = 2e4 exact samples, n_chains = 500): z_m < 1 after
  ~600 vs ~1100 iterations, but z_C lags (3.3 vs 0.7 after 400); both converge, after 1530 vs
  1579 iterations.

Hence off by default; worth trying when the learn phase stalls on z_m.

The cost is in sampling: per iteration ``n_sweeps`` sweeps of ``n_chains`` chains (one
N x N x n_chains matrix product each, plus N vector operations) and two such products for the
moments. The data enter only through their moments, so fitting from a :class:`Moments` is
the same computation as fitting from samples.
"""

from __future__ import annotations

import numpy as np
import torch

from maxent._threads import torch_threads
from maxent._validation import check_int, check_nonnegative, check_positive, resolve_device
from maxent.data.moments import Moments
from maxent.fit._base import FitResult, IsingEstimator
from maxent.fit.mean_field import mean_field_start
from maxent.model.sampling import PersistentChains, _check_method

__all__ = ["MCMCBoltzmann", "mcmc_boltzmann", "initial_parameters", "torch_threads"]

_INITS = ("nmf", "bethe", "independent", "zeros")


def initial_parameters(
    moments: Moments, init: str = "nmf", *, shrinkage: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Starting point (h, J) for Boltzmann learning.

    * ``"nmf"``: naive mean-field inversion, J = -offdiag(c_s^{-1}), h_i = atanh(m_i) - sum_j J_ij m_j,
      with the connected correlations shrunk toward their diagonal,
      c_s = (1 - shrinkage) c + shrinkage diag(c) + 1e-9 I, which keeps the inverse finite when
      c is singular (fewer samples than spins, constant spins).
    * ``"bethe"``: the linear-response Bethe inversion with its BP fields
      (:func:`~maxent.fit.mean_field.mean_field_start`, ``method="bethe"``), on correlations
      shrunk by the OAS rule when the moments carry their sample count (else by ``shrinkage``),
      couplings clipped to [-2, 2]: closer to the answer than nMF for strong couplings (the
      pseudo-likelihood solver's start).
    * ``"independent"``: J = 0, h_i = atanh(m_i) (the exact fit of independent spins).
    * ``"zeros"``: h = 0, J = 0.

    Magnetizations are clipped to |m| <= 1 - 1e-6 so that constant spins get a large finite field.
    """
    if init not in _INITS:
        raise ValueError(f"init must be one of {_INITS}, got {init!r}")
    n = moments.n_spins
    if init == "zeros":
        return np.zeros(n), np.zeros((n, n))
    m = np.clip(moments.m, -1 + 1e-6, 1 - 1e-6)
    h_ind = np.arctanh(m)
    if init == "independent" or n == 1:
        return h_ind, np.zeros((n, n))
    if init == "bethe":
        if moments.n_samples > 0:
            return mean_field_start(moments.m, moments.C, "auto", n_samples=moments.n_samples, method="bethe")
        return mean_field_start(moments.m, moments.C, shrinkage, method="bethe")
    c = moments.connected()
    d = np.diag(c).copy()
    c_s = (1.0 - shrinkage) * c
    c_s[np.diag_indices(n)] = d + 1e-9
    J = -np.linalg.inv(c_s)
    J = 0.5 * (J + J.T)
    np.fill_diagonal(J, 0.0)
    h = h_ind - J @ m
    return h, J


# Long by design: one learning loop whose state (chains, parameters, averages, convergence
# window, history) every step shares; sampling and averaging are separate functions.
def mcmc_boltzmann(
    moments: Moments,
    *,
    n_chains: int = 1000,
    n_sweeps: int = 3,
    max_sweeps: int = 48,
    max_iter: int = 3000,
    learning_rate: float = 0.01,
    l2: float = 0.0,
    l2_h: float = 0.0,
    init: str = "nmf",
    tol: float = 0.5,
    window: int = 100,
    decay: float = 0.5,
    centering: bool = False,
    method: str = "gibbs",
    global_flip: bool = True,
    rao_blackwell: bool = True,
    device: str = "cpu",
    dtype: str = "float32",
    engine: str = "auto",
    random_state: int | np.random.Generator | None = None,
    progress: bool = False,
) -> FitResult:
    """Fit (h, J) to the moments by persistent-chain Boltzmann learning (see the module docstring).

    Parameters
    ----------
    moments : Moments
        Data moments m (N,), C (N, N) and the number of samples M they came from.
    n_chains : int
        Number of persistent chains (>= 2, split in two halves for the noise estimate).
    n_sweeps : int
        Sweeps of every chain between parameter updates (initially; see ``max_sweeps``).
    max_sweeps : int
        Each failed fixed-parameter check doubles the sweeps per update, up to this cap.
    max_iter : int
        Maximum number of parameter updates.
    learning_rate : float
        Adam step size (the typical change of each parameter per update; of b and J with
        ``centering``).
    l2, l2_h : float
        L2 penalties on the couplings and on the fields (gradient terms -l2 J, -l2_h h).
    init : {"nmf", "bethe", "independent", "zeros"}
        Starting point (see :func:`initial_parameters`).
    tol : float
        Convergence threshold on the moment mismatch and on the chain noise of the averaged
        model moments, in units of the data's sampling noise (see the module docstring).
    window : int
        EMA window (iterations) of the learn phase; also the minimum length of the average phase.
    decay : float
        Exponent of the step-size decay (window / t)^decay in the average phase (0: constant).
    centering : bool
        Take the Adam steps in the centered parametrization (b, J), b = h + J m with m the data
        magnetizations (see the module docstring). Much faster learning where the magnetizations
        converge slowly (strongly coupled models, large heterogeneous magnetizations); off by
        default because it makes the averaged parameters noisier on well-conditioned problems
        (measurements in the module docstring).
    method : {"gibbs", "metropolis"}
        Chain dynamics.
    global_flip : bool
        Add the exact whole-configuration flip move s -> -s after every sweep (see
        :class:`maxent.model.sampling.PersistentChains`): without it, chains cannot cross between the
        mirror valleys of an ordered, nearly symmetric model and the fit fails its checks.
    rao_blackwell : bool
        Estimate model moments through tanh of the local fields (lower variance).
    device, dtype : str
        torch device and chain arithmetic (parameters and optimizer state are float64).
    engine : {"auto", "compiled", "torch"}
        How the chains sweep (see :class:`maxent.model.sampling.PersistentChains`); "auto" uses
        the compiled CPU sweep on CPU. The same chain either way, up to float32 round-off.
    random_state : int, Generator or None
        Seed of the chains.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    FitResult
        Averaged h (N,), J (N, N); ``history`` has one dict per iteration with ``iteration``,
        ``phase`` ("learn" or "average"), ``err_m``, ``err_C`` (max abs error of the averaged
        model moments), ``z_m``, ``z_C``, ``sys_m``, ``sys_C``, ``noise_m``, ``noise_C`` (in
        data-noise units, see the module docstring) and ``learning_rate`` (the Adam step size).
    """
    if not isinstance(moments, Moments):
        raise TypeError(f"moments must be a maxent.Moments, got {type(moments).__name__}")
    n_chains = check_int(n_chains, "n_chains", 2)
    n_sweeps = check_int(n_sweeps, "n_sweeps", 1)
    max_sweeps = check_int(max_sweeps, "max_sweeps", 1)
    max_iter = check_int(max_iter, "max_iter", 1)
    window = check_int(window, "window", 1)
    lr = check_positive(learning_rate, "learning_rate")
    l2 = check_nonnegative(l2, "l2")
    l2_h = check_nonnegative(l2_h, "l2_h")
    tol = check_positive(tol, "tol")
    decay = check_nonnegative(decay, "decay")
    _check_method(method)
    dev = resolve_device(device)
    rng = np.random.default_rng(random_state)

    M = moments.n_samples if moments.n_samples > 0 else n_chains * window
    f64 = dict(dtype=torch.float64, device=dev)
    m_d = torch.as_tensor(moments.m, **f64)
    C_d = torch.as_tensor(moments.C, **f64)
    # variance of each data moment (floored at one sample's resolution, for |x| = 1)
    var_m = torch.clamp(1.0 - m_d**2, min=1.0 / M) / M
    var_C = torch.clamp(1.0 - C_d**2, min=1.0 / M) / M

    h0, J0 = initial_parameters(moments, init)
    h = torch.as_tensor(h0, **f64)
    J = torch.as_tensor(J0, **f64)
    mu = m_d.clone()  # centering offsets (fixed: the data magnetizations)
    chains = PersistentChains(
        h0,
        J0,
        n_chains,
        method=method,
        rng=rng,
        device=dev,
        dtype=dtype,
        global_flip=global_flip,
        engine=engine,
    )
    half = n_chains // 2
    halves = (slice(0, half), slice(half, n_chains))

    b1, b2, eps = 0.9, 0.999, 1e-8
    mom_h, mom_J = torch.zeros_like(h), torch.zeros_like(J)
    v_h, v_J = torch.zeros_like(h), torch.zeros_like(J)
    avg_h, avg_J = h.clone(), J.clone()
    avg_m = [torch.zeros_like(h), torch.zeros_like(h)]
    avg_C = [torch.zeros_like(J), torch.zeros_like(J)]

    history: list[dict] = []
    converged = False
    averaging = False  # phase 2: cumulative (Polyak) averages instead of the EMA
    t_avg = 0  # iterations in the current average
    t_phase = 0  # iterations in the current learn phase
    next_check = window  # earliest t_avg of the next fixed-parameter check
    sweeps = n_sweeps
    it = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_iter, desc="MCMCBoltzmann", leave=False)
    for it in range(1, max_iter + 1):
        chains.set_params(h, J, validate=False)
        chains.run(sweeps)
        t_avg += 1
        t_phase += 1
        alpha = 1.0 / t_avg if averaging else max(1.0 / t_avg, 1.0 / window)
        sum_m = torch.zeros_like(h)
        sum_C = torch.zeros_like(J)
        for a, sl in enumerate(halves):
            sm, sC, n = chains.moment_sums(sl, rao_blackwell=rao_blackwell)
            sum_m += sm
            sum_C += sC
            avg_m[a].mul_(1 - alpha).add_(sm / n, alpha=alpha)
            avg_C[a].mul_(1 - alpha).add_(sC / n, alpha=alpha)
        avg_h.mul_(1 - alpha).add_(h, alpha=alpha)
        avg_J.mul_(1 - alpha).add_(J, alpha=alpha)

        # Adam ascent on the (penalized) log-likelihood
        g_h = m_d - sum_m / n_chains
        g_J = C_d - sum_C / n_chains
        if l2_h:
            g_h -= l2_h * h
        if l2:
            g_J -= l2 * J
        if centering:
            # step in the centered parameters (b, J), b = h + J mu (module docstring): dL/db = g_h,
            # dL/dJ_ij|_b = g_J - mu_j g_h_i - mu_i g_h_j (the penalties go through the same
            # chain rule); the Adam state mom_h, v_h then belongs to b
            gm = torch.outer(g_h, mu)
            g_J -= gm + gm.T
            first = h + J @ mu  # b
        else:
            first = h
        g_J.fill_diagonal_(0.0)
        step = lr * (min(1.0, (window / t_avg) ** decay) if averaging else 1.0)
        c1, c2 = 1 - b1**it, 1 - b2**it
        for p, g, mo, v in ((first, g_h, mom_h, v_h), (J, g_J, mom_J, v_J)):
            mo.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.addcdiv_(mo, v.div(c2).sqrt_().add_(eps), value=step / c1)
        if centering:
            h.copy_(first - J @ mu)  # back to h = b - J mu

        # averaged model moments vs data, in units of the data noise; halves A, B split the
        # mismatch into chain noise and the systematic rest
        rec = _mismatch(*_targets(m_d, C_d, avg_h, avg_J, l2_h, l2), var_m, var_C, avg_m, avg_C)
        phase = "average" if averaging else "learn"
        history.append({"iteration": it, "phase": phase, **rec, "learning_rate": step, "n_sweeps": sweeps})
        if bar is not None:
            bar.update(1)
            bar.set_postfix(z_m=f"{rec['z_m']:.2f}", z_C=f"{rec['z_C']:.2f}", sweeps=sweeps)
        if averaging:
            if t_avg >= next_check and max(rec["z_m"], rec["z_C"], rec["noise_m"], rec["noise_C"]) < tol:
                # check the averaged parameters without feedback: chains at fixed parameters
                ver = _verify(
                    chains,
                    avg_h,
                    avg_J,
                    halves,
                    n_records=min(t_avg, 4 * window),
                    sweeps=sweeps,
                    burn=window,
                    rao_blackwell=rao_blackwell,
                )
                vrec = _mismatch(*_targets(m_d, C_d, avg_h, avg_J, l2_h, l2), var_m, var_C, *ver)
                history.append(
                    {"iteration": it, "phase": "verify", **vrec, "learning_rate": 0.0, "n_sweeps": sweeps}
                )
                worst = max(vrec["sys_m"], vrec["sys_C"])
                if worst < tol:
                    converged = True
                    break
                if worst < 2 * tol:
                    # near miss: the averaged parameters are still noisy; average longer
                    next_check = t_avg + window
                else:
                    # far off: the chains lag behind the parameters (the bias of persistent
                    # chains when mixing is slow): mix more per update, learn again from the
                    # averaged parameters
                    sweeps = min(2 * sweeps, max(max_sweeps, n_sweeps))
                    h.copy_(avg_h)
                    J.copy_(avg_J)
                    averaging, t_avg, t_phase = False, 0, 0
        elif t_phase >= 2 * window and rec["sys_m"] < tol and rec["sys_C"] < tol:
            averaging, t_avg, next_check = True, 0, window
    if bar is not None:
        bar.close()
    J_out = avg_J.cpu().numpy()
    J_out = 0.5 * (J_out + J_out.T)
    np.fill_diagonal(J_out, 0.0)
    return FitResult(h=avg_h.cpu().numpy(), J=J_out, n_iter=it, converged=converged, history=history)


def _targets(
    m_d: torch.Tensor, C_d: torch.Tensor, h: torch.Tensor, J: torch.Tensor, l2_h: float, l2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Moments the model must match at the penalized optimum: data - l2 * theta."""
    return (m_d - l2_h * h if l2_h else m_d), (C_d - l2 * J if l2 else C_d)


@torch.no_grad()
def _verify(
    chains: PersistentChains,
    h: torch.Tensor,
    J: torch.Tensor,
    halves: tuple[slice, slice],
    *,
    n_records: int,
    sweeps: int,
    burn: int,
    rao_blackwell: bool,
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Model moments at fixed (h, J): ``burn`` sweeps, then the mean over ``n_records`` records
    ``sweeps`` apart, separately for the two halves of the chains."""
    chains.set_params(h, J, validate=False)
    chains.run(burn)
    ms = [torch.zeros_like(h), torch.zeros_like(h)]
    Cs = [torch.zeros_like(J), torch.zeros_like(J)]
    for _ in range(n_records):
        chains.run(sweeps)
        for a, sl in enumerate(halves):
            sm, sC, n = chains.moment_sums(sl, rao_blackwell=rao_blackwell)
            ms[a].add_(sm, alpha=1.0 / (n * n_records))
            Cs[a].add_(sC, alpha=1.0 / (n * n_records))
    return ms, Cs


def _mismatch(
    m_d: torch.Tensor,
    C_d: torch.Tensor,
    var_m: torch.Tensor,
    var_C: torch.Tensor,
    avg_m: list[torch.Tensor],
    avg_C: list[torch.Tensor],
) -> dict[str, float]:
    """Max-abs errors and normalized mismatches of the averaged model moments (see module doc)."""
    N = m_d.shape[0]
    n_pairs = N * (N - 1)
    dm = m_d - 0.5 * (avg_m[0] + avg_m[1])
    dC = C_d - 0.5 * (avg_C[0] + avg_C[1])
    nm = 0.25 * (avg_m[0] - avg_m[1]) ** 2
    nC = 0.25 * (avg_C[0] - avg_C[1]) ** 2
    z2_m = float((dm**2 / var_m).mean())
    noise2_m = float((nm / var_m).mean())
    if n_pairs:  # diagonal terms are 0
        z2_C = float((dC**2 / var_C).sum()) / n_pairs
        noise2_C = float((nC / var_C).sum()) / n_pairs
    else:
        z2_C = noise2_C = 0.0
    return {
        "err_m": float(dm.abs().max()),
        "err_C": float(dC.abs().max()) if n_pairs else 0.0,
        "z_m": float(np.sqrt(z2_m)),
        "z_C": float(np.sqrt(z2_C)),
        "sys_m": float(np.sqrt(max(z2_m - noise2_m, 0.0))),
        "sys_C": float(np.sqrt(max(z2_C - noise2_C, 0.0))),
        "noise_m": float(np.sqrt(noise2_m)),
        "noise_C": float(np.sqrt(noise2_C)),
    }


class MCMCBoltzmann(IsingEstimator):
    """Persistent-chain Boltzmann machine learning of the pairwise Ising model.

    Fits from ±1 samples (M, N) or from a :class:`maxent.Moments` alone (identical results for
    the same ``random_state``). See :func:`mcmc_boltzmann` for the algorithm and the
    hyperparameters, and the module docstring for the convergence criterion.

    Parameters
    ----------
    n_chains, n_sweeps, max_sweeps, max_iter, learning_rate, l2, l2_h, init, tol, window, decay,
    centering, method, global_flip, rao_blackwell, device, dtype, engine, random_state, progress
        As in :func:`mcmc_boltzmann`.
    n_threads : int or None
        torch intra-op threads during the fit (None: unchanged). One thread is fastest on a
        machine with more busy processes than cores.

    Attributes
    ----------
    h_ : ndarray (N,), J_ : ndarray (N, N), model_ : IsingModel
    n_iter_ : int, converged_ : bool
    history_ : DataFrame with columns iteration, phase, err_m, err_C, z_m, z_C, sys_m, sys_C,
        noise_m, noise_C, learning_rate (see :func:`mcmc_boltzmann`).

    Notes
    -----
    Measured on a busy 2-core CPU (SK-like truth, J ~ N(0, beta^2/N), h ~ N(0, 0.1^2)): N = 20,
    M = 2e4 exact samples, ~300-470 iterations, 1-3 s, rmse(J - J_true) 0.0091 (beta = 0.5;
    exact ML 0.0088) and 0.0156 (beta = 1.5; exact ML 0.0145); N = 100, M = 5e4 Gibbs samples,
    beta = 0.5: 300 iterations, ~6 s, rmse 0.0059. See benchmarks/bench_mcmc_scale.py for N = 675.
    """

    supports_moments = True

    def __init__(
        self,
        *,
        n_chains: int = 1000,
        n_sweeps: int = 3,
        max_sweeps: int = 48,
        max_iter: int = 3000,
        learning_rate: float = 0.01,
        l2: float = 0.0,
        l2_h: float = 0.0,
        init: str = "nmf",
        tol: float = 0.5,
        window: int = 100,
        decay: float = 0.5,
        centering: bool = False,
        method: str = "gibbs",
        global_flip: bool = True,
        rao_blackwell: bool = True,
        device: str = "cpu",
        dtype: str = "float32",
        engine: str = "auto",
        n_threads: int | None = None,
        random_state: int | np.random.Generator | None = None,
        progress: bool = False,
    ) -> None:
        self.n_chains = n_chains
        self.n_sweeps = n_sweeps
        self.max_sweeps = max_sweeps
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.l2 = l2
        self.l2_h = l2_h
        self.init = init
        self.tol = tol
        self.window = window
        self.decay = decay
        self.centering = centering
        self.method = method
        self.global_flip = global_flip
        self.rao_blackwell = rao_blackwell
        self.device = device
        self.dtype = dtype
        self.engine = engine
        self.n_threads = n_threads
        self.random_state = random_state
        self.progress = progress

    def _allows_constant_spins(self) -> bool:
        return self.l2_h > 0

    def _fit(self, moments: Moments, X: np.ndarray | None) -> FitResult:
        with torch_threads(self.n_threads):
            return mcmc_boltzmann(
                moments,
                n_chains=self.n_chains,
                n_sweeps=self.n_sweeps,
                max_sweeps=self.max_sweeps,
                max_iter=self.max_iter,
                learning_rate=self.learning_rate,
                l2=self.l2,
                l2_h=self.l2_h,
                init=self.init,
                tol=self.tol,
                window=self.window,
                decay=self.decay,
                centering=self.centering,
                method=self.method,
                global_flip=self.global_flip,
                rao_blackwell=self.rao_blackwell,
                device=self.device,
                dtype=self.dtype,
                engine=self.engine,
                random_state=self.random_state,
                progress=self.progress,
            )

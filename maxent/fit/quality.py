"""Quality of a fitted pairwise model, judged on statistics the fit did not see.

A maximum-likelihood pairwise model matches m_i and C_ij of its training data by construction,
so its quality shows in everything else (Zou & Huang 2021; Schneidman et al. 2006):

* connected correlations c_ij = <s_i s_j> - m_i m_j and connected three-point correlations
  T_ijk = <ds_i ds_j ds_k> (ds = s - m) of model samples against the data;
* the histogram of the energy per spin E(s)/N (under the fitted model) of data and model
  samples, and the histogram of pairwise overlaps q_ab = (1/N) sum_i s_i^a s_i^b between
  distinct samples;
* the mean log-likelihood of the data (training and held-out): exact for N <= 20, the
  pseudo-log-likelihood sum_i log P(s_i | s_-i) above.

:func:`fit_quality` draws samples from the model (exactly for N <= 20, by MCMC above, the chains
started at data rows by default) and returns one tidy DataFrame with one row per observation: a
statistic evaluated on the data (column ``data``) and on the model (column ``model``: on model
samples, or exactly where possible: the model's own mean log-likelihood is -entropy), with
``se``, the standard deviation of data - model expected from sampling noise alone (data and
model samples independent). A good fit has |data - model| ~ se; :func:`quality_summary`
condenses this into rmse / noise rmse per statistic, correlations and histogram distances;
:func:`plot_fit_quality` draws it.

Sampling-noise formulas (M data samples, M' model samples, samples assumed independent; MCMC
samples are correlated, so se is then a lower bound):

    Var(m_i estimate)    = (1 - m_i^2) / M
    Var(c_ij estimate)  ~= [1 - m_i^2 - m_j^2 - 3 m_i^2 m_j^2 + 4 m_i m_j C_ij - c_ij^2] / M
                           (the exact variance of ds_i ds_j for ±1 spins)
    Var(T_ijk estimate) ~= Var(ds_i ds_j ds_k) / M   (empirical, from up to 20000 rows)
    Var(bin fraction)    = p (1 - p) / M       (energy; overlaps: a U-statistic estimate)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from maxent._validation import check_int, check_spins
from maxent.data.moments import three_point
from maxent.model.ising import IsingModel

__all__ = ["fit_quality", "quality_summary", "plot_fit_quality", "EXACT_QUALITY_SPINS"]

#: largest N for exact model samples and exact log-likelihood by default
EXACT_QUALITY_SPINS = 20
_SCATTER = ("m", "C_connected", "T_three_point")
_HISTS = ("energy", "overlap")
_SAMPLERS = ("auto", "exact", "gibbs", "metropolis")
_CHAIN_STARTS = ("data", "random")
_VAR_ROWS = 20000


# Long by design: argument checks, one model-sampling step, then one block of rows per statistic
# in the order of the table it returns.
def fit_quality(
    model: IsingModel,
    X: np.ndarray,
    *,
    X_test: np.ndarray | None = None,
    n_model_samples: int | None = None,
    sampler: str = "auto",
    n_triplets: int = 2000,
    n_overlap_samples: int = 1000,
    bins: int = 40,
    n_chains: int = 256,
    burn: int = 500,
    thin: int = 2,
    chain_start: str = "data",
    random_state: int | np.random.Generator | None = None,
    device: str = "cpu",
) -> pd.DataFrame:
    """Compare a fitted model with data on connected 2- and 3-point correlations, energy and
    overlap histograms and log-likelihood.

    Parameters
    ----------
    model : IsingModel
        The fitted model (N spins).
    X : array (M, N) of ±1
        The data the model was fitted to (M >= 2).
    X_test : array (M_test, N) of ±1, optional
        Held-out data: adds the held-out log-likelihood (``index == "test"``).
    n_model_samples : int, optional
        Number of model samples M' (default max(M, 10000)).
    sampler : {"auto", "exact", "gibbs", "metropolis"}
        How to sample the model; "auto" is "exact" for N <= 20, else "gibbs".
    n_triplets : int
        Number of random triplets (i < j < k) for the three-point correlations (all if fewer).
    n_overlap_samples : int
        Overlaps are computed between all pairs among this many random data (and model) samples.
    bins : int
        Number of bins of the energy histogram (and at most of the overlap histogram, whose bin
        edges fall between the possible values -1, -1 + 2/N, ..., 1).
    n_chains, burn, thin : int
        MCMC settings (see :meth:`maxent.IsingModel.sample`).
    chain_start : {"data", "random"}
        Initial states of the MCMC chains (ignored by the exact sampler). "data" (default): each
        chain starts at a random row of ``X`` (without replacement while ``n_chains <= M``), the
        standard check of a fitted model: it is sampled near where the data live, then burned in.
        This matters for models with several valleys, e.g. an ordered ("broken") model whose
        states s and -s both have a valley: single-spin chains practically never cross between
        them, so chains from random states populate the valleys in proportions set by where they
        happened to start, not by the valley weights, and the model statistics can come out
        mirrored (magnetizations anti-correlated with the data). With data starts the valleys
        are populated in the data's proportions; what is checked is then the model within the
        valleys the data visit (valley weights, and valleys the data never visit, are not
        tested). "random": uniformly random states.
    random_state : int, Generator or None
        Seed for the model samples, the triplets and the overlap subsets.
    device : str
        torch device for MCMC.

    Returns
    -------
    DataFrame
        One row per observation, columns ``statistic`` (``m``, ``C_connected``,
        ``T_three_point``, ``energy``, ``overlap``, and ``log_likelihood`` (N <= 20) or
        ``pseudo_log_likelihood``), ``index`` ("i", "i,j", "i,j,k", the bin number, or
        "train"/"test"), ``data``, ``model``, ``se`` (sampling-noise sd of data - model),
        ``bin_lo``, ``bin_hi`` (histogram bins; NaN elsewhere). Histogram rows hold bin fractions.
        Log-likelihoods are means per sample; their ``model`` value is the model's own
        expectation (-entropy, or the mean pseudo-log-likelihood of model samples).
        ``df.attrs`` records n_spins, n_data, n_test, n_model_samples, the sampler and
        chain_start (None for the exact sampler).
    """
    if not isinstance(model, IsingModel):
        raise TypeError(f"model must be a maxent.IsingModel, got {type(model).__name__}")
    N = model.n_spins
    Xf = check_spins(X, name="X", n_spins=N, min_samples=2)
    Xt = None if X_test is None else check_spins(X_test, name="X_test", n_spins=N, min_samples=1)
    if sampler not in _SAMPLERS:
        raise ValueError(f"sampler must be one of {_SAMPLERS}, got {sampler!r}")
    if sampler == "auto":
        sampler = "exact" if N <= EXACT_QUALITY_SPINS else "gibbs"
    if chain_start not in _CHAIN_STARTS:
        raise ValueError(f"chain_start must be one of {_CHAIN_STARTS}, got {chain_start!r}")
    M = Xf.shape[0]
    n_model = max(M, 10000) if n_model_samples is None else check_int(n_model_samples, "n_model_samples", 2)
    n_triplets = check_int(n_triplets, "n_triplets", 1)
    n_overlap_samples = check_int(n_overlap_samples, "n_overlap_samples", 3)
    bins = check_int(bins, "bins", 1)
    rng = np.random.default_rng(random_state)

    init = None
    start = None if sampler == "exact" else chain_start
    if start == "data":
        n_chains = min(check_int(n_chains, "n_chains", 1), n_model)
        init = Xf[rng.choice(M, n_chains, replace=n_chains > M)]
    Y = model.sample(
        n_model,
        method=sampler,
        n_chains=n_chains,
        burn=burn,
        thin=thin,
        random_state=rng,
        device=device,
        init=init,
    ).astype(np.float64)
    Mp = Y.shape[0]
    frames = []

    # magnetizations
    m_d, m_y = Xf.mean(axis=0), Y.mean(axis=0)
    se_m = np.sqrt((1 - m_d**2) / M + (1 - m_y**2) / Mp)
    frames.append(_rows("m", [str(i) for i in range(N)], m_d, m_y, se_m))

    # connected pair correlations
    if N >= 2:
        iu = np.triu_indices(N, 1)
        C_d, C_y = (Xf.T @ Xf) / M, (Y.T @ Y) / Mp
        c_d = (C_d - np.outer(m_d, m_d))[iu]
        c_y = (C_y - np.outer(m_y, m_y))[iu]
        se_c = np.sqrt(_var_connected(m_d, C_d, iu) / M + _var_connected(m_y, C_y, iu) / Mp)
        labels = [f"{i},{j}" for i, j in zip(*iu, strict=True)]
        frames.append(_rows("C_connected", labels, c_d, c_y, se_c))

    # connected three-point correlations
    if N >= 3:
        trip, T_d = three_point(Xf, n_triplets=n_triplets, random_state=rng)
        _, T_y = three_point(Y, trip)
        se_T = np.sqrt(_var_triple(Xf, trip, rng) / M + _var_triple(Y, trip, rng) / Mp)
        labels = [f"{i},{j},{k}" for i, j, k in trip]
        frames.append(_rows("T_three_point", labels, T_d, T_y, se_T))

    # energy per spin under the fitted model (and the pseudo-log-likelihood of each sample)
    (e_d, pll_d), (e_y, pll_y) = _energy_pll(model, Xf), _energy_pll(model, Y)
    e_d, e_y = e_d / N, e_y / N
    lo, hi = min(e_d.min(), e_y.min()), max(e_d.max(), e_y.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, bins + 1)
    (p_d, v_d), (p_y, v_y) = _fractions(e_d, edges), _fractions(e_y, edges)
    frames.append(_hist_rows("energy", p_d, p_y, v_d + v_y, edges))

    # pairwise overlaps between distinct samples
    edges = _overlap_edges(N, bins)
    (p_d, v_d), (p_y, v_y) = (_overlap_hist(S, n_overlap_samples, edges, rng) for S in (Xf, Y))
    frames.append(_hist_rows("overlap", p_d, p_y, v_d + v_y, edges))

    # log-likelihood (per sample)
    if N <= EXACT_QUALITY_SPINS:
        neg_entropy = -model.entropy()
        sets = [("train", Xf)] + ([("test", Xt)] if Xt is not None else [])
        for name, S in sets:
            lp = model.log_prob(S)
            frames.append(_rows("log_likelihood", [name], [lp.mean()], [neg_entropy], [_sem(lp)]))
    else:
        sets = [("train", pll_d)] + ([("test", _energy_pll(model, Xt)[1])] if Xt is not None else [])
        for name, p in sets:
            se = np.sqrt(_sem(p) ** 2 + _sem(pll_y) ** 2)
            frames.append(_rows("pseudo_log_likelihood", [name], [p.mean()], [pll_y.mean()], [se]))

    df = pd.concat(frames, ignore_index=True)
    df.attrs.update(
        {
            "n_spins": N,
            "n_data": M,
            "n_test": 0 if Xt is None else Xt.shape[0],
            "n_model_samples": Mp,
            "sampler": sampler,
            "chain_start": start,
        }
    )
    return df


def _rows(stat: str, index: list[str], data, model, se, lo=None, hi=None) -> pd.DataFrame:
    n = len(index)
    nan = np.full(n, np.nan)
    return pd.DataFrame(
        {
            "statistic": stat,
            "index": index,
            "data": np.asarray(data, dtype=np.float64),
            "model": np.asarray(model, dtype=np.float64),
            "se": np.asarray(se, dtype=np.float64),
            "bin_lo": nan if lo is None else lo,
            "bin_hi": nan if hi is None else hi,
        }
    )


def _var_connected(m: np.ndarray, C: np.ndarray, iu: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Exact variance of ds_i ds_j (ds = s - m) for ±1 spins with moments m, C (pairs iu)."""
    mi, mj, Cij = m[iu[0]], m[iu[1]], C[iu]
    c = Cij - mi * mj
    v = 1 - mi**2 - mj**2 - 3 * mi**2 * mj**2 + 4 * mi * mj * Cij - c**2
    return np.maximum(v, 0.0)


def _var_triple(S: np.ndarray, trip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Empirical variance of ds_i ds_j ds_k over (up to 20000 random) rows of S."""
    rows = S if S.shape[0] <= _VAR_ROWS else S[rng.choice(S.shape[0], _VAR_ROWS, replace=False)]
    DT = np.array(rows.T, order="C")  # spins in rows: contiguous gathers
    DT -= DT.mean(axis=1, keepdims=True)
    out = np.empty(trip.shape[0])
    step = max(1, (1 << 22) // DT.shape[1])
    for a in range(0, trip.shape[0], step):
        t = trip[a : a + step]
        out[a : a + step] = (DT[t[:, 0]] * DT[t[:, 1]] * DT[t[:, 2]]).var(axis=1)
    return out


def _overlap_hist(
    S: np.ndarray, k: int, edges: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Histogram (fractions) of the overlaps (1/N) s^a . s^b over all pairs a < b among min(k, M)
    random rows of S, and the variance of each fraction.

    The fractions are U-statistics of order 2 over K rows, whose variance is about 4 zeta_1 / K
    with zeta_1 the variance over rows a of the fraction of partners b in the bin (Hoeffding).
    """
    M, N = S.shape
    sub = S if M <= k else S[rng.choice(M, k, replace=False)]
    K = sub.shape[0]
    n_bins = edges.size - 1
    Q = (sub @ sub.T) / N
    idx = np.clip(np.searchsorted(edges, Q, side="right") - 1, 0, n_bins - 1)
    np.fill_diagonal(idx, n_bins)  # self-overlaps go to a discarded extra bin
    counts = np.zeros((K, n_bins + 1))
    np.add.at(counts, (np.repeat(np.arange(K), K), idx.ravel()), 1.0)
    per_row = counts[:, :n_bins] / (K - 1)  # fraction of each row's partners in each bin
    p = per_row.mean(axis=0)
    var = 4.0 * per_row.var(axis=0) / K
    return p, var


def _overlap_edges(N: int, bins: int) -> np.ndarray:
    """Bin edges between the N + 1 possible overlap values, grouping neighbours into <= bins bins."""
    per = max(1, int(np.ceil((N + 1) / bins)))
    k = np.arange(0, N + 2, per)
    if k[-1] != N + 1:
        k = np.append(k, N + 1)
    return -1.0 + (2.0 * k - 1.0) / N


def _hist_rows(
    stat: str, p_d: np.ndarray, p_y: np.ndarray, var: np.ndarray, edges: np.ndarray
) -> pd.DataFrame:
    return _rows(stat, [str(b) for b in range(edges.size - 1)], p_d, p_y, np.sqrt(var), edges[:-1], edges[1:])


def _fractions(x: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bin fractions of i.i.d. values x and their variances p (1 - p) / n."""
    p = np.histogram(x, bins=edges)[0] / x.size
    return p, p * (1 - p) / x.size


def _energy_pll(model: IsingModel, S: np.ndarray, chunk: int = 16384) -> tuple[np.ndarray, np.ndarray]:
    """Energy E(s) = -(s.Js/2 + h.s) and pseudo-log-likelihood sum_i log sigmoid(2 s_i H_i) of each
    row of S (float64 ±1, already validated), from one product H = S J + h, in chunks of rows."""
    import torch
    import torch.nn.functional as F

    # copies: the model's arrays may be read-only (loaded from the cache), which torch warns about
    J = torch.tensor(model.J)
    h = torch.tensor(model.h)
    energy, pll = np.empty(S.shape[0]), np.empty(S.shape[0])
    for a in range(0, S.shape[0], chunk):
        s = torch.as_tensor(S[a : a + chunk])
        H = torch.addmm(h, s, J)  # local fields (B, N)
        sH = s * H
        energy[a : a + chunk] = (-0.5 * (sH.sum(dim=1) + s @ h)).numpy()  # s.Js = s.(H - h)
        pll[a : a + chunk] = (-F.softplus(-2.0 * sH).sum(dim=1)).numpy()
    return energy, pll


def _sem(x: np.ndarray) -> float:
    return float(np.std(x) / np.sqrt(x.size)) if x.size > 1 else np.nan


def quality_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Condense :func:`fit_quality` output to one row per statistic.

    Columns: ``statistic``, ``n`` (observations), ``rmse`` (root mean square of model - data),
    ``noise_rmse`` (root mean square of ``se``: the rmse expected from sampling noise alone),
    ``rmse_ratio`` = rmse / noise_rmse (about 1 for a model consistent with the data),
    ``pearson_r`` (model vs data, scatter statistics), ``js_distance`` (Jensen-Shannon distance,
    base 2, in [0, 1], histograms), ``ks`` (largest difference of the binned cumulative
    distributions), and ``data_value``/``model_value`` for the log-likelihood rows
    (statistic names ``log_likelihood_train``, ``log_likelihood_test``, or ``pseudo_...``).
    """
    from scipy.spatial.distance import jensenshannon

    required = {"statistic", "index", "data", "model", "se"}
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be the DataFrame returned by fit_quality, got {type(df).__name__}")
    if not required.issubset(df.columns):
        raise ValueError(
            f"df must come from fit_quality (columns {sorted(required)}), got {list(df.columns)}"
        )
    out = []
    for stat, g in df.groupby("statistic", sort=False):
        d, y, se = g["data"].to_numpy(), g["model"].to_numpy(), g["se"].to_numpy()
        if stat in ("log_likelihood", "pseudo_log_likelihood"):
            for _, r in g.iterrows():
                out.append(
                    {
                        "statistic": f"{stat}_{r['index']}",
                        "n": 1,
                        "data_value": r["data"],
                        "model_value": r["model"],
                    }
                )
            continue
        rec = {
            "statistic": stat,
            "n": len(g),
            "rmse": float(np.sqrt(np.mean((y - d) ** 2))),
            "noise_rmse": float(np.sqrt(np.mean(se**2))),
        }
        rec["rmse_ratio"] = rec["rmse"] / rec["noise_rmse"] if rec["noise_rmse"] > 0 else np.nan
        if stat in _HISTS:
            rec["js_distance"] = float(jensenshannon(d, y, base=2)) if d.sum() > 0 and y.sum() > 0 else np.nan
            rec["ks"] = float(np.max(np.abs(np.cumsum(d) - np.cumsum(y))))
        elif len(g) > 1 and np.std(d) > 0 and np.std(y) > 0:
            rec["pearson_r"] = float(np.corrcoef(d, y)[0, 1])
        out.append(rec)
    cols = [
        "statistic",
        "n",
        "rmse",
        "noise_rmse",
        "rmse_ratio",
        "pearson_r",
        "js_distance",
        "ks",
        "data_value",
        "model_value",
    ]
    return pd.DataFrame(out).reindex(columns=cols)


def plot_fit_quality(df: pd.DataFrame, *, title: str | None = None):
    """Figure of a :func:`fit_quality` table: model vs data scatter of m, connected C and T (with
    the identity line, rmse and rmse/noise in the legend), energy and overlap histograms (data vs
    model) and the data's (pseudo-)log-likelihoods against the model's own expectation.
    Returns a matplotlib Figure (2 x 3 axes)."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    summary = quality_summary(df).set_index("statistic")
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(2, 3, figsize=(13, 8))
    labels = {
        "m": "magnetization $m_i$",
        "C_connected": "connected $c_{ij}$",
        "T_three_point": "three-point $T_{ijk}$",
    }
    for ax, stat in zip(axes[0], _SCATTER, strict=True):
        g = df[df["statistic"] == stat]
        ax.set_title(labels[stat])
        ax.set_xlabel("data")
        ax.set_ylabel("model")
        if g.empty:
            ax.text(0.5, 0.5, "n/a", ha="center", va="center", transform=ax.transAxes)
            continue
        s = summary.loc[stat]
        sns.scatterplot(
            data=g,
            x="data",
            y="model",
            s=8,
            alpha=0.5,
            linewidth=0,
            ax=ax,
            label=f"rmse {s['rmse']:.3g} ({s['rmse_ratio']:.2g}x noise)",
        )
        lo = float(min(g["data"].min(), g["model"].min()))
        hi = float(max(g["data"].max(), g["model"].max()))
        ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, ls="--")
        ax.legend(loc="upper left", fontsize=8)
    for ax, stat, xlabel in zip(axes[1][:2], _HISTS, ("energy per spin E/N", "overlap q"), strict=True):
        g = df[df["statistic"] == stat]
        edges = np.append(g["bin_lo"].to_numpy(), g["bin_hi"].to_numpy()[-1:])
        js = summary.loc[stat, "js_distance"] if stat in summary.index else np.nan
        ax.stairs(g["data"].to_numpy(), edges, label="data", lw=1.5)
        ax.stairs(g["model"].to_numpy(), edges, label="model", lw=1.5, ls="--")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("fraction")
        ax.set_title(f"{stat} histogram (JS distance {js:.3g})")
        ax.legend(fontsize=8)
    ax = axes[1][2]
    ll = df[df["statistic"].isin(["log_likelihood", "pseudo_log_likelihood"])]
    if not ll.empty:
        x = np.arange(len(ll))
        ax.errorbar(x, ll["data"], yerr=2 * ll["se"], fmt="o", capsize=4, label="data (±2 se)")
        ax.axhline(float(ll["model"].iloc[0]), color="C1", ls="--", label="model's own expectation")
        ax.set_xticks(x, ll["index"].tolist())
        ax.set_xlim(-0.5, len(ll) - 0.5)
        ax.set_ylabel("mean per sample")
        ax.set_title(ll["statistic"].iloc[0].replace("_", " "))
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig

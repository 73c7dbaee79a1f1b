"""The batched ensemble trainer: many independent binary-synapse networks trained at once.

Each *run* is one independent training of a network with the architecture of
:mod:`maxent.data.nets` (widths (n_0, ..., n_L), no biases, softmax cross-entropy). R runs are
trained together as one tensor program: their parameters are stacked into a tensor (R, N)
viewed per layer as (R, n_l, n_{l-1}), every minibatch is (R, B, n_in) (each run has its own
minibatch order), and every layer is one ``torch.bmm``. Runs never interact: the loss is the
sum of the per-run mean losses, so each run's gradient is exactly its own, and Adam is
elementwise. There is no Python loop over runs.

Methods
-------
``"lrnet"`` (reference)
    Each weight is a ±1 random variable with P(w = +1) = sigmoid(theta); theta ~ N(0, init_std²)
    at start. The forward pass uses the local reparameterization trick
    (:func:`maxent.data.nets.lrnet_preactivation`): z ~ N(Σ mu a, Σ (1 − mu²) a²), mu = 2 sigmoid(theta) − 1
    = tanh(theta / 2), sampled per example and unit, in every layer (output layer included).
    After training, binary networks are drawn w ~ Bernoulli(sigmoid(theta)), ``draws_per_run``
    per run.
``"ste"``
    Deterministic sign weights w = sign(v) (sign(0) = +1) of real latent weights v
    (v ~ N(0, init_std²) at start), straight-through gradient dL/dv = dL/dw, latent weights
    clipped to [−1, 1] after each step (BinaryConnect). One network per run.

``weight_decay`` adds ``weight_decay · p`` to the gradient of every parameter p (L2 on theta for
"lrnet", a pull toward maximal weight uncertainty; on the latent weights for "ste").

Randomness and reproducibility
------------------------------
All random numbers (initialization, the per-epoch minibatch permutations, the LR-net noise,
the final Bernoulli draws) come from counter-based streams (:mod:`maxent.data._counter_rng`) keyed
by a 32-bit *run key* that depends on (seed, global run index) alone. Therefore run r gives the
same result whether it is trained alone, in a batch of 8 or of 256, in one chunk or after a
resume; and the same arguments give identical spins bit for bit on CPU. On CUDA results agree
with CPU to float rounding (reductions and transcendental functions differ in the last bits).

Checkpoints
-----------
Runs are processed in chunks of ``chunk_size``; with ``checkpoint_dir`` every finished chunk
is saved atomically as ``chunk_<start>_<stop>.npz`` (raw, un-gauged spins and accuracies plus
a fingerprint of everything that determines them). A killed collection re-run with the same
arguments loads the finished chunks and trains only the rest; chunks written for different
arguments are refused with an error.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch

from maxent._atomic import CorruptFileError, atomic_savez, load_npz
from maxent._validation import resolve_device
from maxent.data import _counter_rng as crng
from maxent.data.datasets import Dataset
from maxent.data.nets import GAUGES, binary_accuracy, gauge_fix, lrnet_layer
from maxent.data.samples import WeightSamples, block_slices

__all__ = [
    "TrainConfig",
    "TrainedRuns",
    "METHODS",
    "DEFAULT_LR",
    "train_runs",
    "draw_binary",
    "sample_weights",
]

METHODS = ("lrnet", "ste")
ACTIVATIONS = ("leaky_relu", "relu")
LR_SCHEDULES = ("constant", "cosine")
DEFAULT_LR = {"lrnet": 0.5, "ste": 0.01}

# sub-stream words of the counter-based generator
_INIT, _ORDER, _NOISE, _DRAW = 1, 2, 3, 4
_ADAM_BETAS = (0.9, 0.999)
_ADAM_EPS = 1e-8


@dataclass(frozen=True)
class TrainConfig:
    """Architecture and optimizer of every run.

    Parameters
    ----------
    widths : tuple of int
        Layer widths (n_0, ..., n_L): n_0 = number of inputs, n_L = number of classes.
    method : {"lrnet", "ste"}
        Binary-weight training method (see the module docstring).
    epochs : int
        Passes over the training set (each run draws its own permutation every epoch).
    lr : float, optional
        Adam learning rate (betas 0.9, 0.999; eps 1e-8). Default: the method's own,
        ``DEFAULT_LR[method]`` (0.5 for "lrnet", which moves theta, 0.01 for "ste", which moves
        latent weights confined to [-1, 1]).
    batch_size : int
        Minibatch size B (the last minibatch of an epoch holds the remainder).
    weight_decay : float
        L2 coefficient added to the gradient (>= 0).
    activation : {"leaky_relu", "relu"}
        Hidden nonlinearity; "relu" is leaky_relu with slope 0.
    slope : float
        Negative-side slope of the leaky ReLU, in [0, 1).
    init_std : float
        Standard deviation of the initial theta (lrnet) or latent weights (ste).
    lr_schedule : {"cosine", "constant"}
        "cosine": lr_t = lr (1 + cos(pi (t - 1) / T)) / 2 over the T steps of training.

    The defaults (tuned on digits, about 1400 training examples, 8 steps per epoch) give the
    deep 20-15-15-10 LR-net a mean test accuracy of the sampled binary networks of about 0.80
    and the shallow 20-10 about 0.80. On MNIST (300 steps per epoch) far fewer epochs suffice.
    Noise-driven growth of theta under Adam (a random walk of step ~lr) is what limits smaller
    learning rates on small data: the weights freeze before the hidden layers get a signal.
    """

    widths: tuple[int, ...] = (20, 15, 15, 10)
    method: str = "lrnet"
    epochs: int = 200
    lr: float | None = None
    batch_size: int = 200
    weight_decay: float = 0.0
    activation: str = "leaky_relu"
    slope: float = 0.1
    init_std: float = 0.1
    lr_schedule: str = "cosine"

    def __post_init__(self) -> None:
        widths = self.widths
        if isinstance(widths, str) or not isinstance(widths, Sequence):
            raise TypeError(f"widths must be a sequence of layer sizes, got {widths!r}")
        if len(widths) < 2 or any(
            isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in widths
        ):
            raise ValueError(
                f"widths must list at least two positive integer layer sizes, got {list(widths)}"
            )
        object.__setattr__(self, "widths", tuple(int(w) for w in widths))
        if self.widths[-1] < 2:
            raise ValueError(f"the output layer needs at least 2 classes, got widths {self.widths}")
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}; choose one of {list(METHODS)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}; choose one of {list(LR_SCHEDULES)}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose one of {list(ACTIVATIONS)}")
        if self.lr is None:
            object.__setattr__(self, "lr", DEFAULT_LR[self.method])
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
            object.__setattr__(self, name, int(v))
        for name, lo, lo_ok in (("lr", 0.0, False), ("init_std", 0.0, False), ("weight_decay", 0.0, True)):
            v = getattr(self, name)
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise TypeError(f"{name} must be a number, got {v!r}") from None
            if not np.isfinite(f) or f < lo or (f == lo and not lo_ok):
                raise ValueError(f"{name} must be a finite number {'>=' if lo_ok else '>'} {lo}, got {v!r}")
            object.__setattr__(self, name, f)
        s = float(self.slope)
        if not (0.0 <= s < 1.0):
            raise ValueError(f"slope must lie in [0, 1), got {self.slope!r}")
        object.__setattr__(self, "slope", 0.0 if self.activation == "relu" else s)

    @property
    def n_weights(self) -> int:
        return sum(a * b for a, b in zip(self.widths[:-1], self.widths[1:], strict=True))

    def to_dict(self) -> dict:
        """JSON-ready dict (widths as a list)."""
        d = asdict(self)
        d["widths"] = list(self.widths)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error (they are likely typos)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig keys {unknown}; known keys: {sorted(known)}")
        kw = dict(d)
        if "widths" in kw:
            kw["widths"] = tuple(kw["widths"])
        return cls(**kw)

    def check_dataset(self, dataset: Dataset) -> None:
        """Raise ValueError unless widths[0] = number of inputs and widths[-1] = number of classes."""
        if self.widths[0] != dataset.n_features:
            raise ValueError(
                f"widths {self.widths} start with {self.widths[0]} inputs but the dataset has "
                f"{dataset.n_features} features (n_components)"
            )
        if self.widths[-1] != dataset.n_classes:
            raise ValueError(
                f"widths {self.widths} end with {self.widths[-1]} outputs but the dataset has "
                f"{dataset.n_classes} classes"
            )


@dataclass
class TrainedRuns:
    """Trained parameters of R runs.

    Attributes
    ----------
    params : Tensor (R, N) float32
        theta (lrnet) or latent weights (ste), flattened like :mod:`maxent.data.samples`.
    keys : Tensor (R,) int32
        Run keys of the counter-based generator.
    final_loss : ndarray (R,)
        Mean training loss of each run over its last epoch.
    """

    params: torch.Tensor
    keys: torch.Tensor
    final_loss: np.ndarray


def _weights_of(params: torch.Tensor, config: TrainConfig) -> list[torch.Tensor]:
    """Effective per-layer tensors (R, n_out, n_in): mu = tanh(theta/2) or straight-through sign."""
    if config.method == "lrnet":
        eff = torch.tanh(0.5 * params)
    else:
        sign = torch.where(params >= 0, 1.0, -1.0)
        eff = params + (sign - params).detach()
    R = params.shape[0]
    w = config.widths
    return [
        eff[:, sl].view(R, n_out, n_in)
        for sl, n_in, n_out in zip(block_slices(w).values(), w[:-1], w[1:], strict=True)
    ]


def _lr_at(config: TrainConfig, t: int, total: int) -> float:
    """Learning rate of step t (1-based) of ``total``: constant, or cosine decay to 0."""
    if config.lr_schedule == "cosine":
        return config.lr * 0.5 * (1.0 + float(np.cos(np.pi * (t - 1) / total)))
    return config.lr


def _batch_loss(
    params: torch.Tensor,
    xb: torch.Tensor,
    yb: torch.Tensor,
    noise_keys: torch.Tensor | None,
    config: TrainConfig,
) -> torch.Tensor:
    """Per-run mean cross-entropy on a minibatch, (R,).

    xb : (R, n_0, B) feature-major inputs; yb : (R, B) labels; noise_keys : (R,) keys of this
    step's LR-net noise, a block (R, n_1 + ... + n_L, B) of standard normals drawn layer by layer
    (rows offset..offset+n_l-1 for layer l; a smaller working set than drawing it at once).
    Hidden layers pass on leaky_relu(z); their 1/sqrt(fan-in) factor is applied to the next
    layer's (small) weight tensors instead of the (large) activations -- the same network.
    """
    layers = _weights_of(params, config)
    a = xb
    offset, scale = 0, 1.0
    for layer, W in enumerate(layers):
        n_out = W.shape[1]
        if config.method == "lrnet":
            b = a.shape[2]
            noise = crng.normal(noise_keys, (n_out, b), offset=offset * b)
            z = lrnet_layer(a, W, noise, scale)
        else:
            z = torch.bmm(W * scale if scale != 1.0 else W, a)
        offset += n_out
        if layer < len(layers) - 1:
            a = torch.nn.functional.leaky_relu(z, config.slope)
            scale = 1.0 / float(np.sqrt(W.shape[2]))  # this layer's fan-in n_{l-1}
    ce = torch.nn.functional.cross_entropy(z, yb, reduction="none")  # z (R, C, B) -> (R, B)
    return ce.mean(dim=1)


def train_runs(
    dataset: Dataset,
    config: TrainConfig,
    *,
    run_ids: Sequence[int] | np.ndarray,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: bool = False,
) -> TrainedRuns:
    """Train the runs with global indices ``run_ids`` at once (one batched program).

    Run r's initialization, minibatch orders and noise depend on (seed, run_ids[r]) only, so
    ``train_runs(run_ids=[0, 1, 2])`` equals three calls with ``run_ids=[0]``, ``[1]``, ``[2]``.

    Returns
    -------
    TrainedRuns
    """
    from tqdm.auto import tqdm

    config.check_dataset(dataset)
    dev = resolve_device(device)
    run_ids = np.asarray(run_ids, dtype=np.int64).reshape(-1)
    if run_ids.size < 1:
        raise ValueError("run_ids is empty: train at least one run")
    keys = crng.run_keys(seed, torch.from_numpy(run_ids), device=dev)
    R, N = run_ids.size, config.n_weights
    X = torch.tensor(dataset.X_train, device=dev)
    y = torch.tensor(dataset.y_train, device=dev)
    P, B = X.shape[0], min(config.batch_size, X.shape[0])
    steps = -(-P // B)

    params = (crng.normal(crng.derive(keys, _INIT), (N,)) * config.init_std).requires_grad_(True)
    m = torch.zeros_like(params)
    v = torch.zeros_like(params)
    b1, b2 = _ADAM_BETAS
    k_order, k_noise = crng.derive(keys, _ORDER), crng.derive(keys, _NOISE)
    epoch_loss = torch.zeros(R, device=dev)
    t, total = 0, config.epochs * steps
    bar = tqdm(
        total=config.epochs, desc=f"training {R} runs", unit="epoch", disable=not progress, leave=False
    )
    for epoch in range(config.epochs):
        with torch.no_grad():
            perm = torch.argsort(crng.words(crng.derive(k_order, epoch), P), dim=1, stable=True)
            epoch_loss.zero_()
        for s in range(steps):
            idx = perm[:, s * B : (s + 1) * B]
            b = idx.shape[1]
            noise_keys = crng.derive(k_noise, t) if config.method == "lrnet" else None
            xb = X[idx].transpose(1, 2).contiguous()
            loss = _batch_loss(params, xb, y[idx], noise_keys, config)
            (grad,) = torch.autograd.grad(loss.sum(), params)
            t += 1
            with torch.no_grad():
                epoch_loss += loss.detach() * b
                if config.weight_decay:
                    grad = grad.add(params, alpha=config.weight_decay)
                m.mul_(b1).add_(grad, alpha=1 - b1)
                v.mul_(b2).addcmul_(grad, grad, value=1 - b2)
                denom = (v.sqrt() / float(np.sqrt(1 - b2**t))).add_(_ADAM_EPS)
                params.addcdiv_(m, denom, value=-_lr_at(config, t, total) / (1 - b1**t))
                if config.method == "ste":
                    params.clamp_(-1.0, 1.0)
        bar.update(1)
    bar.close()
    return TrainedRuns(params.detach(), keys, (epoch_loss / P).cpu().numpy().astype(np.float64))


@torch.no_grad()
def draw_binary(runs: TrainedRuns, config: TrainConfig, draws_per_run: int = 1) -> torch.Tensor:
    """Binary networks of trained runs, (R * draws_per_run, N) float32 ±1, run-major.

    lrnet: w ~ Bernoulli(sigmoid(theta)) independently, from the run's own stream (draw d of
    run r uses sub-stream d). ste: the sign of the latent weights (draws_per_run must be 1).
    """
    if draws_per_run < 1:
        raise ValueError(f"draws_per_run must be >= 1, got {draws_per_run}")
    if config.method == "ste":
        if draws_per_run != 1:
            raise ValueError("method='ste' gives one deterministic network per run; use draws_per_run=1")
        return torch.where(runs.params >= 0, 1.0, -1.0)
    R, N = runs.params.shape
    k_draw = crng.derive(runs.keys, _DRAW)
    u = crng.uniform(crng.derive_many(k_draw, draws_per_run).reshape(-1), (N,))
    p_plus = torch.sigmoid(runs.params).repeat_interleave(draws_per_run, dim=0)
    return torch.where(u < p_plus, 1.0, -1.0)


def _versions() -> dict:
    from maxent import __version__

    return {
        "maxent": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _chunk_fingerprint(
    dataset: Dataset, config: TrainConfig, seed: int, draws: int, dev: torch.device
) -> dict:
    return {
        "config": config.to_dict(),
        "dataset_fingerprint": dataset.provenance["fingerprint"],
        "seed": int(seed),
        "draws_per_run": int(draws),
        "device_type": dev.type,
    }


def _train_chunk(
    dataset: Dataset,
    config: TrainConfig,
    run_ids: np.ndarray,
    seed: int,
    draws: int,
    dev: torch.device,
    progress: bool,
) -> dict[str, np.ndarray]:
    runs = train_runs(dataset, config, run_ids=run_ids, seed=seed, device=dev, progress=progress)
    W = draw_binary(runs, config, draws)
    # examples per evaluation pass: activations (networks, width, examples) stay within ~2^26
    # floats (256 MB) also for many draws per run (256 runs x 100 draws = 25600 networks)
    ex_chunk = int(max(64, min(8192, 2**26 // (W.shape[0] * sum(config.widths)))))
    kw = {"slope": config.slope, "device": dev, "chunk": ex_chunk}
    return {
        "spins": W.cpu().numpy().astype(np.int8),
        "accuracy": binary_accuracy(W, config.widths, dataset.X_test, dataset.y_test, **kw),
        "train_accuracy": binary_accuracy(W, config.widths, dataset.X_train, dataset.y_train, **kw),
        "keys": crng.to_unsigned(runs.keys).cpu().numpy(),
        "final_loss": runs.final_loss,
    }


def sample_weights(
    dataset: Dataset,
    config: TrainConfig,
    *,
    n_runs: int,
    draws_per_run: int = 1,
    seed: int = 0,
    device: str | torch.device = "cpu",
    gauge: str = "none",
    checkpoint_dir: str | Path | None = None,
    progress: bool = True,
    chunk_size: int = 256,
    min_accuracy: float | None = None,
) -> WeightSamples:
    """Train ``n_runs`` independent networks and return their binary weights as ±1 spins.

    Parameters
    ----------
    dataset : Dataset
    config : TrainConfig
        widths[0] must equal the number of inputs and widths[-1] the number of classes.
    n_runs : int
        Number of independent runs R (>= 1).
    draws_per_run : int
        Binary networks drawn per run (lrnet only; ste allows 1). M = n_runs * draws_per_run.
    seed : int
        Master seed; run r is a function of (seed, r).
    device : {"cpu", "cuda"} or torch.device
    gauge : {"none", "sort"}
        "none" keeps the raw runs (as in the reference study: statistics average over the
        hidden-unit permutation symmetry); "sort" maps every network to its canonical
        permutation (:func:`maxent.data.nets.gauge_fix`) before the spins are returned.
    checkpoint_dir : path, optional
        Folder for per-chunk checkpoints; re-running with the same arguments resumes.
    progress : bool
        Show tqdm progress bars.
    chunk_size : int
        Runs trained together in one batched program (memory grows linearly with it).
    min_accuracy : float in [0, 1], optional
        Keep only the sampled binary networks whose *test* accuracy is >= this value (the
        reference study keeps networks of test accuracy >= 0.80). All ``n_runs * draws_per_run``
        networks are drawn and evaluated; the rejected ones are dropped. ``meta`` records how
        many were drawn and kept, and from how many runs; checkpoints hold the unfiltered draws,
        so a collection can be re-filtered with another threshold without retraining. Selecting
        on the test set biases the kept networks' test accuracy upward (it is no longer an
        unbiased estimate of generalization; ``train_accuracy`` is unaffected by the selection
        rule itself). ``None`` keeps everything.

    Returns
    -------
    WeightSamples
        spins (M, N) int8, rows run-major (row r * draws_per_run + d before filtering),
        ``accuracy`` and ``train_accuracy`` of every kept binary network, ``run`` index (the
        global run index, also after filtering: hold-outs and bootstraps split by it), and
        ``meta`` (config, dataset provenance, seed, per-run keys, gauge, device, versions, and
        ``sampling``: drawn/kept counts, runs with a kept network, the accuracy threshold).

    Raises
    ------
    ValueError
        Bad arguments, or no network reaches ``min_accuracy`` (the message gives the best
        accuracy drawn).
    """
    from tqdm.auto import tqdm

    for name, v in (("n_runs", n_runs), ("draws_per_run", draws_per_run), ("chunk_size", chunk_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if gauge not in GAUGES:
        raise ValueError(f"unknown gauge {gauge!r}; choose one of {list(GAUGES)}")
    if config.method == "ste" and draws_per_run != 1:
        raise ValueError("method='ste' gives one deterministic network per run; use draws_per_run=1")
    min_accuracy = check_min_accuracy(min_accuracy)
    config.check_dataset(dataset)
    dev = resolve_device(device)
    fingerprint = _chunk_fingerprint(dataset, config, seed, draws_per_run, dev)
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if ckpt is not None:
        ckpt.mkdir(parents=True, exist_ok=True)

    starts = list(range(0, n_runs, chunk_size))
    parts: list[dict[str, np.ndarray]] = []
    bar = tqdm(total=n_runs, desc="runs", unit="run", disable=not progress)
    for start in starts:
        stop = min(start + chunk_size, n_runs)
        part = _load_chunk(ckpt, start, stop, fingerprint) if ckpt is not None else None
        if part is None:
            part = _train_chunk(dataset, config, np.arange(start, stop), seed, draws_per_run, dev, progress)
            if ckpt is not None:
                atomic_savez(_chunk_path(ckpt, start, stop), part, meta={"fingerprint": fingerprint})
        parts.append(part)
        bar.update(stop - start)
    bar.close()

    spins = np.concatenate([p["spins"] for p in parts])
    accuracy = np.concatenate([p["accuracy"] for p in parts])
    train_accuracy = np.concatenate([p["train_accuracy"] for p in parts])
    run = np.repeat(np.arange(n_runs, dtype=np.int64), draws_per_run)
    n_drawn, drawn_mean = spins.shape[0], float(accuracy.mean())
    if min_accuracy is not None:
        keep = accuracy >= min_accuracy
        if not keep.any():
            raise ValueError(
                f"no sampled network reaches min_accuracy={min_accuracy}: the best of the {n_drawn} drawn "
                f"has test accuracy {accuracy.max():.4f} (mean {accuracy.mean():.4f}); lower the threshold "
                "or train longer"
            )
        spins, accuracy, train_accuracy, run = spins[keep], accuracy[keep], train_accuracy[keep], run[keep]
    spins = gauge_fix(spins, config.widths, gauge)
    keys = np.concatenate([p["keys"] for p in parts])
    sampling = {
        "n_runs": int(n_runs),
        "draws_per_run": int(draws_per_run),
        "n_drawn": int(n_drawn),
        "min_accuracy": min_accuracy,
        "n_kept": int(spins.shape[0]),
        "kept_fraction": float(spins.shape[0] / n_drawn),
        "n_runs_kept": int(np.unique(run).size),
        "drawn_accuracy_mean": drawn_mean,
    }
    meta = {
        "config": config.to_dict(),
        "dataset": dict(dataset.provenance),
        "seed": int(seed),
        "n_runs": int(n_runs),
        "draws_per_run": int(draws_per_run),
        "gauge": gauge,
        "device": str(dev),
        "run_keys": [int(k) for k in keys],
        "final_loss": [float(x) for x in np.concatenate([p["final_loss"] for p in parts])],
        "rng": "counter-based (maxent.data._counter_rng): run key = f(seed, run index); streams for init, "
        "minibatch order, LR-net noise and Bernoulli draws",
        "versions": _versions(),
        "sampling": sampling,
    }
    return WeightSamples(spins, config.widths, accuracy, train_accuracy, run, meta)


def check_min_accuracy(value: object) -> float | None:
    """``None`` or a number in [0, 1] (as float); anything else is refused with a clear error."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"min_accuracy must be a number in [0, 1] or None, got {value!r}")
    v = float(value)
    if not (0.0 <= v <= 1.0):
        raise ValueError(f"min_accuracy must lie in [0, 1], got {value!r}")
    return v


def _chunk_path(folder: Path, start: int, stop: int) -> Path:
    return folder / f"chunk_{start:06d}_{stop:06d}.npz"


_CHUNK_RE = re.compile(r"chunk_(\d{6,})_(\d{6,})\.npz$")


def _load_chunk(folder: Path, start: int, stop: int, fingerprint: dict) -> dict[str, np.ndarray] | None:
    """A finished chunk from ``folder`` if present; refuse chunks written for other arguments."""
    for other in folder.glob("chunk_*.npz"):
        match = _CHUNK_RE.search(other.name)
        if match is None:
            continue
        a, b = int(match.group(1)), int(match.group(2))
        if (a, b) != (start, stop) and a < stop and start < b:
            raise ValueError(
                f"checkpoint {other} covers runs {a}..{b - 1}, overlapping this chunk {start}..{stop - 1} "
                "with different boundaries (were chunk_size or n_runs changed?); use the same values or an "
                "empty folder"
            )
    path = _chunk_path(folder, start, stop)
    if not path.exists():
        return None
    try:
        arrays, meta = load_npz(path, required=("spins", "accuracy", "train_accuracy", "keys", "final_loss"))
    except CorruptFileError as exc:
        raise CorruptFileError(f"{exc}; delete it to retrain that chunk") from exc
    stored = meta.get("fingerprint")
    if stored != json.loads(json.dumps(fingerprint)):
        diff = sorted(
            k for k in fingerprint if (stored or {}).get(k) != json.loads(json.dumps(fingerprint[k]))
        )
        raise ValueError(
            f"checkpoint {path} was written for different arguments (differs in {diff}); "
            "use another checkpoint_dir or delete it"
        )
    n_rows = (stop - start) * fingerprint["draws_per_run"]
    if arrays["spins"].shape != (n_rows, TrainConfig.from_dict(fingerprint["config"]).n_weights):
        raise CorruptFileError(
            f"checkpoint {path} holds spins of shape {arrays['spins'].shape}, not {n_rows} rows; "
            "delete it to retrain that chunk"
        )
    return arrays

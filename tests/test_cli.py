"""The maxent command line: each command on tiny files, exit codes and one-line errors for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from threadpoolctl import threadpool_limits

from maxent import IsingModel, WeightSamples
from maxent.cli import main
from maxent.formats import load_model

ROOT = Path(__file__).resolve().parents[1]


def _invoke(*args: str):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result


def _assert_bad_input(result, *fragments: str) -> None:
    """Exit code 2, one 'Error: ...' line naming the problem, and no traceback."""
    assert result.exit_code == 2, result.output
    text = result.output.strip()
    assert "Traceback" not in text
    err = [line for line in text.splitlines() if line.startswith("Error:")]
    assert len(err) == 1, text
    for frag in fragments:
        assert frag in err[0], err[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Tiny weight samples (widths 4-3-2: W1 12 spins, W2 6 spins) drawn from a known model."""
    tmp = tmp_path_factory.mktemp("cli")
    truth = IsingModel.random_sk(18, beta=0.8, h_std=0.3, random_state=1)
    with threadpool_limits(1):  # multithreaded BLAS crawls on a busy shared machine
        spins = truth.sample(300, method="exact", random_state=2)
    rng = np.random.default_rng(0)
    smp = WeightSamples(
        spins,
        (4, 3, 2),
        rng.uniform(0.5, 0.9, 300),
        rng.uniform(0.6, 0.95, 300),
        meta={"dataset": {"name": "teacher"}, "config": {"method": "lrnet"}},
    )
    smp.save(tmp / "samples.npz")
    np.savez(tmp / "plain.npz", X=spins[:, :12])
    np.save(tmp / "plain.npy", spins[:, :6])
    np.savez(tmp / "notpm1.npz", X=np.array([[0, 1], [1, 1]]))
    (tmp / "corrupt.npz").write_bytes(b"PK\x03\x04 this is not a zip")
    return tmp


def test_help_of_every_command():
    result = _invoke("--help")
    assert result.exit_code == 0
    for cmd in ("sample", "run", "fit", "landscape", "export", "info", "report"):
        assert cmd in result.output
        sub = _invoke(cmd, "--help")
        assert sub.exit_code == 0 and "Usage: main " + cmd in sub.output.replace("maxent", "main")
    assert "--backend [loky|dask]" in _invoke("run", "--help").output
    assert "--scheduler" in _invoke("run", "--help").output


def test_fit_all_blocks_of_weight_samples(files, tmp_path):
    result = _invoke(
        "fit", files / "samples.npz", "--block", "all", "--out", tmp_path / "models", "-p", "alpha=0.01"
    )
    assert result.exit_code == 0, result.output
    for b, n in (("W1", 12), ("W2", 6), ("full", 18)):
        model, meta = load_model(tmp_path / "models" / f"{b}.npz", return_meta=True)
        assert model.n_spins == n
        assert (
            meta["block"] == b
            and meta["params"] == {"alpha": 0.01}
            and meta["estimator"] == "pseudolikelihood"
        )
        assert f"{b}: {n} spins, 300 samples" in result.output


def test_fit_plain_arrays_and_formats(files, tmp_path):
    r = _invoke(
        "fit", files / "plain.npz", "--out", tmp_path / "m.json", "-e", "mean_field", "-p", "method=tap"
    )
    assert r.exit_code == 0, r.output
    assert load_model(tmp_path / "m.json").n_spins == 12
    r = _invoke("fit", files / "plain.npy", "--out", tmp_path / "m.txt", "--quality", tmp_path / "q.csv")
    assert r.exit_code == 0, r.output
    assert load_model(tmp_path / "m.txt").n_spins == 6
    q = pd.read_csv(tmp_path / "q.csv")
    assert {"block", "statistic", "data", "model"} <= set(q.columns)


def test_fit_bad_input_exits_2_with_one_line(files, tmp_path):
    _assert_bad_input(_invoke("fit", tmp_path / "absent.npz", "-o", tmp_path / "m.npz"), "no such file")
    _assert_bad_input(_invoke("fit", files / "corrupt.npz", "-o", tmp_path / "m.npz"), "corrupt.npz")
    _assert_bad_input(_invoke("fit", files / "notpm1.npz", "-o", tmp_path / "m.npz"), "+1 and -1", "0")
    _assert_bad_input(_invoke("fit", files / "samples.npz", "-b", "W5", "-o", tmp_path / "m.npz"), "W5")
    _assert_bad_input(_invoke("fit", files / "samples.npz", "-p", "alfa=1", "-o", tmp_path / "m.npz"), "alfa")
    _assert_bad_input(
        _invoke("fit", files / "samples.npz", "-p", "alpha", "-o", tmp_path / "m.npz"), "KEY=VALUE"
    )
    _assert_bad_input(
        _invoke("fit", files / "plain.npz", "-b", "W1", "-o", tmp_path / "m.npz"),
        "unknown block(s) ['W1']; plain.npz has ['full']",
    )
    _assert_bad_input(
        _invoke("fit", files / "samples.npz", "-b", "all", "-o", tmp_path / "m.npz"), "looks like a file"
    )
    bad_est = _invoke("fit", files / "samples.npz", "-e", "magic", "-o", tmp_path / "m.npz")
    assert bad_est.exit_code == 2 and "magic" in bad_est.output  # click's own usage error


def test_landscape_command(files, tmp_path):
    assert _invoke("fit", files / "samples.npz", "-b", "W1", "-o", tmp_path / "W1.npz").exit_code == 0
    r = _invoke(
        "landscape",
        tmp_path / "W1.npz",
        "-s",
        files / "samples.npz",
        "-r",
        "low",
        "-o",
        tmp_path / "land.csv",
        "--x-start",
        "-1",
        "--x-stop",
        "1",
        "--x-step",
        "0.25",
        "--figure",
        tmp_path / "land.png",
    )
    assert r.exit_code == 0, r.output
    df = pd.read_csv(tmp_path / "land.csv")
    assert {"x", "sweep", "q", "d", "entropy", "energy", "converged"} <= set(df.columns)
    assert len(df) == 2 * 9
    assert (tmp_path / "land.png").stat().st_size > 1000
    # the block comes from the model's metadata; a row index and a reference file work too
    r = _invoke(
        "landscape",
        tmp_path / "W1.npz",
        "-s",
        files / "samples.npz",
        "-r",
        "5",
        "-o",
        tmp_path / "l2.csv",
        "--x-step",
        "1",
    )
    assert r.exit_code == 0, r.output
    ref = WeightSamples.load(files / "samples.npz").block("W1")[5]
    np.save(tmp_path / "ref.npy", ref)
    r = _invoke(
        "landscape",
        tmp_path / "W1.npz",
        "--reference-file",
        tmp_path / "ref.npy",
        "-o",
        tmp_path / "l3.csv",
        "--x-step",
        "1",
    )
    assert r.exit_code == 0, r.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "l2.csv"), pd.read_csv(tmp_path / "l3.csv"))


def test_landscape_bad_input(files, tmp_path):
    assert _invoke("fit", files / "samples.npz", "-b", "W2", "-o", tmp_path / "W2.npz").exit_code == 0
    model = tmp_path / "W2.npz"
    _assert_bad_input(_invoke("landscape", model, "-o", tmp_path / "l.csv"), "--samples")
    _assert_bad_input(
        _invoke("landscape", model, "-s", files / "samples.npz", "-b", "W1", "-o", tmp_path / "l.csv"),
        "12 spins but the model has 6",
    )
    _assert_bad_input(
        _invoke("landscape", model, "-s", files / "samples.npz", "-r", "lowest", "-o", tmp_path / "l.csv"),
        "lowest",
    )
    _assert_bad_input(
        _invoke("landscape", model, "-s", files / "samples.npz", "-r", "999", "-o", tmp_path / "l.csv"),
        "out of range",
    )
    _assert_bad_input(
        _invoke("landscape", model, "-s", files / "samples.npz", "--x-step", "-1", "-o", tmp_path / "l.csv"),
        "step must be > 0",
    )
    np.save(tmp_path / "badref.npy", np.array([1, -1, 0, 1, 1, 1]))
    _assert_bad_input(
        _invoke("landscape", model, "--reference-file", tmp_path / "badref.npy", "-o", tmp_path / "l.csv"),
        "+1 and -1",
    )
    _assert_bad_input(_invoke("landscape", files / "corrupt.npz", "-o", tmp_path / "l.csv"), "corrupt.npz")


@pytest.mark.parametrize("fmt", ["json", "csv", "txt", "npz"])
def test_export_round_trip(files, tmp_path, fmt):
    assert _invoke("fit", files / "samples.npz", "-b", "W2", "-o", tmp_path / "W2.npz").exit_code == 0
    r = _invoke("export", tmp_path / "W2.npz", tmp_path / f"copy.{fmt}")
    assert r.exit_code == 0, r.output
    a, meta = load_model(tmp_path / f"copy.{fmt}", return_meta=True)
    assert a == load_model(tmp_path / "W2.npz")
    assert meta["block"] == "W2" and meta["converted_from"] == "W2.npz"
    r = _invoke("export", tmp_path / f"copy.{fmt}", tmp_path / "again.bin", "--format", "txt")
    assert r.exit_code == 0 and load_model(tmp_path / "again.bin", format="txt") == a


def test_export_bad_input(tmp_path):
    _assert_bad_input(_invoke("export", tmp_path / "absent.json", tmp_path / "x.csv"), "no such file")
    (tmp_path / "half.json").write_text('{"h": [0.1, 0.2], "J": [[0, 0.3],')
    _assert_bad_input(_invoke("export", tmp_path / "half.json", tmp_path / "x.csv"), "half.json", "JSON")
    IsingModel(np.zeros(2), np.zeros((2, 2))).save(tmp_path / "ok.npz")
    _assert_bad_input(_invoke("export", tmp_path / "ok.npz", tmp_path / "x.hdf5"), "cannot infer")


def test_info_command(files, tmp_path):
    r = _invoke("info", files / "samples.npz", "--json")
    assert r.exit_code == 0
    d = json.loads(r.output)
    assert d["kind"] == "weight samples" and d["n_samples"] == 300 and d["blocks"] == {"W1": 12, "W2": 6}
    IsingModel.random_sk(5, random_state=0).save(tmp_path / "m.npz")
    d = json.loads(_invoke("info", tmp_path / "m.npz", "--json").output)
    assert d["kind"] == "Ising model" and d["n_spins"] == 5
    r = _invoke("info", ROOT / "pipelines" / "default.yaml")
    assert r.exit_code == 0 and "valid" in r.output and "deep-under" in r.output
    (tmp_path / "bad.yaml").write_text(
        yaml.safe_dump({"settings": [{"name": "a", "widths": [20, 10], "n_trian": 5}]})
    )
    _assert_bad_input(_invoke("info", tmp_path / "bad.yaml"), "settings[0].n_trian", "allowed keys")
    _assert_bad_input(_invoke("info", tmp_path / "nothing"), "no such file")
    (tmp_path / "empty").mkdir()
    _assert_bad_input(_invoke("info", tmp_path / "empty"), "without maxent results")


TINY_CLI = {
    "name": "cli",
    "dataset": {"name": "digits", "n_components": 6},
    "trainer": {"epochs": 2},
    "settings": [{"name": "s", "widths": [6, 10], "n_train": 40, "regime": "over", "n_runs": 6}],
    "fit": {"estimator": {"name": "pseudolikelihood", "params": {"alpha": 0.1}}, "holdout": 0.0},
    "quality": {"enabled": False},
    "landscape": {"enabled": False},
    "clustering": {"enabled": False},
    "outputs": {"figures": False, "export_formats": ["npz", "csv"]},
}


def test_run_command_and_its_errors(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(TINY_CLI))
    out = tmp_path / "out"
    r = _invoke("run", cfg, "--out", out, "-q")
    assert r.exit_code == 0, r.output
    assert "report.md written" in r.output and "0 task(s) from cache" in r.output
    assert (out / "report.md").exists() and (out / "models" / "s" / "W1.csv").exists()
    assert (out / "data_cards" / "s.md").exists() and (out / "tables" / "liquidity.csv").exists()
    r = _invoke("run", cfg, "--out", out, "-q")
    assert r.exit_code == 0 and " 0 computed" in r.output
    d = json.loads(_invoke("info", out, "--json").output)
    assert d["kind"] == "pipeline results" and d["settings"] == ["s"]
    # the report is a function of the folder's results: rebuilt without the cache, byte for byte
    written = (out / "report.md").read_text()
    r = _invoke("report", out, "--to", tmp_path / "rebuilt.md", "--cards", tmp_path / "cards")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "rebuilt.md").read_text() == written
    assert (tmp_path / "cards" / "s.md").read_text() == (out / "data_cards" / "s.md").read_text()
    _assert_bad_input(_invoke("report", tmp_path), "no maxent run")
    # a different config into the same folder is refused, one line, exit 2
    cfg2 = tmp_path / "c2.yaml"
    cfg2.write_text(yaml.safe_dump({**TINY_CLI, "seed": 1}))
    _assert_bad_input(_invoke("run", cfg2, "--out", out, "-q"), "different run", "--force")
    # bad configs and options
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({**TINY_CLI, "landscpe": {}}))
    _assert_bad_input(_invoke("run", tmp_path / "bad.yaml", "--out", tmp_path / "o2"), "landscpe")
    _assert_bad_input(_invoke("run", tmp_path / "absent.yaml", "--out", tmp_path / "o3"), "not found")
    _assert_bad_input(
        _invoke("run", cfg, "--out", tmp_path / "o4", "--scheduler", "tcp://x:1"), "--backend dask"
    )
    _assert_bad_input(_invoke("run", cfg, "--out", tmp_path / "o5", "--n-jobs", "0"), "--n-jobs")
    (tmp_path / "afile").write_text("x")
    r = _invoke("run", cfg, "--out", tmp_path / "afile")
    assert r.exit_code == 2


def test_sample_offers_mnist5k_raw_pca_and_the_accuracy_filter(tmp_path):
    out = tmp_path / "s.npz"
    result = _invoke(
        "sample",
        "-d",
        "mnist5k",
        "--scaling",
        "none",
        "-w",
        "20,10",
        "--runs",
        "4",
        "--draws-per-run",
        "2",
        "--epochs",
        "1",
        "--min-accuracy",
        "0.05",
        "--quiet",
        "--threads",
        "1",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    smp = WeightSamples.load(out)
    assert smp.meta["dataset"]["scaling"] == "none"
    assert smp.meta["sampling"]["min_accuracy"] == 0.05 and smp.meta["sampling"]["n_drawn"] == 8
    assert np.all(smp.accuracy >= 0.05)
    _assert_bad_input(
        _invoke(
            "sample",
            "-w",
            "20,10",
            "--runs",
            "2",
            "--epochs",
            "1",
            "--min-accuracy",
            "0.99999",
            "--quiet",
            "--out",
            tmp_path / "t.npz",
        ),
        "accuracy",
    )


def test_active_path_command_writes_the_phase_diagram(tmp_path):
    out = tmp_path / "ap"
    r = _invoke(
        "active-path", "--out", out, "--temperatures", "0,0.5", "--pop-size", "300", "--iterations", "40",
        "--repeats", "2",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    df = pd.read_csv(out / "active_path_phase_diagram.csv")
    assert {"T", "transition", "rho", "rho_err", "order"} <= set(df.columns)
    assert (out / "active_path_phase_diagram.png").stat().st_size > 1000
    # clustering comes before condensation at every temperature; T = 0 near the XORSAT values
    wide = df.pivot_table(index="T", columns="transition", values="rho")
    assert (wide["dynamical"] < wide["static"]).all()
    assert abs(wide.loc[0.0, "static"] - (1 - 1.5 / (3 * 0.917935))) < 0.02
    _assert_bad_input(_invoke("active-path", "--out", out, "--temperatures", "zero"), "--temperatures")
    _assert_bad_input(_invoke("active-path", "--out", out, "--layers", "2", "--pop-size", "100"), "n_layers")

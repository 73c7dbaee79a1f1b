"""Regression tests of issue #12: never lose a user's file, never crash a shared cache, never call
a non-answer converged. One section per numbered item of the issue, then the smaller ones.

Every test here failed on the code before the fix (checked by stashing it).
"""

from __future__ import annotations

import ast
import itertools
import json
import multiprocessing as mp
import os
import stat
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from maxent import IsingModel
from maxent._atomic import CorruptFileError, FileTooLargeError, atomic_write_text, load_npz
from maxent.cli import main
from maxent.fit import ExactBoltzmann, PseudoLikelihood
from maxent.fit._base import NonIdentifiableWarning
from maxent.formats import load_model
from maxent.pipeline import OutputFolderError, PipelineError, run_pipeline
from maxent.pipeline.cache import Cache
from maxent.pipeline.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]

#: a pipeline of a few seconds: one shallow setting, landscape on a 3-point grid
MICRO = {
    "name": "micro",
    "seed": 5,
    "dataset": {"name": "digits", "n_components": 8},
    "trainer": {"epochs": 2, "lr": 0.05},
    "settings": [{"name": "shallow", "widths": [8, 10], "n_train": 60, "regime": "over", "n_runs": 6}],
    "fit": {"estimator": {"name": "pseudolikelihood", "params": {"alpha": 0.05}}, "holdout": 0.0},
    "quality": {"enabled": False},
    "landscape": {"x": {"start": -1.0, "stop": 1.0, "step": 1.0}, "references": ["low"]},
    "clustering": {"enabled": False},
    "outputs": {"figures": False},
}


def _cfg(tmp: Path, cfg: dict, name: str = "micro.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _run(cfg_path: Path, out: Path, **kw):
    return run_pipeline(cfg_path, out, progress=False, verbose=False, n_jobs=1, **kw)


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _assert_bad_input(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    err = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(err) == 1 and "Traceback" not in result.output, result.output
    for frag in fragments:
        assert frag in err[0], err[0]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ================================================================ 1. --force and the user's files
def test_force_into_a_foreign_folder_keeps_the_users_files(tmp_path):
    out = tmp_path / "u"
    (out / "figures").mkdir(parents=True)
    (out / "tables").mkdir()
    (out / "figures" / "fig1_final.png").write_text("mine")
    (out / "tables" / "experiment.csv").write_text("exp")
    cfg = _cfg(tmp_path, MICRO)
    _run(cfg, out, force=True)
    assert (out / "figures" / "fig1_final.png").read_text() == "mine"
    assert (out / "tables" / "experiment.csv").read_text() == "exp"
    assert (out / "tables" / "fits.csv").exists() and (out / "report.md").exists()


def test_force_refuses_to_replace_a_users_report(tmp_path):
    out = tmp_path / "u"
    out.mkdir()
    (out / "report.md").write_text("draft")
    with pytest.raises(OutputFolderError, match="report.md"):
        _run(_cfg(tmp_path, MICRO), out, force=True)
    assert (out / "report.md").read_text() == "draft"
    assert sorted(p.name for p in out.iterdir()) == ["report.md"]  # nothing claimed or left behind


def test_force_over_an_old_run_replaces_only_its_files_and_says_so(tmp_path):
    out = tmp_path / "run"
    _run(_cfg(tmp_path, MICRO), out)
    (out / "figures").mkdir(exist_ok=True)
    (out / "figures" / "mine.png").write_text("mine")
    (out / "models" / "shallow" / "notes.txt").write_text("notes")
    edited = out / "data_cards" / "shallow.md"
    edited.write_text("my edits")  # a maxent output the user changed since: kept
    other = {**MICRO, "name": "other", "settings": [{**MICRO["settings"][0], "name": "small"}]}
    _run(_cfg(tmp_path, other, "other.yaml"), out, force=True)
    assert (out / "figures" / "mine.png").read_text() == "mine"
    assert (out / "models" / "shallow" / "notes.txt").read_text() == "notes"
    assert edited.read_text() == "my edits"
    assert not (out / "models" / "shallow" / "W1.npz").exists()  # the old run's own output
    assert not (out / "samples" / "shallow.npz").exists()
    assert (out / "models" / "small" / "W1.npz").exists()
    log = (out / "run.log").read_text()
    assert "replaced" in log and "models/shallow/W1.npz" in log
    assert "data_cards/shallow.md" in log  # named as kept


def test_a_users_file_at_an_output_path_is_left_and_reported(tmp_path):
    out = tmp_path / "u"
    (out / "tables").mkdir(parents=True)
    (out / "tables" / "fits.csv").write_text("my fits")
    summary = _run(_cfg(tmp_path, MICRO), out, force=True)
    assert (out / "tables" / "fits.csv").read_text() == "my fits"
    assert "tables/fits.csv" in summary.skipped_outputs
    assert "tables/fits.csv" in (out / "report.md").read_text()


# ================================================================ 2. the cache folder
def test_cache_dir_pointing_at_a_user_folder_is_refused(tmp_path):
    docs = tmp_path / "docs"
    (docs / ".tmp-draft").mkdir(parents=True)
    (docs / ".tmp-draft" / "chapter1.tex").write_text("\\chapter{One}")
    before = _snapshot(docs)
    r = _invoke("run", _cfg(tmp_path, MICRO), "--out", tmp_path / "out", "--cache-dir", docs, "-q")
    _assert_bad_input(r, "not a maxent cache", str(docs))
    assert _snapshot(docs) == before
    assert not (tmp_path / "out").exists()  # refused before the output folder was claimed


def test_clean_partial_removes_only_the_caches_own_partial_entries(tmp_path):
    cache = Cache(tmp_path / "c")
    cache.store("fit", "ab12", {"x": np.arange(3)})
    own = tmp_path / "c" / "fit" / ".tmp-ab12-0123abcd"
    own.mkdir()
    (own / "half.npy").write_bytes(b"x")
    alien = tmp_path / "c" / "fit" / ".tmp-draft"
    alien.mkdir()
    (alien / "keep.txt").write_text("keep")
    assert cache.clean_partial() == 1
    assert not own.exists() and (alien / "keep.txt").exists()
    assert cache.load("fit", "ab12") is not None


def test_cache_written_before_markers_is_still_accepted(tmp_path):
    cache = Cache(tmp_path / "c")
    cache.store("fit", "ab12", {"x": np.arange(3)})
    (tmp_path / "c" / ".maxent-cache").unlink()  # as written by an older maxent
    import shutil

    shutil.rmtree(tmp_path / "c" / ".locks")
    Cache(tmp_path / "c").check_root()
    assert Cache(tmp_path / "c").load("fit", "ab12") is not None


# ================================================================ 3. concurrent writers
def _hammer(root: str, seed: int, n: int, q) -> None:
    try:
        cache = Cache(root)
        rng = np.random.default_rng(seed)
        for k in range(n):
            key = f"{k % 3:04x}"
            cache.clean_partial()
            cache.store("landscape", key, {"a": np.full(2000, k % 3), "meta": {"k": k % 3}})
            items = cache.load("landscape", key)
            assert items is not None and int(items["a"][0]) == k % 3
            if rng.random() < 0.1:
                cache.clean_partial()
        q.put("ok")
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        q.put(f"{type(exc).__name__}: {exc}")


def test_concurrent_writers_of_one_entry_all_succeed(tmp_path):
    # fork where there is one (fast: no re-import of torch); the writers use numpy and files only
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path / "shc"), s, 20, q)) for s in range(4)]
    for p in procs:
        p.start()
    results = [q.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert results == ["ok"] * 4, results
    assert not list((tmp_path / "shc" / "landscape").glob(".tmp-*"))


def test_no_posix_only_lock_module():
    """fcntl does not exist on Windows: no maxent module may import it."""
    for path in (ROOT / "maxent").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert "fcntl" not in names, path


# ================================================================ 4. size limit
def test_load_limit_is_checked_from_the_headers(tmp_path, monkeypatch):
    big = tmp_path / "big.npz"
    np.savez_compressed(big, h=np.zeros(1500), J=np.zeros((1500, 1500)))  # 18 MB, ~20 kB on disk
    assert big.stat().st_size < 100_000
    monkeypatch.setenv("MAXENT_MAX_LOAD_BYTES", "1e6")
    with pytest.raises(FileTooLargeError, match="load limit"):
        load_npz(big)
    _assert_bad_input(_invoke("info", big), "load limit", "MAXENT_MAX_LOAD_BYTES")
    monkeypatch.setenv("MAXENT_MAX_LOAD_BYTES", "1e8")
    assert load_npz(big)[0]["J"].shape == (1500, 1500)


def test_hostile_header_is_refused_without_reading(tmp_path):
    """A header declaring a 1e12-byte array over a few bytes of data: refused from the header."""
    from numpy.lib import format as npf

    path = tmp_path / "bomb.npz"
    import io

    buf = io.BytesIO()
    npf.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**5)})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("J.npy", buf.getvalue() + b"\0" * 64)
        zf.writestr("h.npy", buf.getvalue())
    with pytest.raises(FileTooLargeError, match="J"):
        load_npz(path)
    _assert_bad_input(_invoke("info", path), "load limit")


# ================================================================ 5. non-identifiable fits
def _duplicated(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.choice([-1, 1], size=(300, 5)).astype(np.int8)
    return np.hstack([X, X[:, :1]])


@pytest.mark.parametrize("est", [ExactBoltzmann(), PseudoLikelihood(alpha=0.0)], ids=["exact", "pl"])
def test_duplicated_spin_is_not_called_converged(est):
    with pytest.warns(NonIdentifiableWarning, match=r"perfectly correlated pairs.*\(0, 5\)"):
        est.fit(_duplicated())
    assert est.converged_ is False and "(0, 5)" in est.nonidentifiable_


def test_anticorrelated_pair_and_regularized_fits():
    X = _duplicated()
    X[:, 5] *= -1
    with pytest.warns(NonIdentifiableWarning, match="anti-correlated"):
        ExactBoltzmann().fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonIdentifiableWarning)
        assert ExactBoltzmann(l2=0.01).fit(X).nonidentifiable_ == ""  # a finite answer exists
        PseudoLikelihood(alpha=0.01).fit(X)


def test_separable_data_is_flagged_for_the_pseudolikelihood():
    rng = np.random.default_rng(3)
    X = rng.choice([-1, 1], size=(200, 6)).astype(np.int8)
    X[:, 5] = np.sign(X[:, 0] + X[:, 1] + X[:, 2])  # a threshold of others: no pair is degenerate
    with pytest.warns(NonIdentifiableWarning, match="separable"):
        est = PseudoLikelihood(alpha=0.0).fit(X)
    assert not est.converged_


def test_full_support_data_is_not_flagged():
    """Oracle: every configuration present -> moments in the interior -> finite maximum."""
    X = np.array(list(itertools.product([-1, 1], repeat=4)) * 5, dtype=np.int8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonIdentifiableWarning)
        est = PseudoLikelihood(alpha=0.0).fit(X)
        ExactBoltzmann().fit(X)
    assert est.nonidentifiable_ == ""
    np.testing.assert_allclose(est.J_, 0.0, atol=1e-3)


# ================================================================ 6. sample --out
@pytest.mark.parametrize("where", ["parent_is_a_file", "is_a_folder"])
def test_sample_checks_its_output_before_training(tmp_path, monkeypatch, where):
    import maxent.data.train

    def no_training(*a, **k):
        raise AssertionError("trained although the output cannot be written")

    monkeypatch.setattr(maxent.data.train, "sample_weights", no_training)
    (tmp_path / "f.txt").write_text("x")
    out = tmp_path / "f.txt" / "s.npz" if where == "parent_is_a_file" else tmp_path
    r = _invoke("sample", "-w", "8,10", "--runs", "2", "--epochs", "1", "-q", "--out", out)
    _assert_bad_input(r, str(out))


# ================================================================ 7. estimator params at planning
@pytest.mark.parametrize(
    "params, fragment",
    [({"alpha": -1}, "alpha"), ({"alpha": "abc"}, "alpha"), ({"alpha": {"a": 1}}, "alpha")],
)
def test_info_validates_estimator_params(tmp_path, params, fragment):
    cfg = {**MICRO, "fit": {"estimator": {"name": "pseudolikelihood", "params": params}}}
    _assert_bad_input(_invoke("info", _cfg(tmp_path, cfg)), "fit.estimator", fragment)


def test_bad_params_do_not_claim_the_output_folder(tmp_path):
    out = tmp_path / "out"
    bad = {**MICRO, "fit": {"estimator": {"name": "pseudolikelihood", "params": {"alfa": 0.05}}}}
    with pytest.raises(ConfigError, match="alfa"):
        _run(_cfg(tmp_path, bad, "bad.yaml"), out)
    assert not (out / ".maxent" / "run.json").exists()
    bad = {**MICRO, "fit": {"estimator": {"name": "pseudolikelihood", "params": {"alpha": -1}}}}
    with pytest.raises(ConfigError, match="alpha"):
        _run(_cfg(tmp_path, bad, "bad2.yaml"), out)
    assert not (out / ".maxent" / "run.json").exists()


# ================================================================ 8. one failing task
def test_a_failing_task_is_named_and_the_rest_is_written(tmp_path, monkeypatch):
    import maxent.pipeline.tasks as pl

    real = pl._task_landscape

    def flaky(model, reference, *a, **k):
        if model.n_spins == 80:  # shallow/W1 (8 x 10)
            raise FloatingPointError("BP messages overflowed")
        return real(model, reference, *a, **k)

    monkeypatch.setattr(pl, "_task_landscape", flaky)
    cfg = {**MICRO, "settings": [*MICRO["settings"], {"name": "deep", "widths": [8, 3, 10], "n_runs": 6}]}
    out = tmp_path / "out"
    with pytest.raises(PipelineError, match=r"landscape shallow/W1/low: FloatingPointError"):
        _run(_cfg(tmp_path, cfg), out)
    land = pd.read_csv(out / "tables" / "landscape.csv")
    assert set(land["setting"]) == {"deep"}
    assert (out / "tables" / "fits.csv").exists() and (out / "models" / "shallow" / "W1.npz").exists()
    report = (out / "report.md").read_text()
    assert "## Failures" in report and "shallow/W1/low" in report and "BP messages overflowed" in report
    # the rerun retries only the failed task
    monkeypatch.setattr(pl, "_task_landscape", real)
    summary = _run(_cfg(tmp_path, cfg), out)
    assert summary.stages["landscape"].computed == 1 and not summary.failures
    assert "## Failures" not in (out / "report.md").read_text()


# ================================================================ 9. unconverged jumps
def test_landscape_labels_jumps_between_unconverged_points(tmp_path, monkeypatch):
    import maxent.geometry.landscape as gl

    model = IsingModel(np.zeros(3), np.zeros((3, 3)))
    model_path = tmp_path / "m.npz"
    from maxent.formats import export

    export(model, model_path)
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    fake = pd.DataFrame(
        {
            "x": np.concatenate([x, x[::-1]]),
            "sweep": ["up"] * 5 + ["down"] * 5,
            "q": 0.0,
            "d": [0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1, 0.5, 0.5, 0.5],
            "entropy": 0.5,
            "energy": 0.0,
            "converged": [True, True, False, False, True, True, True, True, True, True],
            "n_iter": 10,
        }
    )
    monkeypatch.setattr(gl, "entropy_landscape", lambda *a, **k: fake)
    ref = tmp_path / "ref.npy"
    np.save(ref, np.ones(3))
    r = _invoke("landscape", model_path, "--reference-file", ref, "-o", tmp_path / "l.csv")
    assert r.exit_code == 0, r.output
    lines = [ln for ln in r.output.splitlines() if "jump" in ln]
    up = [ln for ln in lines if "up sweep" in ln]
    down = [ln for ln in lines if "down sweep" in ln]
    assert up and all("UNCONVERGED" in ln and "did not converge" in ln for ln in up)
    assert down and not any("UNCONVERGED" in ln for ln in down)


# ================================================================ smaller items
def test_export_refuses_to_overwrite_or_follow_links(tmp_path):
    m = tmp_path / "m.npz"
    from maxent.formats import export

    export(IsingModel(np.zeros(2), np.zeros((2, 2))), m)
    dest = tmp_path / "d.json"
    dest.write_text("keep")
    _assert_bad_input(_invoke("export", m, dest), "exists", "--force")
    assert dest.read_text() == "keep"
    assert _invoke("export", m, dest, "--force").exit_code == 0
    assert load_model(dest).n_spins == 2
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "target.json")
    _assert_bad_input(_invoke("export", m, link, "--force"), "symbolic link")
    assert not (tmp_path / "target.json").exists()
    _assert_bad_input(_invoke("export", m, tmp_path / "x.json", "--format", "npz"), "does not match")
    assert not (tmp_path / "x.json").exists()


def test_outputs_follow_the_umask(tmp_path):
    mask = os.umask(0o022)
    os.umask(mask)
    atomic_write_text(tmp_path / "a.txt", "x")
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_setting_names_are_refused(tmp_path, name):
    cfg = {**MICRO, "settings": [{**MICRO["settings"][0], "name": name}]}
    _assert_bad_input(_invoke("info", _cfg(tmp_path, cfg)), "settings[0].name")


@pytest.fixture(scope="module")
def spins_file(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rel")
    rng = np.random.default_rng(0)
    np.savez(tmp / "X.npz", X=rng.choice([-1, 1], size=(60, 5)).astype(np.int8))
    return tmp / "X.npz"


@pytest.mark.parametrize(
    "param, fragment",
    [
        ("alpha=null", "alpha"),
        ("max_iter=.nan", "max_iter"),
        ("max_iter=NaN", "max_iter"),
        ("device=foo", "device"),
        ("max_iter=1.5", "max_iter"),
        ("batch_size=0", "batch_size"),
        ("alpha=[1, 2]", "alpha"),
    ],
)
def test_bad_estimator_params_name_the_parameter(tmp_path, spins_file, param, fragment):
    r = _invoke("fit", spins_file, "-o", tmp_path / "m.npz", "-p", param)
    _assert_bad_input(r, fragment)
    assert not (tmp_path / "m.npz").exists()


def test_cv_folds_must_be_an_integer(tmp_path, spins_file):
    r = _invoke("fit", spins_file, "-o", tmp_path / "m.npz", "-e", "pseudolikelihood_cv", "-p", "cv=2.7")
    _assert_bad_input(r, "cv")


def test_exponent_notation_is_a_number(tmp_path, spins_file):
    r = _invoke("fit", spins_file, "-o", tmp_path / "m.npz", "-p", "max_iter=1e3")
    assert r.exit_code == 0, r.output


def test_deeply_nested_json_and_list_metadata_are_corrupt_files(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text('{"h": ' + "[" * 100_000 + "]" * 100_000 + ', "J": []}')
    with pytest.raises(CorruptFileError, match="deep.json"):
        load_model(deep)
    lst = tmp_path / "lst.npz"
    np.savez(lst, h=np.zeros(2), J=np.zeros((2, 2)), __meta__=np.array(json.dumps([1, 2])))
    with pytest.raises(CorruptFileError, match="metadata"):
        load_model(lst)
    _assert_bad_input(_invoke("info", lst), "metadata")


def test_one_point_grid_writes_a_full_transitions_table(tmp_path):
    cfg = {**MICRO, "landscape": {"x": {"start": 0.0, "stop": 1.0, "step": 5.0}, "references": ["low"]}}
    out = tmp_path / "out"
    _run(_cfg(tmp_path, cfg), out)
    tr = pd.read_csv(out / "tables" / "transitions.csv")
    assert len(tr) == 0 and {"kind", "sweep", "x_from", "x_to", "delta_d", "converged"} <= set(tr.columns)


def test_corrupted_sample_checkpoint_is_retrained(tmp_path):
    from maxent.data.train import TrainConfig, _chunk_path
    from maxent.pipeline.tasks import _task_samples

    ckpt = tmp_path / "ckpt"
    args = dict(
        dataset={"name": "digits", "n_components": 8},
        n_train=60,
        train=TrainConfig(widths=(8, 10), epochs=1).to_dict(),
        n_runs=4,
        draws_per_run=1,
        gauge="none",
        seed=1,
        device="cpu",
        setting_meta={"name": "s"},
    )
    ref = _task_samples(checkpoint_dir=None, **args)["samples"]
    ckpt.mkdir()
    _chunk_path(ckpt, 0, 4).write_bytes(b"PK\x03\x04 truncated by a crash")
    got = _task_samples(checkpoint_dir=str(ckpt), **args)["samples"]
    np.testing.assert_array_equal(got.spins, ref.spins)


def _children(pid: int) -> list[int]:
    kids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        ppid = next((int(line.split()[1]) for line in text.splitlines() if line.startswith("PPid:")), -1)
        if ppid == pid:
            kids.append(int(status.parent.name))
    return kids


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_workers_of_a_killed_run_exit(tmp_path):
    """SIGKILL the run's main process while its loky workers train: they stop within seconds."""
    import signal
    import subprocess
    import sys
    import time

    slow = {
        **MICRO,
        "trainer": {"epochs": 2000, "lr": 0.05},
        "settings": [
            {"name": "a", "widths": [8, 10], "n_runs": 64},
            {"name": "b", "widths": [8, 10], "n_runs": 64, "n_train": 500},
        ],
    }
    cfg = _cfg(tmp_path, slow)
    code = "from maxent.cli import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "run", str(cfg), "--out", str(tmp_path / "out"), "-q", "-j", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    try:
        deadline = time.time() + 120
        workers: list[int] = []
        while time.time() < deadline and len(workers) < 2:
            workers = [k for k in _children(proc.pid) if "loky" in Path(f"/proc/{k}/cmdline").read_text()]
            time.sleep(0.2)
        assert len(workers) >= 2, "no workers started"
        time.sleep(8)  # imports done, training under way
        assert proc.poll() is None
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.time() + 20
        alive = workers
        while time.time() < deadline and alive:
            alive = [w for w in workers if Path(f"/proc/{w}").exists() and "Z" not in _state(w)]
            time.sleep(0.5)
        assert not alive, f"workers {alive} outlived the run"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _state(pid: int) -> str:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return "Z"
    return next((line.split()[1] for line in text.splitlines() if line.startswith("State:")), "Z")


def test_exponent_notation_in_a_yaml_config_is_a_number(tmp_path):
    """YAML 1.1 reads `alpha: 1e-3` as a string: it must still mean 0.001, not be refused."""
    from maxent.fit.registry import check_estimator, make_estimator

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(MICRO).replace("alpha: 0.05", "alpha: 1e-3"))
    assert "1e-3" in path.read_text()
    assert _invoke("info", path).exit_code == 0
    check_estimator("pseudolikelihood", {"alpha": "1e-3", "max_iter": "1e3"})
    est = make_estimator("pseudolikelihood", {"alpha": "1e-3", "max_iter": "1e3"})
    assert est.alpha == 0.001 and est.max_iter == 1000 and isinstance(est.max_iter, int)


def test_sample_keeps_the_samples_when_the_output_fails_after_training(tmp_path, monkeypatch):
    from maxent.data.samples import WeightSamples

    real = WeightSamples.save
    out = tmp_path / "s.npz"

    def flaky(self, path):
        if Path(path) == out:
            raise PermissionError(13, "Permission denied")
        return real(self, path)

    monkeypatch.setattr(WeightSamples, "save", flaky)
    r = CliRunner().invoke(
        main,
        ["sample", "-w", "8,10", "--runs", "2", "--epochs", "1", "-q", "--out", str(out)],
        catch_exceptions=False,
    )
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
    rescued = r.output.split("saved to ")[1].split()[0]
    try:
        assert WeightSamples.load(rescued).n_samples == 2
    finally:
        Path(rescued).unlink(missing_ok=True)

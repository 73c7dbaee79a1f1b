"""Model export/import: every format round-trips exactly; bad files fail with clear errors."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from maxent import IsingModel
from maxent.formats import FORMATS, CorruptFileError, describe, export, infer_format, load_model
from maxent.model.ising import CONVENTION


def _model(n: int = 7, seed: int = 0, sparse: bool = False) -> IsingModel:
    model = IsingModel.random_sk(n, beta=1.3, h_std=0.4, random_state=seed)
    if sparse:
        J = model.J.copy()
        J[np.abs(J) < 0.3] = 0.0
        model = IsingModel(model.h, J)
    return model


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("sparse", [False, True])
def test_round_trip_is_exact_and_keeps_meta(tmp_path, fmt, sparse):
    model = _model(sparse=sparse)
    meta = {"block": "W2", "estimator": {"name": "pseudolikelihood", "alpha": 0.01}, "n": 3}
    path = export(model, tmp_path / f"m{FORMATS[fmt]}", meta=meta)
    back, got = load_model(path, return_meta=True)
    np.testing.assert_array_equal(back.h, model.h)
    np.testing.assert_array_equal(back.J, model.J)
    assert got["convention"] == CONVENTION
    for k, v in meta.items():
        assert got[k] == v


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_explicit_format_overrides_suffix(tmp_path, fmt):
    model = _model(4)
    path = tmp_path / "model.dat"
    export(model, path, format=fmt)
    assert load_model(path, format=fmt) == model
    with pytest.raises(ValueError, match="cannot infer"):
        load_model(path)


def test_npz_export_is_readable_by_ising_model_load_and_numpy(tmp_path):
    model = _model(5)
    export(model, tmp_path / "m.npz")
    assert IsingModel.load(tmp_path / "m.npz") == model
    with np.load(tmp_path / "m.npz", allow_pickle=False) as d:
        np.testing.assert_array_equal(d["J"], model.J)


def test_text_formats_are_readable_by_plain_tools(tmp_path):
    model = _model(6, sparse=True)
    export(model, tmp_path / "m.txt")
    A = np.loadtxt(tmp_path / "m.txt")
    np.testing.assert_array_equal(A[0], model.h)
    np.testing.assert_array_equal(A[1:], model.J)
    export(model, tmp_path / "m.csv")
    df = pd.read_csv(tmp_path / "m.csv", comment="#")
    assert list(df.columns) == ["kind", "i", "j", "value"]
    fields = df[df.kind == "h"]
    np.testing.assert_array_equal(fields.value.to_numpy(), model.h)
    assert (fields.i == fields.j).all()
    edges = df[df.kind == "J"]
    assert (edges.i < edges.j).all()
    assert len(edges) == np.count_nonzero(np.triu(model.J, 1))
    np.testing.assert_array_equal(edges.value.to_numpy(), model.J[edges.i, edges.j])


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="unknown model file format 'hdf5'"):
        export(_model(3), tmp_path / "m.h5", format="hdf5")
    with pytest.raises(ValueError, match="cannot infer"):
        infer_format("model.xyz")
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_model(tmp_path / "absent.json")
    with pytest.raises(TypeError, match="IsingModel"):
        export(np.zeros((3, 3)), tmp_path / "m.npz")  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_truncated_files_are_refused(tmp_path, fmt):
    path = export(_model(8), tmp_path / f"m{FORMATS[fmt]}")
    raw = path.read_bytes()
    # cut inside the data, not at a line boundary
    cut = len(raw) * 2 // 3
    path.write_bytes(raw[:cut])
    with pytest.raises(CorruptFileError, match=str(path.name)):
        load_model(path)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_empty_and_garbage_files_are_refused(tmp_path, fmt):
    path = tmp_path / f"m{FORMATS[fmt]}"
    path.write_bytes(b"")
    with pytest.raises(CorruptFileError):
        load_model(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff garbage")
    with pytest.raises(CorruptFileError):
        load_model(path)


def test_pickle_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    with open(path, "wb") as fh:
        pickle.dump({"h": np.zeros(3), "J": np.zeros((3, 3))}, fh)
    with pytest.raises(CorruptFileError):
        load_model(path)
    # an npz holding an object array (which would need pickle to load)
    np.savez(tmp_path / "obj.npz", h=np.array([0.0, 1.0]), J=np.array([None, None], dtype=object))
    with pytest.raises(CorruptFileError):
        load_model(tmp_path / "obj.npz")


def test_wrong_shapes_and_invalid_models_are_refused(tmp_path):
    doc = {"h": [0.0, 0.1, 0.2], "J": [[0.0, 0.1], [0.1, 0.0]]}
    (tmp_path / "shape.json").write_text(json.dumps(doc))
    with pytest.raises(CorruptFileError, match="N x N"):
        load_model(tmp_path / "shape.json")
    doc = {"h": [0.0, 0.1], "J": [[0.0, 0.1], [0.3, 0.0]]}
    (tmp_path / "asym.json").write_text(json.dumps(doc))
    with pytest.raises(CorruptFileError, match="symmetric"):
        load_model(tmp_path / "asym.json")
    (tmp_path / "nan.json").write_text('{"h": [NaN, 0.0], "J": [[0, 0], [0, 0]]}')
    with pytest.raises(CorruptFileError, match="non-finite"):
        load_model(tmp_path / "nan.json")
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    with pytest.raises(CorruptFileError, match="keys 'h' and 'J'"):
        load_model(tmp_path / "list.json")
    np.savez(tmp_path / "shape.npz", h=np.zeros(3), J=np.zeros((2, 2)))
    with pytest.raises(CorruptFileError, match="J must have shape"):
        load_model(tmp_path / "shape.npz")
    np.savez(tmp_path / "noj.npz", h=np.zeros(3))
    with pytest.raises(CorruptFileError, match="lacks required arrays"):
        load_model(tmp_path / "noj.npz")
    (tmp_path / "rows.txt").write_text("0 0 0\n0 0 0\n0 0 0\n")  # 3 rows of 3: needs 4
    with pytest.raises(CorruptFileError, match="N\\+1 rows"):
        load_model(tmp_path / "rows.txt")


def test_csv_specific_errors(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("kind,i,j,value\nh,0,0,0.1\nh,1,1,0.2\nJ,0,1,0.5\nJ,1,0,0.5\n")
    with pytest.raises(CorruptFileError, match="more than once"):
        load_model(p)
    p.write_text("kind,i,j,value\nh,0,0,0.1\nh,2,2,0.2\n")
    with pytest.raises(CorruptFileError, match="every spin"):
        load_model(p)
    p.write_text("kind,i,j,value\nh,0,0,0.1\nh,1,1,0.2\nJ,0,5,0.5\n")
    with pytest.raises(CorruptFileError, match="indices"):
        load_model(p)
    p.write_text("kind,i,j,value\nh,0,0,0.1\nx,1,1,0.2\n")
    with pytest.raises(CorruptFileError, match="kind 'x'"):
        load_model(p)
    p.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(CorruptFileError, match="header"):
        load_model(p)
    # a file cut exactly at a line boundary lacks its closing line
    path = export(_model(6), tmp_path / "full.csv")
    lines = path.read_text().splitlines()
    (tmp_path / "cut.csv").write_text("\n".join(lines[:7]) + "\n")  # header + 2 of 6 fields
    with pytest.raises(CorruptFileError, match="lacks the closing line"):
        load_model(tmp_path / "cut.csv")
    # ... and a file whose rows were removed but whose end line survived is caught by the counts
    (tmp_path / "gap.csv").write_text("\n".join(lines[:6] + lines[-1:]) + "\n")
    with pytest.raises(CorruptFileError, match="n_spins=6"):
        load_model(tmp_path / "gap.csv")
    (tmp_path / "gap2.csv").write_text("\n".join(lines[:-2] + lines[-1:]) + "\n")
    with pytest.raises(CorruptFileError, match="n_couplings"):
        load_model(tmp_path / "gap2.csv")
    # hand-written files without the maxent header need no closing line
    (tmp_path / "hand.csv").write_text("kind,i,j,value\nh,0,0,0.5\nh,1,1,0\nJ,1,0,-0.25\n")
    hand = load_model(tmp_path / "hand.csv")
    assert hand.J[0, 1] == hand.J[1, 0] == -0.25 and hand.h[0] == 0.5


def test_export_is_atomic_and_never_leaves_half_files(tmp_path, monkeypatch):
    good = _model(5)
    path = export(good, tmp_path / "m.json")

    class Boom(RuntimeError):
        pass

    def fail(*args, **kwargs):
        raise Boom("disk full")

    monkeypatch.setattr(json, "dumps", fail)
    with pytest.raises(Boom):
        export(_model(5, seed=3), path)
    assert load_model(path) == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_describe_summarizes(tmp_path):
    model = _model(6, sparse=True)
    path = export(model, tmp_path / "m.csv", meta={"block": "W1"})
    info = describe(path)
    assert info["n_spins"] == 6 and info["format"] == "csv"
    assert info["nonzero_couplings"] == np.count_nonzero(np.triu(model.J, 1))
    assert info["meta"]["block"] == "W1"


_floats = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    n=st.integers(1, 6),
    data=st.data(),
    fmt=st.sampled_from(sorted(FORMATS)),
)
def test_round_trip_property(tmp_path, n, data, fmt):
    h = data.draw(arrays(np.float64, n, elements=_floats))
    A = data.draw(arrays(np.float64, (n, n), elements=_floats | st.just(0.0)))
    J = np.triu(A, 1)
    J = J + J.T
    model = IsingModel(h, J)
    path = export(model, tmp_path / f"p{FORMATS[fmt]}", meta={"note": "π ± unicode"})
    back, meta = load_model(path, return_meta=True)
    np.testing.assert_array_equal(back.h, model.h)
    np.testing.assert_array_equal(back.J, model.J)
    assert meta["note"] == "π ± unicode"

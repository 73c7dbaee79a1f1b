"""Input validation and atomic I/O helpers: bad input fails with messages that name the problem."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from maxent._atomic import CorruptFileError, atomic_open, atomic_savez, load_npz
from maxent._validation import (
    check_fields_couplings,
    check_positive,
    check_spin_vector,
    check_spins,
    constant_columns,
)


def test_check_spins_accepts_int_and_float_pm1():
    X = np.array([[1, -1], [-1, 1]], dtype=np.int8)
    out = check_spins(X)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, X)
    np.testing.assert_array_equal(check_spins(X.astype(float), dtype=np.int8), X)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[1, 0], [1, -1]]), r"values 0 .*row 0, column 1"),
        (np.array([[1.0, np.nan]]), "NaN"),
        (np.array([[1.0, 0.5]]), "0.5"),
        (np.array([1, -1]), "2-D"),
        (np.zeros((2, 0)), "no spins"),
    ],
)
def test_check_spins_rejects_bad_values(X, match):
    with pytest.raises(ValueError, match=match):
        check_spins(X)


def test_check_spins_rejects_bool_and_strings():
    with pytest.raises(TypeError):
        check_spins(np.array([[True, False]]))
    with pytest.raises(TypeError):
        check_spins(np.array([["1", "-1"]]))


def test_check_spins_shape_requirements():
    with pytest.raises(ValueError, match="at least 2 samples"):
        check_spins(np.ones((1, 3)), min_samples=2)
    with pytest.raises(ValueError, match="expected 4"):
        check_spins(np.ones((2, 3)), n_spins=4)
    with pytest.raises(ValueError, match="1-D"):
        check_spin_vector(np.ones((2, 2)))


@given(arrays(np.int64, st.tuples(st.integers(1, 6), st.integers(1, 6)), elements=st.integers(-3, 3)))
@settings(max_examples=60, deadline=None)
def test_check_spins_accepts_exactly_the_pm1_arrays(X):
    is_pm1 = bool(np.all(np.abs(X) == 1))
    if is_pm1:
        np.testing.assert_array_equal(check_spins(X), X)
    else:
        with pytest.raises(ValueError, match=r"\+1 and -1"):
            check_spins(X)


def test_check_fields_couplings_errors():
    with pytest.raises(ValueError, match="symmetric"):
        check_fields_couplings(np.zeros(2), np.array([[0.0, 1.0], [0.5, 0.0]]))
    with pytest.raises(ValueError, match="zero diagonal"):
        check_fields_couplings(np.zeros(2), np.eye(2))
    with pytest.raises(ValueError, match="shape"):
        check_fields_couplings(np.zeros(3), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        check_fields_couplings(np.array([0.0, np.inf]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        J = np.zeros((2, 2))
        J[0, 1] = J[1, 0] = np.nan
        check_fields_couplings(np.zeros(2), J)


@given(st.integers(1, 8), st.integers(0, 2**31 - 1))
@settings(max_examples=30, deadline=None)
def test_check_fields_couplings_symmetrizes_tiny_asymmetry(n, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n))
    J = np.triu(A, 1) + np.triu(A, 1).T
    J_noisy = J + 1e-13 * rng.normal(size=(n, n))
    np.fill_diagonal(J_noisy, 0.0)
    _, J_out = check_fields_couplings(np.zeros(n), J_noisy)
    np.testing.assert_array_equal(J_out, J_out.T)
    assert np.all(np.diag(J_out) == 0)
    np.testing.assert_allclose(J_out, J, atol=1e-12)


def test_scalar_checks_and_constant_columns():
    assert check_positive(2, "lr") == 2.0
    for bad in (0, -1, np.nan, np.inf):
        with pytest.raises(ValueError, match="lr"):
            check_positive(bad, "lr")
    np.testing.assert_array_equal(constant_columns(np.array([1.0, 0.2, -1.0])), [0, 2])


def test_atomic_open_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("good")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as fh:
            fh.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "good"
    assert list(tmp_path.iterdir()) == [target]


def test_npz_roundtrip_and_corruption(tmp_path):
    path = tmp_path / "a.npz"
    atomic_savez(path, {"x": np.arange(5)}, meta={"k": [1, 2]})
    arrays, meta = load_npz(path, required=("x",))
    np.testing.assert_array_equal(arrays["x"], np.arange(5))
    assert meta == {"k": [1, 2]}
    with pytest.raises(CorruptFileError, match="lacks required"):
        load_npz(path, required=("y",))
    raw = path.read_bytes()
    (tmp_path / "trunc.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CorruptFileError, match="truncated"):
        load_npz(tmp_path / "trunc.npz")
    with pytest.raises(FileNotFoundError):
        load_npz(tmp_path / "missing.npz")
    with pytest.raises(TypeError, match="pickle"):
        atomic_savez(tmp_path / "b.npz", {"o": np.array([{"a": 1}], dtype=object)})


def test_npz_with_pickled_objects_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, o=np.array([{"a": 1}], dtype=object))
    with pytest.raises(CorruptFileError):
        load_npz(path)

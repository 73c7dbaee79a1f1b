"""Input checks shared by the whole library.

Every public entry point that accepts spins, couplings or hyperparameters goes through these
helpers, so that bad input fails early with a message that names the problem (the offending
values, positions or shapes) instead of producing NaN downstream. Nothing is silently coerced:
spins must be exactly +1 or -1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_spins",
    "check_spin_vector",
    "check_fields_couplings",
    "check_positive",
    "check_nonnegative",
    "constant_columns",
    "check_hyperparams",
]


def _describe_bad_values(values: np.ndarray, limit: int = 5) -> str:
    uniq = np.unique(values[~np.isnan(values)]) if values.dtype.kind == "f" else np.unique(values)
    shown = ", ".join(repr(v.item()) for v in uniq[:limit])
    more = f" (and {uniq.size - limit} more)" if uniq.size > limit else ""
    nan = " and NaN" if values.dtype.kind == "f" and np.isnan(values).any() else ""
    if not shown:
        return "NaN"
    return f"{shown}{more}{nan}"


def check_spins(
    X: object,
    *,
    name: str = "X",
    dtype: type | np.dtype = np.float64,
    min_samples: int = 1,
    n_spins: int | None = None,
) -> np.ndarray:
    """Validate a (M, N) array of ±1 spins and return it as ``dtype``.

    Parameters
    ----------
    X : array-like, shape (M, N)
        Samples in rows, spins in columns. Integer or float entries, each exactly +1 or -1.
    name : str
        Name used in error messages.
    dtype : numpy dtype
        dtype of the returned array (float64 by default; int8 for storage).
    min_samples : int
        Minimum number of rows M.
    n_spins : int, optional
        Required number of columns N.

    Raises
    ------
    ValueError
        Wrong dimensionality, too few samples, wrong N, NaN/inf, or any entry other than ±1
        (the message lists the offending values and the first offending position).
    TypeError
        Non-numeric input (strings, objects, booleans).
    """
    arr = np.asarray(X)
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a numeric array of ±1 spins, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D with shape (n_samples, n_spins), got shape {arr.shape}")
    m, n = arr.shape
    if n == 0:
        raise ValueError(f"{name} has no spins (shape {arr.shape})")
    if m < min_samples:
        raise ValueError(f"{name} needs at least {min_samples} samples, got {m}")
    if n_spins is not None and n != n_spins:
        raise ValueError(f"{name} has {n} spins per sample, expected {n_spins}")
    bad = np.abs(arr) != 1  # NaN, inf and int8's -128 (whose abs is -128) are caught too
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise ValueError(
            f"{name} must contain only +1 and -1 spins; found {int(bad.sum())} other "
            f"entries with values {_describe_bad_values(arr[bad])} "
            f"(first at row {rows[0]}, column {cols[0]})"
        )
    return arr.astype(dtype, copy=False)


def check_spin_vector(s: object, *, n_spins: int | None = None, name: str = "reference") -> np.ndarray:
    """Validate a single ±1 configuration of shape (N,) and return it as float64."""
    arr = np.asarray(s)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D ±1 vector, got shape {arr.shape}")
    return check_spins(arr[None, :], name=name, n_spins=n_spins)[0]


def check_fields_couplings(h: object, J: object, *, atol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Validate fields h (N,) and couplings J (N, N): finite, J symmetric with zero diagonal.

    Returns float64 copies. Symmetry and the zero diagonal are checked to ``atol`` (absolute);
    J is then exactly symmetrized, (J + J^T)/2, with the diagonal set to 0.
    """
    h_arr = np.array(h, dtype=np.float64)
    J_arr = np.array(J, dtype=np.float64)
    if h_arr.ndim != 1:
        raise ValueError(f"h must be 1-D with shape (N,), got shape {h_arr.shape}")
    n = h_arr.shape[0]
    if n == 0:
        raise ValueError("h is empty: a model needs at least one spin")
    if J_arr.shape != (n, n):
        raise ValueError(f"J must have shape ({n}, {n}) to match h of length {n}, got {J_arr.shape}")
    if not np.all(np.isfinite(h_arr)):
        bad = np.flatnonzero(~np.isfinite(h_arr))[:10].tolist()
        raise ValueError(f"h contains non-finite values at positions {bad}")
    if not np.all(np.isfinite(J_arr)):
        i, j = np.nonzero(~np.isfinite(J_arr))
        raise ValueError(f"J contains non-finite values (first at ({i[0]}, {j[0]}))")
    asym = np.abs(J_arr - J_arr.T)
    if asym.max(initial=0.0) > atol:
        i, j = np.unravel_index(np.argmax(asym), asym.shape)
        raise ValueError(
            f"J must be symmetric: J[{i},{j}]={float(J_arr[i, j])!r} but J[{j},{i}]={float(J_arr[j, i])!r}"
        )
    diag = np.abs(np.diag(J_arr))
    if diag.max(initial=0.0) > atol:
        raise ValueError(
            f"J must have a zero diagonal (self-couplings are constants for ±1 spins); "
            f"max |J_ii| = {float(diag.max())!r} at i={int(np.argmax(diag))}"
        )
    J_arr = 0.5 * (J_arr + J_arr.T)
    np.fill_diagonal(J_arr, 0.0)
    return h_arr, J_arr


class BadParameterError(ValueError, TypeError):
    """A parameter of the wrong type (catchable as ValueError or TypeError, as scikit-learn's
    InvalidParameterError): callers may treat "not an integer" as either."""


def check_int(value: object, name: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; BadParameterError for a non-integer (bools included)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise BadParameterError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def check_real(value: object, name: str) -> float:
    """``value`` as a finite float; BadParameterError for a non-number, ValueError for NaN/inf."""
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise BadParameterError(f"{name} must be a real number, got {value!r}") from None
    if not np.isfinite(f):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return f


def check_table(df: object, columns: Sequence[str], what: str) -> Any:
    """``df`` if it is a non-empty pandas DataFrame with ``columns``, else an error naming ``what``."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise BadParameterError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks columns {missing} (has {list(df.columns)})")
    if df.empty:
        raise ValueError(f"{what} is empty")
    return df


def resolve_device(device: object) -> Any:
    """Parse a torch device ("cpu", "cuda", "cuda:1", a torch.device); CUDA when it is not available
    is refused with a clear error (no silent fallback to the CPU). Imports torch on first use."""
    import torch

    try:
        dev = torch.device(device)  # type: ignore[arg-type]
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested but CUDA is not available on this machine")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"unsupported device {device!r}; use 'cpu' or 'cuda'")
    return dev


def check_positive(value: float, name: str) -> float:
    """Return ``value`` as float if it is finite and > 0, else raise ValueError naming it."""
    v = float(value)
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def check_nonnegative(value: float, name: str) -> float:
    """Return ``value`` as float if it is finite and >= 0, else raise ValueError naming it."""
    v = float(value)
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def constant_columns(m: np.ndarray, tol: float = 0.0) -> np.ndarray:
    """Indices of spins whose magnetization is ±1 (to ``tol``): their ML field is infinite."""
    return np.flatnonzero(np.abs(np.asarray(m)) >= 1.0 - tol)


def format_indices(idx: Sequence[int] | np.ndarray, limit: int = 10) -> str:
    """Short human-readable list of indices for error messages."""
    idx = [int(i) for i in idx]
    more = f", ... ({len(idx)} in all)" if len(idx) > limit else ""
    return "[" + ", ".join(map(str, idx[:limit])) + more + "]"


#: hyperparameters that count something: integers >= 1 (``n_jobs`` may also be -1)
_COUNT_PARAMS = frozenset(
    {
        "max_iter",
        "bp_max_iter",
        "batch_size",
        "cv",
        "n_chains",
        "n_sweeps",
        "max_sweeps",
        "window",
        "n_threads",
        "n_jobs",
        "max_spins",
        "n_starts",
    }
)
#: hyperparameters that may be given as a list
_LIST_PARAMS = frozenset({"alphas"})
_DEVICE_RE = r"^(cpu|cuda(:[0-9]+)?|mps)$"


def _is_real(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def check_hyperparams(params: dict, defaults: dict, where: str = "estimator") -> dict:
    """Check estimator hyperparameters against the types of their defaults; return them cleaned.

    Rules (each violation raises ValueError naming ``where`` and the parameter):

    * a parameter whose default is a bool takes a bool; a string default, a string;
    * a float default takes a finite real number (int or float, not bool);
    * an int default, and every counting parameter (``max_iter``, ``batch_size``, ``cv``,
      ``n_chains``, ...), takes an integer; an integral float such as ``1e3`` is turned into
      the int 1000, a fractional one (``1.5``) is refused; counts must be >= 1 (``n_jobs``: or -1);
    * ``device`` is ``cpu``, ``cuda``, ``cuda:K`` or ``mps`` (or None where that is the default);
    * NaN or infinity, mappings, and lists (except ``alphas``) are refused everywhere;
    * ``None`` only where the default is None;
    * a string in exponent notation without a decimal point (``1e-3``, which YAML 1.1 reads as a
      string while YAML 1.2 and every user read it as a number) is the number it spells.

    The estimator's own checks (ranges such as ``alpha >= 0``) still run when it fits.
    """
    import re

    out = dict(params)
    for name, v in params.items():
        if isinstance(v, str) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", v.strip()):
            v = float(v)
            out[name] = v
        d = defaults.get(name)
        at = f"{where}: parameter {name!r}"
        if isinstance(v, dict):
            raise ValueError(f"{at} must be a single value, got a mapping {v!r}")
        if isinstance(v, (list, tuple)):
            if name not in _LIST_PARAMS:
                raise ValueError(f"{at} must be a single value, got a list {list(v)!r}")
            if not all(_is_real(x) and np.isfinite(float(x)) for x in v):
                raise ValueError(f"{at} must list finite numbers, got {list(v)!r}")
            continue
        if v is None:
            if d is not None:
                raise ValueError(f"{at} must not be None (its default is {d!r})")
            continue
        if _is_real(v) and not np.isfinite(float(v)):
            raise ValueError(f"{at} must be a finite number, got {v!r}")
        if name == "device":
            if not isinstance(v, str) or not re.match(_DEVICE_RE, v):
                raise ValueError(f"{at} must be 'cpu', 'cuda', 'cuda:K' or 'mps', got {v!r}")
            continue
        if isinstance(d, bool):
            if not isinstance(v, (bool, np.bool_)):
                raise ValueError(f"{at} must be true or false, got {v!r}")
            continue
        if isinstance(d, str):
            if not isinstance(v, str):
                raise ValueError(f"{at} must be a string, got {v!r}")
            continue
        count = name in _COUNT_PARAMS
        if (isinstance(d, (int, np.integer)) and not isinstance(d, bool)) or count:
            if name in _LIST_PARAMS and isinstance(v, str):
                pass
            elif not _is_real(v):
                raise ValueError(f"{at} must be an integer, got {v!r}")
            elif float(v) != int(v):
                raise ValueError(f"{at} must be an integer, got {v!r}")
            else:
                v = int(v)
                out[name] = v
                if count and v < 1 and not (name == "n_jobs" and v == -1):
                    raise ValueError(
                        f"{at} must be an integer >= 1{' (or -1)' if name == 'n_jobs' else ''}, got {v!r}"
                    )
                continue
        if isinstance(d, (float, np.floating)) and not _is_real(v):
            raise ValueError(f"{at} must be a number, got {v!r}")
        if d is None and isinstance(v, str) and name != "random_state":
            continue  # free-form (e.g. a choice the estimator checks itself)
    return out

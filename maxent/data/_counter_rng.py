"""Counter-based random numbers for batched ensembles of independent runs.

The ensemble trainer trains R runs as one tensor program, yet every run must draw the same
random numbers whether it is trained alone or beside others (batched == one at a time, and a
resumed collection equals an uninterrupted one). Framework generators cannot do that without
a Python loop over runs (one generator object per run), so random numbers here are *hashes of
counters*: the word at position ``i`` of run ``r``'s stream is ``mix32(i XOR key_r)``, computed
for all runs and positions at once with integer tensor ops.

``mix32`` is the "lowbias32" integer finaliser (xorshift-multiply rounds; a bijection of the
32-bit words). Words live in int32 tensors (two's complement): multiplication wraps modulo
2^32 and logical right shifts are arithmetic shifts followed by a mask, so the integer streams
are identical on every device (the test suite checks them against exact Python integers);
only the float transforms that follow (log, sqrt, cos) may differ between CPU and CUDA in the
last bit.

Keys are 32-bit words in int32 tensors of shape (R,). A key is refined into sub-stream keys
with :func:`derive` (``key' = mix32(key XOR mix32(word + golden))``), a bijection of the key
for a fixed word, so distinct runs keep distinct keys in every sub-stream; within a stream the
words of one run are all distinct (mix32 is a bijection and i XOR key is injective in i).
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "run_keys",
    "derive",
    "derive_many",
    "mix32",
    "mix32_int",
    "words",
    "uniform",
    "normal",
    "to_unsigned",
]

_M32 = 0xFFFFFFFF
_C1 = 0x7FEB352D
_C2 = 0x846CA68B
GOLDEN = 0x9E3779B9


def mix32_int(x: int) -> int:
    """lowbias32 on a Python int (taken mod 2^32), exact; the scalar twin of :func:`mix32`."""
    x &= _M32
    x ^= x >> 16
    x = (x * _C1) & _M32
    x ^= x >> 15
    x = (x * _C2) & _M32
    x ^= x >> 16
    return x


def _i32(c: int) -> int:
    """The int32 value with the same 32 bits as ``c`` (taken mod 2^32)."""
    c &= _M32
    return c - (1 << 32) if c >= 1 << 31 else c


def _mix32_(x: torch.Tensor) -> torch.Tensor:
    """In-place lowbias32 on an int32 tensor of 32-bit words."""
    x.bitwise_xor_((x >> 16).bitwise_and_(0xFFFF))
    x.mul_(_i32(_C1))
    x.bitwise_xor_((x >> 15).bitwise_and_(0x1FFFF))
    x.mul_(_i32(_C2))
    x.bitwise_xor_((x >> 16).bitwise_and_(0xFFFF))
    return x


def mix32(x: torch.Tensor) -> torch.Tensor:
    """lowbias32 of each 32-bit word of an int32 tensor (a new tensor)."""
    if x.dtype != torch.int32:
        raise TypeError(f"mix32 works on int32 words, got {x.dtype}")
    return _mix32_(x.clone())


def to_unsigned(x: torch.Tensor) -> torch.Tensor:
    """int32 words -> int64 values in [0, 2^32)."""
    return x.to(torch.int64) & _M32


def from_unsigned(x: torch.Tensor) -> torch.Tensor:
    """int64 values in [0, 2^32) -> int32 words with the same bits."""
    return torch.where(x >= 2**31, x - 2**32, x).to(torch.int32)


def derive(keys: torch.Tensor, word: int) -> torch.Tensor:
    """Sub-stream keys, (R,) int32: mix32(keys XOR mix32(word + golden))."""
    return _mix32_(keys ^ _i32(mix32_int(word + GOLDEN)))


def derive_many(keys: torch.Tensor, n_words: int) -> torch.Tensor:
    """Sub-stream keys for words 0..n_words-1, (R, n_words) int32 (``derive`` for each word)."""
    w = torch.tensor(
        [_i32(mix32_int(d + GOLDEN)) for d in range(n_words)], dtype=torch.int32, device=keys.device
    )
    return _mix32_(keys[:, None] ^ w[None, :])


def run_keys(
    seed: int, run_ids: torch.Tensor | list[int], device: str | torch.device = "cpu"
) -> torch.Tensor:
    """32-bit key of each run, a function of (seed, run index) alone.

    Parameters
    ----------
    seed : int
        Non-negative master seed (< 2^64).
    run_ids : sequence of int, shape (R,)
        Global run indices (0 <= id < 2^32).

    Returns
    -------
    Tensor (R,) int32
        Distinct runs get distinct keys (run id -> key is a bijection for a fixed seed).
    """
    seed = int(seed)
    if seed < 0 or seed >= 2**64:
        raise ValueError(f"seed must be an integer in [0, 2^64), got {seed}")
    ids = torch.as_tensor(run_ids, dtype=torch.int64, device=device)
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) > _M32):
        raise ValueError("run indices must lie in [0, 2^32)")
    k_lo = mix32_int(mix32_int(seed & _M32) ^ 0x5EED)
    k_hi = mix32_int(mix32_int((seed >> 32) ^ k_lo) ^ 0xC0FFEE)
    x = _mix32_(from_unsigned(ids) ^ _i32(k_lo))
    return _mix32_(x ^ _i32(k_hi))


def words(keys: torch.Tensor, n: int, offset: int = 0) -> torch.Tensor:
    """(R, n) int32 words mix32(i XOR key_r), i = offset..offset+n-1; all distinct within a row.

    A block can be drawn in pieces: ``words(k, n, offset=o)`` equals columns o..o+n-1 of
    ``words(k, o + n)``.
    """
    if offset < 0 or offset + n > 2**31:
        raise ValueError(f"counter positions must lie in [0, 2^31), asked for {offset}..{offset + n - 1}")
    idx = torch.arange(offset, offset + n, dtype=torch.int32, device=keys.device)
    return _mix32_(idx[None, :] ^ keys[:, None])


def _unit(w: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Words -> numbers in (0, 1]: (w + 2^31) / 2^32 + 2^-33, rounded to ``dtype`` (never 0)."""
    return w.to(dtype).mul_(2.0**-32).add_(0.5).add_(2.0**-33)


def uniform(
    keys: torch.Tensor, shape: tuple[int, ...], dtype: torch.dtype = torch.float32, offset: int = 0
) -> torch.Tensor:
    """Uniform numbers in (0, 1], shape (R, *shape), one counter word each (from ``offset``)."""
    return _unit(words(keys, math.prod(shape), offset), dtype).view(keys.shape[0], *shape)


def normal(
    keys: torch.Tensor, shape: tuple[int, ...], dtype: torch.dtype = torch.float32, offset: int = 0
) -> torch.Tensor:
    """Standard normal numbers, shape (R, *shape), by inversion: z = sqrt(2) erfinv(v).

    v = w / 2^31 is uniform on (-1, 1) for the counter word w (clamped to the largest ``dtype``
    value below 1 in magnitude, so float32 tails reach about 5.3 standard deviations). One word
    per number; inversion costs about half as much as Box-Muller here. ``offset`` selects the
    counter positions, so a block can be drawn in pieces (as :func:`words`).
    """
    n = math.prod(shape)
    edge = 1.0 - torch.finfo(dtype).eps / 2
    v = words(keys, n, offset).to(dtype).mul_(2.0**-31).clamp_(-edge, edge)
    return v.erfinv_().mul_(math.sqrt(2.0)).view(keys.shape[0], *shape)

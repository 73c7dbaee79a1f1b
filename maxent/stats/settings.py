"""How claims are tested: the settings of :mod:`maxent.stats.claims` (dependency-free, so the
pipeline config can extend them without importing the statistics code)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ClaimSettings"]


@dataclass(frozen=True)
class ClaimSettings:
    """How claims are tested (see the module docstring).

    alpha, alpha_h : common L2 penalties of couplings and fields of the pseudo-likelihood fits
    n_boot, n_null : bootstrap replicates and null shuffles of the per-block claims
    n_boot_landscape, n_null_landscape : the same for landscape claims (each costs two sweeps)
    n_null_tap, n_starts : null fits and TAP starts per model of the TAP claim
    level : coverage of the intervals; significance : largest p-value called significant
    power : power at which ``runs_needed`` is computed
    curve : fractions of the runs of the sample-size curve
    """

    alpha: float = 3.0
    alpha_h: float = 0.01
    n_boot: int = 49
    n_null: int = 49
    n_boot_landscape: int = 19
    n_null_landscape: int = 19
    n_null_tap: int = 4
    n_starts: int = 256
    level: float = 0.95
    significance: float = 0.05
    power: float = 0.8
    curve: tuple[float, ...] = (0.25, 0.5, 1.0)

"""Plausible batch sizes, per unit: what the QAValidator holds a request's batch size against.

The default range of every unit is one physical span written in that unit: from 0.1 g (0.1 ml),
the smallest batch a laboratory makes and still weighs its minor ingredients on an analytical
balance, to 100 t (100 m³), a large production vessel. Each end is rounded outward to one
significant digit (lb: 0.0002 .. 300,000). Settings override any unit's range
(CAP01_BATCH_LIMITS) and the factor that makes a size critical (CAP01_BATCH_CRITICAL_FACTOR); the
services pass the result into the pipeline, so the agents never read settings themselves.

    inside [low, high]                          no issue
    outside, within critical_factor of it       error: not valid (an unusual size; say a
                                                pilot plant larger than the range), can proceed
    beyond critical_factor (1,000) of it        critical: no balance or vessel anywhere makes
                                                it, it is a typo or a unit mix-up; cannot proceed

PURE: imports neither django, neo4j, celery nor the clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from contracts.units import GRAMS_PER, MILLILITRES_PER, Unit

SMALLEST_BATCH = 0.1  # g or ml
LARGEST_BATCH = 100_000_000.0  # g or ml: 100 t, 100 m³
CRITICAL_FACTOR = 1000.0


def _one_digit(x: float, *, up: bool) -> float:
    """`x` rounded outward to one significant digit: 0.00022 -> 0.0002, 220462 -> 300000."""
    scale = 10.0 ** math.floor(math.log10(x))
    digit = math.ceil(x / scale - 1e-9) if up else math.floor(x / scale + 1e-9)
    return float(f"{digit * scale:.1g}")


def _default_ranges() -> dict[str, tuple[float, float]]:
    per = {**GRAMS_PER, **MILLILITRES_PER}
    return {unit: (_one_digit(SMALLEST_BATCH / factor, up=False),
                   _one_digit(LARGEST_BATCH / factor, up=True)) for unit, factor in per.items()}


DEFAULT_BATCH_RANGES: Mapping[str, tuple[float, float]] = MappingProxyType(_default_ranges())


@dataclass(frozen=True)
class BatchLimits:
    """The plausible [low, high] batch size of each unit, and how far beyond it is critical."""

    ranges: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: DEFAULT_BATCH_RANGES)
    critical_factor: float = CRITICAL_FACTOR

    def judge(self, size: float, unit: Unit | str
              ) -> tuple[Literal["error", "critical"], float, float] | None:
        """None when `size` is plausible in `unit` (or the unit has no range); else
        (severity, low, high) with severity "error" or "critical"."""
        bounds = self.ranges.get(unit)
        if bounds is None:
            return None
        low, high = bounds
        if low <= size <= high:
            return None
        critical = size < low / self.critical_factor or size > high * self.critical_factor
        return ("critical" if critical else "error", low, high)


def batch_limits(overrides: Mapping[str, Any] | None = None,
                 critical_factor: float = CRITICAL_FACTOR) -> BatchLimits:
    """The default ranges with `overrides` ({"kg": [0.5, 20000]}) put over them. Raises
    ValueError naming the unit when an override is not a known unit with 0 < low <= high."""
    ranges = dict(DEFAULT_BATCH_RANGES)
    for unit, bounds in (overrides or {}).items():
        if unit not in ranges:
            raise ValueError(f"{unit!r} is not a unit; the units are {', '.join(ranges)}.")
        try:
            low, high = (float(b) for b in bounds)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{unit}: give [low, high] as two numbers, got {bounds!r}.") from exc
        if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
            raise ValueError(f"{unit}: needs 0 < low <= high, got [{low:g}, {high:g}].")
        ranges[unit] = (low, high)
    if not (math.isfinite(critical_factor) and critical_factor >= 1):
        raise ValueError(f"the critical factor must be a number of at least 1, got "
                         f"{critical_factor!r}.")
    return BatchLimits(ranges=MappingProxyType(ranges), critical_factor=float(critical_factor))

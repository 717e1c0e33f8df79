"""The breaker policy: windows, minimum samples and the thresholds of each level, from configuration.

Levels, in order: ``closed`` (normal), ``slowed`` (the tenant's sending rate is held to
``breaker_slow_rate_per_minute``), ``bulk_paused`` (its bulk stream stops, transactional
mail goes on, slowed), ``paused`` (all of its mail stops). A stream's window trips the
highest level whose bounce or complaint threshold its rates reach, once it has at least
the minimum samples; the tenant's level is the highest over its streams. Automatic
transitions only go up; going down is a resume by an operator (AdminService).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from postwave.errors import InvalidArgumentError
from postwave.store.base import BreakerTotals

__all__ = ["LEVELS", "STREAMS", "BreakerPolicy", "Thresholds", "check_stream", "rank"]

LEVELS = ("closed", "slowed", "bulk_paused", "paused")
STREAMS = ("transactional", "bulk")


def rank(level: str) -> int:
    """0 (closed) to 3 (paused)."""
    return LEVELS.index(level)


def check_stream(stream: str, *, field: str = "stream", allow_all: bool = True) -> str:
    """A valid stream name ("" = both when ``allow_all``); InvalidArgumentError names the field."""
    if stream in STREAMS or (allow_all and stream == ""):
        return stream
    choices = ", ".join(STREAMS) + (' or "" for both' if allow_all else "")
    raise InvalidArgumentError(field, f"unknown stream {stream!r}: must be {choices}")


@dataclasses.dataclass(frozen=True, slots=True)
class Thresholds:
    """Rates (fractions, 0.05 = 5 %) at which each level trips."""

    slowed: float
    bulk_paused: float
    paused: float

    def level(self, rate: float) -> str:
        """The highest level ``rate`` reaches."""
        for level in ("paused", "bulk_paused", "slowed"):
            if rate >= getattr(self, level):
                return level
        return "closed"


@dataclasses.dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """Everything the breakers read from configuration."""

    enabled: bool
    window_seconds: float
    min_samples: int  # deliveries + bounces of a stream's window before its bounce rate counts
    min_complaint_samples: int  # deliveries of a stream's window before its complaint rate counts
    bounce: Thresholds
    complaint: Thresholds
    slow_rate_per_minute: float
    hold_seconds: float
    refresh_seconds: float

    @classmethod
    def from_config(cls, config: Any) -> BreakerPolicy:
        """The policy of the ``breaker_*`` options (validated by config.py)."""
        return cls(
            enabled=bool(config.breaker_enabled),
            window_seconds=float(config.breaker_window_minutes) * 60.0,
            min_samples=int(config.breaker_min_samples),
            min_complaint_samples=int(config.breaker_min_complaint_samples),
            bounce=Thresholds(*_rates(config.breaker_bounce_rates, "breaker_bounce_rates")),
            complaint=Thresholds(*_rates(config.breaker_complaint_rates, "breaker_complaint_rates")),
            slow_rate_per_minute=float(config.breaker_slow_rate_per_minute),
            hold_seconds=float(config.breaker_hold_seconds),
            refresh_seconds=float(config.breaker_refresh_seconds),
        )

    def judge(self, stream: str, totals: BreakerTotals) -> tuple[str, str]:
        """The level a stream's window trips and why (its rates), or ("closed", "")."""
        found: list[tuple[int, str]] = []
        sent = totals.delivered + totals.bounced
        if sent >= self.min_samples and sent:
            rate = totals.bounced / sent
            level = self.bounce.level(rate)
            found.append((rank(level), f"{stream} bounce rate {rate:.1%} ({totals.bounced} of {sent})"))
        if totals.delivered >= self.min_complaint_samples and totals.delivered:
            rate = totals.complained / totals.delivered
            level = self.complaint.level(rate)
            found.append((rank(level), f"{stream} complaint rate {rate:.2%} ({totals.complained} of "
                                       f"{totals.delivered})"))
        if not found:
            return "closed", ""
        worst, reason = max(found, key=lambda f: f[0])
        return LEVELS[worst], reason if worst else ""


def _rates(text: str, name: str) -> tuple[float, float, float]:
    """Parse "slowed,bulk_paused,paused" thresholds (fractions, non-decreasing)."""
    try:
        values = tuple(float(v) for v in str(text).split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or not all(0 < v <= 1 for v in values) or list(values) != sorted(values):
        raise InvalidArgumentError(name, f"must be three rates in (0, 1], not decreasing: slowed,bulk_paused,paused "
                                         f"(e.g. 0.05,0.08,0.10), not {text!r}")
    return values[0], values[1], values[2]

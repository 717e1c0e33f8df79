"""Benchmark pairs: each benchmark records its time; the session ends with a ratio table.

A ratio is only meaningful within one run on one machine, so benchmarks are compared
pairwise here (compiled/twin, postwave/alternative) instead of against fixed times.
Ratios use each benchmark's *minimum* time: on a shared machine the minimum is the
least disturbed measurement of the same work.
"""

from __future__ import annotations

from typing import Any

import pytest

#: benchmark name -> minimum seconds per call, filled by :func:`record`.
TIMES: dict[str, float] = {}

#: (what, slower benchmark, faster benchmark, target ratio, how the target reads): the
#: targets of issue 3. Benchmarks register their times under these names with ``keep``.
RATIOS: list[tuple[str, str, str, float, str]] = [
    ("mime: EmailMessage / compiled", "mime:email", "mime:compiled", 20, "at least"),
    ("mime: twin / compiled", "mime:twin", "mime:compiled", 1, "at least"),
    ("dkim: compiled sign / bare RSA-2048 signature", "dkim:compiled", "dkim:bare-rsa", 1.2, "at most"),
    ("dkim: dkimpy / compiled", "dkim:dkimpy", "dkim:compiled", 10, "at least"),
    ("dkim: twin / compiled", "dkim:twin", "dkim:compiled", 1, "at least"),
    ("personalize: Jinja2 / compiled", "personalize:jinja2", "personalize:compiled", 5, "at least"),
    ("personalize: postwave sandbox / compiled", "personalize:sandbox", "personalize:compiled", 5, "at least"),
    ("personalize: twin / compiled", "personalize:twin", "personalize:compiled", 1, "at least"),
    ("tokenbucket: twin / compiled", "tokenbucket:twin", "tokenbucket:compiled", 10, "at least"),
    ("linkwrap: twin / compiled", "linkwrap:twin", "linkwrap:compiled", 3, "at least"),
]


def record(name: str, benchmark: Any) -> None:
    """Keep the minimum time of a finished benchmark under ``name``."""
    TIMES[name] = benchmark.stats.stats.min


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not TIMES:
        return
    write = terminalreporter.write_line
    write("")
    write("| check | ratio | target | met |")
    write("|---|---:|---:|:---:|")
    for what, slow, fast, target, kind in RATIOS:
        if slow not in TIMES or fast not in TIMES:
            continue
        ratio = TIMES[slow] / TIMES[fast]
        if kind == "at most":
            met = ratio <= target
            shown = f"{ratio:.3f}x"
            goal = f"<= {target:g}x"
        else:
            met = ratio >= target
            shown = f"{ratio:.1f}x"
            goal = f">= {target:g}x"
        write(f"| {what} | {shown} | {goal} | {'yes' if met else 'NO'} |")
    for name in sorted(TIMES):
        if name.startswith("absolute:"):
            write(f"| {name[9:]} | {TIMES[name] * 1e3:.2f} ms | | |")


@pytest.fixture
def keep(benchmark: Any) -> Any:
    """``keep(name)`` after ``benchmark(...)`` records its time for the ratio table."""
    return lambda name: record(name, benchmark)

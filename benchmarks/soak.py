"""Soak: the embedded platform at half of its measured peak for a long while.

Starts the same world as ``e2e.py`` (``postwave serve`` with 2 workers, dnsmasq, Postfix's
smtp-sink, the ~20 KB tracked and DKIM-signed message), measures the peak delivered rate with
a short saturation run (or takes ``--peak``), then offers ``--share`` (default 50 %) of it for
``--minutes`` (default 10), one message per request through the streaming BatchSend RPC.

Meanwhile it samples, every ``--sample-seconds``, the resident memory (RSS, and PSS, which
splits pages the forked workers share) of the platform's processes, and it records every
request's acceptance latency. At the end it waits for every message's final event and writes
JSON (default ``benchmarks/results/soak.json``) with:

* the memory samples and their least-squares slope (MB/min) after the warm-up (the first
  ``--warmup`` share of the run); memory is called flat when the slope, carried over the
  whole run, adds less than 5 % of the mean (and less than 20 MB);
* acceptance latency p50/p95/p99 overall and per third of the run (a drift shows as a later
  third slower than the first), and acceptance-to-250 percentiles;
* accepted, delivered and other outcomes (nothing may be missing).

    python3 benchmarks/soak.py                      # 10 minutes at 50 % of a measured peak
    python3 benchmarks/soak.py --minutes 60 --peak 70
    python3 benchmarks/soak.py --minutes 0.3 --peak 40 --no-dkim --out /tmp/soak.json   # smoke

Figures come from one run on whatever else the machine does; nothing here is a pass/fail
threshold except the flatness verdict, which is printed, not enforced.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

import e2e  # noqa: E402
import procstat  # noqa: E402
from postfix_relay import percentiles  # noqa: E402

FLAT_SHARE = 0.05  # growth over the run (by the slope) under 5 % of the mean ...
FLAT_MB = 20.0  # ... and under 20 MB: "flat"
ACCEPT_TARGET_MS = 10.0  # DESIGN.md: acceptance p95 <= 10 ms


def rss_bytes(pids: Sequence[int]) -> int:
    """Sum of the resident set sizes of ``pids`` (/proc/<pid>/statm: resident pages)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile
    return total


class MemorySampler:
    """Samples RSS and PSS of the platform's processes every ``every`` seconds."""

    def __init__(self, world: e2e.World, every: float) -> None:
        self.world = world
        self.every = every
        self.samples: list[dict[str, float]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = 0.0

    def start(self) -> None:
        self._start = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            pids = self.world.processes()
            self.samples.append({"t": time.monotonic() - self._start, "rss_mb": rss_bytes(pids) / 2**20,
                                 "pss_mb": procstat.pss_bytes(pids) / 2**20, "processes": len(pids)})
            if self._done.wait(self.every):
                return


def slope_per_minute(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute (None: too few points)."""
    if len(points) < 3:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var * 60


def memory_verdict(samples: list[dict[str, float]], warmup: float, minutes: float) -> dict[str, Any]:
    """Slope of RSS and PSS after the warm-up, and whether memory stayed flat."""
    if not samples:
        return {"flat": None, "reason": "no samples"}
    steady = [s for s in samples if s["t"] >= samples[-1]["t"] * warmup] or samples
    out: dict[str, Any] = {"samples_used": len(steady)}
    flat = True
    for kind in ("rss_mb", "pss_mb"):
        slope = slope_per_minute([(s["t"], s[kind]) for s in steady])
        mean = statistics.fmean(s[kind] for s in steady)
        growth = (slope or 0.0) * minutes
        out[kind] = {"mean": mean, "first": steady[0][kind], "last": steady[-1][kind], "max": max(s[kind] for s in steady),
                     "slope_mb_per_min": slope, "growth_over_run_mb": growth}
        flat = flat and slope is not None and growth < min(FLAT_SHARE * mean, FLAT_MB)
    out["flat"] = flat
    return out


def thirds(latencies: list[float]) -> list[dict[str, float | None]]:
    """Percentiles of each third of the run (requests are paced, so index order is time order)."""
    n = len(latencies)
    return [percentiles(latencies[i * n // 3:(i + 1) * n // 3]) for i in range(3)]


def soak(world: e2e.World, *, rate: float, minutes: float, sample_seconds: float, warmup: float) -> dict[str, Any]:
    """Offer ``rate`` messages/s for ``minutes``; memory, latency and outcome figures."""
    platform = world.platform
    assert platform is not None
    _, key = platform.tenant("soak")
    total = max(1, int(rate * minutes * 60))
    sampler = MemorySampler(world, sample_seconds)
    out: dict[str, Any] = {}
    sampler.start()
    try:
        e2e.offer(platform, key, total, rate, 1, 0, out)
        finals = e2e.delivery_times(platform, key, len(out["ids"]), timeout=max(600.0, minutes * 60))
    finally:
        sampler.stop()
    delivered, accepted = finals["delivered"], finals["accepted"]
    latencies = out["latencies"]
    return {
        "offered_per_s": rate, "minutes": minutes, "messages": total, "accepted": len(out["ids"]),
        "delivered": len(delivered), "not_delivered": finals["others"],
        "missing": len(out["ids"]) - len(delivered) - sum(finals["others"].values()),
        "acceptance_ms": percentiles(latencies), "acceptance_ms_by_third": thirds(latencies),
        "accept_to_250_ms": percentiles([(delivered[m] - accepted[m]) * 1000 for m in delivered if m in accepted]),
        "memory": memory_verdict(sampler.samples, warmup, minutes), "samples": sampler.samples,
    }


def show(result: dict[str, Any]) -> str:
    """A few lines for a terminal."""
    mem, acc = result["memory"], result["acceptance_ms"]
    rss = mem.get("rss_mb", {})
    slope = rss.get("slope_mb_per_min")

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    by_third = " / ".join(ms(t["p95"]) for t in result["acceptance_ms_by_third"])
    p95 = acc["p95"]
    verdict = "FLAT" if mem["flat"] else "NOT FLAT" if mem["flat"] is not None else "unknown"
    met = "met" if p95 is not None and p95 <= ACCEPT_TARGET_MS else "not met"
    outcome = (f"soak: {result['minutes']:.1f} min at {result['offered_per_s']:.1f} msgs/s "
               f"({result['share'] * 100:.0f}% of peak {result['peak_per_s']:.1f}/s): accepted {result['accepted']}, "
               f"delivered {result['delivered']}, other outcomes {result['not_delivered']}, "
               f"missing {result['missing']}")
    memory = (f"memory: RSS {rss.get('first', 0):.0f} -> {rss.get('last', 0):.0f} MB (max {rss.get('max', 0):.0f}), "
              f"slope {('-' if slope is None else f'{slope:+.2f}')} MB/min after warm-up "
              f"({rss.get('growth_over_run_mb', 0):+.1f} MB over the run) -> {verdict}")
    latency = (f"acceptance p50/p95/p99 {ms(acc['p50'])}/{ms(p95)}/{ms(acc['p99'])} ms (p95 by third: {by_third}); "
               f"target p95 <= {ACCEPT_TARGET_MS:g} ms {met}; "
               f"acceptance-to-250 p95 {ms(result['accept_to_250_ms']['p95'])} ms")
    return f"{outcome}\n{memory}\n{latency}"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the soak from the command line; prints the verdict and writes the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0, help="soak duration (default 10)")
    parser.add_argument("--peak", type=float, default=0.0,
                        help="peak delivered msgs/s to take 50%% of (0 = measure it with a saturation run)")
    parser.add_argument("--peak-messages", type=int, default=2000, help="messages of the saturation run (default 2000)")
    parser.add_argument("--share", type=float, default=0.5, help="share of the peak to offer (default 0.5)")
    parser.add_argument("--sample-seconds", type=float, default=5.0, help="memory sampling interval (default 5)")
    parser.add_argument("--warmup", type=float, default=0.2, help="share of the run left out of the slope (default 0.2)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--no-dkim", action="store_true", help="do not DKIM-sign (default: rsa-sha256, 2048 bits)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "soak.json")
    args = parser.parse_args(argv)
    e2e.stop_on_sigterm()
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    load_before = os.getloadavg()[0]
    with e2e.World(workers=args.workers, dkim=not args.no_dkim) as world:
        peak_point = None
        peak = args.peak
        if peak <= 0:
            peak_point = e2e.run_point(world, messages=args.peak_messages)
            peak = peak_point["delivered_per_s"]
            print(f"peak: {e2e.show(peak_point)}", file=sys.stderr, flush=True)
        result = soak(world, rate=peak * args.share, minutes=args.minutes, sample_seconds=args.sample_seconds,
                      warmup=args.warmup)
    result.update(peak_per_s=peak, share=args.share, peak_run=peak_point, workers=args.workers,
                  dkim="off" if args.no_dkim else "rsa-sha256",
                  meta={"started": started, "cpus": os.cpu_count(), "load_before": load_before,
                        "load_after": os.getloadavg()[0]})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(show(result))
    print(f"written to {args.out}")
    return result


if __name__ == "__main__":
    main()

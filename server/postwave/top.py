"""``postwave top``: a terminal view of live rates, queue depths and the worst sites and tenants.

Reads the ``/metrics`` endpoint of every process given with ``--admin`` (the API, each
worker, the scheduler...), adds them up, and shows rates over the last interval: two
scrapes ``--interval`` seconds apart make one frame. ``--once`` prints one frame and exits
(status 1 when no endpoint answered); otherwise the screen is redrawn until Ctrl-C.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from typing import TextIO

from prometheus_client.parser import text_string_to_metric_families

DEFAULT_ADMIN = "http://127.0.0.1:9464"
WORST = 5  # rows in the worst-sites and worst-tenants tables
LOCK_WAIT = "postwave_store_write_lock_wait_seconds"  # the embedded store's write lock (histograms)
LOCK_HELD = "postwave_store_write_lock_held_seconds"

Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]


@dataclasses.dataclass(frozen=True, slots=True)
class Scrape:
    """The summed samples of every endpoint at one moment, and which endpoints failed."""

    at: float
    samples: Samples
    down: tuple[str, ...]
    endpoints: int


def metrics_url(admin: str) -> str:
    """``host:port`` or a URL, as the URL of its /metrics."""
    url = admin if "://" in admin else f"http://{admin}"
    rest = url.partition("://")[2]
    return url if "/" in rest else f"{url}/metrics"


def parse(text: str) -> Samples:
    """Prometheus text as {(sample name, sorted labels): value}."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def scrape(admins: Sequence[str], timeout: float = 3.0) -> Scrape:
    """Fetch and add up every endpoint (gauges and counters alike: they are per process)."""
    total: Samples = {}
    down: list[str] = []
    for admin in admins:
        try:
            with urllib.request.urlopen(metrics_url(admin), timeout=timeout) as resp:  # noqa: S310 - operator's URL
                text = resp.read().decode("utf-8")
        except (OSError, urllib.error.URLError, ValueError):
            down.append(admin)
            continue
        for key, value in parse(text).items():
            if key[0].startswith("postwave_"):
                total[key] = total.get(key, 0.0) + value
    return Scrape(time.monotonic(), total, tuple(down), len(admins))


def _select(samples: Samples, name: str, **match: str) -> dict[Labels, float]:
    return {labels: v for (n, labels), v in samples.items()
            if n == name and all(dict(labels).get(k) == want for k, want in match.items())}


def _by(samples: dict[Labels, float], label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for labels, value in samples.items():
        key = dict(labels).get(label, "")
        out[key] = out.get(key, 0.0) + value
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class Window:
    """Two scrapes; increases and rates between them."""

    old: Scrape
    new: Scrape

    @property
    def seconds(self) -> float:
        """Length of the window."""
        return max(1e-9, self.new.at - self.old.at)

    def increase(self, name: str, by: str | None = None, **match: str) -> dict[str, float]:
        """Counter increases over the window, summed by one label (a restart counts from 0)."""
        new, old = _select(self.new.samples, name, **match), _select(self.old.samples, name, **match)
        grown = {labels: (v - old.get(labels, 0.0)) if v >= old.get(labels, 0.0) else v for labels, v in new.items()}
        return _by(grown, by) if by else {"": sum(grown.values())}

    def rate(self, name: str, **match: str) -> float:
        """Per-second rate of a counter."""
        return self.increase(name, **match)[""] / self.seconds

    def quantile(self, q: float, name: str, **match: str) -> float | None:
        """A quantile of a histogram over the window (as PromQL's histogram_quantile); None: no data."""
        buckets = self.increase(f"{name}_bucket", by="le", **match)
        points = sorted((math.inf if le == "+Inf" else float(le), n) for le, n in buckets.items())
        if not points or points[-1][1] <= 0:
            return None
        rank, lower, below = q * points[-1][1], 0.0, 0.0
        for upper, count in points:
            if count >= rank:
                if math.isinf(upper):
                    return lower
                inside = count - below
                return lower + (upper - lower) * ((rank - below) / inside if inside else 1.0)
            lower, below = upper, count
        return lower


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def _table(title: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    rows = list(rows)
    if not rows:
        return [title, "  (none)"]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "  " + "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
    return [title, fmt.format(*header), *(fmt.format(*r) for r in rows)]


def frame(window: Window) -> str:
    """The text of one screen."""
    new = window.new
    up = new.endpoints - len(new.down)
    lines = [f"postwave top  {time.strftime('%H:%M:%S')}  {up}/{new.endpoints} endpoints up, "
             f"rates over {window.seconds:.1f} s"]
    lines += [
        f"accept     {window.rate('postwave_accept_requests_total', outcome='accepted'):9.1f} req/s "
        f"{window.rate('postwave_accept_messages_total'):9.1f} msg/s   "
        f"refused {window.rate('postwave_accept_requests_total') - window.rate('postwave_accept_requests_total', outcome='accepted'):.1f}/s   "
        f"p50 {_ms(window.quantile(0.5, 'postwave_accept_latency_seconds'))}  "
        f"p95 {_ms(window.quantile(0.95, 'postwave_accept_latency_seconds'))}  "
        f"p99 {_ms(window.quantile(0.99, 'postwave_accept_latency_seconds'))}",
    ]
    outcomes = window.increase("postwave_deliveries_total", by="outcome")
    lines.append("deliver    " + "  ".join(
        f"{o} {outcomes.get(o, 0.0) / window.seconds:.1f}/s"
        for o in ("delivered", "deferred", "bounced", "failed", "dropped")))
    lines.append(f"accept->250 p50 {_ms(window.quantile(0.5, 'postwave_accept_to_delivery_seconds'))}  "
                 f"p95 {_ms(window.quantile(0.95, 'postwave_accept_to_delivery_seconds'))}")
    depth = _by(_select(new.samples, "postwave_queue_depth"), "lane")
    age = _by(_select(new.samples, "postwave_queue_oldest_age_seconds"), "lane")
    lines.append("queue      " + "   ".join(
        f"{lane} {int(depth.get(lane, 0))} (oldest {age.get(lane, 0.0):.1f} s)" for lane in ("transactional", "bulk")))
    lines += _write_lock(window)
    lines.append("")
    lines += _table("worst sites (non-2xx replies/s)", ("site", "2xx/s", "4xx/s", "5xx/s", "no reply/s", "bad %"),
                    _worst_sites(window))
    lines.append("")
    lines += _table("worst tenants (bounce + complaint rate)", ("tenant", "delivered/s", "bounces/s", "complaints/s", "bad %"),
                    _worst_tenants(window))
    if new.down:
        lines += ["", "down: " + ", ".join(new.down)]
    return "\n".join(lines)


def _write_lock(window: Window) -> list[str]:
    """The embedded store's SQLite write lock over the window, when it was taken at all: how
    long transactions waited for it and held it, and the share of the time it was held."""
    if not window.increase(f"{LOCK_HELD}_count")[""]:
        return []
    busy = window.increase(f"{LOCK_HELD}_sum")[""] / window.seconds
    wait = f"p95 {_ms(window.quantile(0.95, LOCK_WAIT))}  p99 {_ms(window.quantile(0.99, LOCK_WAIT))}"
    return [f"store lock wait {wait}   held p95 {_ms(window.quantile(0.95, LOCK_HELD))}, {busy:.0%} of the time"]


def _worst_sites(window: Window) -> list[tuple[str, ...]]:
    per: dict[str, dict[str, float]] = {}
    grown = window.increase("postwave_smtp_replies_total", by="site")
    for site in grown:
        classes = window.increase("postwave_smtp_replies_total", by="reply_class", site=site)
        counts = {"2": 0.0, "4": 0.0, "5": 0.0, "n": 0.0}
        for cls, n in classes.items():
            counts[cls[0] if cls[:1] in ("2", "4", "5") else "n"] += n
        per[site] = counts
    active = [(site, c) for site, c in per.items() if sum(c.values())]
    ranked = sorted(active, key=lambda kv: -(kv[1]["4"] + kv[1]["5"] + kv[1]["n"]))
    s = window.seconds
    return [(site, f"{c['2'] / s:.1f}", f"{c['4'] / s:.1f}", f"{c['5'] / s:.1f}", f"{c['n'] / s:.1f}",
             f"{100 * (1 - c['2'] / total):.1f}" if (total := sum(c.values())) else "-")
            for site, c in ranked[:WORST]]


def _worst_tenants(window: Window) -> list[tuple[str, ...]]:
    delivered = window.increase("postwave_tenant_delivered_total", by="tenant")
    bounces = window.increase("postwave_tenant_bounces_total", by="tenant")
    complaints = window.increase("postwave_tenant_complaints_total", by="tenant")
    tenants = {t for t in set(delivered) | set(bounces) | set(complaints)
               if delivered.get(t) or bounces.get(t) or complaints.get(t)}

    def bad(t: str) -> float:
        sent = delivered.get(t, 0.0) + bounces.get(t, 0.0)
        return (bounces.get(t, 0.0) + complaints.get(t, 0.0)) / sent if sent else 0.0

    s = window.seconds
    ranked = sorted(tenants, key=lambda t: (-bad(t), -delivered.get(t, 0.0)))
    return [(t, f"{delivered.get(t, 0.0) / s:.1f}", f"{bounces.get(t, 0.0) / s:.1f}",
             f"{complaints.get(t, 0.0) / s:.2f}", f"{100 * bad(t):.2f}") for t in ranked[:WORST]]


def run(admins: Sequence[str], *, interval: float, once: bool, out: TextIO | None = None) -> int:
    """Show frames until interrupted (or one with ``once``); the exit status."""
    stream = out if out is not None else sys.stdout
    admins = list(admins) or [DEFAULT_ADMIN]
    previous = scrape(admins)
    while True:
        time.sleep(interval)
        current = scrape(admins)
        text = frame(Window(previous, current))
        if once:
            print(text, file=stream, flush=True)
            return 1 if len(current.down) == len(admins) else 0
        print("\x1b[H\x1b[2J" + text, file=stream, flush=True)
        previous = current

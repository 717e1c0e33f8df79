"""Prometheus metrics of every role, and the admin HTTP endpoint that serves them.

Metric objects live at module level (prometheus-client's default registry, which also
carries the ``process_*`` collectors: CPU seconds, resident memory, open files). Stages
record through the small ``observe_*``/``count_*`` functions below rather than touching
the objects, so label values are always drawn from bounded sets:

* ``lane``: transactional | bulk (anything else is reported as ``other``);
* ``outcome``/``state``: the fixed vocabularies in :data:`DELIVERY_OUTCOMES` and
  :data:`ACCEPT_OUTCOMES`;
* ``reply_class``: the RFC 3463 class and subject of the reply (``2.0``, ``4.7``,
  ``5.1`` ...), or ``2xx``/``4xx``/``5xx`` without an enhanced code, or ``none`` when no
  reply came (connection failure) -- at most 3 x 10 + 4 values;
* ``site``, ``ip`` and ``tenant``: open-ended in principle, so each goes through a
  :class:`BoundedLabel` that gives the first ``limit`` distinct values of a process
  their own series and folds the rest into ``other``. Defaults: 200 sites, 64 source
  IPs, 500 tenants (``metrics_max_sites``/``metrics_max_ips``/``metrics_max_tenants``).
  No metric has a per-message or per-recipient label.

Multi-process embedded mode (``postwave serve`` forks workers): every process keeps its
own registry and serves its own admin endpoint. The API/scheduler process listens on
``admin_listen``; worker *i* listens on the same host at port + 1 + *i*
(:func:`worker_admin_listen`). Each is an ordinary Prometheus target; sums across them
are done in PromQL (``sum without(instance)``) or by ``postwave top``. This avoids
prometheus-client's multiprocess file directory (it must be set before import, leaves
files behind crashed workers and cannot serve live gauges such as queue depth per worker).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

log = logging.getLogger(__name__)

disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series double the scrape for nothing an alert uses

LANES = ("transactional", "bulk")
DELIVERY_OUTCOMES = ("delivered", "deferred", "bounced", "failed", "dropped", "sandboxed")
ACCEPT_OUTCOMES = ("accepted", "invalid", "not_found", "rate_limited", "conflict", "unavailable", "error")
ACCEPT_STATES = ("accepted", "scheduled", "dropped", "sandboxed")
OTHER = "other"

# Latencies the design cares about sit between 1 ms (acceptance) and a few seconds
# (delivery to a slow site); buckets are dense where the targets (10 ms, 200 ms) are.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.5, 5.0,
                    10.0, 30.0, 60.0)
_DELIVERY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
                     3600.0, 4 * 3600.0, 24 * 3600.0, 72 * 3600.0)


class BoundedLabel:
    """Maps open-ended label values to at most ``limit`` distinct ones plus ``other``.

    The first ``limit`` values seen keep their own series; later ones share ``other``.
    Thread-safe: the API records from executor threads as well as the loop.
    """

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        """The label value to use for ``value``."""
        if not value:
            return "none"
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) < self.limit:
                self._seen.add(value)
                return value
        return OTHER

    def configure(self, limit: int) -> None:
        """Change the bound (values already admitted keep their series)."""
        self.limit = limit


SITES = BoundedLabel("site", 200)
IPS = BoundedLabel("ip", 64)
TENANTS = BoundedLabel("tenant", 500)

# --- acceptance (api role) ---
ACCEPT_REQUESTS = Counter(
    "postwave_accept_requests_total", "Send requests answered by acceptance, by lane and outcome.",
    ["lane", "outcome"],
)
ACCEPT_MESSAGES = Counter(
    "postwave_accept_messages_total", "Messages (one per recipient) created by accepted requests, by initial state.",
    ["lane", "state"],
)
ACCEPT_LATENCY = Histogram(
    "postwave_accept_latency_seconds", "Seconds from a send request's arrival to its durable acceptance (or refusal).",
    ["lane"], buckets=_LATENCY_BUCKETS,
)
ACCEPT_COMMIT_SIZE = Histogram(
    "postwave_accept_commit_requests", "Requests written by one group commit.",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)

# --- the embedded store (one SQLite file, one write lock, for every process of a host) ---
# From a tenth of a millisecond (a free lock, a small commit) to the seconds of a stalled disk.
_LOCK_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
STORE_LOCK_WAIT = Histogram(
    "postwave_store_write_lock_wait_seconds",
    "Embedded store: seconds a write transaction waited for the SQLite file's write lock.",
    buckets=_LOCK_BUCKETS,
)
STORE_LOCK_HELD = Histogram(
    "postwave_store_write_lock_held_seconds",
    "Embedded store: seconds a write transaction held the SQLite file's write lock (BEGIN to COMMIT or ROLLBACK).",
    buckets=_LOCK_BUCKETS,
)

# --- delivery (worker role) ---
DELIVERIES = Counter(
    "postwave_deliveries_total", "Delivery attempts' results, by lane and outcome.", ["lane", "outcome"],
)
SMTP_REPLIES = Counter(
    "postwave_smtp_replies_total",
    "SMTP replies from receiving servers, by destination site, source IP and reply class (e.g. 2.0, 4.7, 5.1, 5xx, none).",
    ["site", "ip", "reply_class"],
)
ACCEPT_TO_DELIVERY = Histogram(
    "postwave_accept_to_delivery_seconds", "Seconds from acceptance to the receiving server's 250, per lane.",
    ["lane"], buckets=_DELIVERY_BUCKETS,
)
THROTTLE_EVENTS = Counter(
    "postwave_throttle_events_total",
    "Times delivery was slowed or held back, by site, source IP and reason (rate, connections, warmup, reply, paused).",
    ["site", "ip", "reason"],
)
TENANT_DELIVERED = Counter(
    "postwave_tenant_delivered_total", "Messages delivered per tenant (denominator of the bounce/complaint rates).",
    ["tenant"],
)
TENANT_BOUNCES = Counter(
    "postwave_tenant_bounces_total", "Bounces per tenant (hard: 5xx reply or DSN; soft ones are deferrals).",
    ["tenant", "kind"],
)
TENANT_COMPLAINTS = Counter(
    "postwave_tenant_complaints_total", "Spam complaints (ARF feedback reports) per tenant.", ["tenant"],
)
DKIM_ERRORS = Counter("postwave_dkim_errors_total", "Messages that DKIM signing failed on.")
RENDER_ERRORS = Counter(
    "postwave_render_errors_total", "Template rendering or MIME assembly failures, by stage (accept, deliver).",
    ["stage"],
)

# --- queue (worker and scheduler roles) ---
QUEUE_DEPTH = Gauge("postwave_queue_depth", "Messages in a queue lane, ready or not.", ["lane"])
QUEUE_OLDEST_AGE = Gauge(
    "postwave_queue_oldest_age_seconds", "Age of the oldest ready message in a lane (0 when empty).", ["lane"],
)

# --- the events stream's store writer (active scheduler, queue=nats) ---
EVENTS_STORED = Counter("postwave_events_stored_total", "Events the store writer copied from PW_EVENTS to the store.")
EVENTS_STORE_LAG = Gauge(
    "postwave_events_store_lag_seconds",
    "Age of the newest event the store writer stored, when it stored it (0 when caught up and idle); "
    "event readers (webhooks, StreamEvents) are this far behind.",
)

# --- webhooks (webhooks role) ---
WEBHOOK_BACKLOG = Gauge("postwave_webhook_backlog", "Webhook deliveries waiting to be sent.")
WEBHOOK_DELIVERIES = Counter(
    "postwave_webhook_deliveries_total", "Webhook POSTs by result (ok, retry, failed).", ["result"],
)

ROLE_INFO = Gauge("postwave_role_info", "1 for the role this process runs, with the package version.",
                  ["role", "version"])


def _lane(lane: str) -> str:
    return lane if lane in LANES else OTHER


def _member(value: str, allowed: tuple[str, ...]) -> str:
    return value if value in allowed else OTHER


def set_role(role: str) -> None:
    """Mark this process's role (``postwave_role_info``)."""
    from postwave import __version__

    ROLE_INFO.labels(role=role, version=__version__).set(1)


def configure(*, max_sites: int, max_ips: int, max_tenants: int) -> None:
    """Set the cardinality bounds of the site, ip and tenant labels."""
    SITES.configure(max_sites)
    IPS.configure(max_ips)
    TENANTS.configure(max_tenants)


def configure_from(config: Any) -> None:
    """:func:`configure` from a Config (``metrics_max_sites``, ``metrics_max_ips``, ``metrics_max_tenants``)."""
    configure(max_sites=config.metrics_max_sites, max_ips=config.metrics_max_ips,
              max_tenants=config.metrics_max_tenants)


# --- recording functions (what the stages call) ---

def accept_outcome(error: BaseException | None) -> str:
    """The ``outcome`` label of a send request that ended with ``error`` (None: accepted)."""
    from postwave import errors

    if error is None:
        return "accepted"
    for cls, name in ((errors.InvalidArgumentError, "invalid"), (errors.NotFoundError, "not_found"),
                      (errors.RateLimitedError, "rate_limited"), (errors.AlreadyExistsError, "conflict"),
                      (errors.StoreUnavailableError, "unavailable")):
        if isinstance(error, cls):
            return name
    return "error"


def observe_accept(lane: str, outcome: str, seconds: float) -> None:
    """One send request answered after ``seconds``."""
    ACCEPT_REQUESTS.labels(lane=_lane(lane), outcome=_member(outcome, ACCEPT_OUTCOMES)).inc()
    ACCEPT_LATENCY.labels(lane=_lane(lane)).observe(seconds)


def count_accepted_messages(lane: str, state: str, count: int = 1) -> None:
    """Messages created at acceptance in ``state`` (accepted, scheduled, dropped, sandboxed)."""
    ACCEPT_MESSAGES.labels(lane=_lane(lane), state=_member(state, ACCEPT_STATES)).inc(count)


def observe_commit(requests: int) -> None:
    """One group commit of ``requests`` requests."""
    ACCEPT_COMMIT_SIZE.observe(requests)


def observe_write_lock(waited: float, held: float) -> None:
    """One write transaction on the embedded store's file: how long it waited for the write
    lock, and how long it then held it (every other writer of the file waits that long)."""
    STORE_LOCK_WAIT.observe(waited)
    STORE_LOCK_HELD.observe(held)


def observe_delivery(lane: str, outcome: str, tenant: str, *, accepted_at: float | None = None,
                     now: float | None = None) -> None:
    """A delivery result; for a delivered message, ``accepted_at``/``now`` give acceptance-to-250."""
    DELIVERIES.labels(lane=_lane(lane), outcome=_member(outcome, DELIVERY_OUTCOMES)).inc()
    if outcome == "delivered":
        TENANT_DELIVERED.labels(tenant=TENANTS(tenant)).inc()
        if accepted_at is not None and now is not None:
            ACCEPT_TO_DELIVERY.labels(lane=_lane(lane)).observe(max(0.0, now - accepted_at))
    elif outcome == "bounced":
        TENANT_BOUNCES.labels(tenant=TENANTS(tenant), kind="reply").inc()


_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.\d{1,3}$")


def reply_class(code: int | None, enhanced: str | None = None) -> str:
    """The bounded class of a reply: ``5.1`` from 5.1.1, ``4xx`` without one, ``none`` without a reply."""
    if enhanced:
        m = _ENHANCED.match(enhanced)
        if m and int(m.group(2)) <= 7:
            return f"{m.group(1)}.{m.group(2)}"
    if code is None or not 200 <= code <= 599:
        return "none"
    return f"{code // 100}xx"


def observe_smtp_reply(site: str, ip: str, code: int | None, enhanced: str | None = None) -> None:
    """One SMTP reply (``code=None``: the connection failed before a reply)."""
    SMTP_REPLIES.labels(site=SITES(site.lower()), ip=IPS(ip), reply_class=reply_class(code, enhanced)).inc()


def count_throttle(site: str, ip: str, reason: str) -> None:
    """Delivery toward ``site`` from ``ip`` was slowed or held back for ``reason``."""
    reason = _member(reason, ("rate", "connections", "warmup", "reply", "paused", "tenant"))
    THROTTLE_EVENTS.labels(site=SITES(site.lower()), ip=IPS(ip), reason=reason).inc()


# --- shaping: adaptive (AIMD) rates (owner: shaping helper) ---
SHAPING_RATE = Gauge(
    "postwave_shaping_rate_per_minute",
    "Adapted sending rate (messages/min, platform-wide) toward a destination site from a source IP; "
    "set when a throttling reply lowers it or successes raise it.",
    ["site", "ip"],
)


def set_shaping_rate(site: str, ip: str, per_minute: float) -> None:
    """The AIMD rate toward ``site`` from ``ip`` is now ``per_minute``."""
    SHAPING_RATE.labels(site=SITES(site.lower()), ip=IPS(ip)).set(per_minute)


def count_bounce(tenant: str, kind: str = "dsn") -> None:
    """A bounce reported after delivery (``dsn``) or by a reply (``reply``)."""
    TENANT_BOUNCES.labels(tenant=TENANTS(tenant), kind=_member(kind, ("dsn", "reply"))).inc()


def count_complaint(tenant: str) -> None:
    """A spam complaint (ARF) for one of ``tenant``'s messages."""
    TENANT_COMPLAINTS.labels(tenant=TENANTS(tenant)).inc()


def count_dkim_error() -> None:
    """DKIM signing failed on a message."""
    DKIM_ERRORS.inc()


def count_render_error(stage: str) -> None:
    """Rendering failed at ``stage`` (accept or deliver)."""
    RENDER_ERRORS.labels(stage=_member(stage, ("accept", "deliver"))).inc()


def observe_queue(lane: str, depth: int, oldest_age: float = 0.0) -> None:
    """The current depth of a lane and the age in seconds of its oldest ready message."""
    QUEUE_DEPTH.labels(lane=_lane(lane)).set(depth)
    QUEUE_OLDEST_AGE.labels(lane=_lane(lane)).set(max(0.0, oldest_age))


def observe_events_stored(count: int, lag: float) -> None:
    """A store-writer batch: events stored, and how old its newest was (0: caught up)."""
    EVENTS_STORED.inc(count)
    EVENTS_STORE_LAG.set(max(0.0, lag))


def observe_webhooks(backlog: int) -> None:
    """Webhook deliveries waiting."""
    WEBHOOK_BACKLOG.set(backlog)


def count_webhook(result: str) -> None:
    """One webhook POST: ok, retry or failed."""
    WEBHOOK_DELIVERIES.labels(result=_member(result, ("ok", "retry", "failed"))).inc()


# --- breakers: tenant circuit breakers (owner: reputation helper) ---
_BREAKER_LEVELS = ("closed", "slowed", "bulk_paused", "paused")
BREAKER_LEVEL = Gauge(
    "postwave_breaker_level",
    "A tenant's circuit breaker level as this process last read it: 0 closed, 1 slowed, 2 bulk stream paused, "
    "3 all sending paused.",
    ["tenant"],
)
BREAKER_TRANSITIONS = Counter(
    "postwave_breaker_transitions_total",
    "Circuit breaker transitions made by this process (trips by the breaker, resumes by an operator).",
    ["tenant", "from_level", "to_level"],
)
BREAKER_HOLDS = Counter(
    "postwave_breaker_holds_total",
    "Messages handed back to the queue by a tenant's circuit breaker (paused, or over the slowed rate).",
    ["tenant", "reason"],
)


def set_breaker_level(tenant: str, level: str) -> None:
    """This process now knows ``tenant``'s breaker as ``level``."""
    BREAKER_LEVEL.labels(tenant=TENANTS(tenant)).set(_BREAKER_LEVELS.index(level) if level in _BREAKER_LEVELS else 0)


def breaker_transition(tenant: str, from_level: str, to_level: str) -> None:
    """A breaker transition this process wrote."""
    BREAKER_TRANSITIONS.labels(tenant=TENANTS(tenant), from_level=_member(from_level, _BREAKER_LEVELS),
                               to_level=_member(to_level, _BREAKER_LEVELS)).inc()
    set_breaker_level(tenant, to_level)


def count_breaker_hold(tenant: str, reason: str) -> None:
    """A message held back by ``tenant``'s breaker."""
    BREAKER_HOLDS.labels(tenant=TENANTS(tenant), reason=_member(reason, ("paused", "slowed"))).inc()


def exposition() -> bytes:
    """The registry in Prometheus text format."""
    return generate_latest(REGISTRY)


# --- admin endpoint ---

@dataclasses.dataclass(slots=True)
class AdminServer:
    """A running admin endpoint (``port`` 0 and ``enabled`` False when ``admin_listen`` is empty)."""

    port: int
    runner: web.AppRunner | None = None

    @property
    def enabled(self) -> bool:
        """Whether the endpoint listens."""
        return self.runner is not None

    async def stop(self) -> None:
        """Stop listening."""
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


Ready = Callable[[], Awaitable[bool]]

READY_TIMEOUT = 5.0  # a backend that does not answer in time is as good as down


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (IPv6 in brackets allowed) as a pair."""
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not host:
        from postwave.errors import InvalidArgumentError

        raise InvalidArgumentError("admin_listen", f"{listen!r} is not host:port, e.g. 127.0.0.1:9464")
    return host.strip("[]"), int(port)


def worker_admin_listen(listen: str, index: int) -> str:
    """The admin address of forked worker ``index``: port + 1 + index (port 0 stays 0); empty stays off."""
    if not listen:
        return ""
    host, port = split_listen(listen)
    return f"{host}:{port + 1 + index if port else 0}"


async def start_admin_server(listen: str, ready: Ready | None) -> AdminServer:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on ``listen`` (empty: don't listen).

    ``ready`` is awaited by each ``/readyz`` request: True means 200, False, an exception or
    no answer within 5 s means 503. Without it the process is ready while it runs.
    """
    if not listen:
        return AdminServer(0)
    host, port = split_listen(listen)
    app = web.Application()
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz_handler(ready))
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    sockets = getattr(site._server, "sockets", None) or []  # the port the kernel chose for port 0
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    log.info("admin endpoint on http://%s:%d (/metrics, /healthz, /readyz)", host, bound)
    return AdminServer(bound, runner)


async def _metrics(request: web.Request) -> web.Response:
    body = exposition()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


def _readyz_handler(ready: Ready | None) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def readyz(request: web.Request) -> web.Response:
        if ready is None:
            return web.Response(text="ready\n")
        try:
            ok = await asyncio.wait_for(ready(), READY_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - any failure of a backend check means not ready
            log.warning("readiness check failed: %r", exc)
            ok = False
        if ok:
            return web.Response(text="ready\n")
        return web.Response(status=503, text="not ready\n")

    return readyz

"""End-to-end load harness: the embedded platform, real DNS, Postfix's smtp-sink.

Starts ``postwave serve`` (API + workers) on a fresh data directory, dnsmasq serving an MX
record for bench.test, and smtp-sink as that MX; offers messages through the streaming
BatchSend RPC at a given rate (or as fast as the API takes them) with a client in Go
(benchmarks/loadgen, built on first use; ``--client python`` for the Python one); then reports accepted/s,
delivered/s, p50/p95/p99 of the acceptance latency (request written to the stream ->
response read) and of acceptance-to-250 (the ``accepted`` event -> the ``delivered`` event,
both stamped by the platform), CPU seconds of the platform's processes per 1,000 messages
and their peak memory.

The message (benchmarks/message.py) is ~20 KB of text + HTML with five links, personalized
per recipient, with click and open tracking on; every message is DKIM-signed (rsa-sha256,
2048 bits) unless ``--no-dkim``.

    python3 benchmarks/e2e.py --messages 20000 --workers 2 [--rate 500] [--batch 10] [--tenants 5]

``benchmarks/run_all.py`` runs the whole suite (several rates, scaling, Postfix). Run as
root (smtp-sink binds port 25 of a loopback address). Only loopback is used.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

import machine  # noqa: E402
import message  # noqa: E402
import procstat  # noqa: E402
import write_lock  # noqa: E402
from postfix_relay import percentiles  # noqa: E402
from tests.platform import Platform, bearer, request  # noqa: E402
from tests.servers.addresses import is_free, next_peer_address  # noqa: E402
from tests.servers.dns import DNSServer  # noqa: E402
from tests.servers.sink import SMTPSink  # noqa: E402

from postwave import metrics  # noqa: E402
from postwave.v1 import events_pb2, send_pb2  # noqa: E402

SINK_ADDRESS = "127.0.3.1"


def free_sink() -> SMTPSink:
    """An smtp-sink (not started) on a loopback address whose port 25 is free now, so runs in
    parallel (CI, other benchmarks) never collide; 127.0.3.1 when it is free."""
    from tests.servers.addresses import is_free, next_peer_address

    address = SINK_ADDRESS if is_free(SINK_ADDRESS, 25) else next_peer_address(25)
    return SMTPSink(address, backlog=1024)
TRACKING_SECRET = "bench-tracking-secret"
_names = itertools.count()
SHAPING = """\
[defaults]
max_connections = 128
messages_per_minute = 60000000
burst = 100000
"""
STALL_SECONDS = 60.0  # no event for this long: the platform is stuck, stop measuring


def stop_on_sigterm() -> None:
    """Turn SIGTERM (``timeout``, CI) into SystemExit so every started server is stopped."""
    import signal

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def dkim_key() -> bytes:
    """A fresh RSA-2048 private key in PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def build_request(first: int, count: int) -> send_pb2.SendRequest:
    """One request with ``count`` personalizations (recipients ``first``...)."""
    req = request(to=[f"user{first}@bench.test"], subject=message.SUBJECT, text=message.TEXT, html=message.HTML)
    req.personalizations[0].substitutions.update(message.substitutions(first))
    for i in range(first + 1, first + count):
        p = req.personalizations.add(to=[f"user{i}@bench.test"])
        p.substitutions.update(message.substitutions(i))
    return req


def rendered_message() -> bytes:
    """The MIME bytes postwave composes for recipient 1 (tracking on, before DKIM): Postfix's input."""
    from postwave.pipeline import compose
    from postwave.render.templates import TemplateEngine

    req = build_request(1, 1)
    rendered = compose.render(TemplateEngine(), req, None, 0, message.substitutions(1))
    tracking = compose.Tracking("https://t.postwave.test", TRACKING_SECRET.encode(), "0" * 27, True, True)
    return compose.compose(rendered, req, 0, message_id="bench@postwave.test", list_unsubscribe=None,
                           tracking=tracking)


class World:
    """smtp-sink (127.0.3.1:25 unless given another), dnsmasq with bench.test's MX, and a ``postwave serve``."""

    def __init__(self, *, workers: int = 2, dkim: bool = True, sqlite_synchronous: str = "FULL",
                 sink: SMTPSink | None = None, key_pem: bytes | None = None, distributed: bool = False,
                 client: str = "go", python: str | None = None) -> None:
        if python and distributed:
            raise ValueError("--python applies to embedded mode only: distributed mode runs its roles under this "
                             "interpreter")
        self.python = python  # the platform's interpreter (default: this one)
        self.workers = workers
        self.client = client  # "go" (benchmarks/loadgen) or "python": what offers the load
        self.distributed = distributed
        self._nats: Any = None
        self.keyspace = ""
        self.dkim = dkim
        self.sqlite_synchronous = sqlite_synchronous
        self.key_pem = key_pem or dkim_key()
        self._own_sink = sink is None
        self.sink = sink or SMTPSink(SINK_ADDRESS, backlog=1024)
        self.dns = DNSServer(mx={"bench.test": [(10, "mx.bench.test")]}, a={"mx.bench.test": self.sink.address})
        self._tmp = tempfile.TemporaryDirectory(prefix="postwave-bench-")
        self.platform: Platform | None = None
        self.admin = ""  # embedded: the API's admin endpoint (workers: the next ports), for the lock figures

    def __enter__(self) -> World:
        try:
            if self._own_sink:
                self.sink.start()
            self.dns.start()
            tmp = Path(self._tmp.name)
            settings: dict[str, Any] = {}
            if self.dkim:
                (tmp / "dkim.pem").write_bytes(self.key_pem)
                settings = {"dkim_domain": "postwave.test", "dkim_selector": "bench",
                            "dkim_private_key_path": str(tmp / "dkim.pem")}
            # The sink is one site: no rate limit toward it -- the benchmark measures the platform,
            # not a policy. A site's max_connections counts deliveries in progress (from the
            # shaping grant to the reply); the SMTP connections are capped by
            # max_connections_per_host, 16 per worker: 32 in all, as many as the Postfix relay
            # opens. With max_connections = 32 the grants, not the connections, were the limit:
            # 900 and 932 delivered/s against 1,054 and 1,064 with 128, when `ss` counted 30-32
            # connections open (docs/shaping.md).
            (tmp / "shaping.toml").write_text(SHAPING)
            settings["shaping_config"] = str(tmp / "shaping.toml")
            data = tmp / "data"
            data.mkdir()
            settings.update(dns_port=self.dns.port, log_level="WARNING", sqlite_synchronous=self.sqlite_synchronous,
                            smtp_starttls="false", admin_listen="", track_clicks="true", track_opens="true",
                            tracking_secret=TRACKING_SECRET, tracking_base_url="https://t.postwave.test")
            if not self.distributed:
                self.admin = settings["admin_listen"] = admin_address(self.workers)
            self.platform = self._distributed(data, settings) if self.distributed else \
                Platform(data, workers=self.workers, python=self.python, **settings)
            self.platform.start()
        except BaseException:
            try:
                self.__exit__(None, None, None)
            except Exception as exc:  # noqa: BLE001 - the start's own failure is the one to raise
                print(f"e2e: cleaning up after a failed start failed too: {exc!r}", file=sys.stderr)
            raise
        return self

    def _distributed(self, data: Path, settings: dict[str, Any]) -> Platform:
        """postwave api + N postwave worker + postwave scheduler on the CQL store (the shared
        Cassandra node, a fresh keyspace) and a NATS JetStream server of its own."""
        import secrets

        from tests.contract.cassandra import cql_port
        from tests.distributed.cluster import Cluster
        from tests.servers.nats import NatsCluster

        self._nats = NatsCluster(Path(self._tmp.name) / "nats", nodes=1).__enter__()
        self.keyspace = f"pwbench_{secrets.token_hex(4)}"
        # Several processes write events: the delivery count reads them by cursor, so hold back
        # the newest seconds (as a deployment does, see docs/distributed.md).
        settings.setdefault("cql_events_settle_seconds", 5)
        return Cluster(data, workers=self.workers, store="cql", cql_port=cql_port(), cql_keyspace=self.keyspace,
                       queue="nats", nats_url=self._nats.url, **settings)

    @staticmethod
    def _drop_keyspace(keyspace: str) -> None:
        from cassandra.cluster import Cluster as CqlCluster
        from tests.contract.cassandra import cql_port

        cluster = CqlCluster(["127.0.0.1"], port=cql_port())
        try:
            cluster.connect().execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
        finally:
            cluster.shutdown()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        # Every step runs even when one before it fails (dropping the keyspace of a Cassandra
        # node that is down raised, and left dnsmasq running); the first failure is raised.
        failures: list[BaseException] = []
        for step in (self._stop_platform, self._stop_nats, self._drop_own_keyspace, self.dns.stop,
                     self.sink.stop if self._own_sink else None, self._tmp.cleanup):
            if step is None:
                continue
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - raised below, after the other steps
                failures.append(exc)
        if failures:
            raise failures[0]

    def _stop_platform(self) -> None:
        if self.platform is not None:
            platform, self.platform = self.platform, None
            platform.stop()

    def _stop_nats(self) -> None:
        if self._nats is not None:
            nats, self._nats = self._nats, None
            nats.__exit__(None, None, None)

    def _drop_own_keyspace(self) -> None:
        if self.keyspace:
            keyspace, self.keyspace = self.keyspace, ""
            self._drop_keyspace(keyspace)

    def processes(self) -> list[int]:
        """The platform's processes: API + workers (one process group), or every role process
        and the NATS server. The shared Cassandra node is not counted (others use it too)."""
        assert self.platform is not None
        if not self.distributed:
            assert self.platform.proc is not None
            return procstat.group(self.platform.proc.pid)
        leaders = [p.pid for p in getattr(self.platform, "procs", {}).values()]  # each role: its own group
        return [pid for leader in leaders for pid in procstat.group(leader)] + \
            [p.pid for p in self._nats.procs if p is not None]

    def admin_endpoints(self) -> dict[str, list[str]]:
        """Embedded: the admin endpoints of the API and of its workers (``postwave serve`` gives
        worker *i* the API's admin port + 1 + *i*); distributed: none (no SQLite file)."""
        if not self.admin:
            return {}
        return {"api": [self.admin],
                "worker": [metrics.worker_admin_listen(self.admin, i) for i in range(self.workers)]}

    def roles(self) -> dict[int, str]:
        """Which role each of the platform's processes is: embedded, "api" (``postwave serve``
        itself) and "worker" (the workers it forks); distributed, each role process's name and
        "nats"."""
        assert self.platform is not None
        if not self.distributed:
            assert self.platform.proc is not None
            leader = self.platform.proc.pid
            return {pid: "api" if pid == leader else "worker" if procstat.is_forked_worker(pid) else "other"
                    for pid in procstat.group(leader)}
        names = {pid: name.split("-")[0] for name, proc in getattr(self.platform, "procs", {}).items()
                 for pid in procstat.group(proc.pid)}
        if self._nats is not None:
            names.update({p.pid: "nats" for p in self._nats.procs if p is not None})
        return names


ADMIN_PORT = 9464


def admin_address(workers: int) -> str:
    """A loopback address where the admin ports of an API and its ``workers`` are all free."""
    for _ in range(20):
        address = next_peer_address(ADMIN_PORT)
        if all(is_free(address, ADMIN_PORT + 1 + i) for i in range(workers)):
            return f"{address}:{ADMIN_PORT}"
    raise RuntimeError(f"no loopback address with ports {ADMIN_PORT}-{ADMIN_PORT + workers} free")


LOADGEN = ROOT / "benchmarks" / "loadgen"
_loadgen: list[Path] = []  # the binary, once built


def loadgen_binary() -> Path:
    """benchmarks/loadgen built (``go build``: seconds the first time, then from Go's cache)."""
    import shutil
    import subprocess

    if not _loadgen:
        if shutil.which("go") is None:
            raise SystemExit("the Go load generator needs a Go toolchain on PATH (make deps installs what the "
                             "benchmarks need); or run with --client python")
        binary = ROOT / "build" / "loadgen" / "loadgen"
        done = subprocess.run(["go", "build", "-mod=readonly", "-o", str(binary), "."], cwd=LOADGEN,
                              capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"building benchmarks/loadgen failed:\n{done.stderr}")
        _loadgen.append(binary)
    return _loadgen[0]


def offer_go(platform: Platform, keys: Sequence[str], total: int, rate: float, batch: int,
             outs: list[dict[str, Any]]) -> None:
    """What ``offer`` does for each tenant at once, through benchmarks/loadgen: one process (one
    Go scheduler thread), a stream per tenant, the messages and the rate split as ``run_point``
    splits them. It leaves the platform under test more of the shared CPU: at 800 requests/s
    it took 0.21-0.23 cores where the Python client took 0.29-0.31 (0.20 against 0.29 ms per
    request unpaced); most of what remains is the kernel's work of sending 21 KB over TCP."""
    import subprocess

    base = build_request(0, 1)
    del base.personalizations[:]  # loadgen adds them, as build_request does
    binary = loadgen_binary()  # built first: its compiler's CPU is no part of the client's
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.NamedTemporaryFile(prefix="postwave-loadgen-", suffix=".bin") as f:
        f.write(base.SerializeToString())
        f.flush()
        done = subprocess.run([str(binary), "-target", f"127.0.0.1:{platform.port}", "-key", ",".join(keys),
                               "-base", f.name, "-messages", str(total), "-rate", str(rate), "-batch", str(batch)],
                              capture_output=True, text=True, env={**os.environ, "GOMAXPROCS": "1"})
    if done.returncode:
        raise RuntimeError(f"loadgen failed: {done.stderr.strip()}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    reports = json.loads(done.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    for out, report in zip(outs, reports, strict=True):
        # one process serves every tenant: its CPU is shared out by messages
        out.update(latencies=report["latencies_ms"], ids=report["ids"], seconds=report["seconds"],
                   cpu_seconds=client_cpu * len(report["ids"]) / max(1, sum(len(r["ids"]) for r in reports)))


def offer(platform: Platform, key: str, total: int, rate: float, batch: int, first: int,
          out: dict[str, Any]) -> None:
    """Stream ``total`` messages in requests of ``batch`` at ``rate`` messages/s (0 = unpaced).

    Fills ``out`` with acceptance latencies (ms, per request), message ids and seconds taken.
    """
    sent_at: list[float] = []
    requests_count = (total + batch - 1) // batch
    interval = batch / rate if rate > 0 else 0.0

    def requests() -> Iterator[send_pb2.SendRequest]:
        start = time.perf_counter()
        for r in range(requests_count):
            if interval:
                delay = start + r * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            req = build_request(first + r * batch, min(batch, total - r * batch))
            sent_at.append(time.perf_counter())
            yield req

    latencies: list[float] = []
    ids: list[str] = []
    begin = time.perf_counter()
    for i, resp in enumerate(platform.send_stub().BatchSend(requests(), metadata=bearer(key), timeout=3600)):
        latencies.append((time.perf_counter() - sent_at[i]) * 1000)
        if resp.code:
            raise RuntimeError(f"request {i} refused: {resp.error}")
        ids.extend(m.message_id for m in resp.messages)
    out.update(latencies=latencies, ids=ids, seconds=time.perf_counter() - begin)


def delivery_times(platform: Platform, key: str, count: int, timeout: float) -> dict[str, Any]:
    """Wait for ``count`` final events of one tenant; accepted and delivered times, other outcomes."""
    accepted: dict[str, float] = {}
    delivered: dict[str, float] = {}
    others: dict[str, int] = {}
    cursor = 0
    deadline = time.monotonic() + timeout
    progress = time.monotonic()
    stub = platform.events_stub()
    while len(delivered) + sum(others.values()) < count:
        if time.monotonic() > deadline or time.monotonic() - progress > STALL_SECONDS:
            done = len(delivered) + sum(others.values())
            raise RuntimeError(f"{done} of {count} messages final, none for {STALL_SECONDS} s or past "
                               f"{timeout} s; the platform's log ends:\n{platform.log()[-3000:]}")
        seen = cursor
        for e in stub.StreamEvents(events_pb2.StreamEventsRequest(cursor=cursor, no_follow=True,
                                                                  types=["accepted", "delivered", "bounced",
                                                                         "failed", "dropped"]),
                                   metadata=bearer(key), timeout=600):
            cursor = e.id
            t = e.time.ToNanoseconds() / 1e9
            if e.type == "accepted":
                accepted[e.message_id] = t
            elif e.type == "delivered":
                delivered[e.message_id] = t
            else:
                others[e.type] = others.get(e.type, 0) + 1
        if cursor != seen:
            progress = time.monotonic()
        if len(delivered) + sum(others.values()) < count:
            time.sleep(0.25)
    return {"accepted": accepted, "delivered": delivered, "others": others}


def wait_for_sink(world: World, count: int, timeout: float) -> None:
    """Until the sink has taken ``count`` messages in all, or its count stops moving for a
    few seconds (some outcome other than delivery: ``delivery_times`` then waits for those).
    Polling the sink's counter costs the machine nothing; reading the platform's events while
    it delivers would take CPU from the deliveries being measured."""
    deadline = time.monotonic() + timeout
    seen, moved = world.sink.messages, time.monotonic()
    while seen < count and time.monotonic() < deadline and time.monotonic() - moved < 3.0:
        time.sleep(0.05)
        now = world.sink.messages
        if now != seen:
            seen, moved = now, time.monotonic()


def run_point(world: World, *, messages: int, rate: float = 0.0, batch: int = 1, tenants: int = 1,
              timeout: float = 900.0) -> dict[str, Any]:
    """One measurement: ``messages`` offered by ``tenants`` concurrent clients; the figures.

    The CPU meter runs from the first request to the sink's last message; the events that
    give the latencies (accepted and delivered, stamped by the platform) are read after it.
    """
    platform = world.platform
    assert platform is not None
    keys = [platform.tenant(f"bench-{next(_names)}")[1] for _ in range(tenants)]
    share = [messages // tenants + (1 if t < messages % tenants else 0) for t in range(tenants)]
    sunk = world.sink.messages
    meter = procstat.CpuMeter(world.processes)
    outside_meter = procstat.CpuMeter(lambda: [pid for pid in [world.sink.pid] if pid is not None])
    locks = write_lock.LockMeter(world.admin_endpoints())
    locks.start()
    meter.start()
    outside_meter.start()
    ticks = machine.cpu_ticks()
    outs: list[dict[str, Any]] = [{} for _ in range(tenants)]
    errors: list[BaseException] = []

    def client(t: int) -> None:
        try:
            offer(platform, keys[t], share[t], rate / tenants, batch, sum(share[:t]), outs[t])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    if world.client == "go":
        offer_go(platform, keys, messages, rate, batch, outs)
    threads = [] if world.client == "go" else \
        [threading.Thread(target=client, args=(t,), daemon=True) for t in range(tenants)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    if errors:
        raise errors[0]
    wait_for_sink(world, sunk + sum(len(o["ids"]) for o in outs), timeout)
    cpu, rss = meter.stop()
    steal = machine.steal_percent(ticks, machine.cpu_ticks())
    lock = locks.stop()
    finals = [delivery_times(platform, keys[t], len(outs[t]["ids"]), timeout) for t in range(tenants)]
    accepted = {m: t for f in finals for m, t in f["accepted"].items()}
    delivered = {m: t for f in finals for m, t in f["delivered"].items()}
    others: dict[str, int] = {}
    for f in finals:
        for kind, n in f["others"].items():
            others[kind] = others.get(kind, 0) + n
    accept_secs = max(o["seconds"] for o in outs)
    accepted_per_s = sum(len(o["ids"]) for o in outs) / accept_secs
    span = (max(delivered.values()) - min(accepted.values())) if delivered else float("nan")
    count = len(delivered)
    by_role: dict[str, float] = {}  # where the CPU goes: api, worker (and scheduler, nats distributed)
    for pid, role in world.roles().items():
        by_role[role] = by_role.get(role, 0.0) + meter.per_pid.get(pid, 0.0) / max(1, count) * 1000
    # The machine's other tenants during the run, not counted above: the load client and the sink.
    outside = {"sink": outside_meter.stop()[0] / max(1, count) * 1000}
    if "cpu_seconds" in outs[0]:
        outside["client"] = sum(o["cpu_seconds"] for o in outs) / max(1, count) * 1000
    return {
        "offered_per_s": rate or None, "messages": messages, "batch": batch, "tenants": tenants,
        "workers": world.workers, "dkim": "rsa-sha256" if world.dkim else "off",
        "mode": "distributed" if world.distributed else "embedded",
        "accepted_per_s": accepted_per_s,
        "delivered": count, "not_delivered": others,
        "delivered_per_s": count / span if count else 0.0,
        "delivered_per_hour": count / span * 3600 if count else 0.0,
        **(held(sorted(accepted.values()), sorted(delivered.values()), rate, accepted_per_s) if rate > 0 else {}),
        "acceptance_ms": percentiles([lat for o in outs for lat in o["latencies"]]),
        "accept_to_250_ms": percentiles([(delivered[m] - accepted[m]) * 1000 for m in delivered if m in accepted]),
        "cpu_seconds_per_1000": cpu / max(1, count) * 1000, "peak_pss_mb": rss / 2**20,
        **({"cpu_seconds_per_1000_by_role": {r: round(v, 3) for r, v in sorted(by_role.items())}} if by_role else {}),
        "cpu_seconds_per_1000_outside": {k: round(v, 3) for k, v in sorted(outside.items())},
        "steal_percent": steal,
        **({"write_lock": lock} if lock else {}),
    }


BACKLOG_STEP = 0.25  # seconds between the backlog samples of held()
HELD_GROWTH = 0.01  # held: the backlog grows by at most this share of the offered rate
HELD_SLACK = 10  # ... or by fewer messages than this over the whole window (a short run's noise)


def held(accepted: Sequence[float], delivered: Sequence[float], rate: float, accepted_per_s: float
         ) -> dict[str, Any]:
    """Whether deliveries kept pace with an offered rate, from the platform's own stamps.

    ``delivered_per_s`` (count / first acceptance to last delivery) reads low for a short run
    even when every message is delivered as fast as it comes: the last one's pipeline time is
    in the span. What shows whether the rate is held is the backlog (accepted, not delivered
    yet): it stays level when the workers keep up and grows when they cannot. It is sampled
    every BACKLOG_STEP seconds from a quarter into the offering (past the start-up) to its
    end, and a least-squares line through the samples gives its growth per second.

    Returns ``steady_delivered_per_s`` (deliveries in that window / its length),
    ``backlog_growth_per_s`` (the line's slope), ``backlog_rise`` (the backlog at the end of
    the window less at its start), ``backlog_end`` (at the last acceptance) and ``held``: the
    API took the offered rate (accepted/s >= 99 % of it), and the backlog did not grow by more
    than an allowance over the window, by the line or by its two ends. The allowance is
    HELD_GROWTH of the rate per second, or HELD_SLACK messages if more (at 1,000/s for 30 s it
    is 225; at 100/s for 1.5 s, 10: one message, the first bound, is less than the backlog's
    own jitter). Both measures must say it grew: a burst late in the window tilts the line
    although the backlog is back down by the end (+8/s by the line, 30 left at the end, in one
    run at 800/s), and the two ends alone hang on two samples."""
    if len(accepted) < 2 or not delivered:
        return {"steady_delivered_per_s": 0.0, "backlog_growth_per_s": None, "backlog_rise": None,
                "backlog_end": len(accepted), "held": False}
    first, last = accepted[0], accepted[-1]
    start = first + (last - first) / 4
    times = [start + i * BACKLOG_STEP for i in range(int((last - start) / BACKLOG_STEP) + 1)]

    def backlog(t: float) -> int:
        return bisect.bisect_right(accepted, t) - bisect.bisect_right(delivered, t)

    window = max(last - start, 1e-9)
    rise = backlog(last) - backlog(start)
    if len(times) >= 2:
        growth = statistics.linear_regression(times, [backlog(t) for t in times]).slope
    else:  # an offering shorter than two samples: from the quarter mark to the end
        growth = rise / window
    steady = (bisect.bisect_right(delivered, last) - bisect.bisect_right(delivered, start)) / window
    allowance = max(HELD_GROWTH * rate * window, HELD_SLACK)
    grew = growth * window > allowance and rise > allowance
    return {"steady_delivered_per_s": steady, "backlog_growth_per_s": growth, "backlog_rise": rise,
            "backlog_end": backlog(last), "held": accepted_per_s >= 0.99 * rate and not grew}


def show(point: dict[str, Any]) -> str:
    """One line for a terminal."""
    a, d = point["acceptance_ms"], point["accept_to_250_ms"]

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    offered = f"{point['offered_per_s']:.0f}/s" if point.get("offered_per_s") else "max"
    return (f"offered {offered:>6}  accepted {point['accepted_per_s']:7.0f}/s  delivered {point['delivered_per_s']:7.0f}/s "
            f"({point['delivered_per_hour'] / 1e6:.2f}M/h)  accept p50/95/99 {ms(a['p50'])}/{ms(a['p95'])}/{ms(a['p99'])} ms  "
            f"to-250 p50/95/99 {ms(d['p50'])}/{ms(d['p95'])}/{ms(d['p99'])} ms  "
            f"cpu {point['cpu_seconds_per_1000']:.2f} s/1000{_cpu_split(point)}  mem {point['peak_pss_mb']:.0f} MB"
            f"{_held_text(point)}{_lock_text(point)}{_steal_text(point)}")


def _lock_text(point: dict[str, Any]) -> str:
    """"  lock wait p95 api 3.1, worker 12.4 ms": how long the embedded file's write lock kept
    each role's transactions waiting (write_lock.py)."""
    waits = [f"{role} {figures['wait_ms']['p95']:.1f}" for role, figures in point.get("write_lock", {}).items()
             if figures["wait_ms"]["p95"] is not None]
    return f"  lock wait p95 {', '.join(waits)} ms" if waits else ""


def _steal_text(point: dict[str, Any]) -> str:
    """The hypervisor's share of the CPUs during the point, where it took any."""
    steal = point.get("steal_percent")
    return f"  steal {steal:.1f} %" if steal else ""


def _held_text(point: dict[str, Any]) -> str:
    """"  backlog +3/s, 57 at the end: held" for an offered rate; nothing for saturation."""
    if "held" not in point or point["backlog_growth_per_s"] is None:
        return ""
    return (f"  backlog {point['backlog_growth_per_s']:+.0f}/s, {point['backlog_end']} at the end: "
            f"{'held' if point['held'] else 'NOT held'}")


def _cpu_split(point: dict[str, Any]) -> str:
    """" (api 0.80, worker 1.00; client 0.22, sink 0.08)": the CPU seconds per 1,000 by process."""
    inside = ", ".join(f"{role} {v:.2f}" for role, v in point.get("cpu_seconds_per_1000_by_role", {}).items()
                       if role != "other")
    outside = ", ".join(f"{k} {v:.2f}" for k, v in point.get("cpu_seconds_per_1000_outside", {}).items())
    return f" ({inside}; {outside})" if inside or outside else ""


def check_python(parser: argparse.ArgumentParser, python: str) -> None:
    """Stop with a usable message when ``python`` cannot run the platform."""
    import subprocess

    env = {**os.environ, "PYTHONPATH": str(ROOT / "server")}
    try:
        done = subprocess.run([python, "-c", "import postwave.cli, grpc, cryptography"], env=env,
                              capture_output=True, text=True, timeout=120)
    except OSError as exc:
        parser.error(f"--python {python}: {exc.strerror}")
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        parser.error(f"--python {python} cannot import the platform ({last}); give it postwave's dependencies "
                     f"in a virtual environment: {python} -m venv DIR && DIR/bin/pip install {ROOT}, "
                     f"then --python DIR/bin/python")


def main(argv: Sequence[str] | None = None) -> None:
    """One measurement from the command line; prints it and its JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10000, help="messages to offer (default 10000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--rate", type=float, default=0.0, help="offered messages/s (0 = as fast as the API takes them)")
    parser.add_argument("--batch", type=int, default=1, help="recipients (personalizations) per request")
    parser.add_argument("--tenants", type=int, default=1, help="tenants offering at once (the load is split)")
    parser.add_argument("--sqlite-synchronous", default="FULL", choices=["FULL", "NORMAL"])
    parser.add_argument("--no-dkim", action="store_true", help="do not DKIM-sign (default: rsa-sha256, 2048 bits)")
    parser.add_argument("--distributed", action="store_true",
                        help="one process per role on CQL (the Cassandra node on 127.0.0.1) and NATS JetStream")
    parser.add_argument("--warmup", type=int, default=0,
                        help="messages to send first, unmeasured (the Cassandra JVM compiles its hot paths "
                             "over its first few thousand requests: use 4000 with --distributed)")
    parser.add_argument("--client", default="go", choices=["go", "python"],
                        help="the load's client: go (benchmarks/loadgen, built on first use; light on the shared "
                             "CPU) or python (grpc's blocking client in this process)")
    parser.add_argument("--python", metavar="PATH",
                        help="the interpreter the platform runs under (default: this one). It needs postwave's "
                             "dependencies installed; the code is this checkout's. Production images use a "
                             "PGO and LTO build, faster than pyenv's default one (see benchmarks/machine.py)")
    args = parser.parse_args(argv)
    if args.python:
        check_python(parser, args.python)
    stop_on_sigterm()
    described = machine.describe(args.python)
    print(machine.line(described), file=sys.stderr, flush=True)
    with World(workers=args.workers, dkim=not args.no_dkim, sqlite_synchronous=args.sqlite_synchronous,
               distributed=args.distributed, client=args.client, python=args.python) as world:
        if args.warmup:
            print(f"warming up: {args.warmup} messages (not measured)", file=sys.stderr, flush=True)
            run_point(world, messages=args.warmup, batch=args.batch, tenants=args.tenants)
        point = run_point(world, messages=args.messages, rate=args.rate, batch=args.batch, tenants=args.tenants)
    print(show(point))
    print(json.dumps({**point, "machine": described}, indent=2))


if __name__ == "__main__":
    main()

"""CQL store figures beside the embedded store's, from one run on one machine.

1. Store level (no API): event writes/s, and messages accepted/s through ``Store.accept``
   in group commits of 64 one-message requests, for the CQL store and the SQLite store.
2. End to end: ``postwave serve`` with store=cql, then with store=embedded, each offered the
   same requests through the streaming BatchSend RPC (benchmarks/e2e.py's harness, with
   dnsmasq and Postfix's smtp-sink as the MX): accepted/s, acceptance latency
   p50/p95/p99, delivered/s.

Needs a Cassandra node (scripts/cassandra start; this script starts one if none runs and
stops it afterwards). Run as root (smtp-sink binds port 25 of a loopback address).

    python3 benchmarks/bench_cql.py --messages 5000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server")]

from postwave.store.base import AcceptedRequest, EventRecord, NewMessage, Store  # noqa: E402
from postwave.store.cql import CqlStore  # noqa: E402
from postwave.store.cql_session import CallList  # noqa: E402
from postwave.store.embedded import EmbeddedStore, _insert_events  # noqa: E402
from postwave.store.sqlite import Database  # noqa: E402

from benchmarks.e2e import SINK_ADDRESS, delivery_times, offer, percentiles  # noqa: E402
from tests.contract.cassandra import NODE, cql_port  # noqa: E402
from tests.platform import Platform  # noqa: E402
from tests.servers.dns import DNSServer  # noqa: E402
from tests.servers.sink import SMTPSink  # noqa: E402

GROUP = 64  # requests per group commit in the store-level acceptance figure
EVENT_BATCH = 256  # events per write in the event figure (a worker's flush)


def _requests(count: int, tag: str) -> list[AcceptedRequest]:
    now = time.time()
    return [
        AcceptedRequest(
            request_id=f"{tag}{i}", tenant_id="bench", send_id=f"{tag}-s{i}", batch_id="", body_hash=b"h" * 32,
            payload=b"p" * 600, lane="transactional", send_at=now, created=now, expires=now + 3600,
            messages=(NewMessage(f"{tag}m{i:08d}", 0, f"user{i}@bench.test", "accepted"),), response=b"r" * 80,
        )
        for i in range(count)
    ]


def _events(count: int, tag: str) -> list[EventRecord]:
    now = time.time()
    return [EventRecord("bench", f"{tag}m{i:08d}", "delivered", now, "250 2.0.0 ok", f"user{i}@bench.test")
            for i in range(count)]


def accept_rate(store: Store, count: int) -> tuple[float, list[float]]:
    """Messages/s through Store.accept, and the latency of each group commit (ms)."""
    reqs = _requests(count, f"a{time.time_ns()}")
    latencies = []
    begin = time.perf_counter()
    for start in range(0, count, GROUP):
        group = reqs[start:start + GROUP]
        events = [EventRecord("bench", r.messages[0].message_id, "accepted", r.created) for r in group]
        t = time.perf_counter()
        store.accept(group, events, "2026-01-01")
        latencies.append((time.perf_counter() - t) * 1000)
    return count / (time.perf_counter() - begin), latencies


def event_rate(write: Callable[[list[EventRecord]], None], count: int) -> float:
    """Events/s appended in batches of EVENT_BATCH."""
    events = _events(count, f"e{time.time_ns()}")
    begin = time.perf_counter()
    for start in range(0, count, EVENT_BATCH):
        write(events[start:start + EVENT_BATCH])
    return count / (time.perf_counter() - begin)


def cql_event_writer(store: CqlStore) -> Callable[[list[EventRecord]], None]:
    """Append events with the CQL store's own event writer (both event tables)."""
    def write(events: list[EventRecord]) -> None:
        calls = CallList(store.run)
        store._write_events(calls, events)
        calls.run("benchmark events")
    return write


def sqlite_event_writer(db: Database) -> Callable[[list[EventRecord]], None]:
    """Append events with the embedded store's event insert, one transaction per batch."""
    def write(events: list[EventRecord]) -> None:
        with db.transaction() as conn:
            _insert_events(conn, events)
    return write


def store_level(count: int) -> None:
    """Part 1: both stores, same work."""
    cql = CqlStore(NODE.config())
    with tempfile.TemporaryDirectory(prefix="postwave-bench-") as tmp:
        db = Database(str(Path(tmp) / "bench.db"), synchronous="FULL")
        try:
            figures = {
                "cql": (event_rate(cql_event_writer(cql), count * 2), *accept_rate(cql, count)),
                "sqlite": (event_rate(sqlite_event_writer(db), count * 2), *accept_rate(EmbeddedStore(db), count)),
            }
        finally:
            cql.close()
            db.close()
    print("store level (one process, no API)")
    for name, (events, accepted, lat) in figures.items():
        p50, p95, p99 = percentiles(lat)
        print(f"  {name:7} event writes {events:9,.0f}/s   accept {accepted:7,.0f} msg/s "
              f"(group commit of {GROUP}: p50 {p50:.1f} p95 {p95:.1f} p99 {p99:.1f} ms)")
    ratio = figures["sqlite"][1] / figures["cql"][1]
    print(f"  sqlite/cql: events {figures['sqlite'][0] / figures['cql'][0]:.1f}x, accept {ratio:.1f}x")


def end_to_end(messages: int, workers: int, **settings: str) -> tuple[int, float, list[float], int, float]:
    """Part 2 for one store setting: accepted, seconds, latencies (ms), delivered, delivery span."""
    with tempfile.TemporaryDirectory(prefix="postwave-bench-") as tmp, \
            SMTPSink(SINK_ADDRESS) as _sink, \
            DNSServer(mx={"bench.test": [(10, "mx.bench.test")]}, a={"mx.bench.test": SINK_ADDRESS}) as dns:
        platform = Platform(Path(tmp), dns_port=dns.port, workers=workers, log_level="WARNING",
                            smtp_starttls="false", **settings)
        platform.start()
        try:
            _, key = platform.tenant("bench")
            latencies, ids, secs = offer(platform, key, messages, 0.0)
            delivered, span = delivery_times(platform, key, len(ids), timeout=900)
        finally:
            platform.stop()
    return len(ids), secs, latencies, len(delivered), span


def main() -> None:
    """Run both parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000, help="messages per measurement (default 5000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes end to end (default 2)")
    parser.add_argument("--skip-e2e", action="store_true", help="store-level figures only")
    args = parser.parse_args()
    NODE.ensure()
    try:
        store_level(args.messages)
        if args.skip_e2e:
            return
        print(f"end to end (BatchSend of {args.messages}, {args.workers} workers, smtp-sink MX)")
        keyspace = NODE.config().cql_keyspace
        for name, settings in (("cql", {"store": "cql", "cql_port": str(cql_port()), "cql_keyspace": keyspace}),
                               ("sqlite", {"sqlite_synchronous": "FULL"})):
            accepted, secs, lat, delivered, span = end_to_end(args.messages, args.workers, **settings)
            p50, p95, p99 = percentiles(lat)
            print(f"  {name:7} accepted {accepted / secs:7,.0f} msg/s   acceptance latency ms p50 {p50:.2f} "
                  f"p95 {p95:.2f} p99 {p99:.2f}   delivered {delivered} = {delivered / span:,.0f} msg/s")
    finally:
        NODE.finish()


if __name__ == "__main__":
    main()

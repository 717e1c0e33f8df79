"""CQL store figures beside the embedded store's, from one run on one machine.

1. Store level (no API): event writes/s, and messages accepted/s through ``Store.accept``
   in group commits of 64 one-message requests, for the CQL store and the SQLite store;
   and the CQL store's asyncio face (``accept_async``, the driver's execute_async bridged to
   the event loop) with 1 and with 4 group commits in flight, as the API runs it.
2. End to end: ``postwave serve`` with store=cql, then with store=embedded, each offered the
   same requests through the streaming BatchSend RPC (benchmarks/e2e.py's message and
   client, with dnsmasq and Postfix's smtp-sink as the MX; DKIM off: this measures the
   store): accepted/s, acceptance latency p50/p95/p99, delivered/s. With
   the CQL store, the API's group commit runs once on the driver's asyncio face
   (``store_async=true``, the default) and once on worker threads (``store_async=false``,
   the code path before it), alternated, for a before/after ratio of the same code. With
   ``--baseline-server DIR`` (the ``server/`` directory of another checkout) the CQL
   platform also runs that code.

Needs a Cassandra node (scripts/cassandra start; this script starts one if none runs and
stops it afterwards). Run as root (smtp-sink binds port 25 of a loopback address).

    python3 benchmarks/bench_cql.py --messages 5000 [--baseline-server /tmp/before/server]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server")]

from postwave.store.base import AcceptedRequest, EventRecord, NewMessage, Store  # noqa: E402
from postwave.store.cql import CqlStore  # noqa: E402
from postwave.store.cql_session import CallList  # noqa: E402
from postwave.store.embedded import EmbeddedStore, _insert_events  # noqa: E402
from postwave.store.sqlite import Database  # noqa: E402

from benchmarks.e2e import SINK_ADDRESS, delivery_times, offer, percentiles  # noqa: E402
from tests import platform as platform_module  # noqa: E402
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


async def accept_rate_async(store: CqlStore, count: int, in_flight: int) -> tuple[float, list[float]]:
    """Messages/s through accept_async with ``in_flight`` group commits at once, and their latencies (ms)."""
    reqs = _requests(count, f"x{time.time_ns()}")
    groups = [reqs[start:start + GROUP] for start in range(0, count, GROUP)]
    latencies: list[float] = []
    room = asyncio.Semaphore(in_flight)

    async def commit(group: list[AcceptedRequest]) -> None:
        async with room:
            events = [EventRecord("bench", r.messages[0].message_id, "accepted", r.created) for r in group]
            t = time.perf_counter()
            await store.accept_async(group, events, "2026-01-01")
            latencies.append((time.perf_counter() - t) * 1000)

    begin = time.perf_counter()
    await asyncio.gather(*(commit(g) for g in groups))
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
            aio = {n: asyncio.run(accept_rate_async(cql, count, n)) for n in (1, 4)}
        finally:
            cql.close()
            db.close()
    print("store level (one process, no API)")
    for name, (events, accepted, lat) in figures.items():
        p50, p95, p99 = percentiles(lat).values()
        print(f"  {name:7} event writes {events:9,.0f}/s   accept {accepted:7,.0f} msg/s "
              f"(group commit of {GROUP}: p50 {p50:.1f} p95 {p95:.1f} p99 {p99:.1f} ms)")
    for n, (accepted, lat) in aio.items():
        p50, p95, p99 = percentiles(lat).values()
        print(f"  cql accept_async, {n} commit(s) in flight: {accepted:7,.0f} msg/s "
              f"(p50 {p50:.1f} p95 {p95:.1f} p99 {p99:.1f} ms; {accepted / figures['cql'][1]:.2f}x the blocking accept)")
    ratio = figures["sqlite"][1] / figures["cql"][1]
    print(f"  sqlite/cql: events {figures['sqlite'][0] / figures['cql'][0]:.1f}x, accept {ratio:.1f}x")


def end_to_end(messages: int, workers: int, server_dir: Path | None = None,
               **settings: str) -> tuple[int, float, list[float], int, float]:
    """Part 2 for one store setting: accepted, seconds, latencies (ms), delivered, delivery span."""
    previous = platform_module.SERVER_DIR
    platform_module.SERVER_DIR = server_dir or previous  # the code `postwave serve` runs
    try:
        with tempfile.TemporaryDirectory(prefix="postwave-bench-") as tmp, \
                SMTPSink(SINK_ADDRESS) as _sink, \
                DNSServer(mx={"bench.test": [(10, "mx.bench.test")]}, a={"mx.bench.test": SINK_ADDRESS}) as dns:
            platform = Platform(Path(tmp), dns_port=dns.port, workers=workers, log_level="WARNING",
                                smtp_starttls="false", admin_listen="", **settings)
            platform.start()
            try:
                _, key = platform.tenant("bench")
                out: dict[str, Any] = {}
                offer(platform, key, messages, 0.0, 1, 0, out)
                times = delivery_times(platform, key, len(out["ids"]), timeout=900)
            finally:
                platform.stop()
    finally:
        platform_module.SERVER_DIR = previous
    accepted, delivered = times["accepted"], times["delivered"]
    span = max(delivered.values()) - min(accepted.values()) if delivered else float("nan")
    return len(out["ids"]), out["seconds"], out["latencies"], len(delivered), span


def main() -> None:
    """Run both parts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000, help="messages per measurement (default 5000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes end to end (default 2)")
    parser.add_argument("--skip-e2e", action="store_true", help="store-level figures only")
    parser.add_argument("--skip-store", action="store_true", help="end-to-end figures only")
    parser.add_argument("--baseline-server", type=Path, default=None, metavar="DIR",
                        help="server/ of another checkout: also run the CQL platform on that code")
    parser.add_argument("--repeat", type=int, default=1, help="CQL end-to-end runs per code (alternated)")
    parser.add_argument("--skip-sqlite", action="store_true", help="no embedded end-to-end run")
    parser.add_argument("--commits-in-flight", type=int, default=1,
                        help="accept_commits_in_flight of the asyncio runs (default 1, the option's default)")
    args = parser.parse_args()
    NODE.ensure()
    try:
        if not args.skip_store:
            store_level(args.messages)
        if args.skip_e2e:
            return
        print(f"end to end (BatchSend of {args.messages}, {args.workers} workers, smtp-sink MX)")
        # The figures read the platform's own event stream; with two workers writing events, a
        # settle window keeps late-landing events from being skipped by the reading cursor.
        cql = {"store": "cql", "cql_port": str(cql_port()), "cql_events_settle_seconds": "10",
               "cql_request_timeout": "20"}  # schema changes at start-up are slow on a loaded node
        runs: list[tuple[str, Path | None, dict[str, str]]] = []
        for _ in range(args.repeat):  # alternated, so that drifting load hits both alike
            runs.append(("cql", None, {**cql, "accept_commits_in_flight": str(args.commits_in_flight)}))
            runs.append(("cql, store_async=false", None, {**cql, "store_async": "false"}))
            if args.baseline_server:
                runs.append(("cql (baseline code)", args.baseline_server, cql))
        if not args.skip_sqlite:
            runs.append(("sqlite", None, {"sqlite_synchronous": "FULL"}))
        rates: dict[str, list[float]] = {}
        for name, server_dir, settings in runs:
            keyspace = NODE.config().cql_keyspace  # a fresh keyspace per run
            accepted, secs, lat, delivered, span = end_to_end(args.messages, args.workers, server_dir,
                                                              cql_keyspace=keyspace, **settings)
            q = percentiles(lat)
            rates.setdefault(name, []).append(accepted / secs)
            print(f"  {name:20} accepted {accepted / secs:7,.0f} msg/s   acceptance latency ms p50 {q['p50']:.2f} "
                  f"p95 {q['p95']:.2f} p99 {q['p99']:.2f}   delivered {delivered} = {delivered / span:,.0f} msg/s")
        threads = sum(rates["cql, store_async=false"])
        print(f"  cql accepted/s, asyncio group commit / threaded: {sum(rates['cql']) / threads:.2f}x "
              f"(sums over {args.repeat} runs each)")
        if args.baseline_server:
            ours, theirs = sum(rates["cql"]), sum(rates["cql (baseline code)"])
            print(f"  cql accepted/s, this code / baseline code: {ours / theirs:.2f}x (sums over {args.repeat} runs each)")
    finally:
        NODE.finish()


if __name__ == "__main__":
    main()

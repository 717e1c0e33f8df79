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

3. ``--cpu``: CPU seconds per 1,000 messages of the store operations themselves, as the
   API and a worker call them (accept_async in group commits of 64; get_messages and
   suppressed per claim of 32; get_payload per message, a claim's concurrently;
   record_outcomes per flush of 16), both through asyncio.to_thread as pipeline/worker.py
   calls them now and on the store's asyncio face. Each code (this checkout, and with
   ``--baseline-server`` another) runs in child processes, alternated, on one keyspace;
   a child reports the least of three rounds, the parent the median over ``--rounds``
   children, and the this/baseline ratios. CPU time (all threads of the process, the
   driver's I/O thread included) rather than wall-clock time, which the shared machine
   makes too noisy; the Cassandra node's CPU is shown too, but other clients of the
   shared node count in it.

Needs a Cassandra node (scripts/cassandra start; this script starts one if none runs and
stops it afterwards). Run as root (smtp-sink binds port 25 of a loopback address).

    python3 benchmarks/bench_cql.py --messages 5000 [--baseline-server /tmp/before/server]
    python3 benchmarks/bench_cql.py --cpu --messages 1000 --rounds 3 --baseline-server /tmp/before/server
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# --cpu runs each code in a child process; POSTWAVE_BENCH_SERVER names the server/ it imports.
sys.path[:0] = [str(ROOT), os.environ.get("POSTWAVE_BENCH_SERVER") or str(ROOT / "server")]

from postwave.store.base import (  # noqa: E402
    AcceptedRequest,
    Attempt,
    EventRecord,
    NewMessage,
    Outcome,
    Store,
)
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

if os.environ.get("POSTWAVE_BENCH_SERVER"):  # benchmarks.e2e put this checkout's server/ first again
    sys.path[:] = [p for p in sys.path if p != str(ROOT / "server")]

GROUP = 64  # requests per group commit in the store-level acceptance figure
EVENT_BATCH = 256  # events per write in the event figure (a worker's flush)


def _requests(count: int, tag: str, *, send_ids: bool = True, payload: int = 600) -> list[AcceptedRequest]:
    now = time.time()
    return [
        AcceptedRequest(
            request_id=f"{tag}{i}", tenant_id="bench", send_id=f"{tag}-s{i}" if send_ids else "", batch_id="",
            body_hash=b"h" * 32, payload=b"p" * payload, lane="transactional", send_at=now, created=now, expires=now + 3600,
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


async def accept_rate_async(store: CqlStore, count: int, in_flight: int,
                            reqs: list[AcceptedRequest] | None = None) -> tuple[float, list[float]]:
    """Messages/s through accept_async with ``in_flight`` group commits at once, and their latencies (ms)."""
    reqs = reqs if reqs is not None else _requests(count, f"x{time.time_ns()}")
    count = len(reqs)
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


CLAIM = 32  # messages per get_messages: a worker claims at least MIN_CLAIM at a time
FLUSH = 16  # outcomes per record_outcomes: a worker's 50 ms flush at ~300 delivered/s
CHILD_ROUNDS = 3  # rounds of --messages in each child process
# The API's acceptance; a worker's calls as pipeline/worker.py makes them now (the blocking
# store on asyncio.to_thread); the same calls on the store's asyncio face (AsyncStore).
# get_payloads: a claim's payloads in one call (not used by the worker yet; not in older code).
WORKER_OPS = ("get_messages", "suppressed", "get_payload", "get_payloads", "record_outcomes")
CPU_OPS = ("accept_async", *WORKER_OPS, *(f"{op}_async" for op in WORKER_OPS))


def _node_ticks() -> int:
    """CPU clock ticks the Cassandra node used so far (0 if it cannot be read). Indicative
    only: other clients of the shared node count in it too."""
    try:
        pid = (ROOT / "var" / "cassandra" / "cassandra.pid").read_text().strip()
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().decode().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0


async def _worker_op(store: CqlStore, op: str, reqs: list[AcceptedRequest], outcomes: list[Outcome]) -> None:
    """One worker operation over every message, claim by claim (flush by flush for outcomes)."""
    on_face = op.endswith("_async")

    async def call(name: str, *args: Any) -> Any:
        if on_face:
            return await getattr(store, f"{name}_async")(*args)
        return await asyncio.to_thread(getattr(store, name), *args)

    if op.startswith("record_outcomes"):
        for start in range(0, len(outcomes), FLUSH):
            await call("record_outcomes", outcomes[start:start + FLUSH])
        return
    for start in range(0, len(reqs), CLAIM):
        claim = reqs[start:start + CLAIM]
        if op.startswith("get_messages"):
            await call("get_messages", [r.messages[0].message_id for r in claim])
        elif op.startswith("suppressed"):
            await call("suppressed", "bench", [r.messages[0].recipient for r in claim], time.time())
        elif op.startswith("get_payloads"):
            await call("get_payloads", [r.request_id for r in claim])
        else:  # the deliveries of a claim read their payloads concurrently
            await asyncio.gather(*(call("get_payload", r.request_id) for r in claim))


async def _cpu_round(store: CqlStore, count: int) -> dict[str, dict[str, float]]:
    """One round of every operation on ``count`` new messages; CPU seconds per 1,000 of each."""
    # as benchmarks/e2e.py sends them: one recipient, no send_id, a ~20 KB message; one set
    # of messages delivered through each face
    reqs = _requests(2 * count, f"c{time.time_ns()}", send_ids=False, payload=20_000)
    now = time.time()
    outcomes = [Outcome(m, "bench", "delivered", Attempt(m, now, "mx.bench.test", 250, "250 ok", "delivered"),
                        (EventRecord("bench", m, "delivered", now, "250 2.0.0 ok", "u@bench.test"),))
                for m in (r.messages[0].message_id for r in reqs)]
    ticks = os.sysconf("SC_CLK_TCK")
    figures: dict[str, dict[str, float]] = {}
    for op in CPU_OPS:
        if not hasattr(store, op):  # an operation older code does not have
            continue
        node, cpu = _node_ticks(), time.process_time()
        if op == "accept_async":
            await accept_rate_async(store, 0, 1, reqs)
            done = 2 * count
        else:
            half = slice(count, None) if op.endswith("_async") else slice(0, count)
            await _worker_op(store, op, reqs[half], outcomes[half])
            done = count
        cpu, node = time.process_time() - cpu, _node_ticks() - node
        figures[op] = {"client": cpu / done * 1000, "node": node / ticks / done * 1000}
    # the work was done: every message delivered, its payload readable
    got = await store.get_messages_async([r.messages[0].message_id for r in reqs])
    if len(got) != 2 * count or any(m.state != "delivered" or m.attempt_count != 1 for m in got):
        raise SystemExit(f"record_outcomes did not deliver every message: {got[:2]}")
    if await store.get_payload_async(reqs[-1].request_id) != reqs[-1].payload:
        raise SystemExit("get_payload returned something else")
    return figures


def cpu_child(keyspace: str, count: int) -> dict[str, dict[str, float]]:
    """CPU seconds per 1,000 messages of each store operation the API and the workers run,
    measured in this process (all its threads, the driver's I/O thread included), in the
    sizes they run them: group commits of GROUP, claims of CLAIM, flushes of FLUSH; the
    least of CHILD_ROUNDS rounds."""
    from tests.contract.cassandra import _config

    store = CqlStore(_config(keyspace))
    try:
        asyncio.run(_cpu_round(store, 128))  # warms connections and caches up
        rounds = [asyncio.run(_cpu_round(store, count)) for _ in range(CHILD_ROUNDS)]
    finally:
        store.close()
    # the least of a few rounds: on a shared machine, other processes only ever add to a figure
    return {op: {side: min(r[op][side] for r in rounds) for side in ("client", "node")}
            for op in CPU_OPS if op in rounds[0]}


def cpu_compare(count: int, rounds: int, baseline: Path | None) -> None:
    """Run cpu_child for this code (and a baseline's), alternated, in child processes on
    one keyspace; print the medians and this/baseline ratios."""
    keyspace = NODE.config().cql_keyspace
    codes = {"this": ROOT / "server", **({"baseline": baseline} if baseline else {})}
    results: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in codes}
    for _ in range(rounds):
        for name, server_dir in codes.items():
            out = subprocess.run(
                [sys.executable, __file__, "--cpu-child", keyspace, "--messages", str(count)],
                env={**os.environ, "POSTWAVE_BENCH_SERVER": str(server_dir)}, capture_output=True, text=True,
                check=True, timeout=1800)
            results[name].append(json.loads(out.stdout.strip().splitlines()[-1]))

    def median(name: str, op: str, side: str) -> float:
        values = sorted(r[op][side] for r in results[name] if op in r)
        return values[len(values) // 2] if values else float("nan")

    print(f"CPU seconds per 1,000 messages ({count} messages, median of {rounds} alternated runs; "
          "node = the shared Cassandra JVM, indicative)")
    for op in CPU_OPS:
        line = f"  {op:22}" + "".join(f"  {name}: client {median(name, op, 'client'):6.3f} node "
                                      f"{median(name, op, 'node'):6.3f}" for name in codes)
        if baseline:
            line += f"   this/baseline client {median('this', op, 'client') / median('baseline', op, 'client'):.2f}x"
        print(line)
    now = ("get_messages", "suppressed", "get_payload", "record_outcomes")  # a worker's calls today
    faced = ("get_messages_async", "suppressed_async", "get_payloads_async", "record_outcomes_async")
    sums = {name: (median(name, "accept_async", "client"), sum(median(name, op, "client") for op in now))
            for name in codes}
    for name, (api, worker) in sums.items():
        print(f"  {name}: API {api:.3f} + worker {worker:.3f} = {api + worker:.3f} s per 1,000 messages")
    if baseline:
        ratios = [sums["this"][i] / sums["baseline"][i] for i in (0, 1)]
        total = sum(sums["this"]) / sum(sums["baseline"])
        print(f"  this/baseline: API {ratios[0]:.2f}x, worker {ratios[1]:.2f}x, both {total:.2f}x")
    worker_faced = sum(median("this", op, "client") for op in faced)
    print(f"  this code, a worker on the asyncio face with get_payloads per claim: {worker_faced:.3f} s "
          f"({worker_faced / sums['this'][1]:.2f}x its calls today)")


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
    parser.add_argument("--cpu", action="store_true",
                        help="only CPU seconds per 1,000 messages of the store operations (see cpu_compare)")
    parser.add_argument("--rounds", type=int, default=3, help="--cpu: alternated runs per code (default 3)")
    parser.add_argument("--cpu-child", metavar="KEYSPACE", help=argparse.SUPPRESS)
    parser.add_argument("--commits-in-flight", type=int, default=1,
                        help="accept_commits_in_flight of the asyncio runs (default 1, the option's default)")
    args = parser.parse_args()
    if args.cpu_child:
        print(json.dumps(cpu_child(args.cpu_child, args.messages)))
        return
    NODE.ensure()
    try:
        if args.cpu:
            cpu_compare(args.messages, args.rounds, args.baseline_server)
            return
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

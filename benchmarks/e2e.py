"""End-to-end load harness: the embedded platform, real DNS, Postfix's smtp-sink.

Starts ``postwave serve`` (API + workers) on a fresh data directory, dnsmasq serving an MX
record for bench.test, and smtp-sink as that MX; offers N messages through the streaming
BatchSend RPC; then prints accepted/s, delivered/s, and p50/p95/p99 of the acceptance
latency (request written to the stream → response read) and of acceptance-to-250 (the
``accepted`` event → the ``delivered`` event, both stamped by the platform).

    python3 benchmarks/e2e.py --messages 20000 --workers 2

Run as root (smtp-sink binds port 25 of a loopback address). Only loopback is used.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server")]

from tests.platform import Platform, bearer, request  # noqa: E402
from tests.servers.dns import DNSServer  # noqa: E402
from tests.servers.sink import SMTPSink  # noqa: E402
from postwave.v1 import events_pb2, send_pb2  # noqa: E402

SINK_ADDRESS = "127.0.3.1"


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 of a list (milliseconds in, milliseconds out)."""
    if len(values) < 2:
        v = values[0] if values else float("nan")
        return v, v, v
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[94], q[98]


def offer(platform: Platform, key: str, total: int, rate: float) -> tuple[list[float], list[str], float]:
    """Stream ``total`` requests; return acceptance latencies (ms), message ids, seconds taken."""
    sent_at: list[float] = []
    interval = 1.0 / rate if rate > 0 else 0.0

    def requests() -> Iterator[send_pb2.SendRequest]:
        start = time.perf_counter()
        body = "Hello {{ name }}, this is message {{ n }} of the benchmark.\n" * 8
        for i in range(total):
            if interval:
                delay = start + i * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            req = request(to=[f"user{i}@bench.test"], subject="Benchmark {{ n }}", text=body)
            req.personalizations[0].substitutions.update({"name": f"User {i}", "n": i})
            sent_at.append(time.perf_counter())
            yield req

    latencies: list[float] = []
    ids: list[str] = []
    begin = time.perf_counter()
    step = max(1, total // 10)
    for i, resp in enumerate(platform.send_stub().BatchSend(requests(), metadata=bearer(key), timeout=3600)):
        latencies.append((time.perf_counter() - sent_at[i]) * 1000)
        if resp.code:
            raise SystemExit(f"request {i} refused: {resp.error}")
        ids.extend(m.message_id for m in resp.messages)
        if (i + 1) % step == 0:
            print(f"  offered {i + 1}/{total}", file=sys.stderr, flush=True)
    return latencies, ids, time.perf_counter() - begin


def delivery_times(platform: Platform, key: str, count: int, timeout: float) -> tuple[list[float], float]:
    """Wait for ``count`` delivered events; return acceptance-to-250 latencies (ms) and the span."""
    accepted: dict[str, float] = {}
    delivered: dict[str, float] = {}
    others: dict[str, int] = {}
    cursor = 0
    deadline = time.monotonic() + timeout
    stub = platform.events_stub()
    while len(delivered) < count and time.monotonic() < deadline:
        for e in stub.StreamEvents(events_pb2.StreamEventsRequest(cursor=cursor, no_follow=True,
                                                                  types=["accepted", "delivered", "bounced",
                                                                         "deferred", "failed"]),
                                   metadata=bearer(key), timeout=600):
            cursor = e.id
            t = e.time.ToNanoseconds() / 1e9
            if e.type == "accepted":
                accepted[e.message_id] = t
            elif e.type == "delivered":
                delivered[e.message_id] = t
            else:
                others[e.type] = others.get(e.type, 0) + 1
                if others[e.type] <= 3:
                    print(f"  {e.type}: {e.detail}", file=sys.stderr)
        if len(delivered) < count:
            time.sleep(0.5)
    lat = [(delivered[m] - accepted[m]) * 1000 for m in delivered if m in accepted]
    span = (max(delivered.values()) - min(accepted.values())) if delivered else float("nan")
    return lat, span


def dkim_settings(directory: Path) -> dict[str, str]:
    """A fresh RSA-2048 key and the options that make every message signed with it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / "dkim.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return {"dkim_domain": "postwave.test", "dkim_selector": "bench", "dkim_private_key_path": str(path)}


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10000, help="messages to offer (default 10000)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="offered requests/s (0 = as fast as the API takes them)")
    parser.add_argument("--sqlite-synchronous", default="FULL", choices=["FULL", "NORMAL"])
    parser.add_argument("--no-dkim", action="store_true", help="do not DKIM-sign (default: rsa-sha256, 2048 bits)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="postwave-bench-") as tmp, \
            SMTPSink(SINK_ADDRESS) as sink, \
            DNSServer(mx={"bench.test": [(10, "mx.bench.test")]}, a={"mx.bench.test": SINK_ADDRESS}) as dns:
        signing = {} if args.no_dkim else dkim_settings(Path(tmp))
        platform = Platform(Path(tmp), dns_port=dns.port, workers=args.workers, log_level="WARNING",
                            sqlite_synchronous=args.sqlite_synchronous, smtp_starttls="false", **signing)
        platform.start()
        try:
            _, key = platform.tenant("bench")
            print(f"offering {args.messages} messages through BatchSend ({args.workers} workers, "
                  f"synchronous={args.sqlite_synchronous}, dkim={'off' if args.no_dkim else 'rsa-sha256'})",
                  file=sys.stderr)
            acc_lat, ids, acc_secs = offer(platform, key, args.messages, args.rate)
            print("waiting for delivery", file=sys.stderr)
            del_lat, span = delivery_times(platform, key, len(ids), timeout=600)
            sink_count = sink.messages
        finally:
            platform.stop()
    a50, a95, a99 = percentiles(acc_lat)
    d50, d95, d99 = percentiles(del_lat)
    print(f"messages offered         {args.messages}")
    print(f"accepted                 {len(ids)} in {acc_secs:.2f} s = {len(ids) / acc_secs:,.0f} msg/s")
    print(f"delivered (250)          {len(del_lat)} (sink counted {sink_count}) in {span:.2f} s "
          f"= {len(del_lat) / span:,.0f} msg/s end to end")
    print(f"acceptance latency ms    p50 {a50:.2f}  p95 {a95:.2f}  p99 {a99:.2f}")
    print(f"acceptance-to-250 ms     p50 {d50:.1f}  p95 {d95:.1f}  p99 {d99:.1f}")


if __name__ == "__main__":
    main()

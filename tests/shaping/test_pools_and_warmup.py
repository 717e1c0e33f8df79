"""IP pools, warm-up caps and overflow, measured at a peer that sees each connection's source.

Four pools of 127.0.0.x source addresses: the default pool (127.0.0.11, warmed), "warm"
(127.0.0.10 warming, 127.0.0.14 warmed), "own" (127.0.0.12 warming, dedicated) and
"shared" (127.0.0.13 warming). A warming IP may send 4 messages on its first day. Each of
three tenants is routed to one pool and sends to the same site; the peer records the
source address of every message it accepts:

* "warm": 4 from the warming IP, the rest overflow to the pool's warmed IP;
* "shared": 4 from its warming IP, the rest overflow to the default pool's warmed IP;
* "own" (dedicated): 4 from its warming IP; the rest wait (held in the queue, no attempt).

The platform then restarts: the caps are counted in the store, so the warming IPs stay
capped and the dedicated pool's mail still waits. A last tenant on the default pool sends
through two workers at a site limited to 240 messages/min: the two workers' shares add up
to that rate, not twice it.
"""

from __future__ import annotations

import time

from collections.abc import Callable
from typing import Any

from postwave.v1 import send_pb2

from tests.platform import Platform, bearer, request
from tests.shaping.conftest import TimedPeer

BASE = """
[defaults]
max_connections = 4
messages_per_minute = 6000
burst = 50

[warmup]
schedule = [[1, 4], [30, 1000000]]
hourly_fraction = 1.0

[pools.default]
ips = ["127.0.0.11"]

[pools.warm]
ips = [{ ip = "127.0.0.10", warmup = true }, "127.0.0.14"]

[pools.own]
ips = [{ ip = "127.0.0.12", warmup = true }]
dedicated = true

[pools.shared]
ips = [{ ip = "127.0.0.13", warmup = true }]

[sites.slow]
mx = ["slow.test"]
messages_per_minute = 240
burst = 2
"""


def _send(platform: Platform, key: str, recipients: list[str]) -> list[str]:
    req = request(to=[recipients[0]])
    del req.personalizations[:]
    for rcpt in recipients:
        req.personalizations.add(to=[rcpt])
    return [m.message_id for m in platform.send_stub().Send(req, metadata=bearer(key), timeout=30).messages]


def _sources(peer: TimedPeer, prefix: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for arrival in peer.arrivals:
        if arrival.rcpt.startswith(prefix):
            counts[arrival.source] = counts.get(arrival.source, 0) + 1
    return counts


def _untouched(platform: Platform, key: str, message_ids: list[str], expect: int, timeout: float = 20.0) -> list[str]:
    """Messages still waiting with no delivery attempt, once ``expect`` of them are (or the
    timeout passed): a message the peer has already received is recorded by the worker's
    next flush, a moment later."""
    stub = platform.send_stub()
    deadline = time.monotonic() + timeout
    while True:
        waiting = []
        for message_id in message_ids:
            status = stub.GetStatus(send_pb2.GetStatusRequest(message_id=message_id), metadata=bearer(key),
                                    timeout=10)
            if status.state == "accepted" and not status.attempts:
                waiting.append(message_id)
        if len(waiting) <= expect or time.monotonic() > deadline:
            return waiting
        time.sleep(0.2)


def test_pools_bind_source_addresses_and_warming_ips_overflow_or_wait_across_restarts(
    make_dns_server: Any, make_timed_peer: Callable[..., TimedPeer], shaped_platform: Callable[..., Platform]
) -> None:
    peer = make_timed_peer()
    slow = make_timed_peer()
    dns = make_dns_server(mx={"w.test": [(10, "mx.w.test")], "s.test": [(10, "mx.slow.test")]},
                          a={"mx.w.test": peer.address, "mx.slow.test": slow.address})
    platform = shaped_platform(BASE, dns_port=dns.port, workers=2)
    tenants = {name: platform.tenant(name) for name in ("warm", "own", "shared", "plain")}
    routing = "\n[routing.tenants]\n" + "".join(f'"{tenants[n][0]}" = "{n}"\n' for n in ("warm", "own", "shared"))
    (platform.data_dir / "shaping.toml").write_text(BASE + routing)
    platform.stop()
    platform.start()

    _send(platform, tenants["warm"][1], [f"warm{i}@w.test" for i in range(10)])
    _send(platform, tenants["shared"][1], [f"shared{i}@w.test" for i in range(6)])
    own = _send(platform, tenants["own"][1], [f"own{i}@w.test" for i in range(6)])
    peer.wait_for(10 + 6 + 4, timeout=60)
    assert _sources(peer, "warm") == {"127.0.0.10": 4, "127.0.0.14": 6}
    assert _sources(peer, "shared") == {"127.0.0.13": 4, "127.0.0.11": 2}
    assert _sources(peer, "own") == {"127.0.0.12": 4}
    assert len(peer.arrivals) == 20 and len(_untouched(platform, tenants["own"][1], own, 2)) == 2

    platform.stop()
    platform.start()
    _send(platform, tenants["warm"][1], [f"again{i}@w.test" for i in range(3)])
    peer.wait_for(23, timeout=60)
    assert _sources(peer, "again") == {"127.0.0.14": 3}  # 127.0.0.10's day is still used up
    assert len(_untouched(platform, tenants["own"][1], own, 2)) == 2 and len(_sources(peer, "own")) == 1

    # Two workers share the slow site's 240/min: 20 messages take about 4.5 s, not half that.
    _send(platform, tenants["plain"][1], [f"p{i}@s.test" for i in range(20)])
    arrivals = slow.wait_for(20, timeout=60)
    assert {a.peer[0] for a in arrivals} == {"127.0.0.11"}
    times = [a.at for a in slow.arrivals]
    assert max(times) - min(times) >= (20 - 2) / (240 / 60) * 0.8

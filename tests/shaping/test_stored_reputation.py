"""Stored reputation end to end: what a worker learned from a site's 421s and from a block
is in the store, and the next worker process starts from it.

One platform (one worker) sends to three sites, each a real SMTP peer behind real MX
records: throttle.test answers four RCPTs with "421 4.7.28 slow down" (each one that reaches the
shaper halves the rate toward it), blocked.test refuses our IP with "550 5.7.1 ... blocked" at RCPT (the
lane pauses for ten minutes), calm.test always accepts. The platform stops (its worker
writes what it learned) and starts again -- new worker processes, the same store. Then
both throttle.test and calm.test get 10 messages at once: measured at the peers, the new
worker sends to throttle.test at a fraction of calm.test's rate (same configured rate, same
run), and the message to blocked.test waits untouched: the peer sees no new connection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from postwave.v1 import send_pb2

from tests.platform import Platform, bearer
from tests.shaping.conftest import Arrival, TimedPeer, send_each

RATE = 300  # messages per minute toward each site
SHAPING = f"""
[defaults]
max_connections = 2
messages_per_minute = {RATE}
burst = 1

[adaptive]
decrease_factor = 0.5
increase_fraction = 0.1
success_window = 1000
min_fraction = 0.25
decrease_holdoff_seconds = 0.0
block_pause_seconds = 600.0
"""
SLOW_DOWN = "421 4.7.28 Our system has detected an unusual rate of mail from your IP; slow down"
BLOCKED = "550 5.7.1 Service unavailable; client host [127.0.0.1] blocked using a reputation list"
COUNT = 10
LEARN = 5


def _rate(arrivals: Sequence[Arrival]) -> float:
    """Messages per second from the second arrival to the last (the first may use the burst)."""
    return (len(arrivals) - 2) / (arrivals[-1].at - arrivals[1].at)


def _state(platform: Platform, key: str, message_id: str) -> send_pb2.MessageStatus:
    return platform.send_stub().GetStatus(send_pb2.GetStatusRequest(message_id=message_id), metadata=bearer(key),
                                          timeout=10)


def test_a_restarted_worker_starts_at_the_learned_rate_and_honours_a_stored_pause(
    make_dns_server: Any, make_timed_peer: Callable[..., TimedPeer], shaped_platform: Callable[..., Platform]
) -> None:
    throttled = make_timed_peer(script={"RCPT": [None, None, *[SLOW_DOWN] * 4]})
    blocked = make_timed_peer(script={"RCPT": [BLOCKED]})
    calm = make_timed_peer()
    dns = make_dns_server(
        mx={"throttle.test": [(10, "mx.throttle.test")], "blocked.test": [(10, "mx.blocked.test")],
            "calm.test": [(10, "mx.calm.test")]},
        a={"mx.throttle.test": throttled.address, "mx.blocked.test": blocked.address, "mx.calm.test": calm.address},
    )
    platform = shaped_platform(SHAPING, dns_port=dns.port, workers=1, reputation_sync_seconds=1)
    _, key = platform.tenant("acme")

    # Learn: 421s (each halves the rate; a 421 on a reused connection may end it before the
    # reply is read, so at least two of the four do) and one block.
    first = send_each(platform, key, [f"a{i}@throttle.test" for i in range(LEARN)])
    [refused] = send_each(platform, key, ["x@blocked.test"])
    throttled.wait_for(LEARN, timeout=60)
    assert platform.wait_state(key, refused, {"bounced"}).state == "bounced"
    for message_id in first:
        platform.wait_state(key, message_id, {"delivered"})
    learned = platform.log()
    lowered = [float(line.split(" to ")[1].split()[0]) for line in learned.splitlines()
               if "throttled by throttle.test: rate from (default address) lowered" in line]
    assert len(lowered) >= 2 and lowered[-1] <= RATE / 4, lowered
    assert "paused toward blocked.test for 600 s (blocked at RCPT)" in learned

    # New worker processes on the same store.
    platform.stop()
    before = len(platform.log())
    platform.start()
    held = send_each(platform, key, ["y@blocked.test"])
    send_each(platform, key, [r for i in range(COUNT) for r in (f"t{i}@throttle.test", f"c{i}@calm.test")])
    calm.wait_for(COUNT, timeout=60)
    throttled.wait_for(LEARN + COUNT, timeout=120)

    restarted = platform.log()[before:]
    assert f"learned rate toward throttle.test from (default address): {lowered[-1]:.1f} messages/min" in restarted
    slow = [a for a in throttled.arrivals if a.rcpt.startswith("t")]
    fast = list(calm.arrivals)
    assert len(slow) == len(fast) == COUNT
    # Same configured rate, same run: the learned rate holds throttle.test to a fraction of calm.test's.
    assert _rate(slow) < 0.5 * _rate(fast), (_rate(slow), _rate(fast))
    # ... and the stored pause holds blocked.test's mail back: no new connection, message untouched.
    assert blocked.attempts["RCPT"] == 1 and blocked.attempts["CONNECT"] == 1
    status = _state(platform, key, held[0])
    assert (status.state, len(status.attempts)) == ("accepted", 0), status

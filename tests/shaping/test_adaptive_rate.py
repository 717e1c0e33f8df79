"""AIMD end to end: a site that answers 421 gets mail more slowly, then at full rate again,
while another site's mail keeps its own pace.

Two receiving sites, each a real SMTP peer found through real MX records: throttle.test
answers three RCPTs in a row with "421 4.7.28 ... slow down" after its twelfth, calm.test
always accepts. Both get 36 messages at once, both limited to 180 messages/min from the
platform's one source address. Rates are measured at the peers (arrival times of accepted
messages) and compared within the run: the throttled site's rate after the 421s against
its own rate before them and after its recovery, and against the calm site's rate over the
same seconds. The platform's log must also show the rate being lowered and raised back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tests.platform import Platform, bearer, request
from tests.shaping.conftest import Arrival, TimedPeer

RATE = 180  # messages per minute toward each site
SHAPING = f"""
[defaults]
max_connections = 4
messages_per_minute = {RATE}
burst = 2

[adaptive]
decrease_factor = 0.5
increase_fraction = 0.25
success_window = 6
min_fraction = 0.1
decrease_holdoff_seconds = 1.0
"""
SLOW_DOWN = "421 4.7.28 Our system has detected an unusual rate of mail from your IP; slow down"
COUNT = 36
BEFORE_421 = 12


def _rate(arrivals: Sequence[Arrival]) -> float:
    """Messages per second over a run of arrivals (first to last)."""
    span = arrivals[-1].at - arrivals[0].at
    return (len(arrivals) - 1) / span


def _between(arrivals: Sequence[Arrival], start: float, end: float) -> list[Arrival]:
    return [a for a in arrivals if start <= a.at <= end]


def test_a_site_answering_421_is_slowed_then_recovers_without_slowing_another_site(
    make_dns_server: Any, make_timed_peer: Callable[..., TimedPeer], shaped_platform: Callable[..., Platform]
) -> None:
    throttled = make_timed_peer(script={"RCPT": [None] * BEFORE_421 + [SLOW_DOWN] * 3})
    calm = make_timed_peer()
    dns = make_dns_server(
        mx={"throttle.test": [(10, "mx.throttle.test")], "calm.test": [(10, "mx.calm.test")]},
        a={"mx.throttle.test": throttled.address, "mx.calm.test": calm.address},
    )
    platform = shaped_platform(SHAPING, dns_port=dns.port, workers=1)
    _, key = platform.tenant("acme")
    recipients = [f"t{i}@throttle.test" for i in range(COUNT)] + [f"c{i}@calm.test" for i in range(COUNT)]
    req = request(to=[recipients[0]])
    del req.personalizations[:]
    for rcpt in recipients:
        req.personalizations.add(to=[rcpt])
    refs = platform.send_stub().Send(req, metadata=bearer(key), timeout=30).messages
    assert len(refs) == 2 * COUNT

    throttled.wait_for(COUNT, timeout=120)
    calm.wait_for(COUNT, timeout=120)
    slow, steady = list(throttled.arrivals), list(calm.arrivals)
    assert sorted(a.rcpt for a in slow) == sorted(recipients[:COUNT])  # each once, none lost
    refusals = [at for at, command in throttled.commands if command == "RCPT"][BEFORE_421:BEFORE_421 + 3]
    first_421 = refusals[0]

    before = [a for a in slow if a.at < first_421][2:]  # after the initial burst
    after = [a for a in slow if a.at > refusals[-1]][:6]
    last = slow[-10:]
    assert len(before) >= 6 and len(after) == 6 and after[-1].at < last[0].at
    assert _rate(after) < 0.7 * _rate(before), (_rate(before), _rate(after))  # halved by the 421s
    assert _rate(last) > 1.3 * _rate(after), (_rate(after), _rate(last))  # and climbed back

    # The calm site kept going at its own pace while the throttled one was slowed.
    window = _between(steady, after[0].at, after[-1].at)
    assert len(window) >= 1.5 * (len(after) - 1), (len(window), len(after))
    # ... and it is shaped too: never faster than its configured rate (plus the burst).
    assert steady[-1].at - steady[0].at >= (COUNT - 3) / (RATE / 60) * 0.9

    log = platform.log()
    assert "throttled by throttle.test" in log and f"lowered from {RATE:.1f}" in log
    assert f"rate toward throttle.test from (default address) raised to {RATE:.1f} messages/min" in log
    assert "throttled by calm.test" not in log

"""ISP failure matrix: one platform, one mail domain per fault, each served by a real scripted
receiver found through a real DNS server (dnsmasq).

For every case: the event sequence and the diagnostic of the final event; the retry timing
(each ``deferred`` event names its delay, which must follow the configured backoff, and the
next attempt must not come sooner); no duplicate where the SMTP transaction completed; no
loss (every message reaches a final state, and a delivered one is on the receiver once).

Time is compressed through configuration, the platform's time base: the first retry after
0.2 s instead of 60 s, at most 1 s apart instead of an hour, expiry after 12 s instead of
72 h (the shape of the schedule is the production one; ``test_production_schedule`` below
checks the same function at production scale).
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postwave.pipeline.retry import backoff
from postwave.v1 import send_pb2

from tests.platform import Platform, bearer, request
from tests.reliability.conftest import (
    RETRY_IN,
    dead_addresses,
    message_ids,
    start_on_free_address,
)
from tests.servers.dns import DNSServer
from tests.servers.raw_smtp import RawBehaviour, RawSMTPServer
from tests.servers.smtp import SMTPPeer

RETRY_BASE = 0.2
RETRY_MAX = 1.0
EXPIRY = 12.0
FINAL = {"delivered", "bounced", "failed", "dropped"}
NEVER = 10_000  # "every time": longer than any run needs

# Reply texts in the styles large mailbox providers use (written for these tests).
T421 = "421 4.7.0 Try again later, closing connection."
T450 = ("450 4.2.1 The user you are trying to contact is receiving mail at a rate that prevents "
        "additional messages from being delivered. Please resend your message at a later time.")
T_GREY = "450 4.7.1 Greylisted: this server delays mail from unknown senders, please retry in 5 minutes"
T451 = "451 4.3.0 Mail server temporarily rejected message; please try again later"
T452 = "452 4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to the help center"
T550 = "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the address"
T552 = "552 5.2.2 Mailbox full: the recipient's mailbox has exceeded its storage allocation"
T554 = "554 5.7.1 Service unavailable; client host blocked using a reputation block list, see the postmaster page"
T554_BANNER = "554 5.7.1 Connection refused: your IP address is blocked by this site's policy"
SSH_BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"

@dataclasses.dataclass(frozen=True, slots=True)
class Case:
    """One fault: the receiver behind ``<name>.test`` and what must become of a message to it.

    ``events`` is a regular expression over the message's event types joined by spaces;
    ``detail`` must appear in the final event's detail (the diagnostic); ``copies`` is how
    many times the receiver must hold the message (None: not checked, e.g. no receiver).
    """

    name: str
    fault: str
    events: str
    state: str
    detail: str
    copies: int | None
    suppressed: bool = False

CASES = [
    Case("c421", "421 at RCPT once, then accepted", r"accepted deferred delivered", "delivered", "250", 1),
    Case("c450", "450 4.2.1 rate reply twice, then accepted", r"accepted deferred deferred delivered", "delivered",
         "250", 1),
    Case("grey", "greylisting: first attempt 450, retry accepted", r"accepted deferred delivered", "delivered", "250",
         1),
    Case("c451", "451 after the message content once", r"accepted deferred delivered", "delivered", "250", 1),
    Case("c452", "452 4.2.2 over quota at every RCPT", r"accepted( deferred)+ failed", "failed", "452 4.2.2", 0),
    Case("c550", "550 5.1.1 unknown user", r"accepted bounced suppressed", "bounced", "550 5.1.1", 0,
         suppressed=True),
    Case("c552", "552 5.2.2 mailbox full after DATA", r"accepted bounced", "bounced", "552 5.2.2", 0),
    Case("c554", "554 5.7.1 blocked at RCPT", r"accepted bounced", "bounced", "554 5.7.1", 0),
    Case("dropdata", "connection dropped in the middle of DATA once", r"accepted deferred delivered", "delivered",
         "250", 1),
    Case("tarpit", "primary MX answers at 1 byte/s; a backup MX works", r"accepted delivered", "delivered",
         "mx2.tarpit.test", None),
    Case("tarpitonly", "the only MX answers at 1 byte/s", r"accepted( deferred)+ failed", "failed", "Timed out waiting for server ready message", 0),
    Case("tlsfail", "TLS handshake fails after STARTTLS 220", r"accepted delivered", "delivered", "250", 1),
    Case("banner554", "554 5.7.1 greeting", r"accepted bounced", "bounced", "554 5.7.1", 0),
    Case("garbage", "an SSH banner instead of SMTP", r"accepted( deferred)+ failed", "failed", "SSH-2.0", 0),
    Case("hundred", "100 MX records, the first 99 not listening", r"accepted delivered", "delivered",
         "mx100.hundred.test", 1),
    Case("deadmx", "MX on a loopback address where nothing listens", r"accepted( deferred)+ failed", "failed",
         # the refusal reads "Connect call failed" on asyncio's loop, "[Errno 111] Connection refused" on uvloop
         "[127.0.77.100]:25: connect: Error connecting to 127.0.77.100 on port 25", None),
]

@dataclasses.dataclass
class Matrix:
    """The started world: platform, DNS, and the receiver of each case."""

    platform: Platform
    key: str
    servers: dict[str, Any]
    statuses: dict[str, send_pb2.MessageStatus]

def _peer(script: dict[str, list[str | None]]) -> SMTPPeer:
    return start_on_free_address(lambda a: SMTPPeer(a, script=script))

def _raw(behaviour: RawBehaviour) -> RawSMTPServer:
    return start_on_free_address(lambda a: RawSMTPServer(a, behaviour=behaviour))

def _servers() -> dict[str, Any]:
    return {
        "c421": _peer({"RCPT": [T421]}),
        "c450": _peer({"RCPT": [T450, T450]}),
        "grey": _peer({"RCPT": [T_GREY]}),
        "c451": _peer({"DATA": [T451]}),
        "c452": _peer({"RCPT": [T452] * NEVER}),
        "c550": _peer({"RCPT": [T550] * NEVER}),
        "c552": _peer({"DATA": [T552] * NEVER}),
        "c554": _peer({"RCPT": [T554] * NEVER}),
        "dropdata": _raw(RawBehaviour(drop_mid_data=1)),
        "tarpit": _raw(RawBehaviour(tarpit_bytes_per_second=1.0)),
        "tarpit-backup": _peer({}),
        "tarpitonly": _raw(RawBehaviour(tarpit_bytes_per_second=1.0)),
        "tlsfail": _raw(RawBehaviour(broken_starttls=True)),
        "banner554": _peer({"CONNECT": [T554_BANNER] * NEVER}),
        "garbage": _raw(RawBehaviour(banner=SSH_BANNER)),
        "hundred": _peer({}),
    }

def _records(servers: dict[str, Any]) -> tuple[dict[str, list[tuple[int, str]]], dict[str, Any]]:
    mx: dict[str, list[tuple[int, str]]] = {}
    a: dict[str, Any] = {}
    for case in CASES:
        if case.name in servers:
            mx[f"{case.name}.test"] = [(10, f"mx.{case.name}.test")]
            a[f"mx.{case.name}.test"] = servers[case.name].address
    mx["tarpit.test"] = [(10, "mx.tarpit.test"), (20, "mx2.tarpit.test")]
    a["mx2.tarpit.test"] = servers["tarpit-backup"].address
    dead = dead_addresses(100)
    mx["hundred.test"] = [(n, f"mx{n:03d}.hundred.test") for n in range(1, 100)] + [(100, "mx100.hundred.test")]
    a.update({f"mx{n:03d}.hundred.test": dead[n - 1] for n in range(1, 100)})
    a["mx100.hundred.test"] = servers["hundred"].address
    mx["deadmx.test"] = [(10, "mx.deadmx.test")]
    a["mx.deadmx.test"] = dead[99]
    return mx, a

@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    """Every case's message sent at once, and each one's final status."""
    servers: dict[str, Any] = {}
    dns: DNSServer | None = None
    platform: Platform | None = None
    try:
        servers = _servers()
        mx, a = _records(servers)
        dns = DNSServer(mx=mx, a=a)
        dns.start()
        data: Path = tmp_path_factory.mktemp("isp-matrix")
        platform = Platform(data, dns_port=dns.port, retry_base_seconds=RETRY_BASE, retry_max_seconds=RETRY_MAX,
                            message_expiry_seconds=EXPIRY).start()  # connect timeout 3 s (tests/platform.py)
        _, key = platform.tenant("isp-matrix")
        stub = platform.send_stub()
        ids = {case.name: stub.Send(request(to=[f"rcpt@{case.name}.test"]), metadata=bearer(key),
                                    timeout=10).messages[0].message_id for case in CASES}
        statuses = {name: platform.wait_state(key, mid, FINAL, timeout=90) for name, mid in ids.items()}
        yield Matrix(platform, key, servers, statuses)
    finally:
        if platform is not None:
            platform.stop()
        if dns is not None:
            dns.stop()
        for server in servers.values():
            server.stop()

def _types(status: send_pb2.MessageStatus) -> str:
    return " ".join(e.type for e in status.events)

@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_event_sequence_and_diagnostic(matrix: Matrix, case: Case) -> None:
    status = matrix.statuses[case.name]
    assert re.fullmatch(case.events, _types(status)), (case.fault, [(e.type, e.detail) for e in status.events])
    assert status.state == case.state
    final = [e for e in status.events if e.type == case.state][-1]
    assert case.detail in final.detail, (case.fault, final.detail)
    if case.state == "failed":
        deferrals = sum(1 for e in status.events if e.type == "deferred")
        assert final.detail.startswith(f"expired after {deferrals + 1} attempts"), final.detail
    print(f"\n{case.name}: {_types(status)} | {final.detail[:160]}")

@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_retries_follow_the_schedule(matrix: Matrix, case: Case) -> None:
    """The n-th deferral's delay lies in [c/2, c], c = min(max, base * 2**(n-1)), and the next
    attempt comes no sooner (event times are the platform's; 0.05 s covers the rounding of
    the delay to 0.1 s in the event text)."""
    events = list(matrix.statuses[case.name].events)
    deferred = [(i, e) for i, e in enumerate(events) if e.type == "deferred"]
    for n, (index, event) in enumerate(deferred, start=1):
        match = RETRY_IN.search(event.detail)
        assert match, event.detail
        delay = float(match.group(1))
        ceiling = min(RETRY_MAX, RETRY_BASE * 2 ** (n - 1))
        assert ceiling / 2 - 0.05 <= delay <= ceiling + 0.05, (n, delay)
        gap = events[index + 1].time.ToNanoseconds() / 1e9 - event.time.ToNanoseconds() / 1e9
        assert gap >= delay - 0.05, (n, gap, delay)
    if case.state == "failed":  # retried until the expiry, not given up early
        first = events[0].time.ToNanoseconds() / 1e9
        last = events[-1].time.ToNanoseconds() / 1e9
        assert last - first + RETRY_MAX >= EXPIRY - RETRY_MAX, (last - first)

@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_no_duplicate_and_no_loss(matrix: Matrix, case: Case) -> None:
    status = matrix.statuses[case.name]
    server = matrix.servers.get(case.name)
    if case.name == "tarpit":
        server = matrix.servers["tarpit-backup"]
    copies = message_ids(server.received).count(status.message_id) if server is not None else 0
    if case.copies is not None:
        assert copies == case.copies, (case.fault, copies)
    if status.state == "delivered":
        assert copies == 1  # delivered once, never lost, never twice
    attempts = [a.smtp_code for a in status.attempts]
    print(f"\n{case.name}: attempts {attempts}, copies received {copies}")

def test_fault_side_effects(matrix: Matrix) -> None:
    """What each misbehaving server saw: the faults happened as scripted."""
    s = matrix.servers
    assert s["dropdata"].attempts["DROPPED"] == 1 and len(s["dropdata"].received) == 1
    assert s["tlsfail"].attempts["TLS_BROKEN"] >= 1 and s["tlsfail"].attempts["CONNECT"] >= 2
    assert [m.tls for m in s["tlsfail"].received] == [False]  # delivered in plaintext after the failure
    assert s["tarpit"].received == [] and s["tarpit"].attempts["CONNECT"] >= 1
    assert s["tarpit"].attempts["EHLO"] == 0  # the greeting never finished
    assert s["banner554"].attempts["MAIL"] == 0 and s["garbage"].attempts["MAIL"] == 0
    assert s["c550"].attempts["DATA"] == 0 and s["c452"].attempts["DATA"] == 0
    # The unknown user is suppressed; the full mailbox and the policy block are not the address's fault.
    stub = matrix.platform.send_stub()
    again = {name: stub.Send(request(to=[f"rcpt@{name}.test"]), metadata=bearer(matrix.key), timeout=10).messages[0]
             for name in ("c550", "c552", "c554")}
    assert again["c550"].state == "dropped" and "suppressed" in again["c550"].detail
    assert again["c552"].state == again["c554"].state == "accepted"
    hundred = matrix.statuses["hundred"]
    assert [a.mx_host for a in hundred.attempts] == ["mx100.hundred.test"]

def test_production_schedule() -> None:
    """The same backoff at production scale (base 60 s, cap 1 h, expiry 72 h): how often a
    message deferred for good is tried, and that no delay leaves the [c/2, c] band."""
    rng = random.Random(11)
    elapsed, attempt = 0.0, 0
    while True:
        attempt += 1
        delay = backoff(attempt, base=60.0, cap=3600.0, rng=rng)
        ceiling = min(3600.0, 60.0 * 2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling
        if elapsed + delay > 72 * 3600:
            break
        elapsed += delay
    # 60 s doubling reaches the hour cap at the 7th retry; 72 h then hold 100-140 more.
    assert 80 <= attempt <= 150, attempt
    print(f"\nproduction schedule: {attempt} attempts over {elapsed / 3600:.1f} h before failing")

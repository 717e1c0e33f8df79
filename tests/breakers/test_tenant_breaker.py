"""Tenant circuit breakers end to end: a tenant whose mail hard-bounces is slowed, then
paused; another tenant on the same platform keeps delivering; after a resume by the API the
paused tenant's held mail goes out.

Two receiving sites, real SMTP peers behind real MX records: bad.test refuses every
recipient at RCPT ("550 5.1.1 user unknown"), good.test accepts everything. Thresholds:
slow down at a 20 % bounce rate, pause bulk at 40 %, pause everything at 60 %, from 10
samples on.

1. "spammy" sends 12 messages to good.test and 3 to bad.test: 20 % -> slowed (never more:
   no flush can see more than 3 bounces).
2. It sends 15 more to bad.test: only once all of them have bounced is the rate 60 % (18 of
   30) -> paused.
3. Paused: spammy's next 3 messages wait untouched while tenant "calm" delivers 5 to the same
   site. Bad input to the breaker RPCs and the CLI is refused with clear errors.
4. An operator resumes spammy through AdminService: its 3 held messages are delivered; the
   transitions are in its events (ListEvents), the breaker's history, the log and the metrics.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from typing import Any

import grpc
import pytest
from postwave.v1 import admin_pb2, events_pb2, send_pb2

from tests.platform import SERVER_DIR, Platform, bearer
from tests.servers.smtp import SMTPPeer
from tests.shaping.conftest import send_each

USER_UNKNOWN = "550 5.1.1 <x@bad.test>: Recipient address rejected: User unknown"
BREAKER = {
    "workers": 1,
    "breaker_min_samples": 10,
    "breaker_bounce_rates": "0.2,0.4,0.6",
    "breaker_slow_rate_per_minute": 1200,
    "breaker_hold_seconds": 1,
    "breaker_refresh_seconds": 0.5,
}


def _breaker_events(platform: Platform, key: str) -> list[send_pb2.Event]:
    page = platform.events_stub().ListEvents(events_pb2.ListEventsRequest(page_size=1000), metadata=bearer(key),
                                             timeout=10)
    return [e for e in page.events if e.type.startswith("breaker.")]


def _wait_event(platform: Platform, key: str, kind: str, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kinds = [e.type for e in _breaker_events(platform, key)]
        if kind in kinds:
            return kinds
        time.sleep(0.1)
    raise AssertionError(f"no {kind} event after {timeout}s; breaker events: {kinds}\n{platform.log()[-3000:]}")


def _status(platform: Platform, key: str, message_id: str) -> send_pb2.MessageStatus:
    return platform.send_stub().GetStatus(send_pb2.GetStatusRequest(message_id=message_id), metadata=bearer(key),
                                          timeout=10)


def _cli(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(SERVER_DIR), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "postwave.cli", "breakers", *args, "--server",
                           f"127.0.0.1:{platform.port}", "--key", platform.operator_key],
                          capture_output=True, text=True, timeout=60, env=env, check=False)


def _metrics(platform: Platform, process: str) -> str:
    """The /metrics text of one process of the platform (its admin endpoint is in the log)."""
    [url] = re.findall(rf" {process} postwave\.metrics: admin endpoint on (http://[\d.:]+)", platform.log())
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as reply:
        return reply.read().decode()


def _code(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    return raised.value.code()  # type: ignore[no-any-return, attr-defined]


def test_a_bouncing_tenant_is_slowed_then_paused_while_another_delivers_and_resumes_by_api(
    make_dns_server: Any, make_smtp_peer: Any, tmp_path: Any
) -> None:
    bad = make_smtp_peer(script={"RCPT": [USER_UNKNOWN] * 100})
    good = make_smtp_peer()
    dns = make_dns_server(mx={"bad.test": [(10, "mx.bad.test")], "good.test": [(10, "mx.good.test")]},
                          a={"mx.bad.test": bad.address, "mx.good.test": good.address})
    (tmp_path / "platform").mkdir()
    platform = Platform(tmp_path / "platform", dns_port=dns.port, **BREAKER).start()
    try:
        _scenario(platform, bad, good)
    finally:
        platform.stop()


def _scenario(platform: Platform, bad: SMTPPeer, good: SMTPPeer) -> None:
    spammy, spammy_key = platform.tenant("spammy")
    _, calm_key = platform.tenant("calm")
    admin, op = platform.admin_stub(), bearer(platform.operator_key)

    # 1. 3 bounces of 15: slowed.
    send_each(platform, spammy_key, [f"ok{i}@good.test" for i in range(12)] + [f"x{i}@bad.test" for i in range(3)])
    good.wait_for(12, timeout=60)
    assert _wait_event(platform, spammy_key, "breaker.slowed") == ["breaker.slowed"]

    # 2. 15 more bounces: 18 of 30 -- paused, only after the last of them bounced.
    doomed = send_each(platform, spammy_key, [f"y{i}@bad.test" for i in range(15)])
    kinds = _wait_event(platform, spammy_key, "breaker.paused")
    assert kinds[0] == "breaker.slowed" and kinds[-1] == "breaker.paused", kinds
    assert {_status(platform, spammy_key, m).state for m in doomed} == {"bounced"}
    state = admin.GetTenantBreaker(admin_pb2.GetTenantBreakerRequest(tenant_id=spammy), metadata=op, timeout=10)
    assert state.level == "paused" and "transactional bounce rate 60.0% (18 of 30)" in state.reason, state
    window = {w.stream: w for w in state.windows}
    assert (window["transactional"].delivered, window["transactional"].bounced) == (12, 18)

    # 3. Paused: spammy's mail waits, calm's goes out.
    held = send_each(platform, spammy_key, [f"later{i}@good.test" for i in range(3)])
    send_each(platform, calm_key, [f"calm{i}@good.test" for i in range(5)])
    good.wait_for(12 + 5, timeout=60)
    assert not [r for r in good.received if r.rcpt_tos[0].startswith("later")]
    assert all((s.state, len(s.attempts)) == ("accepted", 0) for s in (_status(platform, spammy_key, m) for m in held))
    assert _breaker_events(platform, calm_key) == []

    _bad_input(platform, spammy, spammy_key)

    # 4. An operator resumes: the held mail is delivered.
    resumed = admin.ResumeTenantBreaker(admin_pb2.ResumeTenantBreakerRequest(tenant_id=spammy), metadata=op,
                                        timeout=10)
    assert resumed.level == "closed" and resumed.HasField("counting_from")
    for message_id in held:
        platform.wait_state(spammy_key, message_id, {"delivered"})
    assert sorted(r.rcpt_tos[0] for r in good.received if r.rcpt_tos[0].startswith("later")) == [
        f"later{i}@good.test" for i in range(3)]
    events = _breaker_events(platform, spammy_key)
    assert [e.type for e in events][-1] == "breaker.resumed" and all(not e.message_id for e in events)
    history = admin.GetTenantBreaker(admin_pb2.GetTenantBreakerRequest(tenant_id=spammy), metadata=op,
                                     timeout=10).history
    assert history[0].to_level == "closed" and history[0].actor.startswith("api:")
    assert history[-1].from_level == "closed" and history[-1].to_level == "slowed" and history[-1].actor == "breaker"
    rest = urllib.request.Request(f"http://127.0.0.1:{platform.http_port}/v1/tenants/{spammy}/breaker?stream=bulk",
                                  headers={"Authorization": f"Bearer {platform.operator_key}"})
    with urllib.request.urlopen(rest, timeout=10) as reply:
        answer = json.loads(reply.read())
    assert answer["level"] == "closed" and [w["stream"] for w in answer["windows"]] == ["bulk"], answer
    shown = _cli(platform, "status", "--tenant", spammy)
    assert shown.returncode == 0 and f"tenant {spammy}: closed" in shown.stdout and "by breaker" in shown.stdout, shown
    assert f"circuit breaker of tenant {spammy}: closed -> slowed" in platform.log()
    # Metrics: the worker tripped it and held mail back, the API process resumed it.
    worker, api = _metrics(platform, "worker-0"), _metrics(platform, "api")
    assert f'postwave_breaker_transitions_total{{from_level="closed",tenant="{spammy}",to_level="slowed"}} 1.0' in worker
    assert re.search(rf'postwave_breaker_holds_total{{reason="paused",tenant="{spammy}"}} [1-9]', worker), worker
    assert f'postwave_breaker_transitions_total{{from_level="paused",tenant="{spammy}",to_level="closed"}} 1.0' in api


def _bad_input(platform: Platform, spammy: str, spammy_key: str) -> None:
    admin, op = platform.admin_stub(), bearer(platform.operator_key)
    get, resume = admin.GetTenantBreaker, admin.ResumeTenantBreaker
    assert _code(lambda: get(admin_pb2.GetTenantBreakerRequest(tenant_id="t_nobody"), metadata=op,
                             timeout=10)) == grpc.StatusCode.NOT_FOUND
    assert _code(lambda: get(admin_pb2.GetTenantBreakerRequest(tenant_id=spammy, stream="marketing"), metadata=op,
                             timeout=10)) == grpc.StatusCode.INVALID_ARGUMENT
    assert _code(lambda: resume(admin_pb2.ResumeTenantBreakerRequest(tenant_id=spammy, stream="promo"), metadata=op,
                                timeout=10)) == grpc.StatusCode.INVALID_ARGUMENT
    assert _code(lambda: resume(admin_pb2.ResumeTenantBreakerRequest(tenant_id="t_nobody"), metadata=op,
                                timeout=10)) == grpc.StatusCode.NOT_FOUND
    # Paused entirely: the bulk stream alone cannot be resumed first.
    assert _code(lambda: resume(admin_pb2.ResumeTenantBreakerRequest(tenant_id=spammy, stream="bulk"), metadata=op,
                                timeout=10)) == grpc.StatusCode.FAILED_PRECONDITION
    # A tenant may read its own breaker, never resume it.
    own = get(admin_pb2.GetTenantBreakerRequest(stream="transactional"), metadata=bearer(spammy_key), timeout=10)
    assert own.level == "paused" and [w.stream for w in own.windows] == ["transactional"]
    assert _code(lambda: resume(admin_pb2.ResumeTenantBreakerRequest(tenant_id=spammy), metadata=bearer(spammy_key),
                                timeout=10)) == grpc.StatusCode.PERMISSION_DENIED
    refused = _cli(platform, "resume", spammy, "--stream", "promo")
    assert refused.returncode == 1 and "INVALID_ARGUMENT" in refused.stderr and "unknown stream 'promo'" in refused.stderr
    assert admin.GetTenantBreaker(admin_pb2.GetTenantBreakerRequest(tenant_id=spammy), metadata=op,
                                  timeout=10).level == "paused"  # nothing changed

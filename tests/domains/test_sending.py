"""End to end through a real ``postwave serve``: register a domain over the API, publish its
records in a real DNS server, verify, send, and check the delivered mail with dkimpy."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from postwave.feedback.verp import Verp
from postwave.v1 import admin_pb2, send_pb2

from tests.domains.conftest import FEEDBACK_MX, TRACKING_TARGET, ZoneServer, zone
from tests.e2e.test_dkim_dns import _dns_lookup, _verifies
from tests.platform import SERVER_DIR, Platform, bearer, request

SENDER = "Acme News <news@acme.test>"


class Records:
    """Adapts an API SendingDomain to what :func:`zone` reads (purpose, name, type, value)."""

    def __init__(self, domain: admin_pb2.SendingDomain) -> None:
        self.records = list(domain.records)


def _zone(domain: admin_pb2.SendingDomain, peer: Any, **options: Any) -> dict[str, Any]:
    published = zone(Records(domain), **options)  # type: ignore[arg-type]
    published["mx"]["ok.test"] = [(10, "mx.ok.test")]
    published["a"] = {"mx.ok.test": peer.address}
    return published


def _refusal(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    status = rpc_status.from_call(info.value)
    subject = ""
    for detail in status.details if status else []:
        failure = error_details_pb2.PreconditionFailure()
        if detail.Unpack(failure):
            subject = failure.violations[0].subject
    return info.value.code(), info.value.details(), subject


@pytest.fixture
def platform_and_dns(make_smtp_peer: Any, make_platform: Callable[..., Platform]) -> Any:
    peer = make_smtp_peer()
    dns = ZoneServer(mx={"ok.test": [(10, "mx.ok.test")]}, a={"mx.ok.test": peer.address})
    dns.start()
    platform = make_platform(dns_port=dns.port, tracking_base_url=f"https://{TRACKING_TARGET}",
                             feedback_mx_host=FEEDBACK_MX, helo_name="postwave.test")
    yield platform, dns, peer
    dns.stop()


def test_domain_lifecycle_signing_verp_and_bulk_rules(platform_and_dns: Any) -> None:
    platform, dns, peer = platform_and_dns
    _, key = platform.tenant("acme")
    _, other_key = platform.tenant("rival")
    admin, send = platform.admin_stub(), platform.send_stub()

    # Before any domain: the tenant sends from anywhere, as before (no rule for it yet).
    before = send.Send(request(to=["ann@ok.test"]), metadata=bearer(key), timeout=10)
    assert before.messages[0].state == "accepted"

    domain = admin.AddSendingDomain(admin_pb2.AddSendingDomainRequest(domain="acme.test"), metadata=bearer(key),
                                    timeout=30)
    assert domain.state == "pending" and len(domain.selectors) == 2
    assert {r.status for r in domain.records} == {""}  # not checked yet

    # Pending: refused with FAILED_PRECONDITION naming the field; and now the rule covers every From.
    code, text, field = _refusal(lambda: send.Send(request(to=["ann@ok.test"], sender=SENDER),
                                                   metadata=bearer(key), timeout=10))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and field == "from"
    assert "acme.test is pending, not verified" in text
    code, text, _ = _refusal(lambda: send.Send(request(to=["ann@ok.test"]), metadata=bearer(key), timeout=10))
    assert "postwave.test is not a sending domain of this tenant" in text

    dns.restart(**_zone(domain, peer, skip=("dmarc",)))
    verified = admin.VerifySendingDomain(admin_pb2.VerifySendingDomainRequest(domain="acme.test"),
                                         metadata=bearer(key), timeout=30)
    assert verified.state == "verified"
    assert {r.purpose: r.status for r in verified.records}["dmarc"] == "missing"

    # Another tenant may never send from it.
    code, text, _ = _refusal(lambda: send.Send(request(to=["ann@ok.test"], sender=SENDER),
                                               metadata=bearer(other_key), timeout=10))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "another tenant" in text

    # Bulk without DMARC: refused (the cache of acceptance may hold the old state for seconds).
    bulk = request(to=["bob@ok.test"], sender=SENDER, stream=send_pb2.STREAM_BULK)
    code, text, _ = _refusal(lambda: _send_when_verified(send, bulk, key))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "DMARC" in text

    # Transactional: accepted, signed with both keys, VERP envelope.
    sent = _send_when_verified(send, request(to=["ann@ok.test"], sender=SENDER), key)
    mid = sent.messages[0].message_id
    platform.wait_state(key, mid, {"delivered"})
    got = next(m for m in peer.wait_for(2) if b"news@acme.test" in m.data)
    verp_local = got.mail_from.split("@")[0]
    assert got.mail_from.endswith("@pw-bounces.acme.test") and verp_local.startswith(f"b-{mid}-")
    verp = Verp(_master_key(platform))
    assert verp.message_id(got.mail_from) == mid
    lookup = _dns_lookup(dns.port)
    assert [_verifies(got.data, i, lookup) for i in (0, 1)] == [True, True]
    signatures = email.message_from_bytes(got.data, policy=email.policy.compat32).get_all("DKIM-Signature")
    selectors = {s.selector: s.algorithm for s in verified.selectors}
    signed = {(_tag(s, "s"), _tag(s, "a"), _tag(s, "d")) for s in signatures}
    assert signed == {(sel, alg, "acme.test") for sel, alg in selectors.items()}

    # With DMARC published: bulk is accepted and carries one-click unsubscribe, signed.
    dns.restart(**_zone(domain, peer))
    admin.VerifySendingDomain(admin_pb2.VerifySendingDomainRequest(domain="acme.test"), metadata=bearer(key),
                              timeout=30)
    bulk_sent = _send_when_accepted(send, bulk, key)
    platform.wait_state(key, bulk_sent.messages[0].message_id, {"delivered"})
    got = next(m for m in peer.wait_for(3) if b"bob@ok.test" in m.data)
    parsed = email.message_from_bytes(got.data, policy=email.policy.default)
    # its tracking CNAME is published and verified too: the links are on the tenant's host (docs/tracking.md)
    assert parsed["List-Unsubscribe"].startswith("<https://links.acme.test/")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [_verifies(got.data, i, lookup) for i in (0, 1)] == [True, True]
    assert "list-unsubscribe-post" in _tag(parsed.get_all("DKIM-Signature")[0], "h")


def test_rotation_switches_signing_only_after_the_new_key_is_verified(platform_and_dns: Any) -> None:
    platform, dns, peer = platform_and_dns
    _, key = platform.tenant("acme")
    admin, send = platform.admin_stub(), platform.send_stub()
    domain = admin.AddSendingDomain(admin_pb2.AddSendingDomainRequest(domain="acme.test", algorithms=["rsa"]),
                                    metadata=bearer(key), timeout=30)
    dns.restart(**_zone(domain, peer))
    admin.VerifySendingDomain(admin_pb2.VerifySendingDomainRequest(domain="acme.test"), metadata=bearer(key),
                              timeout=30)
    (old,) = [s.selector for s in domain.selectors]
    rotated = admin.RotateDkimKeys(admin_pb2.RotateDkimKeysRequest(domain="acme.test"), metadata=bearer(key),
                                   timeout=30)
    (new,) = [s.selector for s in rotated.selectors if s.state == "pending"]

    lookup = _dns_lookup(dns.port)
    first = _send_when_verified(send, request(to=["ann@ok.test"], sender=SENDER, subject="one"), key)
    platform.wait_state(key, first.messages[0].message_id, {"delivered"})
    (got,) = peer.wait_for(1)
    assert _selectors_of(got.data) == [old] and _verifies(got.data, 0, lookup)

    dns.restart(**_zone(rotated, peer))  # old and new published
    after = admin.VerifySendingDomain(admin_pb2.VerifySendingDomainRequest(domain="acme.test"),
                                      metadata=bearer(key), timeout=30)
    assert {s.selector: s.state for s in after.selectors} == {old: "retiring", new: "active"}
    second = _wait_signed_by(platform, send, peer, key, new)
    assert _verifies(second, 0, lookup)

    # The same through the CLI.
    listed = _cli(platform, key, "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["domains"][0]["state"] == "verified"
    verified = _cli(platform, key, "verify", "acme.test")
    assert verified.returncode == 0 and "acme.test: verified" in verified.stdout
    assert f"selector {old} rsa-sha256 retiring" in verified.stdout
    assert f"[ok] dkim (required): {new}._domainkey.acme.test TXT v=DKIM1; k=rsa; p=" in verified.stdout
    added = _cli(platform, key, "add", "beta.test", "--algorithm", "ed25519")
    assert added.returncode == 0 and "[not checked] dkim (required)" in added.stdout and "k=ed25519" in added.stdout
    pending = _cli(platform, key, "verify", "beta.test")
    assert pending.returncode == 3 and "[missing] return_path_mx (required): pw-bounces.beta.test MX" in pending.stdout
    refused = _cli(platform, key, "rotate", "beta.test")
    assert refused.returncode == 1 and "FAILED_PRECONDITION" in refused.stderr and "verify it before" in refused.stderr
    master = _cli(platform, key, "master-key")
    assert len(base64.urlsafe_b64decode(master.stdout.strip())) == 32


def _cli(platform: Platform, key: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SERVER_DIR), "POSTWAVE_API_KEY": key,
           "POSTWAVE_SERVER": f"127.0.0.1:{platform.port}"}
    return subprocess.run([sys.executable, "-m", "postwave.cli", "domains", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _send_when_verified(send: Any, req: send_pb2.SendRequest, key: str) -> send_pb2.SendResponse:
    """Send, retrying while acceptance still holds the domain's old state (cached 5 s)."""
    return _retry(lambda: send.Send(req, metadata=bearer(key), timeout=10), "not verified")


def _send_when_accepted(send: Any, req: send_pb2.SendRequest, key: str) -> send_pb2.SendResponse:
    return _retry(lambda: send.Send(req, metadata=bearer(key), timeout=10), "DMARC")


def _retry(call: Callable[[], Any], transient: str) -> Any:
    deadline = time.monotonic() + 20
    while True:
        try:
            return call()
        except grpc.RpcError as exc:
            if transient not in (exc.details() or "") or time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _wait_signed_by(platform: Platform, send: Any, peer: Any, key: str, selector: str) -> bytes:
    """Send until a delivered message carries ``selector`` (workers cache keys for 30 s)."""
    deadline = time.monotonic() + 60
    count = 1
    while time.monotonic() < deadline:
        resp = send.Send(request(to=["ann@ok.test"], sender=SENDER, subject=f"n{count}"), metadata=bearer(key),
                         timeout=10)
        platform.wait_state(key, resp.messages[0].message_id, {"delivered"})
        count += 1
        data = peer.wait_for(count)[-1].data
        if _selectors_of(data) == [selector]:
            return data
        time.sleep(1)
    raise AssertionError(f"no message signed with {selector} within 60 s")


def _selectors_of(data: bytes) -> list[str]:
    parsed = email.message_from_bytes(data, policy=email.policy.compat32)
    return [_tag(s, "s") for s in parsed.get_all("DKIM-Signature") or []]


def _tag(signature: Any, name: str) -> str:
    tags = dict(t.strip().split("=", 1) for t in "".join(str(signature).split()).split(";") if "=" in t)
    return tags[name]


def _master_key(platform: Platform) -> Any:
    from postwave.domains.masterkey import MasterKey, decode

    text = (platform.data_dir / "master.key").read_text()
    return MasterKey(decode(text, source="test"))


"""Tenant tracking hosts end to end: a live ``postwave serve`` delivers a tenant's mail to a real
SMTP peer with every tracking link (clicks, pixel, List-Unsubscribe, the body's unsubscribe
link) on the tenant's verified tracking host; the real ``postwave tracker`` answers them there
(by Host header) and refuses them on another tenant's host."""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
from typing import Any

import pytest
from postwave import config as config_mod
from postwave.store.base import SendingDomain
from postwave.store.embedded import EmbeddedStore
from postwave.tracking.domains import TrackingHosts, tracking_host_verified
from postwave.v1 import admin_pb2, events_pb2, send_pb2

from tests.domains.conftest import FEEDBACK_MX, TRACKING_TARGET, ZoneServer, zone
from tests.e2e.conftest import make_platform
from tests.events.test_events_e2e import (
    BROWSER,
    Role,
    _bodies,
    _http,
    _reachable,
    _wait,
)
from tests.platform import bearer, free_tcp_port, request

__all__ = ["make_platform"]

SECRET = "tenant hosts tracking secret"
HTML = ('<html><body><p>Our <a href="https://shop.example/sale">sale</a>.</p>'
        '<p><a href="%unsubscribe_url%">Unsubscribe</a></p></body></html>')
TEXT = "Our sale: https://shop.example/sale\nUnsubscribe: %unsubscribe_url%"
SHARED = f"https://{TRACKING_TARGET}"


class _Records:
    def __init__(self, domain: admin_pb2.SendingDomain) -> None:
        self.records = list(domain.records)


def _published(domains: list[tuple[admin_pb2.SendingDomain, tuple[str, ...]]], peer: Any) -> dict[str, Any]:
    """The zone of several domains (each without the record purposes named), plus ok.test's MX."""
    merged: dict[str, Any] = {"mx": {"ok.test": [(10, "mx.ok.test")]}, "txt": {}, "cname": {},
                              "a": {"mx.ok.test": peer.address}}
    for domain, skip in domains:
        for kind, records in zone(_Records(domain), skip=skip).items():  # type: ignore[arg-type]
            merged[kind].update(records)
    return merged


def _send(send: Any, req: send_pb2.SendRequest, key: str) -> send_pb2.SendResponse:
    """Send, retrying while acceptance still holds a domain's state from before its verification."""
    import grpc

    deadline = time.monotonic() + 20
    while True:
        try:
            return send.Send(req, metadata=bearer(key), timeout=10)
        except grpc.RpcError as exc:
            if "verified" not in (exc.details() or "") and "DMARC" not in (exc.details() or ""):
                raise
            assert time.monotonic() < deadline, exc.details()
            time.sleep(0.3)


def test_tenant_mail_links_to_its_tracking_host_and_the_tracker_answers_there_only(
        make_smtp_peer: Any, make_platform: Any) -> None:
    peer = make_smtp_peer()
    dns = ZoneServer(mx={"ok.test": [(10, "mx.ok.test")]}, a={"mx.ok.test": peer.address})
    dns.start()
    roles: list[Role] = []
    try:
        platform = make_platform(dns_port=dns.port, tracking_base_url=SHARED, feedback_mx_host=FEEDBACK_MX,
                                 helo_name="postwave.test", track_clicks="true", track_opens="true",
                                 tracking_secret=SECRET)
        _, acme = platform.tenant("acme")
        _, rival = platform.tenant("rival")
        admin, send, events = platform.admin_stub(), platform.send_stub(), platform.events_stub()
        acme_domain = admin.AddSendingDomain(admin_pb2.AddSendingDomainRequest(domain="acme.test"),
                                             metadata=bearer(acme), timeout=30)
        rival_domain = admin.AddSendingDomain(admin_pb2.AddSendingDomainRequest(domain="rival.test"),
                                              metadata=bearer(rival), timeout=30)
        # acme publishes every record; rival everything but its tracking CNAME.
        dns.restart(**_published([(acme_domain, ()), (rival_domain, ("tracking",))], peer))
        for domain, key in (("acme.test", acme), ("rival.test", rival)):
            verified = admin.VerifySendingDomain(admin_pb2.VerifySendingDomainRequest(domain=domain),
                                                 metadata=bearer(key), timeout=30)
            assert verified.state == "verified"
            tracking = next(r for r in verified.records if r.purpose == "tracking")
            assert tracking.status == ("ok" if domain == "acme.test" else "missing")

        granted = send_pb2.TRACKING_CONSENT_GRANTED
        sent = _send(send, request(to=["ann@ok.test"], sender="Acme <news@acme.test>", html=HTML, text=TEXT,
                                   stream=send_pb2.STREAM_BULK, tracking_consent=granted), acme)
        other = _send(send, request(to=["bob@ok.test"], sender="Rival <news@rival.test>", html=HTML, text=TEXT,
                                    stream=send_pb2.STREAM_BULK, tracking_consent=granted), rival)
        mid, other_mid = sent.messages[0].message_id, other.messages[0].message_id
        platform.wait_state(acme, mid, {"delivered"})
        platform.wait_state(rival, other_mid, {"delivered"})
        mail = {m.rcpt_tos[0]: m.data for m in peer.wait_for(2)}

        # acme's message: every tracking link on links.acme.test, none on the shared host.
        head = email.message_from_bytes(mail["ann@ok.test"], policy=email.policy.default)
        html, text = _bodies(mail["ann@ok.test"])
        host = "https://links.acme.test"
        click = re.search(rf'href="({host}/c/[\w.-]+)"', html)
        pixel = re.search(rf'src="({host}/o/[\w.-]+\.gif)"', html)
        body_unsubscribe = re.search(rf'href="({host}/u/[\w.-]+)"', html)
        header = re.fullmatch(rf"<({host}/u/[\w.-]+)>", str(head["List-Unsubscribe"]))
        assert click and pixel and body_unsubscribe and header, html
        assert head["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert body_unsubscribe.group(1) == header.group(1)  # the body link is the header's page
        assert re.search(rf"^Our sale: {host}/c/[\w.-]+\r?$", text, re.MULTILINE)
        assert f"Unsubscribe: {header.group(1)}" in text
        assert TRACKING_TARGET not in html + text and "shop.example" not in html + text
        # rival's CNAME is not verified: its links stay on the shared host.
        rival_html, _ = _bodies(mail["bob@ok.test"])
        assert re.search(rf'href="{SHARED}/c/[\w.-]+"', rival_html) and "links.rival.test" not in rival_html
        rival_click = re.search(rf'href="({SHARED}/c/[\w.-]+)"', rival_html).group(1)  # type: ignore[union-attr]

        # The tracker role answers acme's links on acme's host (the Host header routes) ...
        port = free_tcp_port()
        settings = {**platform.settings, "tracker_listen": f"127.0.0.1:{port}", "tracking_prefetch_seconds": "0"}
        roles.append(Role("tracker", settings, platform.data_dir / "tracker.log"))
        local = f"http://127.0.0.1:{port}"
        _wait(lambda: _reachable(local + "/healthz"), "the tracker")

        def follow(url: str, on_host: str, method: str = "GET", **kw: Any) -> tuple[int, dict[str, str], bytes]:
            path = url.split("/", 3)[3]
            return _http(method, f"{local}/{path}", host=on_host, headers={"User-Agent": BROWSER}, **kw)

        status, headers, _ = follow(click.group(1), "links.acme.test")
        assert (status, headers.get("Location")) == (302, "https://shop.example/sale")
        status, _, body = follow(pixel.group(1), "links.acme.test")
        assert status == 200 and body.startswith(b"GIF")
        status, _, page = follow(body_unsubscribe.group(1), "links.acme.test")
        assert status == 200 and b"List-Unsubscribe" in page
        # ... and refuses acme's tokens on rival's host, rival's on acme's, and unknown hosts.
        for url, wrong_host in ((click.group(1), "links.rival.test"), (rival_click, "links.acme.test"),
                                (click.group(1), "links.unknown.test"), (header.group(1), "links.rival.test")):
            status, headers, _ = follow(url, wrong_host)
            assert status == 404 and "Location" not in headers, (url, wrong_host)
        status, _, _ = follow(header.group(1), "links.rival.test", method="POST", data=b"List-Unsubscribe=One-Click")
        assert status == 404
        status, _, _ = follow(header.group(1), "links.acme.test", method="POST", data=b"List-Unsubscribe=One-Click")
        assert status == 200

        listed = events.ListEvents(events_pb2.ListEventsRequest(message_id=mid), metadata=bearer(acme), timeout=10)
        assert {"clicked", "opened", "unsubscribed"} <= {e.type for e in listed.events}
        rival_events = events.ListEvents(events_pb2.ListEventsRequest(message_id=other_mid), metadata=bearer(rival),
                                         timeout=10)
        assert not {"clicked", "opened", "unsubscribed"} & {e.type for e in rival_events.events}
    finally:
        for role in roles:
            role.stop()
        dns.stop()


def _domain(name: str, tenant: str, status: str) -> SendingDomain:
    report = json.dumps([{"name": f"links.{name}", "type": "CNAME", "value": "t.postwave.test", "purpose": "tracking",
                          "required": False, "status": status, "found": [], "problem": ""}])
    return SendingDomain(tenant_id=tenant, domain=name, state="verified", return_path=f"pw-bounces.{name}",
                         tracking_host=f"links.{name}", created=1.0, verified=1.0, checked=1.0, report=report)


@pytest.mark.parametrize(("from_header", "tenant", "expected"), [
    ("a@acme.test", "t_acme", "http://links.acme.test"),  # its own verified host
    ("a@mail.acme.test", "t_acme", "http://links.acme.test"),  # a subdomain: the registered parent's
    ("a@brand.test", "t_acme", "http://links.acme.test"),  # registered, CNAME missing: the tenant's other host
    ("a@elsewhere.test", "t_acme", "http://links.acme.test"),  # unregistered From: the tenant's host
    ("a@acme.test", "t_rival", "https://t.postwave.test"),  # another tenant's domain: never its host
    ("a@rival.test", "t_rival", "https://t.postwave.test"),  # no verified tracking host at all
])
async def test_base_url_choice(store: EmbeddedStore, from_header: str, tenant: str, expected: str) -> None:
    for domain in (_domain("acme.test", "t_acme", "ok"), _domain("brand.test", "t_acme", "missing"),
                   _domain("rival.test", "t_rival", "wrong")):
        store.create_domain(domain, [])
    config = config_mod.load({"tracking_base_url": "https://t.postwave.test", "tracking_domain_scheme": "http"},
                             environ={})

    async def load(fn: Any, *args: Any) -> Any:
        return fn(*args)

    assert await TrackingHosts(store, config).base_url(tenant, from_header, load) == expected
    assert tracking_host_verified(_domain("x.test", "t", "ok")) and not tracking_host_verified(
        _domain("x.test", "t", "error"))

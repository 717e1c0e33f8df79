"""End to end on a live postwave: consent decides tracking of delivered mail (real SMTP peer),
the `postwave tracker` and `postwave webhooks` roles, webhook administration, ListEvents,
GetStats over REST, and erasure."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from postwave import config as config_mod
from postwave.store.tracking_erasure import address_hash
from postwave.tracking import consent
from postwave.v1 import admin_pb2, events_pb2, send_pb2

from tests.e2e.conftest import start_world
from tests.events.conftest import ThreadedReceiver
from tests.platform import SERVER_DIR, bearer, free_tcp_port, request

SECRET = "e2e tracking secret"
HTML = '<html><body><p>Our <a href="https://shop.example/sale">sale</a></p></body></html>'
TEXT = "Our sale: https://shop.example/sale"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"


class Role:
    """A `postwave <role>` subprocess on a platform's data directory."""

    def __init__(self, role: str, settings: dict[str, str], log: Path) -> None:
        env = {**os.environ, **{f"POSTWAVE_{k.upper()}": v for k, v in settings.items()}}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH", "")]))
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "postwave.cli", role], env=env, stdout=out,
                                         stderr=subprocess.STDOUT)

    def output(self) -> str:
        """What the process printed so far."""
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def roles() -> Iterator[list[Role]]:
    started: list[Role] = []
    yield started
    for role in started:
        role.stop()


def _http(method: str, url: str, *, host: str = "", data: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers={**(headers or {}), **(
        {"Host": host} if host else {})})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=15) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _wait(condition: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _bodies(raw: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return html, text


def test_consent_tracker_webhooks_events_stats_and_erasure(
        make_dns_server: Any, make_smtp_peer: Any, make_platform: Any, receiver: ThreadedReceiver,
        roles: list[Role]) -> None:
    world = start_world(make_dns_server, make_smtp_peer, make_platform, track_clicks="true", track_opens="true",
                        tracking_secret=SECRET, webhook_allow_networks="127.0.0.1/32",
                        webhook_retry_base_seconds="0.2", webhook_poll_seconds="0.1")
    platform = world.platform
    _, key = platform.tenant("track-co")
    auth = bearer(key)
    admin, events, send = platform.admin_stub(), platform.events_stub(), platform.send_stub()

    # A webhook endpoint: the signing secret is shown once; TestWebhook delivers a signed sample.
    hook = admin.CreateWebhook(admin_pb2.CreateWebhookRequest(url=receiver.url, event_types=[
        "delivered", "clicked", "opened", "unsubscribed"]), metadata=auth, timeout=10)
    assert hook.secret.startswith("whsec_") and hook.state == "active"
    receiver.secrets = [hook.secret]
    tested = admin.TestWebhook(admin_pb2.TestWebhookRequest(endpoint_id=hook.endpoint_id), metadata=auth, timeout=10)
    assert tested.http_status == 200 and [e["type"] for e in receiver.events()] == ["test"]
    assert admin.ListWebhooks(admin_pb2.ListWebhooksRequest(), metadata=auth, timeout=10).webhooks[0].secret == ""
    with pytest.raises(grpc.RpcError) as refused:  # not allow-listed: an internal address
        admin.CreateWebhook(admin_pb2.CreateWebhookRequest(url="http://169.254.169.254/latest"), metadata=auth,
                            timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    # Consent decides tracking: the same content with and without it.
    granted = request(to=["ann@ok.test"], html=HTML, text=TEXT, tags=["promo"],
                      tracking_consent=send_pb2.TRACKING_CONSENT_GRANTED)
    withheld = request(to=["bob@ok.test"], html=HTML, text=TEXT, tags=["promo"])
    overridden = request(to=["cy@ok.test"], html=HTML, text=TEXT, tags=["other"],
                         tracking_consent=send_pb2.TRACKING_CONSENT_GRANTED)
    overridden.personalizations[0].tracking_consent = send_pb2.TRACKING_CONSENT_DENIED
    ids = [send.Send(r, metadata=auth, timeout=10).messages[0].message_id for r in (granted, withheld, overridden)]
    for mid in ids:
        platform.wait_state(key, mid, {"delivered"})
    mail = {m.rcpt_tos[0]: _bodies(m.data) for m in world.ok.wait_for(3)}
    html, text = mail["ann@ok.test"]
    assert re.search(r'href="https://t\.postwave\.test/c/[\w.-]+"', html) and "/o/" in html
    assert "https://t.postwave.test/c/" in text and "shop.example" not in html + text
    for untracked in ("bob@ok.test", "cy@ok.test"):
        html_u, text_u = mail[untracked]
        assert 'href="https://shop.example/sale"' in html_u and "https://shop.example/sale" in text_u
        assert "t.postwave.test" not in html_u + text_u and "<img" not in html_u

    # The tracker role on the same data: a human click, a proxy's open.
    tracker_port = free_tcp_port()
    settings = {**platform.settings, "tracker_listen": f"127.0.0.1:{tracker_port}", "tracking_prefetch_seconds": "0"}
    roles.append(Role("tracker", settings, platform.data_dir / "tracker.log"))
    roles.append(Role("webhooks", settings, platform.data_dir / "webhooks.log"))
    local = f"http://127.0.0.1:{tracker_port}"
    _wait(lambda: _reachable(local + "/healthz"), "the tracker")
    click = re.search(r'href="(https://t\.postwave\.test/c/[\w.-]+)"', html).group(1)  # type: ignore[union-attr]
    pixel = re.search(r'src="(https://t\.postwave\.test/o/[\w.-]+)"', html).group(1)  # type: ignore[union-attr]
    status, headers, _ = _http("GET", click.replace("https://t.postwave.test", local), host="t.postwave.test",
                               headers={"User-Agent": BROWSER})
    assert status == 302 and headers["Location"] == "https://shop.example/sale"
    status, _, body = _http("GET", pixel.replace("https://t.postwave.test", local), host="t.postwave.test",
                            headers={"User-Agent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"})
    assert status == 200 and body.startswith(b"GIF")

    # ListEvents: filters and pages; machine verdicts on the events.
    clicked = events.ListEvents(events_pb2.ListEventsRequest(types=["clicked"]), metadata=auth, timeout=10).events
    assert [(e.message_id, e.machine) for e in clicked] == [(ids[0], False)]
    opened = events.ListEvents(events_pb2.ListEventsRequest(types=["opened"]), metadata=auth, timeout=10).events
    assert [(e.machine, e.machine_reason) for e in opened] == [(True, "ua:google_image_proxy")]
    everything = list(events.StreamEvents(events_pb2.StreamEventsRequest(no_follow=True), metadata=auth, timeout=10))
    paged, token = [], ""
    while True:
        page = events.ListEvents(events_pb2.ListEventsRequest(page_size=2, page_token=token), metadata=auth,
                                 timeout=10)
        paged += page.events
        token = page.next_page_token
        if not token:
            break
    assert [e.id for e in paged] == [e.id for e in everything] and len(paged) > 4
    listed = _rest(platform.http_port, key, "/v1/events:list?types=clicked&types=opened&pageSize=1")
    assert [e["type"] for e in listed["events"]] == ["clicked"] and listed["next_page_token"]
    bob_only = events.ListEvents(events_pb2.ListEventsRequest(recipient="BOB@ok.test"), metadata=auth, timeout=10)
    assert {e.recipient for e in bob_only.events} == {"bob@ok.test"}

    # GetStats over REST, per tag.
    stats = _rest(platform.http_port, key, "/v1/stats?groupBy=STATS_GROUPING_TAG")
    rows = {r["key"]: r for r in stats["rows"]}
    promo = rows["promo"]
    assert (int(promo["sent"]), int(promo["delivered"]), int(promo["clicked_human"]), int(promo["opened_machine"]),
            int(promo["opened_human"])) == (2, 2, 1, 1, 0)
    assert promo["click_rate"] == 0.5 and int(rows["other"]["delivered"]) == 1
    assert int(stats["total"]["sent"]) == 3

    # The webhooks role delivers what happened after the endpoint was made.
    _wait(lambda: {"delivered", "clicked", "opened"} <= {e["type"] for e in receiver.events()}, "webhook events")
    got = [e for e in receiver.events() if e["type"] != "test"]
    assert len({e["id"] for e in got}) == len(got) and receiver.forged == 0
    assert next(e for e in got if e["type"] == "opened")["machine"] is True

    # Bulk mail carries the tracker's one-click URL; unsubscribing from a group stops that group only.
    news = request(to=["dee@ok.test"], text="news", stream=send_pb2.STREAM_BULK, unsubscribe_group="news")
    news_id = send.Send(news, metadata=auth, timeout=10).messages[0].message_id
    platform.wait_state(key, news_id, {"delivered"})
    head = email.message_from_bytes(next(m for m in world.ok.wait_for(4) if m.rcpt_tos == ["dee@ok.test"]).data,
                                    policy=email.policy.default)
    one_click = re.fullmatch(r"<(https://t\.postwave\.test/u/[\w.-]+)>", str(head["List-Unsubscribe"]))
    assert one_click and head["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    status, _, _ = _http("POST", one_click.group(1).replace("https://t.postwave.test", local), host="t.postwave.test",
                         data=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    blocked = send.Send(request(to=["dee@ok.test"], text="more news", unsubscribe_group="news"), metadata=auth,
                        timeout=10).messages[0]
    other = send.Send(request(to=["dee@ok.test"], text="a receipt"), metadata=auth, timeout=10).messages[0]
    assert (blocked.state, other.state) == ("dropped", "accepted")

    # One-click unsubscribe, then erasure: the address leaves every table, its suppression stays (hashed).
    unsubscribe = consent.unsubscribe_url(config_mod.load({"tracking_secret": SECRET,
                                                           "tracking_base_url": "https://t.postwave.test"},
                                                          environ={}), ids[0])
    status, _, _ = _http("POST", unsubscribe.replace("https://t.postwave.test", local), host="t.postwave.test",
                         data=b"List-Unsubscribe=One-Click",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    erased = admin.EraseRecipient(admin_pb2.EraseRecipientRequest(address="Ann@OK.test"), metadata=auth, timeout=10)
    assert erased.messages == 1 and erased.replacement == address_hash("ann@ok.test")
    status_after = send.GetStatus(send_pb2.GetStatusRequest(message_id=ids[0]), metadata=auth, timeout=10)
    assert status_after.recipient == erased.replacement
    assert all("ann@ok.test" not in (e.recipient + e.detail).lower() for e in status_after.events)
    assert _rows_mentioning(platform.data_dir / "postwave.db", b"ann@ok.test") == []
    again = send.Send(request(to=["ann@ok.test"], text="hello again"), metadata=auth, timeout=10)
    assert (again.messages[0].state, again.messages[0].detail.startswith("suppressed")) == ("dropped", True)

    # Redrive and delete through the API.
    redriven = admin.RedriveWebhook(admin_pb2.RedriveWebhookRequest(endpoint_id=hook.endpoint_id), metadata=auth,
                                    timeout=10)
    assert redriven.state == "active" and redriven.cursor > 0
    admin.DeleteWebhook(admin_pb2.DeleteWebhookRequest(endpoint_id=hook.endpoint_id), metadata=auth, timeout=10)
    with pytest.raises(grpc.RpcError) as gone:
        admin.TestWebhook(admin_pb2.TestWebhookRequest(endpoint_id=hook.endpoint_id), metadata=auth, timeout=10)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND


def _reachable(url: str) -> bool:
    try:
        return _http("GET", url)[0] == 200
    except OSError:
        return False


def _rest(port: int, key: str, path: str) -> Any:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=15) as reply:
        return json.loads(reply.read())


def _rows_mentioning(path: Path, needle: bytes) -> list[str]:
    """Every table.column whose value contains ``needle`` (any case)."""
    found = []
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
            for column in columns:
                for (value,) in db.execute(f'SELECT "{column}" FROM "{table}"'):
                    data = value.encode() if isinstance(value, str) else value if isinstance(value, bytes) else b""
                    if needle in data.lower():
                        found.append(f"{table}.{column}")
    return sorted(set(found))

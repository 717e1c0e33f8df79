"""The tracker on a real HTTP port over a real embedded store, with messages sent through
the real composition path (render, then link wrapping)."""

from __future__ import annotations

import dataclasses
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from postwave import config as config_mod
from postwave.config import Config
from postwave.pipeline import compose
from postwave.render.templates import TemplateEngine
from postwave.store.base import AcceptedRequest, Attempt, NewMessage, Outcome, Store
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database
from postwave.tracking import consent
from postwave.tracking.classify import Classifier
from postwave.tracking.service import Tracker
from postwave.v1 import send_pb2

BASE = "https://t.postwave.test"
SECRET = "tracking secret one"
HTML = ('<html><body><p>Hi {{ name }}, see <a href="https://shop.example/sale?id=7&amp;src=mail">the sale</a>'
        ' or <a href="https://shop.example/account">your account</a>.</p></body></html>')
TEXT = "Hi {{ name }}, the sale: https://shop.example/sale?id=7&src=mail"


def settings(**changes: Any) -> Config:
    return config_mod.load({"tracking_base_url": BASE, "tracking_secret": SECRET, "track_clicks": True,
                            "track_opens": True, **changes}, environ={})


@dataclasses.dataclass
class Sent:
    """One message as it went out: its record id and the tracking URLs in its bodies."""

    message_id: str
    tenant_id: str
    clicks: list[str]  # html links first, then text links
    pixel: str
    unsubscribe: str


class World:
    """A store with messages 'delivered' the way the worker would have built them."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.count = 0

    def send(self, *, tenant: str = "t_one", recipient: str = "ann@example.com", delivered_ago: float = 3600.0,
             group: str = "", html: str = HTML, text: str = TEXT) -> Sent:
        self.count += 1
        now = time.time()
        unique = secrets.token_hex(4)
        rid, mid = f"r{self.count}_{unique}", f"m{self.count}_{unique}_{tenant}"
        req = send_pb2.SendRequest(subject="Sale", html=html, text=text, unsubscribe_group=group,
                                   tracking_consent=send_pb2.TRACKING_CONSENT_GRANTED, personalizations=[
                                       send_pb2.Personalization(to=[recipient], custom_args={"crm": "9"})])
        req.personalizations[0].substitutions.update({"name": "Ann"})
        setattr(req, "from", "Shop <news@shop.example>")
        self.store.accept([AcceptedRequest(rid, tenant, "", "", b"h", req.SerializeToString(), "bulk", now, now,
                                           now + 3600, (NewMessage(mid, 0, recipient, "accepted"),), b"")], [], "d")
        sent_at = now - delivered_ago
        self.store.record_outcomes([Outcome(mid, tenant, "delivered", Attempt(mid, sent_at, "mx", 250, "ok",
                                                                             "delivered"), ())])
        record = self.store.get_message(mid)
        assert record is not None
        rendered = compose.render(TemplateEngine(), req, None, 0, {"name": "Ann"})
        tracked = compose.track(rendered, consent.tracking_for(self.config, record, req))
        urls = re.findall(r"https://t\.postwave\.test/[cou]/[\w.-]+", tracked.html + "\n" + tracked.text)
        return Sent(mid, tenant, [u for u in urls if "/c/" in u], next(u for u in urls if "/o/" in u),
                    consent.unsubscribe_url(self.config, mid))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    db = Database(str(tmp_path / "tracking.db"), synchronous="NORMAL")
    yield EmbeddedStore(db)
    db.close()


@dataclasses.dataclass
class Running:
    """A started tracker and an HTTP client for it."""

    port: int
    client: aiohttp.ClientSession
    world: World
    tracker: Tracker

    def url(self, tracking_url: str) -> str:
        """A tracking URL as sent, pointed at the test port (the Host header keeps the public name)."""
        return tracking_url.replace(BASE, f"http://127.0.0.1:{self.port}")

    async def get(self, tracking_url: str, *, method: str = "GET", host: str = "t.postwave.test",
                  user_agent: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0", **kwargs: Any) -> aiohttp.ClientResponse:
        headers = {"Host": host, "User-Agent": user_agent, **kwargs.pop("headers", {})}
        async with self.client.request(method, self.url(tracking_url), headers=headers, allow_redirects=False,
                                       **kwargs) as reply:
            await reply.read()
            return reply


@pytest.fixture
async def make_tracker(store: EmbeddedStore) -> AsyncIterator[Callable[..., Any]]:
    runners: list[web.AppRunner] = []
    clients: list[aiohttp.ClientSession] = []

    async def make(classifier: Classifier | None = None, **changes: Any) -> Running:
        config = settings(**changes)
        tracker = Tracker(store=store, config=config, classifier=classifier or Classifier.from_file(
            config.tracking_bots_file, prefetch_seconds=config.tracking_prefetch_seconds))
        runner = web.AppRunner(tracker.app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        clients.append(aiohttp.ClientSession())
        return Running(port, clients[-1], World(store, config), tracker)

    yield make
    for client in clients:
        await client.close()
    for runner in runners:
        await runner.cleanup()

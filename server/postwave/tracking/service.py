"""The tracker (``postwave tracker``): click redirects, the open pixel, and unsubscribe.

Every route starts from a signed token (:mod:`postwave.tracking.linkwrap`) and answers 404
for anything it cannot vouch for -- a malformed, forged or altered token, a token of
another kind, an unknown key, a message that is gone, a link whose URL no longer matches
the hash in the token, a host that is not the tenant's. A 404 never redirects, so the
tracker is no open redirect.

Routes, as guard steps each:

* ``GET|HEAD /c/<token>`` -- 302 to link ``index`` of the message (event ``clicked``);
* ``GET|HEAD /o/<token>.gif`` -- a 1x1 GIF that must not be cached (event ``opened``);
* ``GET /u/<token>`` -- a small page with a button (a GET never unsubscribes: scanners
  fetch every link); ``POST /u/<token>`` -- one-click unsubscribe (RFC 8058: the body is
  ``List-Unsubscribe=One-Click``), event ``unsubscribed`` and a suppression for the tenant
  or, if the message named one, its unsubscribe group.

Opens and clicks are classified machine or human (:mod:`postwave.tracking.classify`);
events carry ``machine``, ``reason``, the truncated client network and the user agent in
their JSON detail.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from postwave.config import Config
from postwave.render.templates import TemplateEngine
from postwave.store.base import Store
from postwave.tracking.classify import Classifier, Verdict, Visit
from postwave.tracking.consent import suppression_address
from postwave.tracking.hosts import ANY_TENANT, HostRouter
from postwave.tracking.keys import key_ring
from postwave.tracking.linkwrap import InvalidTokenError, Token, url_hash, verify_token
from postwave.tracking.messages import MessageView, MessageViews
from postwave.tracking.privacy import bounded_user_agent, truncate_ip

log = logging.getLogger(__name__)

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_CACHE = {
    "Cache-Control": "no-store, no-cache, must-revalidate, private, max-age=0",
    "Pragma": "no-cache",
    "Expires": "0",
}
ONE_CLICK = "One-Click"
UNSUBSCRIBE_REASON = "unsubscribed"


class _NotFound(Exception):
    """A guard step refused the request: answer 404."""


class Tracker:
    """The tracker's request handlers over one store."""

    def __init__(self, *, store: Store, config: Config, classifier: Classifier,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.keys = key_ring(config)
        self.classifier = classifier
        self.clock = clock
        self.hosts = HostRouter(config, store)
        self.views = MessageViews(store, TemplateEngine())

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_get("/c/{token}", self.click)  # add_get answers HEAD too (link checkers use it)
        app.router.add_get("/o/{token}", self.open)
        app.router.add_get("/u/{token}", self.unsubscribe_page)
        app.router.add_post("/u/{token}", self.unsubscribe)
        app.router.add_get("/healthz", self.healthz)
        return app

    # guard steps

    def check_token(self, raw: str, kinds: str) -> Token:
        """A token that verifies with one of our keys, of one of ``kinds``."""
        try:
            token = verify_token(self.keys, raw)
        except InvalidTokenError:
            raise _NotFound from None
        if token.kind not in kinds:
            raise _NotFound
        return token

    async def check_message(self, request: web.Request, token: Token, *, need_links: bool) -> MessageView:
        """The token's message, still stored, of the tenant this host serves."""
        tenant = await self.hosts.tenant_for(request.headers.get("Host", ""))
        if tenant is None:
            raise _NotFound
        view = await self.views.get(token.message_id, need_links=need_links)
        if view is None or (tenant != ANY_TENANT and view.record.tenant_id != tenant):
            raise _NotFound
        return view

    @staticmethod
    def check_link(view: MessageView, token: Token) -> str:
        """The URL of the link the token names, if its hash still matches, as a Location value."""
        urls = view.links.get(token.kind, [])
        if token.position >= len(urls) or url_hash(urls[token.position]) != token.url_hash:
            raise _NotFound
        return _location(urls[token.position])

    def visit(self, request: web.Request) -> Visit:
        """What classification looks at."""
        return Visit(request.method, request.headers.get("User-Agent", ""), request.remote or "", self.clock())

    # handlers

    async def click(self, request: web.Request) -> web.StreamResponse:
        """302 to the link, after recording the click."""
        try:
            token = self.check_token(request.match_info["token"], "ct")
            view = await self.check_message(request, token, need_links=True)
            url = self.check_link(view, token)
        except _NotFound:
            return _not_found()
        visit = self.visit(request)
        earlier = await asyncio.to_thread(self.store.list_events, view.record.tenant_id, 0, ["clicked"],
                                          view.record.message_id, 1000)
        verdict = self.classifier.click_verdict(visit, _delivered_at(view), (token.kind, token.position),
                                                view.link_count, _clicks(earlier))
        await self._record(view, "clicked", visit, verdict, url=url, link=f"{token.kind}{token.position}")
        return web.Response(status=302, headers={"Location": url, **NO_CACHE})

    async def open(self, request: web.Request) -> web.StreamResponse:
        """The pixel, after recording the open."""
        raw = request.match_info["token"]
        try:
            if not raw.endswith(".gif"):
                raise _NotFound
            token = self.check_token(raw[:-4], "o")
            view = await self.check_message(request, token, need_links=False)
        except _NotFound:
            return _not_found()
        visit = self.visit(request)
        verdict = self.classifier.open_verdict(visit, _delivered_at(view))
        await self._record(view, "opened", visit, verdict)
        return web.Response(body=PIXEL, content_type="image/gif", headers=NO_CACHE)

    async def unsubscribe_target(self, request: web.Request) -> MessageView:
        """The message an unsubscribe token names (both unsubscribe routes start here)."""
        token = self.check_token(request.match_info["token"], "u")
        return await self.check_message(request, token, need_links=False)

    async def unsubscribe_page(self, request: web.Request) -> web.StreamResponse:
        """A confirmation page whose button posts the one-click body."""
        try:
            view = await self.unsubscribe_target(request)
        except _NotFound:
            return _not_found()
        group = view.request.unsubscribe_group
        scope = f"the &ldquo;{html.escape(group)}&rdquo; mailings" if group else "all mail from this sender"
        page = (
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Unsubscribe</title>"
            "<meta name=\"viewport\" content=\"width=device-width\"></head><body>"
            f"<p>Unsubscribe from {scope}?</p>"
            "<form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">"
            "<button type=\"submit\">Unsubscribe</button></form></body></html>"
        )
        return web.Response(text=page, content_type="text/html", headers=NO_CACHE)

    async def unsubscribe(self, request: web.Request) -> web.StreamResponse:
        """One-click unsubscribe: suppression, then the event; repeating it changes nothing."""
        try:
            view = await self.unsubscribe_target(request)
        except _NotFound:
            return _not_found()
        form = await request.post()
        if form.get("List-Unsubscribe") != ONE_CLICK:
            return web.Response(status=400, text="expected the body List-Unsubscribe=One-Click\n")
        m = view.record
        group = view.request.unsubscribe_group
        address = suppression_address(m.recipient, group)
        already = await asyncio.to_thread(self.store.suppressed, m.tenant_id, [address], self.clock())
        if not already:
            visit = self.visit(request)
            detail = {"machine": False, "group": group, "network": truncate_ip(visit.address),
                      "user_agent": bounded_user_agent(visit.user_agent)}
            event = view.event(UNSUBSCRIBE_REASON, visit.time, detail)
            await asyncio.to_thread(self.store.record_engagement, [event], [(m.tenant_id, address, UNSUBSCRIBE_REASON)])
        return web.Response(text="You are unsubscribed.\n", headers=NO_CACHE)

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        """Liveness."""
        return web.Response(text="ok\n")

    async def _record(self, view: MessageView, kind: str, visit: Visit, verdict: Verdict, **extra: Any) -> None:
        detail = {"machine": verdict.machine, "reason": verdict.reason, "network": truncate_ip(visit.address),
                  "user_agent": bounded_user_agent(visit.user_agent), "method": visit.method, **extra}
        await asyncio.to_thread(self.store.record_engagement, [view.event(kind, visit.time, detail)], [])


def _delivered_at(view: MessageView) -> float | None:
    record = view.record
    return record.updated if record.state == "delivered" else None


def _clicks(events: list[Any]) -> list[tuple[str, int, float]]:
    """(body, index, time) of earlier click events."""
    found = []
    for e in events:
        try:
            link = json.loads(e.detail).get("link", "")
        except (ValueError, AttributeError):
            continue
        if isinstance(link, str) and len(link) > 1 and link[1:].isdigit():
            found.append((link[0], int(link[1:]), e.time))
    return found


def _location(url: str) -> str:
    """``url`` as a browser follows it: tabs and line breaks removed (WHATWG URL parsing), so
    a link written across lines in the mail redirects on one header line. Any other control
    character is no URL at all: 404 (security helper: a raw CR/LF in a link used to fail the
    response after the click was recorded)."""
    cleaned = url.replace("\t", "").replace("\r", "").replace("\n", "")
    if any(c < " " or c == "\x7f" for c in cleaned):
        raise _NotFound
    return cleaned


def _not_found() -> web.Response:
    return web.Response(status=404, text="not found\n", headers=NO_CACHE)


async def run_tracker(config: Config) -> None:
    """Serve the tracker on tracker_listen (and the admin endpoint) until SIGTERM or SIGINT."""
    from postwave import metrics
    from postwave.backends import open_backends
    from postwave.roles import readiness, stop_event

    if not config.tracking_secret:
        log.warning("tracking_secret is empty: the tracker refuses every token")
    classifier = Classifier.from_file(config.tracking_bots_file, prefetch_seconds=config.tracking_prefetch_seconds)
    store, queue = open_backends(config, role="tracker")
    stop = stop_event()
    tracker = Tracker(store=store, config=config, classifier=classifier)
    runner = web.AppRunner(tracker.app(), access_log=None)
    await runner.setup()
    host, _, port = config.tracker_listen.rpartition(":")
    await web.TCPSite(runner, host, int(port)).start()
    admin = await metrics.start_admin_server(config.admin_listen, readiness(store, queue))
    print(f"postwave tracker listening on {config.tracker_listen}; store {config.store}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await admin.stop()
        await queue.close()
        store.close()

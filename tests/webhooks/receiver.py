"""A webhook receiver for tests: a real aiohttp server on 127.0.0.1 that verifies signatures
with its own implementation of the Standard Webhooks scheme, written from its description:

    signed content  = "{webhook-id}.{webhook-timestamp}.{raw body}"
    key             = base64-decode(secret without its "whsec_" prefix)
    webhook-signature: space-separated "v1,<base64(HMAC-SHA256(key, signed content))>" entries;
                      a request is genuine if any entry matches one of the receiver's secrets,
                      compared in constant time; timestamps too far from now are replays.

Its behaviour is scripted per request: "ok", "500", "slow" (answer after a delay), and it
can be stopped and started again on the same port ("down").
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
from typing import Any

from aiohttp import web


def verify(secrets: list[str], headers: dict[str, str], body: bytes, now: float, tolerance: float = 300.0) -> bool:
    """Whether a request is signed by one of ``secrets`` and recent."""
    msg_id, stamp, header = headers.get("webhook-id", ""), headers.get("webhook-timestamp", ""), headers.get(
        "webhook-signature", "")
    if not msg_id or not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    content = msg_id.encode() + b"." + stamp.encode() + b"." + body
    for secret in secrets:
        key = base64.b64decode(secret.split("_", 1)[1])
        expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
        for entry in header.split(" "):
            version, _, given = entry.partition(",")
            if version == "v1" and hmac.compare_digest(given, expected):
                return True
    return False


@dataclasses.dataclass
class Delivery:
    """One request the receiver kept (answered 2xx, or too slowly)."""

    webhook_id: str
    timestamp: int
    event_ids: list[str]
    events: list[dict[str, Any]]


class Receiver:
    """Scripted webhook endpoint."""

    def __init__(self, secrets: list[str], now: Any) -> None:
        self.secrets = secrets
        self.now = now  # the clock the dispatcher signs with
        self.script: list[str] = []  # behaviour of the next requests; then "ok"
        self.slow_seconds = 0.0
        self.accepted: list[Delivery] = []
        self.attempts: list[tuple[str, int, str]] = []  # (webhook-id, timestamp, what was answered)
        self.forged = 0
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        stamp = int(headers.get("webhook-timestamp", "0") or 0)
        if not verify(self.secrets, headers, body, self.now()):
            self.forged += 1
            self.attempts.append((headers.get("webhook-id", ""), stamp, "401"))
            return web.Response(status=401)
        behaviour = self.script.pop(0) if self.script else "ok"
        self.attempts.append((headers["webhook-id"], stamp, behaviour))
        if behaviour == "500":
            return web.Response(status=500)
        data = json.loads(body)["data"]
        # Kept before answering: a slow receiver has stored the batch when the sender gives up.
        self.accepted.append(Delivery(headers["webhook-id"], stamp, [e["id"] for e in data], data))
        if behaviour == "slow":
            await asyncio.sleep(self.slow_seconds)
        return web.Response(status=204)

    def unique_event_ids(self) -> list[str]:
        """Event ids in arrival order after dropping repeated webhook-ids (the receiver's dedupe)."""
        seen: set[str] = set()
        ids: list[str] = []
        for d in self.accepted:
            if d.webhook_id not in seen:
                seen.add(d.webhook_id)
                ids.extend(d.event_ids)
        return ids

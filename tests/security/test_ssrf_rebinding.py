"""DNS rebinding against the webhook sender: it connects to the address it checked.

A real DNS server (tests/security/rebind_dns.py) answers an allowed address to the first
query for the webhook's host and 127.0.0.1 to the next, with TTL 0. The stand-in for a
public address is 127.0.0.2, allow-listed through ``webhook_allow_networks`` -- so no
packet leaves loopback -- while 127.0.0.1 is internal. Two real HTTP receivers listen on
the same port of both addresses; the internal one must never be reached.

The sender is postwave's own (Sender.post, check_url, GuardedResolver and aiohttp's
connector); the one substitution is the resolver GuardedResolver wraps: the system's
getaddrinfo cannot be pointed at a test DNS server, so a dnspython resolver asks ours. The
connector has no DNS cache and no keep-alive here, so every POST resolves afresh: the
attacker's best case.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import dns.asyncresolver
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from postwave import config as config_mod
from postwave.webhooks import signing
from postwave.webhooks.dispatcher import Sender
from postwave.webhooks.ssrf import GuardedResolver
from tests.security.rebind_dns import RebindingDNS
from tests.servers.addresses import free_port, is_free

HOST = "hook.rebind.test"


class AskServer(AbstractResolver):
    """A resolver that asks one DNS server (A records only)."""

    def __init__(self, address: str, port: int) -> None:
        self._resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver.nameservers = [address]
        self._resolver.port = port
        self._resolver.cache = None

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        answer = await self._resolver.resolve(host, "A")
        return [ResolveResult(hostname=host, host=r.address, port=port, family=socket.AF_INET, proto=0,
                              flags=socket.AI_NUMERICHOST) for r in answer]

    async def close(self) -> None:
        """Nothing to release."""


class RebindableSender(Sender):
    """postwave's Sender, its guard asking the test DNS server, without DNS cache or keep-alive."""

    def __init__(self, dns_server: RebindingDNS) -> None:
        super().__init__(config_mod.load({"webhook_allow_networks": "127.0.0.2/32", "webhook_timeout_seconds": 10},
                                         environ={}))
        self.dns_server = dns_server

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            guard = GuardedResolver(self.allowed)
            guard._inner = AskServer(self.dns_server.address, self.dns_server.port)  # type: ignore[assignment]
            connector = aiohttp.TCPConnector(resolver=guard, use_dns_cache=False, force_close=True)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
        return self._session


@pytest.fixture
async def receivers() -> AsyncIterator[tuple[int, dict[str, list[str]]]]:
    """HTTP receivers on 127.0.0.2:port (allowed) and 127.0.0.1:port (internal); the paths each got."""
    port = next(p for p in (free_port("127.0.0.1") for _ in range(50)) if is_free("127.0.0.2", p))
    hits: dict[str, list[str]] = {"127.0.0.2": [], "127.0.0.1": []}
    runners = []
    for address in hits:
        async def handle(request: web.Request, address: str = address) -> web.Response:
            hits[address].append(request.path)
            return web.Response(text="ok")
        app = web.Application()
        app.router.add_post("/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, address, port).start()
        runners.append(runner)
    yield port, hits
    for runner in runners:
        await runner.cleanup()


async def _post(sender: Sender, url: str) -> Any:
    secret = signing.new_secret()
    return await sender.post(url, [secret], "msg_rebind", 1_800_000_000, b'{"data": []}')


async def test_a_rebound_name_never_reaches_the_internal_address(receivers: Any) -> None:
    port, hits = receivers
    with RebindingDNS({HOST: [["127.0.0.2"], ["127.0.0.1"]]}) as dns_server:
        sender = RebindableSender(dns_server)
        try:
            first = await _post(sender, f"http://{HOST}:{port}/first")
            second = await _post(sender, f"http://{HOST}:{port}/second")
        finally:
            await sender.close()
    assert first.ok and hits["127.0.0.2"] == ["/first"]
    assert not second.ok and second.status == 0 and "127.0.0.1, an internal address" in second.detail
    assert hits["127.0.0.1"] == []
    # One query per connection: the address checked is the address connected to.
    assert dns_server.queries == {HOST + ".": 2}


async def test_one_internal_address_among_the_answers_refuses_the_host(receivers: Any) -> None:
    port, hits = receivers
    with RebindingDNS({HOST: [["127.0.0.2", "127.0.0.1"]]}) as dns_server:
        sender = RebindableSender(dns_server)
        try:
            answer = await _post(sender, f"http://{HOST}:{port}/mixed")
        finally:
            await sender.close()
    assert not answer.ok and "internal address" in answer.detail
    assert hits == {"127.0.0.2": [], "127.0.0.1": []} and dns_server.queries == {HOST + ".": 1}

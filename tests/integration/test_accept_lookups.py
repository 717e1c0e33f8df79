"""Acceptance reads a tenant's row and sending domains once, however many requests arrive at once.

Before the lookups were shared, a fresh API process (or one whose entries had just expired)
read the tenant row and the domains once per request in flight: on the distributed
benchmark, 1.6 of the API's 4.9 CQL statements per message.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from pathlib import Path
from typing import Any

from postwave import config as config_mod
from postwave.app import bootstrap
from postwave.backends import open_backends
from postwave.pipeline.accept import Acceptor
from postwave.render.templates import TemplateEngine
from postwave.v1 import send_pb2

CONCURRENT = 300


def _counting(calls: collections.Counter[str], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any) -> Any:
        calls[name] += 1
        return fn(*args)
    return counted


def _request(i: int) -> send_pb2.SendRequest:
    req = send_pb2.SendRequest(subject="Hello", text="Hi {{name}}")
    setattr(req, "from", "Shop <news@shop.example>")
    p = req.personalizations.add()
    p.to.append(f"user{i}@example.net")
    p.substitutions["name"] = f"user {i}"
    return req


async def test_concurrent_requests_read_the_tenant_and_its_domains_once(tmp_path: Path) -> None:
    config = config_mod.load({"data_dir": str(tmp_path), "admin_listen": ""}, environ={})
    store, queue = open_backends(config)
    assert bootstrap(store, config)
    tenant_id = store.list_tenants()[0].tenant_id
    calls: collections.Counter[str] = collections.Counter()
    for name in ("get_tenant", "get_domain", "list_domains"):
        setattr(store, name, _counting(calls, name, getattr(store, name)))
    acceptor = Acceptor(store=store, queue=queue, config=config, engine=TemplateEngine())
    acceptor.start()
    try:
        responses = await asyncio.gather(*(acceptor.send(tenant_id, _request(i)) for i in range(CONCURRENT)))
        assert len({r.messages[0].message_id for r in responses}) == CONCURRENT
        # news@shop.example: one read per candidate domain (shop.example), one list of the tenant's domains
        assert calls == {"get_tenant": 1, "get_domain": 1, "list_domains": 1}, calls
        await acceptor.send(tenant_id, _request(CONCURRENT))
        assert sum(calls.values()) == 3, "a second request within the lookups' lifetime reads nothing"
        assert len(store.get_messages([r.messages[0].message_id for r in responses])) == CONCURRENT
    finally:
        await acceptor.stop()
        await queue.close()
        store.close()

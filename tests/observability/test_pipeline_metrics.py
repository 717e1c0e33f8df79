"""Acceptance and delivery record their metrics as mail flows through a real pipeline."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from prometheus_client import REGISTRY

from tests.platform import request


def snapshot() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every postwave_* sample of the registry, keyed by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in REGISTRY.collect() if family.name.startswith("postwave_")
        for s in family.samples
    }


def delta(before: dict[Any, float], after: dict[Any, float], name: str, **labels: str) -> float:
    """The increase of one series, or of the sum of those whose labels include ``labels``."""
    def total(samples: dict[Any, float]) -> float:
        return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))

    return total(after) - total(before)


async def test_accepted_and_delivered_mail_is_counted(start_pipeline: Any) -> None:
    pipeline = await start_pipeline()
    before = snapshot()
    one = await pipeline.send(request(to=["ann@ok.test"], html='<a href="https://shop.test/a">a</a>'))
    req = request(to=["bob@ok.test"])
    req.personalizations.add(to=["cy@ok.test"])
    req.personalizations.add(to=["di@ok.test"])
    many = await pipeline.send(req)
    ids = [m.message_id for m in [*one.messages, *many.messages]]
    states = await pipeline.wait_final(ids)
    assert set(states.values()) == {"delivered"}
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await pipeline.send(request(to=["not an address"]))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    after = snapshot()

    lane = {"lane": "transactional"}
    assert delta(before, after, "postwave_accept_requests_total", outcome="accepted", **lane) == 2
    assert delta(before, after, "postwave_accept_requests_total", outcome="invalid", **lane) == 1
    assert delta(before, after, "postwave_accept_latency_seconds_count", **lane) == 3
    assert delta(before, after, "postwave_accept_messages_total", state="accepted", **lane) == 4
    assert delta(before, after, "postwave_accept_commit_requests_count") >= 1
    assert delta(before, after, "postwave_deliveries_total", outcome="delivered", **lane) == 4
    assert delta(before, after, "postwave_accept_to_delivery_seconds_count", **lane) == 4
    assert delta(before, after, "postwave_accept_to_delivery_seconds_sum", **lane) > 0
    # the site is the shaping site of the MX host (here the peer's address: route_all_to)
    assert delta(before, after, "postwave_smtp_replies_total", ip="none", reply_class="2.0") == 4
    assert delta(before, after, "postwave_tenant_delivered_total", tenant=pipeline.tenant_id) == 4
    assert delta(before, after, "postwave_dkim_errors_total") == 0


async def test_bounces_count_per_site_class_and_tenant(start_pipeline: Any) -> None:
    pipeline = await start_pipeline(script={"RCPT": ["550 5.1.1 no such user"] * 10})
    before = snapshot()
    bounced = await pipeline.send(request(to=["gone@bounce.test"]))
    sandboxed = await pipeline.send(request(to=["ann@bounce.test"], sandbox=True))
    states = await pipeline.wait_final([m.message_id for m in [*bounced.messages, *sandboxed.messages]])
    assert sorted(states.values()) == ["bounced", "sandboxed"]
    after = snapshot()
    lane = {"lane": "transactional"}
    assert delta(before, after, "postwave_deliveries_total", outcome="bounced", **lane) == 1
    assert delta(before, after, "postwave_accept_messages_total", state="sandboxed", **lane) == 1
    assert delta(before, after, "postwave_smtp_replies_total", ip="none", reply_class="5.1") == 1
    assert delta(before, after, "postwave_tenant_bounces_total", tenant=pipeline.tenant_id, kind="reply") == 1
    assert delta(before, after, "postwave_accept_to_delivery_seconds_count", **lane) == 0

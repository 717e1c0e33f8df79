"""The metrics module: bounded labels, recording functions, and the admin HTTP endpoint."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from postwave import metrics
from postwave.errors import InvalidArgumentError
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_bounded_label_folds_values_past_the_limit() -> None:
    label = metrics.BoundedLabel("site", 3)
    assert [label(v) for v in ("a", "b", "c", "d", "e", "a")] == ["a", "b", "c", "other", "other", "a"]
    assert label("") == "none"


@pytest.mark.parametrize(("code", "enhanced", "expected"), [
    (250, "2.0.0", "2.0"), (550, "5.1.1", "5.1"), (421, "4.7.28", "4.7"), (451, None, "4xx"),
    (554, "5.9.9", "5xx"), (None, None, "none"), (999, None, "none"),
])
def test_reply_class_is_bounded(code: int | None, enhanced: str | None, expected: str) -> None:
    assert metrics.reply_class(code, enhanced) == expected


def test_delivery_counters_and_accept_to_250() -> None:
    before = sample("postwave_deliveries_total", lane="bulk", outcome="delivered")
    count_before = sample("postwave_accept_to_delivery_seconds_count", lane="bulk")
    sum_before = sample("postwave_accept_to_delivery_seconds_sum", lane="bulk")
    metrics.observe_delivery("bulk", "delivered", "t_metrics", accepted_at=100.0, now=100.25)
    metrics.observe_delivery("weird-lane", "exploded", "t_metrics")
    assert sample("postwave_deliveries_total", lane="bulk", outcome="delivered") == before + 1
    assert sample("postwave_deliveries_total", lane="other", outcome="other") >= 1
    assert sample("postwave_accept_to_delivery_seconds_count", lane="bulk") == count_before + 1
    assert sample("postwave_accept_to_delivery_seconds_sum", lane="bulk") == pytest.approx(sum_before + 0.25)
    assert sample("postwave_tenant_delivered_total", tenant="t_metrics") >= 1


def test_smtp_replies_by_site_ip_and_class() -> None:
    metrics.observe_smtp_reply("Gmail.test", "127.0.0.10", 550, "5.1.1")
    metrics.observe_smtp_reply("gmail.test", "127.0.0.10", None)
    assert sample("postwave_smtp_replies_total", site="gmail.test", ip="127.0.0.10", reply_class="5.1") >= 1
    assert sample("postwave_smtp_replies_total", site="gmail.test", ip="127.0.0.10", reply_class="none") >= 1


def test_queue_gauges_hold_the_last_value() -> None:
    metrics.observe_queue("transactional", 42, 3.5)
    metrics.observe_queue("transactional", 7, -1.0)
    assert sample("postwave_queue_depth", lane="transactional") == 7
    assert sample("postwave_queue_oldest_age_seconds", lane="transactional") == 0.0


def test_worker_admin_listen_offsets_the_port() -> None:
    assert metrics.worker_admin_listen("127.0.0.1:9464", 0) == "127.0.0.1:9465"
    assert metrics.worker_admin_listen("127.0.0.1:9464", 3) == "127.0.0.1:9468"
    assert metrics.worker_admin_listen("127.0.0.1:0", 3) == "127.0.0.1:0"
    assert metrics.worker_admin_listen("", 1) == ""
    with pytest.raises(InvalidArgumentError) as err:
        metrics.split_listen("9464")
    assert err.value.field == "admin_listen"


async def _get(port: int, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as resp:
        return resp.status, resp.headers.get("Content-Type", ""), await resp.text()


async def test_admin_endpoint_serves_metrics_health_and_readiness() -> None:
    state = {"ready": True}

    async def ready() -> bool:
        if state["ready"] is None:
            raise ConnectionError("store down")
        return bool(state["ready"])

    metrics.set_role("api")
    metrics.observe_accept("transactional", "accepted", 0.004)
    server = await metrics.start_admin_server("127.0.0.1:0", ready)
    try:
        assert server.enabled and server.port > 0
        status, ctype, body = await _get(server.port, "/metrics")
        assert status == 200 and ctype.startswith("text/plain")
        names = {f.name for f in text_string_to_metric_families(body)}
        assert {"postwave_accept_requests", "postwave_accept_latency_seconds", "postwave_role_info",
                "process_cpu_seconds"} <= names
        assert 'postwave_role_info{role="api",version="0.1.0"} 1.0' in body
        assert (await _get(server.port, "/healthz"))[0] == 200
        assert (await _get(server.port, "/readyz"))[0] == 200
        state["ready"] = False
        assert (await _get(server.port, "/readyz"))[0] == 503
        state["ready"] = None  # the check itself fails: not ready, and the endpoint survives
        assert (await _get(server.port, "/readyz"))[0] == 503
        assert (await _get(server.port, "/healthz"))[0] == 200
    finally:
        await server.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await _get(server.port, "/healthz")


async def test_admin_endpoint_without_readiness_check_and_when_off() -> None:
    off = await metrics.start_admin_server("", None)
    assert not off.enabled and off.port == 0
    await off.stop()
    with socket.socket() as s:  # a fixed port, as configuration gives it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = await metrics.start_admin_server(f"127.0.0.1:{port}", None)
    try:
        assert server.port == port
        assert (await _get(port, "/readyz"))[0] == 200
    finally:
        await server.stop()


async def test_a_hanging_readiness_check_answers_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "READY_TIMEOUT", 0.2)

    async def never() -> bool:
        await asyncio.sleep(3600)
        return True

    server = await metrics.start_admin_server("127.0.0.1:0", never)
    try:
        assert (await _get(server.port, "/readyz"))[0] == 503
    finally:
        await server.stop()


def test_throttles_and_adaptive_rates_per_site_and_ip() -> None:
    before = sample("postwave_throttle_events_total", site="yahoo", ip="127.0.0.11", reason="reply")
    metrics.count_throttle("Yahoo", "127.0.0.11", "reply")
    metrics.count_throttle("yahoo", "127.0.0.11", "made-up")
    metrics.set_shaping_rate("yahoo", "127.0.0.11", 150.0)
    assert sample("postwave_throttle_events_total", site="yahoo", ip="127.0.0.11", reason="reply") == before + 1
    assert sample("postwave_throttle_events_total", site="yahoo", ip="127.0.0.11", reason="other") >= 1
    assert sample("postwave_shaping_rate_per_minute", site="yahoo", ip="127.0.0.11") == 150.0


def test_label_bounds_come_from_configuration() -> None:
    from postwave import config as config_mod

    saved = (metrics.SITES.limit, metrics.IPS.limit, metrics.TENANTS.limit)
    try:
        metrics.configure_from(config_mod.load({"metrics_max_sites": "7", "metrics_max_ips": "3",
                                                "metrics_max_tenants": "11"}, environ={}))
        assert (metrics.SITES.limit, metrics.IPS.limit, metrics.TENANTS.limit) == (7, 3, 11)
    finally:
        metrics.configure(max_sites=saved[0], max_ips=saved[1], max_tenants=saved[2])
    with pytest.raises(InvalidArgumentError):
        config_mod.load({"metrics_max_tenants": "0"}, environ={})

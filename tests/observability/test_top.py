"""``postwave top`` reads real admin endpoints and adds them up."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from postwave import metrics, top

from tests.platform import free_tcp_port

SERVER_DIR = str(Path(__file__).resolve().parents[2] / "server")


def test_metrics_url_accepts_host_port_or_url() -> None:
    assert top.metrics_url("127.0.0.1:9465") == "http://127.0.0.1:9465/metrics"
    assert top.metrics_url("http://h:1") == "http://h:1/metrics"
    assert top.metrics_url("http://h:1/custom") == "http://h:1/custom"


def test_histogram_quantile_interpolates_like_promql() -> None:
    def scrape(counts: dict[str, float]) -> top.Scrape:
        samples = {("x_bucket", (("le", le),)): n for le, n in counts.items()}
        return top.Scrape(0.0, samples, (), 1)

    old = scrape({"0.01": 0, "0.1": 0, "+Inf": 0})
    new = scrape({"0.01": 50, "0.1": 100, "+Inf": 100})
    window = top.Window(old, dataclass_at(new, 10.0))
    assert window.quantile(0.5, "x") == pytest.approx(0.01)
    assert window.quantile(0.75, "x") == pytest.approx(0.055)
    assert window.quantile(0.5, "missing") is None


def dataclass_at(s: top.Scrape, at: float) -> top.Scrape:
    return top.Scrape(at, s.samples, s.down, s.endpoints)


async def test_a_frame_sums_endpoints_and_ranks_the_worst() -> None:
    a = await metrics.start_admin_server("127.0.0.1:0", None)
    b = await metrics.start_admin_server("127.0.0.1:0", None)  # same registry: a second process's view
    down = f"127.0.0.1:{free_tcp_port()}"
    admins = [f"http://127.0.0.1:{a.port}", f"127.0.0.1:{b.port}", down]
    try:
        first = await asyncio.to_thread(top.scrape, admins)
        for _ in range(30):
            metrics.observe_smtp_reply("good.top.test", "127.0.0.9", 250, "2.0.0")
        for _ in range(10):
            metrics.observe_smtp_reply("bad.top.test", "127.0.0.9", 421, "4.7.28")
            metrics.observe_delivery("bulk", "bounced", "t_top_bad")
            metrics.observe_delivery("bulk", "delivered", "t_top_good")
        metrics.observe_queue("bulk", 1234, 56.0)
        for _ in range(20):
            metrics.observe_write_lock(0.0002, 0.05)  # waited 0.1-0.25 ms, held 25-50 ms
        second = await asyncio.to_thread(top.scrape, admins)
    finally:
        await a.stop()
        await b.stop()
    assert second.down == (down,) and second.endpoints == 3
    window = top.Window(first, dataclass_at(second, first.at + 2.0))
    grown = {site: n for site, n in window.increase("postwave_smtp_replies_total", by="site").items() if n}
    assert grown == {"good.top.test": 60.0, "bad.top.test": 20.0}
    text = top.frame(window)
    assert "2/3 endpoints up, rates over 2.0 s" in text
    assert "bulk 2468 (oldest 112.0 s)" in text  # gauges of both endpoints, added
    assert "bounced 10.0/s" in text
    # 2 endpoints x 20 holds of 50 ms over the 2 s window: held all of it; p95 within 25-50 ms
    lock = next(line for line in text.splitlines() if line.startswith("store lock"))
    assert lock == "store lock wait p95 0.2 ms  p99 0.2 ms   held p95 48.8 ms, 100% of the time", lock
    sites = text.split("worst sites")[1].split("worst tenants")[0].splitlines()
    assert sites[2].split() == ["bad.top.test", "0.0", "10.0", "0.0", "0.0", "100.0"]
    assert sites[3].split() == ["good.top.test", "30.0", "0.0", "0.0", "0.0", "0.0"]
    tenants = text.split("worst tenants")[1].splitlines()
    assert tenants[2].split()[0] == "t_top_bad" and tenants[2].split()[-1] == "100.00"
    assert f"down: {down}" in text


async def test_the_command_prints_one_frame() -> None:
    server = await metrics.start_admin_server("127.0.0.1:0", None)
    metrics.observe_queue("transactional", 77, 1.5)
    try:
        env = {**os.environ, "PYTHONPATH": SERVER_DIR}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "postwave.cli", "top", "--once", "--interval", "0.2",
            "--admin", f"127.0.0.1:{server.port}", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        await server.stop()
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert text.startswith("postwave top ") and "1/1 endpoints up" in text
    assert "transactional 77 (oldest 1.5 s)" in text


async def test_the_command_fails_when_no_endpoint_answers() -> None:
    env = {**os.environ, "PYTHONPATH": SERVER_DIR}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "postwave.cli", "top", "--once", "--interval", "0",
        "--admin", f"127.0.0.1:{free_tcp_port()}", env=env, stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1 and "0/1 endpoints up" in out.decode()

"""write_lock.LockMeter: a point's write-lock figures from real admin endpoints.

Two endpoints serve this process's registry over HTTP (prometheus-client's server), standing
for two processes of one role: their histograms add up, and only what was observed between
start() and stop() counts. The end-to-end smoke test reads a running platform's endpoints.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import start_http_server

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

import write_lock  # noqa: E402

from postwave import metrics  # noqa: E402
from tests.servers.addresses import free_port  # noqa: E402


@pytest.fixture
def endpoints() -> Iterator[list[str]]:
    servers = [start_http_server(port, addr="127.0.0.1") for port in (free_port(), free_port())]
    try:
        yield [f"127.0.0.1:{server.server_port}" for server, _ in servers]
    finally:
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(5)


def test_a_point_counts_what_its_processes_observed_meanwhile(endpoints: list[str]) -> None:
    metrics.observe_write_lock(5.0, 5.0)  # before the point: not counted
    meter = write_lock.LockMeter({"api": endpoints[:1], "worker": endpoints})
    meter.start()
    for _ in range(95):
        metrics.observe_write_lock(0.0002, 0.0008)  # lock free: 0.1-0.25 ms; held 0.5-1 ms
    for _ in range(5):
        metrics.observe_write_lock(0.03, 0.002)  # waited 25-50 ms; held 1-2.5 ms
    report = meter.stop()

    api, worker = report["api"], report["worker"]
    assert api["transactions"] == 100 and worker["transactions"] == 200  # two endpoints, one registry
    assert api["held_seconds"] == pytest.approx(95 * 0.0008 + 5 * 0.002, abs=1e-3)
    assert worker["held_seconds"] == pytest.approx(2 * api["held_seconds"], abs=1e-3)
    assert 0.1 <= api["wait_ms"]["p50"] <= 0.25 and 0.5 <= api["held_ms"]["p50"] <= 1.0
    assert api["wait_ms"]["p95"] == pytest.approx(0.25)  # the 95th of 100 ends the lower bucket
    assert 25 <= api["wait_ms"]["p99"] <= 50 and 1.0 <= api["held_ms"]["p99"] <= 2.5
    assert worker["wait_ms"] == api["wait_ms"]  # the same observations twice over


def test_an_endpoint_that_never_answers_is_named(endpoints: list[str]) -> None:
    silent = f"127.0.0.1:{free_port()}"
    meter = write_lock.LockMeter({"worker": [endpoints[0], silent]})
    with pytest.raises(RuntimeError, match=f"not answering: {silent}"):
        meter.start(ready_within=0.5)

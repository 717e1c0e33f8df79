"""OpenTelemetry spans of a message's path, recorded by the SDK's in-memory exporter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from postwave import tracing
from postwave.errors import InvalidArgumentError

from tests.platform import request


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    assert tracing.setup(endpoint="", role="test", exporter=spans)
    try:
        yield spans
    finally:
        tracing.shutdown()


def test_trace_ids_come_from_message_ids() -> None:
    mid = "18c0f0a1b2c3d4e5f60718293a"
    assert tracing.trace_id_of(mid) == int(mid, 16)
    assert tracing.root_span_id_of(mid) == int(mid, 16) & (2**64 - 1)
    assert tracing.trace_hex(mid) == mid.rjust(32, "0")
    other = tracing.trace_id_of("not-hex@id")
    assert 0 < other < 2**128 and other == tracing.trace_id_of("not-hex@id")


def test_tracing_is_off_by_default_and_costs_nothing() -> None:
    assert not tracing.ENABLED
    assert tracing.setup(endpoint="", role="api") is False
    assert tracing.current_trace_id() == ""

    class Deliverer:
        def deliver(self) -> None: ...

    d = Deliverer()
    assert tracing.instrument_deliverer(d) is False
    assert "deliver" not in vars(d)  # not wrapped: the hot path is untouched


def test_an_otlp_endpoint_builds_the_exporter() -> None:
    try:
        assert tracing.setup(endpoint="http://127.0.0.1:1/v1/traces", sample_ratio=0.5, role="api")
        assert tracing.ENABLED
    finally:
        tracing.shutdown()
    assert not tracing.ENABLED


async def test_a_message_is_one_trace_from_accept_to_smtp(start_pipeline: Any,
                                                          exporter: InMemorySpanExporter) -> None:
    pipeline = await start_pipeline()
    response = await pipeline.send(request(to=["ann@ok.test"], html='<a href="https://shop.test/">x</a>'))
    mid = response.messages[0].message_id
    assert (await pipeline.wait_final([mid])) == {mid: "delivered"}
    trace_id = tracing.trace_id_of(mid)
    spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]
    by_name = {s.name: s for s in spans}
    assert set(by_name) == {"accept", "commit", "queue", "deliver", "render", "dkim", "mx", "smtp"}
    root = by_name["accept"]
    assert root.parent is None and root.context.span_id == tracing.root_span_id_of(mid)
    assert root.attributes["postwave.message_id"] == mid
    assert root.attributes["postwave.tenant"] == pipeline.tenant_id
    for name in ("commit", "queue", "deliver"):
        assert by_name[name].parent.span_id == root.context.span_id, name
    for name in ("render", "dkim", "mx", "smtp"):
        assert by_name[name].parent.span_id == by_name["deliver"].context.span_id, name
    assert by_name["deliver"].attributes["postwave.outcome"] == "delivered"
    assert by_name["deliver"].attributes["smtp.reply_code"] == 250
    assert root.start_time <= by_name["commit"].start_time <= root.end_time
    assert by_name["render"].end_time <= by_name["dkim"].start_time <= by_name["smtp"].start_time


async def test_sampling_decides_per_message_the_same_everywhere(start_pipeline: Any) -> None:
    spans = InMemorySpanExporter()
    tracing.setup(endpoint="", sample_ratio=0.0, role="test", exporter=spans)
    try:
        pipeline = await start_pipeline()
        response = await pipeline.send(request(to=["ann@ok.test"]))
        await pipeline.wait_final([response.messages[0].message_id])
        assert spans.get_finished_spans() == ()
    finally:
        tracing.shutdown()


def test_a_bad_sample_ratio_is_refused() -> None:
    from postwave import config as config_mod

    with pytest.raises(InvalidArgumentError) as err:
        config_mod.load({"trace_sample_ratio": "1.5"}, environ={})
    assert err.value.field == "trace_sample_ratio"


_WITHOUT_OTEL = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
from postwave import tracing
import postwave.pipeline.accept, postwave.pipeline.deliver, postwave.logs
assert tracing.setup(endpoint="", role="api") is False
assert not [m for m in sys.modules if m.startswith("opentelemetry")], "imported while off"
try:
    tracing.setup(endpoint="http://127.0.0.1:4318/v1/traces", role="api")
except Exception as exc:
    print(type(exc).__name__, exc.field, exc.description)
"""


def test_off_imports_nothing_and_on_without_the_sdk_is_a_clear_error() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    server = str(Path(__file__).resolve().parents[2] / "server")
    env = {**os.environ, "PYTHONPATH": server}
    done = subprocess.run([sys.executable, "-c", _WITHOUT_OTEL], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "InvalidArgumentError otlp_endpoint tracing needs the OpenTelemetry SDK: " \
                                  "pip install 'postwave[tracing]'"

"""OpenTelemetry tracing of a message's path: accept -> queue -> render -> DKIM -> SMTP.

Off by default. With ``otlp_endpoint`` empty nothing from OpenTelemetry is imported and
every hook here is a check of one module-level flag, so the hot path pays nothing; the
worker is not even wrapped. With an endpoint set but the packages missing, start-up fails
with a clear error (``pip install postwave[tracing]``) instead of silently not tracing.

One trace per message, across processes, without carrying a context through the queue:
the trace id is derived from the message id (:func:`trace_id_of`) and the acceptance span's
id from its random half (:func:`root_span_id_of`). The API records the ``accept`` span as the
root; a worker, holding only the message id, rebuilds that span's context as a remote
parent and hangs ``queue`` and ``deliver`` (with ``render``, ``dkim``, ``mx``, ``smtp``)
under it. Sampling (``trace_sample_ratio``) decides on the trace id alone, so every process
makes the same choice for a message. Log lines carry the same trace id (``postwave.logs``).
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
import logging
import time
from collections.abc import Sequence
from typing import Any

from postwave.errors import InvalidArgumentError

log = logging.getLogger(__name__)

ENABLED = False  # read by the hooks; True only after setup() with an exporter

_tracer: Any = None
_provider: Any = None
# (trace_id, span_id) the id generator hands out for the next root span of a message.
_next_ids: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar("postwave_next_ids", default=None)

DELIVER_STEPS = {  # Deliverer method -> span name
    "compose_message": "render",
    "sign_message": "dkim",
    "resolve_destination": "mx",
    "send": "smtp",
}


def trace_id_of(message_id: str) -> int:
    """The 128-bit trace id of a message: its hex id itself (time + 64 random bits), else a hash."""
    try:
        value = int(message_id, 16)
        if 0 < value < 1 << 128 and len(message_id) >= 16:
            return value
    except ValueError:
        pass
    return int.from_bytes(hashlib.sha256(message_id.encode("utf-8")).digest()[:16], "big") or 1


def root_span_id_of(message_id: str) -> int:
    """The 64-bit id of a message's ``accept`` span (the random low half of its trace id)."""
    return (trace_id_of(message_id) & ((1 << 64) - 1)) or 1


def trace_hex(message_id: str) -> str:
    """The trace id of a message as the 32 hex digits trace UIs show."""
    return f"{trace_id_of(message_id):032x}"


def setup(*, endpoint: str, sample_ratio: float = 1.0, role: str, exporter: Any = None) -> bool:
    """Start tracing to ``endpoint`` (OTLP/HTTP) or to ``exporter`` (any SpanExporter; tests).

    Returns whether tracing is on. Neither given: off, and nothing is imported.
    """
    global ENABLED, _tracer, _provider
    if not endpoint and exporter is None:
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SimpleSpanProcessor,
        )
        from opentelemetry.sdk.trace.sampling import TraceIdRatioBased
    except ImportError:
        raise InvalidArgumentError(
            "otlp_endpoint", "tracing needs the OpenTelemetry SDK: pip install 'postwave[tracing]'"
        ) from None
    from postwave import __version__

    provider = TracerProvider(
        resource=Resource.create({"service.name": "postwave", "service.version": __version__,
                                  "postwave.role": role}),
        sampler=TraceIdRatioBased(sample_ratio),
        id_generator=_message_id_generator(),
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        provider.add_span_processor(BatchSpanProcessor(_otlp_exporter(endpoint)))
    _provider = provider
    _tracer = provider.get_tracer("postwave")
    ENABLED = True
    log.info("tracing on: %s, sampling %.3g of messages", endpoint or type(exporter).__name__, sample_ratio)
    return True


def _otlp_exporter(endpoint: str) -> Any:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )
    except ImportError:
        raise InvalidArgumentError(
            "otlp_endpoint", "the OTLP exporter is missing: pip install 'postwave[tracing]'"
        ) from None
    return OTLPSpanExporter(endpoint=endpoint)


def _message_id_generator() -> Any:
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class MessageIdGenerator(RandomIdGenerator):
        """Random ids, except for a message's root span, whose ids come from its message id."""

        def generate_trace_id(self) -> int:
            ids = _next_ids.get()
            return ids[0] if ids else super().generate_trace_id()

        def generate_span_id(self) -> int:
            ids = _next_ids.get()
            if ids:
                _next_ids.set(None)  # only the root span takes it; its children get random ids
                return ids[1]
            return super().generate_span_id()

    return MessageIdGenerator()


def shutdown() -> None:
    """Flush pending spans and turn tracing off."""
    global ENABLED, _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    ENABLED, _tracer, _provider = False, None, None


def configure(config: Any, role: str) -> bool:
    """:func:`setup` from a Config (``otlp_endpoint``, ``trace_sample_ratio``)."""
    return setup(endpoint=config.otlp_endpoint, sample_ratio=config.trace_sample_ratio, role=role)


# --- acceptance (api role) ---

def record_accept(message_ids: Sequence[str], *, tenant: str, lane: str, outcome: str,
                  start_ns: int, commit_ns: int, end_ns: int) -> None:
    """Record each message's root ``accept`` span (with its ``commit`` child) after the fact."""
    if not ENABLED:
        return
    from opentelemetry import context as otel_context
    from opentelemetry import trace

    attributes = {"postwave.tenant": tenant, "postwave.lane": lane, "postwave.accept.outcome": outcome}
    for mid in message_ids:
        token = _next_ids.set((trace_id_of(mid), root_span_id_of(mid)))
        try:
            root = _tracer.start_span("accept", context=otel_context.Context(), start_time=start_ns,
                                      attributes={**attributes, "postwave.message_id": mid})
        finally:
            _next_ids.reset(token)
        commit = _tracer.start_span("commit", context=trace.set_span_in_context(root), start_time=commit_ns)
        commit.end(end_time=end_ns)
        root.end(end_time=end_ns)


# --- delivery (worker role) ---

def _message_parent(message_id: str) -> Any:
    from opentelemetry import trace

    parent = trace.SpanContext(
        trace_id=trace_id_of(message_id), span_id=root_span_id_of(message_id), is_remote=True,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(trace.NonRecordingSpan(parent))


def instrument_deliverer(deliverer: Any) -> bool:
    """Wrap a Deliverer's ``deliver`` and guard steps in spans; nothing when tracing is off."""
    if not ENABLED:
        return False
    if getattr(deliverer, "_postwave_traced", False):
        return True  # already wrapped (build_worker does it; a caller may ask again)
    deliverer._postwave_traced = True
    original = deliverer.deliver

    @functools.wraps(original)
    async def deliver(lease: Any, message: Any, suppressed: Any, load: Any) -> Any:
        parent = _message_parent(lease.message_id)
        attributes = {"postwave.message_id": lease.message_id, "postwave.tenant": lease.tenant_id,
                      "postwave.lane": lease.lane, "postwave.deliveries": lease.deliveries}
        if message is not None:
            queued = _tracer.start_span("queue", context=parent, start_time=int(message.updated * 1e9),
                                        attributes=attributes)
            queued.end()
        with _tracer.start_as_current_span("deliver", context=parent, attributes=attributes,
                                           record_exception=False) as span:
            result = await original(lease, message, suppressed, load)
            outcome = getattr(result, "outcome", None)
            span.set_attribute("postwave.outcome", outcome.state if outcome is not None else "skipped")
            attempt = getattr(outcome, "attempt", None)
            if attempt is not None and attempt.smtp_code:
                span.set_attribute("smtp.reply_code", attempt.smtp_code)
                span.set_attribute("smtp.host", attempt.mx_host)
            return result

    deliverer.deliver = deliver
    for method, name in DELIVER_STEPS.items():
        setattr(deliverer, method, _step(getattr(deliverer, method), name))
    return True


def _step(fn: Any, name: str) -> Any:
    """A guard step in its own span (a child of the current ``deliver`` span)."""
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def async_step(*args: Any, **kwargs: Any) -> Any:
            with _tracer.start_as_current_span(name, record_exception=False):
                return await fn(*args, **kwargs)
        return async_step

    @functools.wraps(fn)
    def step(*args: Any, **kwargs: Any) -> Any:
        with _tracer.start_as_current_span(name, record_exception=False):
            return fn(*args, **kwargs)
    return step


def current_trace_id() -> str:
    """The trace id of the active span as 32 hex digits, or "" (tracing off or no span)."""
    if not ENABLED:
        return ""
    from opentelemetry import trace

    ctx = trace.get_current_span().get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else ""


def now_ns() -> int:
    """Wall-clock nanoseconds, as span timestamps use."""
    return time.time_ns()

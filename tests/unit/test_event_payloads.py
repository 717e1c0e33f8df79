"""The events stream's payloads (queue/nats_events.py): what a worker publishes is what the
store writer and the consumers read back."""

from __future__ import annotations

import datetime as dt

import pytest
from postwave.queue.nats_events import decode, encode, event_subject, stream_event_id
from postwave.store.base import Attempt, EventRecord, Suppression

EVENT = EventRecord("t_1", "m_1", "bounced", 1_800_000_000.25, "550 5.1.1 no such user", "a@b.test", "s1", "b1",
                    '{"k": "v"}')


def test_an_event_reads_back_with_its_attempt_suppression_and_breaker_stream() -> None:
    attempt = Attempt("m_1", 1_800_000_000.5, "mx.b.test", 550, "5.1.1 no such user", "bounced")
    got = decode(encode(EVENT, Suppression("t_1", "a@b.test", "bounce: 5.1.1"), attempt, "bulk"), event_id=42)
    assert got.event == EventRecord(*[getattr(EVENT, f) for f in ("tenant_id", "message_id", "type", "time",
                                                                  "detail", "recipient", "send_id", "batch_id",
                                                                  "custom_args")], id=42)
    assert got.attempt == attempt
    assert got.suppress == {"address": "a@b.test", "reason": "bounce: 5.1.1"}
    assert got.breaker_stream == "bulk"


@pytest.mark.parametrize("code", [None, 0, 421])
def test_an_attempt_without_a_reply_code_reads_back_too(code: int | None) -> None:
    attempt = Attempt("m_1", 1.0, "", code, "connection refused", "deferred")  # type: ignore[arg-type]
    got = decode(encode(EVENT, attempt=attempt))
    assert got.attempt == attempt and got.suppress is None and got.breaker_stream == ""


def test_subjects_and_ids() -> None:
    assert event_subject("t_1", "delivered") == "events.t_1.delivered"
    assert event_subject("tenant with spaces", "bounced").startswith("events.x")  # hex-encoded, one token
    at = dt.datetime(2027, 1, 15, 9, 30, 0, 123456, tzinfo=dt.timezone.utc)
    micros = int(at.timestamp()) * 1_000_000 + 123456
    assert stream_event_id(at, 7) == micros * 1000 + 7
    assert stream_event_id(at, 12_345) == micros * 1000 + 345  # the sequence's last three digits

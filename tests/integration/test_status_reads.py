"""GetStatus on the CQL store while the events stream's store writer lands an outcome.

In distributed mode a worker records a message's new state, and the store writer stores the
outcome's event and its attempt a moment later, in one batch per message. A status read that
straddles that batch must not show the event without the attempt that led to it.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

from postwave.api.auth import Principal
from postwave.api.send import SendServicer
from postwave.store.base import AcceptedRequest, Attempt, EventRecord, NewMessage, Outcome
from postwave.store.cql import CqlStore
from postwave.v1 import send_pb2


def _then(fn: Callable[..., Any], after: Callable[[], None]) -> Callable[..., Any]:
    """``fn``, running ``after`` once the call has read its rows."""
    if inspect.iscoroutinefunction(fn):
        async def called_async(*args: Any) -> Any:
            rows = await fn(*args)
            after()
            return rows
        return called_async

    def called(*args: Any) -> Any:
        rows = fn(*args)
        after()
        return rows
    return called


async def test_a_status_that_shows_an_outcome_shows_its_attempt(store: CqlStore) -> None:
    now = time.time()
    store.accept([AcceptedRequest(
        request_id="r1", tenant_id="t1", send_id="", batch_id="b1", body_hash=b"h", payload=b"p",
        lane="transactional", send_at=now, created=now, expires=now + 3600,
        messages=(NewMessage("r1-m000", 0, "ann@ok.test", "accepted"),), response=b"resp",
    )], [EventRecord("t1", "r1-m000", "accepted", now)], "d")
    attempt = Attempt("r1-m000", now + 1, "mx.ok.test", 250, "250 2.0.0 queued", "delivered")
    delivered = EventRecord("t1", "r1-m000", "delivered", now + 1, id=int((now + 1) * 1_000_000) * 1000)
    # The worker's part: the state, with the event and attempt left to the events stream.
    store.record_outcomes([Outcome("r1-m000", "t1", "delivered", attempt, (), attempt_elsewhere=True)])

    landed: list[bool] = []

    def store_writer() -> None:  # the store writer's batch lands between GetStatus's two reads
        if not landed:
            store.store_stream_events([delivered], 1, delivered.id, [attempt])
            landed.append(True)

    store.get_attempts = _then(store.get_attempts, store_writer)  # type: ignore[method-assign]
    store.list_events_async = _then(store.list_events_async, store_writer)  # type: ignore[method-assign]
    servicer = SendServicer(auth=None, acceptor=None, store=store)  # type: ignore[arg-type]  # no RPC layer here
    who = Principal("t1", "k1", ("mail.read",), False)
    status = await SendServicer.GetStatus.__wrapped__(  # type: ignore[attr-defined]  # past the auth wrapper
        servicer, who, send_pb2.GetStatusRequest(message_id="r1-m000"), None)

    assert landed, "the store writer's batch landed during the read"
    assert status.state == "delivered"
    shown = [e.type for e in status.events]
    assert "delivered" not in shown or [a.smtp_code for a in status.attempts] == [250], (shown, status.attempts)

    again = await SendServicer.GetStatus.__wrapped__(  # type: ignore[attr-defined]
        servicer, who, send_pb2.GetStatusRequest(message_id="r1-m000"), None)
    assert [e.type for e in again.events] == ["accepted", "delivered"]
    assert [(a.smtp_code, a.mx_host) for a in again.attempts] == [(250, "mx.ok.test")]

"""The postwave client: one channel, the API key on every call, and the helpers tenants need."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import grpc

from postwave_client.idempotency import new_idempotency_key
from postwave_client.retry import RETRYABLE_ITEM_CODES, RetryPolicy
from postwave_client.v1 import (
    admin_pb2_grpc,
    events_pb2,
    events_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
)

FINAL_STATES = frozenset({"delivered", "bounced", "failed", "dropped", "cancelled"})


class Client:
    """A client of one postwave API server.

    Every call carries ``authorization: Bearer <api_key>``. Calls the server refused without
    doing anything (UNAVAILABLE, RESOURCE_EXHAUSTED) are retried as ``retry`` says. Every
    :meth:`send` carries an idempotency key (yours, or a fresh one), so a retry can never
    deliver a message twice.

    The generated stubs stay reachable as :attr:`sends`, :attr:`events_stub` and :attr:`admin`
    for calls without a helper; pass them :attr:`metadata`.
    """

    def __init__(
        self,
        target: str,
        api_key: str,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 30.0,
        options: Sequence[tuple[str, Any]] = (),
    ) -> None:
        if credentials is None:
            self.channel = grpc.insecure_channel(target, options=options)
        else:
            self.channel = grpc.secure_channel(target, credentials, options=options)
        self.metadata = (("authorization", f"Bearer {api_key}"),)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.sends = send_pb2_grpc.SendServiceStub(self.channel)
        self.events_stub = events_pb2_grpc.EventServiceStub(self.channel)
        self.admin = admin_pb2_grpc.AdminServiceStub(self.channel)

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, request: send_pb2.SendRequest, *, idempotency_key: str | None = None) -> send_pb2.SendResponse:
        """Accept one request; ``idempotency_key`` (or a new random one) becomes its ``send_id``."""
        request = _with_send_id(request, idempotency_key)
        return self.retry.call(lambda: self.sends.Send(request, metadata=self.metadata, timeout=self.timeout))

    def send_stream(self, requests: Iterable[send_pb2.SendRequest]) -> list[send_pb2.SendResponse]:
        """Send many requests over one BatchSend stream; one response per request, in order.

        Each item without a ``send_id`` gets one, so items whose answer was UNAVAILABLE or
        RESOURCE_EXHAUSTED (or that a broken stream left unanswered) are sent again safely,
        within the retry policy. Other per-item errors are returned as they are: check
        ``response.code`` (0 = accepted) and ``response.error``.
        """
        items = [_with_send_id(r, None) for r in requests]
        results: list[send_pb2.SendResponse | None] = [None] * len(items)
        todo = list(range(len(items)))
        for attempt in range(self.retry.max_attempts):
            error: grpc.RpcError | None = None
            try:
                replies = self.sends.BatchSend(iter([items[i] for i in todo]), metadata=self.metadata)
                for index, reply in zip(todo, replies):
                    results[index] = reply
            except grpc.RpcError as exc:
                if not self.retry.retryable(exc) or attempt + 1 >= self.retry.max_attempts:
                    raise
                error = exc
            todo = [i for i in todo if results[i] is None or results[i].code in RETRYABLE_ITEM_CODES]  # type: ignore[union-attr]
            if not todo or attempt + 1 >= self.retry.max_attempts:
                break
            time.sleep(self.retry.delay(attempt, error))
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            raise RuntimeError(f"BatchSend answered {len(items) - len(missing)} of {len(items)} requests")
        return [r for r in results if r is not None]

    def get_status(self, message_id: str) -> send_pb2.MessageStatus:
        """A message's state, delivery attempts and events."""
        request = send_pb2.GetStatusRequest(message_id=message_id)
        return self.retry.call(lambda: self.sends.GetStatus(request, metadata=self.metadata, timeout=self.timeout))

    def wait_for_state(
        self, message_id: str, states: Iterable[str] = FINAL_STATES, *, timeout: float = 60.0, interval: float = 0.2
    ) -> send_pb2.MessageStatus:
        """Poll :meth:`get_status` until the message reaches one of ``states``."""
        wanted = frozenset(states)
        deadline = time.monotonic() + timeout
        while True:
            status = self.get_status(message_id)
            if status.state in wanted or time.monotonic() >= deadline:
                return status
            time.sleep(interval)

    def events(
        self, *, cursor: int = 0, types: Sequence[str] = (), message_id: str = "", follow: bool = True,
        timeout: float | None = None,
    ) -> Iterator[send_pb2.Event]:
        """The tenant's events after ``cursor``; with ``follow``, new ones as they happen.

        A broken stream is resumed from the last event seen, so none is lost or repeated.
        Stop by breaking out of the loop (the stream is cancelled), or give ``timeout``
        (seconds for the whole tail; it ends with DEADLINE_EXCEEDED).
        """
        attempt = 0
        while True:
            request = events_pb2.StreamEventsRequest(types=types, message_id=message_id, cursor=cursor, no_follow=not follow)
            call = self.events_stub.StreamEvents(request, metadata=self.metadata, timeout=timeout)
            try:
                for event in call:
                    cursor, attempt = event.id, 0
                    yield event
                return
            except grpc.RpcError as exc:
                if not self.retry.retryable(exc) or attempt + 1 >= self.retry.max_attempts:
                    raise
                time.sleep(self.retry.delay(attempt, exc))
                attempt += 1
            finally:
                call.cancel()

    def cancel_scheduled(self, *, send_id: str = "", batch_id: str = "") -> send_pb2.CancelScheduledResponse:
        """Cancel still-scheduled messages of a send_id or a batch_id."""
        request = send_pb2.CancelScheduledRequest(send_id=send_id) if send_id else send_pb2.CancelScheduledRequest(batch_id=batch_id)
        return self.retry.call(lambda: self.sends.CancelScheduled(request, metadata=self.metadata, timeout=self.timeout))


def message(
    *, sender: str, to: Sequence[str], subject: str = "", text: str = "", html: str = "", **fields: Any
) -> send_pb2.SendRequest:
    """A SendRequest with one personalization (``from`` is a Python keyword, hence ``sender``)."""
    request = send_pb2.SendRequest(
        subject=subject, text=text, html=html, personalizations=[send_pb2.Personalization(to=list(to))], **fields
    )
    setattr(request, "from", sender)
    return request


def _with_send_id(request: send_pb2.SendRequest, key: str | None) -> send_pb2.SendRequest:
    if key is not None and request.send_id and request.send_id != key:
        raise ValueError(f"request.send_id {request.send_id!r} differs from idempotency_key {key!r}")
    if request.send_id and key is None:
        return request
    copy = send_pb2.SendRequest()
    copy.CopyFrom(request)
    copy.send_id = key or new_idempotency_key()
    return copy

"""Retries with exponential back-off for calls the server refused without doing anything.

Only UNAVAILABLE (a backend is down; nothing was accepted) and RESOURCE_EXHAUSTED (the
tenant's rate or daily quota is used up) are retried. When the server says how long to wait
(a ``google.rpc.RetryInfo`` in the status details), that delay is honoured; otherwise the
delay doubles from ``initial_backoff`` up to ``max_backoff``, with jitter.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from typing import TypeVar

import grpc
from google.rpc import error_details_pb2, status_pb2

T = TypeVar("T")

RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
# The same two codes as numbers, for the per-item ``code`` of BatchSend/SendBatch responses.
RETRYABLE_ITEM_CODES = frozenset({14, 8})


def retry_info_delay(error: grpc.RpcError | None) -> float | None:
    """The delay a ``google.rpc.RetryInfo`` detail of the error asks for, in seconds."""
    trailers = error.trailing_metadata() if isinstance(error, grpc.Call) else None
    for key, value in trailers or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                info = error_details_pb2.RetryInfo()
                detail.Unpack(info)
                return float(info.retry_delay.seconds + info.retry_delay.nanos / 1e9)
    return None


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; ``max_attempts=1`` turns retries off."""

    max_attempts: int = 5
    initial_backoff: float = 0.2
    max_backoff: float = 10.0
    multiplier: float = 2.0

    def retryable(self, error: BaseException) -> bool:
        """Whether an error is one worth retrying."""
        return isinstance(error, grpc.RpcError) and isinstance(error, grpc.Call) and error.code() in RETRYABLE

    def delay(self, attempt: int, error: grpc.RpcError | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0)."""
        hint = retry_info_delay(error)
        if hint is not None:
            return hint * random.uniform(1.0, 1.1)  # at least what the server asked
        ceiling = min(self.max_backoff, self.initial_backoff * self.multiplier**attempt)
        return random.uniform(ceiling / 2, ceiling)

    def call(self, fn: Callable[[], T], *, sleep: Callable[[float], None] = time.sleep) -> T:
        """Call ``fn`` until it succeeds, fails for good, or the attempts run out."""
        for attempt in range(self.max_attempts):
            try:
                return fn()
            except grpc.RpcError as error:
                if not self.retryable(error) or attempt + 1 >= self.max_attempts:
                    raise
                sleep(self.delay(attempt, error))
        raise AssertionError("unreachable")


NO_RETRY = RetryPolicy(max_attempts=1)

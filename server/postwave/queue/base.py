"""The Queue protocol: lanes of message ids, claimed with leases.

A claimed item belongs to its claimer until the lease runs out; if the claimer dies, the
item becomes claimable again, so nothing accepted is lost (at-least-once delivery).
``embedded.py`` keeps the queue in the SQLite file; ``nats.py`` uses NATS JetStream.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from postwave.store.base import Outcome

LANES = ("transactional", "bulk")


@dataclasses.dataclass(frozen=True, slots=True)
class QueueItem:
    """A message to deliver, no earlier than ``available_at``."""

    message_id: str
    tenant_id: str
    lane: str
    available_at: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class Lease:
    """A claimed item; ``deliveries`` counts how often it has been claimed."""

    message_id: str
    tenant_id: str
    lane: str
    deliveries: int


@dataclasses.dataclass(frozen=True, slots=True)
class QueueStats:
    """A lane's depth (queued plus leased) and the age in seconds of its oldest item."""

    depth: int
    oldest_age: float


class Queue(Protocol):
    """Durable lanes of messages to deliver."""

    async def publish(self, items: Sequence[QueueItem]) -> None:
        """Add items durably; an id already queued is not added twice."""

    async def claim(self, lane: str, limit: int, lease_seconds: float) -> list[Lease]:
        """Take up to ``limit`` ready items, served fairly across tenants."""

    async def claim_lanes(self, limit: int, bulk_room: int, lease_seconds: float) -> tuple[list[Lease], list[Lease]]:
        """Transactional items up to ``limit``, then bulk items into what is left of it, at
        most ``bulk_room`` (see bulk_room_left): a worker's claim of both lanes."""

    async def ack(self, leases: Sequence[Lease]) -> None:
        """Remove finished items."""

    async def nak(self, leases: Sequence[tuple[Lease, float]]) -> None:
        """Give items back, each claimable again after its delay in seconds."""

    async def touch(self, leases: Sequence[Lease], lease_seconds: float) -> None:
        """Extend the leases of items still being worked on (slow receiving servers)."""

    async def depth(self, lane: str) -> int:
        """Items in a lane, ready or not (the autoscaling signal)."""

    async def stats(self, lane: str) -> QueueStats:
        """Depth and oldest item's age (the metrics and autoscaling signals)."""

    async def ping(self) -> bool:
        """Whether the queue answers (readiness)."""

    async def close(self) -> None:
        """Release connections."""


class EventSink(Protocol):
    """Where a worker's delivery events go instead of the store (the events stream)."""

    async def publish_outcomes(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """Publish the outcomes' events durably; the outcomes left for the store to record."""


def bulk_room_left(limit: int, transactional: int, bulk_room: int) -> int:
    """How many bulk items a claim of both lanes takes after ``transactional`` ones."""
    return max(0, min(limit - transactional, bulk_room))

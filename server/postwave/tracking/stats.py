"""Statistics from the event log: counts per day, tag, stream or recipient domain.

Computed when asked, from the events of the period (no counters on the write path, so
every stage that writes events stays as it is). Opens and clicks are counted human and
machine apart, from the verdict the tracker stored with each.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence

from postwave.api.convert import engagement
from postwave.store.base import EventRecord, MessageRecord, Store
from postwave.v1 import send_pb2

PAGE = 1000
DAY = "day"
TAG = "tag"
STREAM = "stream"
DOMAIN = "domain"

_COUNTED = {"accepted": "sent", "delivered": "delivered", "bounced": "bounced", "complained": "complained",
            "unsubscribed": "unsubscribed"}


@dataclasses.dataclass
class Counts:
    """The counters of one row."""

    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    complained: int = 0
    opened_human: int = 0
    opened_machine: int = 0
    clicked_human: int = 0
    clicked_machine: int = 0
    unsubscribed: int = 0
    opened_by: set[str] = dataclasses.field(default_factory=set)  # messages opened by a human
    clicked_by: set[str] = dataclasses.field(default_factory=set)

    def add(self, e: EventRecord) -> None:
        """Count one event."""
        if e.type in _COUNTED:
            name = _COUNTED[e.type]
            setattr(self, name, getattr(self, name) + 1)
            return
        if e.type not in ("opened", "clicked"):
            return
        machine, _ = engagement(e)
        name = f"{e.type}_{'machine' if machine else 'human'}"
        setattr(self, name, getattr(self, name) + 1)
        if not machine:
            (self.opened_by if e.type == "opened" else self.clicked_by).add(e.message_id)


def day_of(t: float) -> str:
    """The UTC day of a time."""
    return time.strftime("%Y-%m-%d", time.gmtime(t))


def domain_of(recipient: str) -> str:
    """The domain of an address ("" if none)."""
    return recipient.rpartition("@")[2].strip(">").lower()


def collect(store: Store, tenant_id: str, start: float, end: float, group_by: str) -> tuple[dict[str, Counts], Counts]:
    """Rows keyed by day, tag, stream or domain, and the total, over events in [start, end).

    The total counts each event once (a message with two tags is in two tag rows).
    """
    rows: dict[str, Counts] = {}
    overall = Counts()
    lookup = _Messages(store)
    cursor = 0
    while True:
        page = store.events_since(tenant_id, start, cursor, PAGE)
        if not page:
            return rows, overall
        cursor = page[-1].id
        events = [e for e in page if start <= e.time < end]
        for e, event_keys in zip(events, _keys(events, group_by, lookup)):
            overall.add(e)
            for key in event_keys:
                rows.setdefault(key, Counts()).add(e)
        if page[-1].time >= end:
            return rows, overall


def _keys(events: Sequence[EventRecord], group_by: str, lookup: _Messages) -> list[Iterable[str]]:
    if group_by == DAY:
        return [(day_of(e.time),) for e in events]
    if group_by == DOMAIN:
        return [(domain_of(e.recipient),) for e in events]
    messages = lookup.messages([e.message_id for e in events])
    if group_by == STREAM:
        return [(messages[e.message_id].lane,) if e.message_id in messages else () for e in events]
    return [lookup.tags(messages[e.message_id]) if e.message_id in messages else () for e in events]


class _Messages:
    """Messages and request tags, each read once per statistics run."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._messages: dict[str, MessageRecord] = {}
        self._tags: dict[str, tuple[str, ...]] = {}

    def messages(self, ids: Sequence[str]) -> dict[str, MessageRecord]:
        missing = [m for m in dict.fromkeys(ids) if m and m not in self._messages]
        if missing:
            self._messages.update((m.message_id, m) for m in self.store.get_messages(missing))
        return self._messages

    def tags(self, message: MessageRecord) -> tuple[str, ...]:
        if message.request_id not in self._tags:
            payload = self.store.get_payload(message.request_id)
            self._tags[message.request_id] = tuple(send_pb2.SendRequest.FromString(payload).tags) if payload else ()
        return self._tags[message.request_id]


def rates(counts: Counts) -> dict[str, float]:
    """The rates of a row (0 when the denominator is 0)."""
    def ratio(part: int, whole: int) -> float:
        return part / whole if whole else 0.0

    return {
        "delivery_rate": ratio(counts.delivered, counts.sent),
        "bounce_rate": ratio(counts.bounced, counts.sent),
        "complaint_rate": ratio(counts.complained, counts.delivered),
        "open_rate": ratio(len(counts.opened_by), counts.delivered),
        "click_rate": ratio(len(counts.clicked_by), counts.delivered),
    }

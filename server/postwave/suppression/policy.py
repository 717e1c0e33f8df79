"""The suppression policy: who gets suppressed, for how long, and how entries are keyed.

- Hard bounces and complaints suppress at once and for good (the worker and the feedback
  receiver write those); unsubscribes suppress per tenant (the tracker).
- Soft bounces (a full mailbox, a temporarily disabled account) suppress only when they
  repeat: ``soft_bounce_limit`` of them within ``soft_bounce_window_hours`` suppress the
  address for ``soft_bounce_suppress_hours``, after which it lifts by itself (a TTL in the
  CQL store) and the count starts again.
- An automatic suppression never weakens an existing one: a permanent entry stays
  permanent, and a temporary one is only ever extended. Manual changes go through the API.

The feedback receiver calls :meth:`SuppressionPolicy.record_soft_bounce` for each soft
bounce and :meth:`SuppressionPolicy.suppress` for hard bounces and complaints. The methods
block (they call the store): call them from a worker thread (``asyncio.to_thread``).
"""

from __future__ import annotations

import dataclasses
import re
import time

from postwave.config import Config
from postwave.errors import InvalidArgumentError
from postwave.render.addresses import parse_address
from postwave.store.base import Store, Suppression

_HASHED = re.compile(r"sha256:[0-9a-f]{64}")  # an erased address (right to erasure) keeps its suppression so
MAX_REASON = 256


@dataclasses.dataclass(frozen=True, slots=True)
class SourceEvent:
    """What caused a suppression: an event type (bounced, complained, unsubscribed,
    soft_bounces) or an action (manual, import), and the event and message when there are."""

    type: str
    event_id: str = ""
    message_id: str = ""


def suppression_key(value: str, *, field: str = "address") -> str:
    """The key a suppression is stored under: the bare address, lower case (acceptance and
    the worker look recipients up the same way). An erased address's hash stands for itself."""
    if _HASHED.fullmatch(value):
        return value
    _, address = parse_address(value, field=field)
    return address.lower()


def check_reason(reason: str, *, field: str = "reason") -> str:
    """A reason fit to store and show: at most MAX_REASON characters, no control characters."""
    if len(reason) > MAX_REASON or any(ord(c) < 32 or ord(c) == 127 for c in reason):
        raise InvalidArgumentError(field, f"at most {MAX_REASON} characters, no control characters (CR, LF, ...)")
    return reason


class SuppressionPolicy:
    """Applies the policy above to one store."""

    def __init__(self, store: Store, *, soft_bounce_limit: int, soft_bounce_window: float,
                 soft_bounce_suppress: float) -> None:
        self.store = store
        self.soft_bounce_limit = soft_bounce_limit
        self.soft_bounce_window = soft_bounce_window
        self.soft_bounce_suppress = soft_bounce_suppress

    @classmethod
    def from_config(cls, store: Store, config: Config) -> SuppressionPolicy:
        """The policy with the configured soft-bounce limit, window and duration."""
        return cls(store, soft_bounce_limit=config.soft_bounce_limit,
                   soft_bounce_window=config.soft_bounce_window_hours * 3600,
                   soft_bounce_suppress=config.soft_bounce_suppress_hours * 3600)

    def suppress(self, tenant: str, address: str, reason: str, source_event: SourceEvent,
                 expires: float | None) -> Suppression:
        """Suppress an address (``expires`` None = for good) unless a stronger entry exists; the entry in force."""
        key = suppression_key(address)
        now = time.time()
        existing = self.store.get_suppression(tenant, key, now)
        if existing is not None and (existing.expires is None or (expires is not None and existing.expires >= expires)):
            return existing
        entry = Suppression(tenant, key, check_reason(reason), expires, source=source_event.type,
                            source_event_id=source_event.event_id, message_id=source_event.message_id, created=now)
        self.store.put_suppressions([entry])
        return entry

    def record_soft_bounce(self, tenant: str, address: str, event_id: str | int, now: float,
                           message_id: str = "") -> bool:
        """Count a soft bounce; True when it suppressed the address (temporarily)."""
        key = suppression_key(address)
        count = self.store.count_soft_bounce(tenant, key, str(event_id), now, self.soft_bounce_window)
        if count < self.soft_bounce_limit:
            return False
        hours = self.soft_bounce_window / 3600
        self.suppress(tenant, key, f"{count} soft bounces within {hours:g} h",
                      SourceEvent("soft_bounces", str(event_id), message_id), now + self.soft_bounce_suppress)
        self.store.clear_soft_bounces(tenant, key)
        return True

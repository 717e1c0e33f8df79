"""The Store protocol and the records it keeps.

Every stage talks to this interface only; ``embedded.py`` (SQLite) implements it today and
``cql.py`` (ScyllaDB) will. The same contract tests run against each implementation.
Methods are synchronous and called from a worker thread by the async stages, because both
SQLite and the CQL driver block.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol


@dataclasses.dataclass(frozen=True, slots=True)
class Tenant:
    """A customer of the platform; ``operator`` tenants may manage other tenants."""

    tenant_id: str
    name: str
    rate_per_second: float
    daily_quota: int
    created: float
    operator: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key; only ``secret_hash`` (sha256 of the secret) is stored."""

    key_id: str
    tenant_id: str
    name: str
    scopes: tuple[str, ...]
    secret_hash: bytes
    created: float
    revoked: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class TemplateRecord:
    """One version of a stored template."""

    tenant_id: str
    template_id: str
    version: int
    name: str
    subject: str
    text: str
    html: str
    created: float


@dataclasses.dataclass(frozen=True, slots=True)
class NewMessage:
    """One message of an accepted request: one personalization."""

    message_id: str
    index: int
    recipient: str
    state: str  # queued, scheduled or dropped
    detail: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class AcceptedRequest:
    """Everything a group commit writes for one send request."""

    request_id: str
    tenant_id: str
    send_id: str
    batch_id: str
    body_hash: bytes
    payload: bytes  # the serialized SendRequest
    lane: str
    send_at: float
    created: float
    expires: float
    messages: tuple[NewMessage, ...]
    response: bytes  # the serialized SendResponse, replayed for a repeated send_id


@dataclasses.dataclass(frozen=True, slots=True)
class IdempotencyHit:
    """A previous request with the same send_id."""

    body_hash: bytes
    response: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class MessageRecord:
    """A message as the worker needs it."""

    message_id: str
    tenant_id: str
    request_id: str
    index: int
    recipient: str
    state: str
    lane: str
    send_id: str
    batch_id: str
    created: float
    updated: float
    expires: float
    attempt_count: int


@dataclasses.dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt and the receiving server's reply."""

    message_id: str
    time: float
    mx_host: str
    smtp_code: int
    smtp_reply: str
    outcome: str


@dataclasses.dataclass(frozen=True, slots=True)
class EventRecord:
    """A state change of a message."""

    tenant_id: str
    message_id: str
    type: str
    time: float
    detail: str = ""
    recipient: str = ""
    send_id: str = ""
    batch_id: str = ""
    custom_args: str = ""  # JSON object
    id: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What a delivery attempt changes: the message state, an attempt, events, suppressions."""

    message_id: str
    tenant_id: str
    state: str
    attempt: Attempt | None
    events: tuple[EventRecord, ...]
    suppress: tuple[str, str] | None = None  # (address, reason)


@dataclasses.dataclass(frozen=True, slots=True)
class AcceptResult:
    """Per request of a group commit: written, or lost a race on its send_id."""

    request_id: str
    written: bool


class Store(Protocol):
    """Durable state of the platform."""

    def close(self) -> None:
        """Release connections."""

    # tenants and keys
    def create_tenant(self, tenant: Tenant) -> None:
        """Add a tenant; AlreadyExistsError if the name is taken."""

    def get_tenant(self, tenant_id: str) -> Tenant | None:
        """One tenant, or None."""

    def list_tenants(self) -> list[Tenant]:
        """Every tenant."""

    def create_key(self, key: ApiKeyRecord) -> None:
        """Store a new key."""

    def get_key(self, key_id: str) -> ApiKeyRecord | None:
        """One key by id, revoked or not."""

    def list_keys(self, tenant_id: str) -> list[ApiKeyRecord]:
        """A tenant's keys."""

    def revoke_key(self, tenant_id: str, key_id: str) -> ApiKeyRecord | None:
        """Mark a key revoked; None if the tenant has no such key."""

    # templates
    def create_template(self, template: TemplateRecord) -> TemplateRecord:
        """Store the next version (``template.version`` is ignored and assigned)."""

    def get_template(self, tenant_id: str, template_id: str, version: int = 0) -> TemplateRecord | None:
        """A version (0 = newest), or None."""

    def list_templates(self, tenant_id: str) -> list[TemplateRecord]:
        """The newest version of each template."""

    def delete_template(self, tenant_id: str, template_id: str) -> int:
        """Delete every version; returns how many."""

    # acceptance
    def get_idempotency(self, tenant_id: str, send_id: str, now: float) -> IdempotencyHit | None:
        """A live (< 24 h) earlier request with this send_id."""

    def suppressed(self, tenant_id: str, addresses: Sequence[str], now: float) -> dict[str, str]:
        """The subset of addresses suppressed for the tenant, with the reason."""

    def add_suppression(self, tenant_id: str, address: str, reason: str, expires: float | None) -> None:
        """Suppress an address (expires None = permanently)."""

    def usage(self, tenant_id: str, day: str) -> int:
        """Messages accepted for the tenant on a UTC day (YYYY-MM-DD)."""

    def accept(self, requests: Sequence[AcceptedRequest], events: Sequence[EventRecord], day: str) -> list[AcceptResult]:
        """Write requests, messages, their first events and usage in one durable commit."""

    # messages
    def get_message(self, message_id: str) -> MessageRecord | None:
        """One message, any tenant (callers check the tenant)."""

    def get_messages(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        """Several messages at once (missing ids are left out)."""

    def get_payload(self, request_id: str) -> bytes | None:
        """The serialized SendRequest of a request."""

    def get_attempts(self, message_id: str) -> list[Attempt]:
        """Delivery attempts, oldest first."""

    def record_outcomes(self, outcomes: Sequence[Outcome]) -> None:
        """Apply delivery results in one commit."""

    def set_state(self, message_ids: Sequence[str], state: str, events: Sequence[EventRecord]) -> None:
        """Change the state of messages and add events, in one commit."""

    def messages_in_state(self, state: str, after_id: str, limit: int) -> list[MessageRecord]:
        """Messages in a state, ordered by message id, after ``after_id`` (sweeper paging)."""

    # scheduling
    def due_scheduled(self, now: float, limit: int) -> list[MessageRecord]:
        """Scheduled messages whose send_at has come."""

    def cancel_scheduled(self, tenant_id: str, send_id: str, batch_id: str, now: float) -> list[str]:
        """Cancel a tenant's still-scheduled messages by send_id or batch_id."""

    # events
    def list_events(
        self, tenant_id: str, after_id: int, types: Sequence[str], message_id: str, limit: int
    ) -> list[EventRecord]:
        """A tenant's events with id > after_id, oldest first."""

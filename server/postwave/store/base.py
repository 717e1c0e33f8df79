"""The Store protocol and the records it keeps.

Every stage talks to this interface only; ``embedded.py`` (SQLite) and ``cql.py`` (ScyllaDB)
implement it, and the same contract tests run against each. Store methods block: async
stages call them from a worker thread. A store that can do better implements
:class:`AsyncStore` too (the CQL store, on the driver's ``execute_async``); :func:`as_async`
gives every store that face, natively or on worker threads.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Protocol, runtime_checkable


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
    # The message as the worker read it before this attempt: a store that needs the previous
    # state and attempt count (CQL, for its state index) takes them from here instead of
    # reading the row again. None: the store reads it.
    previous: MessageRecord | None = None
    # The events stream carries the attempt row to the store (queue/nats_events.py): the store
    # counts it in the message's attempts but does not write it.
    attempt_elsewhere: bool = False
    # With the events stream, a final outcome that counts toward the tenant's circuit breaker
    # names its stream here (transactional or bulk) and the stream's reputation consumer counts
    # it; "" = counted in the worker, or not at all (a policy refusal of our IP).
    breaker_stream: str = ""


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

    # --- deliverability: sending domains, DKIM selectors, feedback (owner: deliverability helper) ---
    def create_domain(self, domain: SendingDomain, selectors: Sequence[DkimSelectorRecord]) -> None:
        """Register a sending domain with its first selectors; AlreadyExistsError if any tenant has it."""

    def get_domain(self, domain: str) -> SendingDomain | None:
        """One sending domain (any tenant; callers check the tenant), or None."""

    def list_domains(self, tenant_id: str) -> list[SendingDomain]:
        """A tenant's sending domains; ``tenant_id`` "" = every tenant's (the periodic re-check)."""

    def update_domain(self, domain: SendingDomain) -> None:
        """Replace the state, verification times and report of a registered domain."""

    def list_selectors(self, domain: str) -> list[DkimSelectorRecord]:
        """Every DKIM selector of a domain (any state), oldest first."""

    def put_selectors(self, selectors: Sequence[DkimSelectorRecord]) -> None:
        """Insert or replace selectors (keyed by domain and selector)."""

    def record_feedback(self, events: Sequence[EventRecord], suppressions: Sequence[Suppression]) -> None:
        """Append feedback events (no message state changes: the mail was delivered before it
        bounced or drew a complaint) and suppressions, in one commit where the backend has one."""

    def keep_feedback_report(self, report: FeedbackReport) -> None:
        """Keep a report the feedback receiver could not use, for inspection."""

    def list_feedback_reports(self, limit: int) -> list[FeedbackReport]:
        """Kept reports, newest first."""

    # --- suppression management (owner: storage helper) ---
    def put_suppressions(self, entries: Sequence[Suppression]) -> None:
        """Insert or replace suppressions, with why (``created`` 0 = now)."""

    def get_suppression(self, tenant_id: str, address: str, now: float) -> Suppression | None:
        """An address's live suppression (an expired one counts as none), with why."""

    def list_suppressions(self, tenant_id: str, page_token: str, limit: int,
                          now: float) -> tuple[list[Suppression], str]:
        """A page of a tenant's live suppressions, and the token of the next page ("" = no more).

        Tokens are opaque and stable: a page token stays valid while entries come and go.
        InvalidArgumentError for a token this store did not make.
        """

    def remove_suppression(self, tenant_id: str, address: str) -> bool:
        """Lift a suppression; False if the address had none."""

    def count_soft_bounce(self, tenant_id: str, address: str, event_id: str, now: float, window: float) -> int:
        """Record a soft bounce; the address's soft bounces in the last ``window`` seconds, this one included."""

    def clear_soft_bounces(self, tenant_id: str, address: str) -> None:
        """Forget an address's soft bounces (they have just suppressed it)."""

    # --- tracking: engagement events, webhooks, stats, erasure (owner: tracking helper) ---
    def record_engagement(self, events: Sequence[EventRecord], suppressions: Sequence[tuple[str, str, str]]) -> None:
        """Append tracker events (opened, clicked, unsubscribed) and (tenant, address, reason) suppressions."""

    def create_webhook(self, endpoint: WebhookEndpoint) -> None:
        """Store a new webhook endpoint."""

    def get_webhook(self, endpoint_id: str) -> WebhookEndpoint | None:
        """One endpoint (any tenant; callers check the tenant), or None."""

    def list_webhooks(self, tenant_id: str) -> list[WebhookEndpoint]:
        """A tenant's endpoints, oldest first; ``tenant_id`` "" = every tenant's (the dispatcher)."""

    def delete_webhook(self, tenant_id: str, endpoint_id: str) -> bool:
        """Delete a tenant's endpoint; False if it has none by that id."""

    def set_webhook_settings(self, endpoint: WebhookEndpoint) -> None:
        """Write an endpoint's url, event types and secrets (not its delivery progress)."""

    def set_webhook_progress(self, endpoint_id: str, state: str, cursor: int, failing_since: float,
                             detail: str) -> None:
        """Write an endpoint's delivery progress: state, cursor (last event delivered), failure start."""

    def set_webhook_pending(self, endpoint_id: str, pending: int) -> None:
        """Write the last event id of the batch about to be posted (0 = none), so that a
        dispatcher that takes over after a crash posts that same batch again."""

    def events_since(self, tenant_id: str, since: float, after_id: int, limit: int) -> list[EventRecord]:
        """A tenant's events with id > after_id and time >= since, oldest first; page until an empty page."""

    def erase_recipient(self, tenant_id: str, address: str, replacement: str) -> int:
        """Remove an address from a tenant's messages, payloads, attempts, events and idempotency
        replies (``replacement`` stands in for it); re-key its suppressions to ``replacement``.
        Returns how many messages were touched."""

    # --- shaping: IP warm-up counts shared by every worker (owner: shaping helper) ---
    def reserve_ip_sends(self, ip: str, hour: int, want: int, hourly_cap: int, daily_cap: int) -> int:
        """Atomically count up to ``want`` sends from ``ip`` in UTC hour ``hour`` (epoch hours)
        and its day (``hour // 24``) without passing either cap; how many were granted (0..want)."""

    def ip_sends(self, ip: str, hour: int) -> tuple[int, int]:
        """Sends counted for ``ip`` in UTC hour ``hour`` and in its day: (hour's, day's)."""

    def ip_warmup_start(self, ip: str, now: float) -> float:
        """When ``ip`` began warming up: the first caller's ``now`` (kept), every later caller's answer."""

    # --- reputation (owner: reputation helper) ---
    def load_reputation(self, ips: Sequence[str], now: float) -> list[LaneReputation]:
        """The stored adaptive state of every (source IP, site) lane of ``ips`` ("" = the
        kernel's choice of address) written within REPUTATION_TTL of ``now``."""

    def merge_reputation(self, changes: Sequence[ReputationChange], now: float) -> list[LaneReputation]:
        """Merge workers' lane changes into the stored rows (atomically per lane, see
        shaping/reputation.py merge()); returns the merged rows, one per change."""

    # --- breakers: tenant circuit breakers (owner: reputation helper) ---
    def add_breaker_samples(self, samples: Sequence[BreakerSample]) -> None:
        """Append counted outcomes (deliveries, bounces, complaints) of tenants' streams."""

    def breaker_totals(self, tenant_id: str, stream: str, since: float, until: float) -> BreakerTotals:
        """The sums of a tenant's stream's samples stamped in [since, until]."""

    def get_breaker(self, tenant_id: str) -> BreakerState | None:
        """A tenant's breaker state (None: never tripped nor resumed = closed)."""

    def set_breaker(self, state: BreakerState, expected_version: int, audit: BreakerAudit,
                    events: Sequence[EventRecord]) -> bool:
        """Compare-and-set: write ``state`` (version ``expected_version + 1``), its audit record
        and its events if the stored version is still ``expected_version`` (0 = no row yet);
        False (nothing written) when another writer got there first."""

    def breaker_history(self, tenant_id: str, limit: int) -> list[BreakerAudit]:
        """A tenant's breaker audit records, newest first."""

    # --- batched reads for the worker (owner: CQL performance helper) ---
    def get_payloads(self, request_ids: Sequence[str]) -> dict[str, bytes]:
        """The serialized SendRequests of several requests at once, by request id (missing
        ones left out): what a worker's claim needs in one read instead of one per request."""


@dataclasses.dataclass(frozen=True, slots=True)
class SendingDomain:
    """A tenant's sending domain (the From domain) and its verification state."""

    tenant_id: str
    domain: str
    state: str  # pending (never verified), verified, drifted (a later check found records wrong)
    return_path: str  # the bounce domain: MAIL FROM of VERP return paths
    tracking_host: str  # the tenant-branded tracking host (CNAME)
    created: float
    verified: float = 0.0  # last check that found every required record
    checked: float = 0.0  # last check
    report: str = ""  # JSON: the per-record results of the last check


@dataclasses.dataclass(frozen=True, slots=True)
class DkimSelectorRecord:
    """One DKIM key of a domain; the private key is encrypted under the master key."""

    domain: str
    selector: str
    algorithm: str  # rsa-sha256 or ed25519-sha256
    public_key: str  # base64, the p= of the DNS record
    private_key: bytes  # encrypted PKCS#8
    state: str  # pending (not yet published), active (signs), retiring (published, no longer signs), retired
    created: float
    changed: float = 0.0  # when it entered its state
    retire_after: float = 0.0  # retiring: when it becomes retired


@dataclasses.dataclass(frozen=True, slots=True)
class Suppression:
    """An address to suppress for a tenant, and why."""

    tenant_id: str
    address: str  # lower case
    reason: str
    expires: float | None = None  # None = permanently
    # Why, for GetSuppression (owner: storage helper): the kind of event or action that
    # suppressed it (bounced, complained, unsubscribed, soft_bounces, manual, import), the
    # event's id and its message when an event did, and when (0 = when it is written).
    source: str = ""
    source_event_id: str = ""
    message_id: str = ""
    created: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class FeedbackReport:
    """A message the feedback receiver kept for inspection (unparseable or matching no message)."""

    report_id: str
    received: float
    status: str  # unparsed, unmatched
    reason: str
    mail_from: str
    rcpt_to: str
    raw: bytes


# --- tracking (owner: tracking helper) ---


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """A tenant's webhook endpoint and how far delivery to it has got."""

    endpoint_id: str
    tenant_id: str
    url: str
    event_types: tuple[str, ...]  # empty = every type
    secret: str  # whsec_<base64>
    previous_secret: str  # still signed with during a rotation ("" = none)
    previous_until: float  # when previous_secret stops being used
    state: str  # active or disabled
    cursor: int  # id of the last event delivered (acknowledged with 2xx)
    failing_since: float  # 0 = the last attempt succeeded
    created: float
    detail: str = ""  # why it was disabled, the last failure
    pending: int = 0  # id of the last event of the batch being posted; above the cursor = in flight


# --- reputation (owner: reputation helper) ---

REPUTATION_TTL = 7 * 86400.0  # a lane's stored state is forgotten this long after its last write


@dataclasses.dataclass(frozen=True, slots=True)
class LaneReputation:
    """The learned state of one (source IP, destination site) lane, shared by all workers.

    ``rate_per_minute`` is the adapted platform-wide rate (AIMD); ``paused_until`` (epoch
    seconds, 0 = none) a pause after a block or throttling reply; the counters are the reply
    classes seen since ``window_start`` (reset hourly); ``version`` grows with each write.
    """

    ip: str  # "" = the kernel's choice of source address
    site: str
    rate_per_minute: float
    paused_until: float = 0.0
    pause_reason: str = ""
    window_start: float = 0.0
    delivered: int = 0
    deferred: int = 0
    bounced: int = 0
    throttled: int = 0
    blocked: int = 0
    updated: float = 0.0
    version: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class ReputationChange:
    """One worker's news about a lane since its last sync (see shaping/reputation.py merge())."""

    ip: str
    site: str
    rate_per_minute: float  # the worker's current rate
    lowered: bool  # the worker lowered the rate since its last sync
    raised_per_minute: float = 0.0  # what the worker's success windows added since its last sync
    paused_until: float = 0.0
    pause_reason: str = ""
    delivered: int = 0  # reply counts since the last sync
    deferred: int = 0
    bounced: int = 0
    throttled: int = 0
    blocked: int = 0


# --- breakers: tenant circuit breakers (owner: reputation helper) ---

BREAKER_SAMPLE_TTL = 2 * 86400.0  # samples older than this are dropped (longest window: 24 h)


@dataclasses.dataclass(frozen=True, slots=True)
class BreakerSample:
    """Outcomes of a tenant's stream counted by one writer over a short span ending at ``time``."""

    tenant_id: str
    stream: str  # transactional or bulk
    time: float
    delivered: int = 0
    bounced: int = 0
    complained: int = 0
    writer: str = ""  # who counted (worker pid/host): keeps concurrent writers' rows apart


@dataclasses.dataclass(frozen=True, slots=True)
class BreakerTotals:
    """Summed samples of a window."""

    delivered: int = 0
    bounced: int = 0
    complained: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class BreakerState:
    """A tenant's circuit breaker: ``level`` closed, slowed, bulk_paused or paused; samples
    before ``counting_from`` (the last resume) do not count."""

    tenant_id: str
    level: str
    since: float
    reason: str = ""
    counting_from: float = 0.0
    version: int = 0


@dataclasses.dataclass(frozen=True, slots=True)
class BreakerAudit:
    """One transition of a tenant's breaker, kept for the audit trail."""

    tenant_id: str
    time: float
    from_level: str
    to_level: str
    actor: str  # "breaker" (automatic) or "api:<key id>"
    reason: str


# --- the asyncio face of a store (owner: storage helper) ---


@runtime_checkable
class AsyncStore(Protocol):
    """The hot Store calls as coroutines that never block the event loop.

    Implemented natively by stores whose client is asynchronous (CqlStore). Stages take it
    from :func:`as_async`, which wraps any other store's blocking calls in worker threads.
    """

    async def accept_async(self, requests: Sequence[AcceptedRequest], events: Sequence[EventRecord],
                           day: str) -> list[AcceptResult]:
        """Store.accept."""

    async def get_idempotency_async(self, tenant_id: str, send_id: str, now: float) -> IdempotencyHit | None:
        """Store.get_idempotency."""

    async def suppressed_async(self, tenant_id: str, addresses: Sequence[str], now: float) -> dict[str, str]:
        """Store.suppressed."""

    async def get_messages_async(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        """Store.get_messages."""

    async def get_payload_async(self, request_id: str) -> bytes | None:
        """Store.get_payload."""

    async def record_outcomes_async(self, outcomes: Sequence[Outcome]) -> None:
        """Store.record_outcomes."""

    async def list_events_async(self, tenant_id: str, after_id: int, types: Sequence[str], message_id: str,
                                limit: int) -> list[EventRecord]:
        """Store.list_events."""


class ThreadedAsyncStore:
    """AsyncStore of a blocking store: each call runs on a worker thread (asyncio.to_thread)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def accept_async(self, requests: Sequence[AcceptedRequest], events: Sequence[EventRecord],
                           day: str) -> list[AcceptResult]:
        """Store.accept on a worker thread."""
        return await asyncio.to_thread(self.store.accept, requests, events, day)

    async def get_idempotency_async(self, tenant_id: str, send_id: str, now: float) -> IdempotencyHit | None:
        """Store.get_idempotency on a worker thread."""
        return await asyncio.to_thread(self.store.get_idempotency, tenant_id, send_id, now)

    async def suppressed_async(self, tenant_id: str, addresses: Sequence[str], now: float) -> dict[str, str]:
        """Store.suppressed on a worker thread."""
        return await asyncio.to_thread(self.store.suppressed, tenant_id, addresses, now)

    async def get_messages_async(self, message_ids: Sequence[str]) -> list[MessageRecord]:
        """Store.get_messages on a worker thread."""
        return await asyncio.to_thread(self.store.get_messages, message_ids)

    async def get_payload_async(self, request_id: str) -> bytes | None:
        """Store.get_payload on a worker thread."""
        return await asyncio.to_thread(self.store.get_payload, request_id)

    async def record_outcomes_async(self, outcomes: Sequence[Outcome]) -> None:
        """Store.record_outcomes on a worker thread."""
        await asyncio.to_thread(self.store.record_outcomes, outcomes)

    async def list_events_async(self, tenant_id: str, after_id: int, types: Sequence[str], message_id: str,
                                limit: int) -> list[EventRecord]:
        """Store.list_events on a worker thread."""
        return await asyncio.to_thread(self.store.list_events, tenant_id, after_id, types, message_id, limit)


def as_async(store: Store) -> AsyncStore:
    """The store's own asyncio face if it has one, else its blocking calls on worker threads."""
    return store if isinstance(store, AsyncStore) else ThreadedAsyncStore(store)


def native_async(store: Store) -> bool:
    """Whether the store's asyncio face is its own (no thread per call)."""
    return isinstance(store, AsyncStore)

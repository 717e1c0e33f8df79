"""Store records to API messages."""

from __future__ import annotations

import json

from google.protobuf import timestamp_pb2

from postwave.store.base import ApiKeyRecord, Attempt, EventRecord, MessageRecord, TemplateRecord, Tenant
from postwave.v1 import admin_pb2, send_pb2


def timestamp(t: float) -> timestamp_pb2.Timestamp:
    """A protobuf Timestamp of a unix time."""
    ts = timestamp_pb2.Timestamp()
    ts.FromNanoseconds(int(t * 1e9))
    return ts


def event(e: EventRecord) -> send_pb2.Event:
    """An Event message."""
    machine, reason = engagement(e)
    return send_pb2.Event(
        id=e.id, message_id=e.message_id, type=e.type, time=timestamp(e.time), detail=e.detail,
        recipient=e.recipient, send_id=e.send_id, batch_id=e.batch_id,
        custom_args=json.loads(e.custom_args) if e.custom_args else {},
        machine=machine, machine_reason=reason,
    )


# --- tracking (owner: tracking helper) ---
ENGAGEMENT_TYPES = frozenset({"opened", "clicked", "unsubscribed"})


def engagement(e: EventRecord) -> tuple[bool, str]:
    """(machine, reason) of a tracker event (its JSON detail); (False, "") for any other."""
    if e.type not in ENGAGEMENT_TYPES or not e.detail.startswith("{"):
        return False, ""
    try:
        detail = json.loads(e.detail)
    except ValueError:
        return False, ""
    return bool(detail.get("machine")), str(detail.get("reason") or "")


def status(m: MessageRecord, attempts: list[Attempt], events: list[EventRecord]) -> send_pb2.MessageStatus:
    """A MessageStatus message."""
    return send_pb2.MessageStatus(
        message_id=m.message_id, state=m.state, recipient=m.recipient, send_id=m.send_id,
        batch_id=m.batch_id, stream=m.lane, created=timestamp(m.created), updated=timestamp(m.updated),
        attempt_count=m.attempt_count,
        attempts=[
            send_pb2.DeliveryAttempt(time=timestamp(a.time), mx_host=a.mx_host, smtp_code=a.smtp_code,
                                     smtp_reply=a.smtp_reply, outcome=a.outcome)
            for a in attempts
        ],
        events=[event(e) for e in events],
    )


def tenant(t: Tenant) -> admin_pb2.Tenant:
    """A Tenant message."""
    return admin_pb2.Tenant(tenant_id=t.tenant_id, name=t.name, rate_per_second=t.rate_per_second,
                            daily_quota=t.daily_quota, created=timestamp(t.created))


def api_key(k: ApiKeyRecord) -> admin_pb2.ApiKey:
    """An ApiKey message (never the secret)."""
    return admin_pb2.ApiKey(key_id=k.key_id, tenant_id=k.tenant_id, name=k.name, scopes=list(k.scopes),
                            created=timestamp(k.created), revoked=k.revoked)


def template(t: TemplateRecord) -> admin_pb2.Template:
    """A Template message."""
    return admin_pb2.Template(template_id=t.template_id, version=t.version, name=t.name, subject=t.subject,
                              text=t.text, html=t.html, created=timestamp(t.created))

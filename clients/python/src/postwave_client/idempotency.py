"""Idempotency keys: the ``send_id`` that makes a repeated Send return the first answer.

postwave keeps a tenant's ``send_id`` for 24 hours: the same key with the same body returns
the original message ids, the same key with a different body is ALREADY_EXISTS. Derive the
key from your own data (``idempotency_key("order", order_id, "receipt")``) so a retry after a
crash or a timeout cannot send twice; every postwave client derives the same key from the
same parts.
"""

from __future__ import annotations

import hashlib
import uuid

PREFIX = "pw-"


def idempotency_key(*parts: str) -> str:
    """A stable key from your own identifiers: sha256 over the parts joined by U+001F."""
    if not parts:
        raise ValueError("idempotency_key needs at least one part")
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return PREFIX + digest[:40]


def new_idempotency_key() -> str:
    """A random key, for a request that has no natural identity of its own."""
    return PREFIX + uuid.uuid4().hex

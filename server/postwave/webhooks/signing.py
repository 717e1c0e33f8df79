"""The Standard Webhooks signature scheme.

Each request carries ``webhook-id`` (the same on every retry of one batch, so receivers
can drop a repeat), ``webhook-timestamp`` (unix seconds, so receivers can refuse old
replays) and ``webhook-signature``: space-separated ``v1,<base64 HMAC-SHA256>`` over
``{id}.{timestamp}.{body}`` with the secret's key -- one per valid secret, so a receiver
still holding the previous secret during a rotation accepts the request too.

Secrets read ``whsec_<base64 of the key bytes>``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

PREFIX = "whsec_"
KEY_BYTES = 24


def new_secret() -> str:
    """A fresh random secret."""
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret."""
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>`` of one secret."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.digest(secret_key(secret), signed, hashlib.sha256)).decode("ascii")


def headers(secrets_: Sequence[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one signed request (one signature per secret)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, message_id, timestamp, body) for s in secrets_ if s),
        "content-type": "application/json",
    }

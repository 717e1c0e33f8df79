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
import logging
import secrets
from collections.abc import Sequence

from postwave.config import Config
from postwave.domains import masterkey
from postwave.errors import MasterKeyError

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


# --- secrets at rest (security helper) ---
# A stored secret is sealed under the master key (AES-256-GCM, bound to its endpoint id), so
# a copy of the database or a backup does not let anyone sign webhooks. Values written
# before sealing existed have no prefix and are read as they are.

SEALED_PREFIX = "whenc1:"
_log = logging.getLogger(__name__)


def seal(config: Config, endpoint_id: str, secret: str) -> str:
    """The stored form of ``secret`` (empty stays empty). Without a master key (the CQL store
    without ``master_key``) it is stored as it is, with a warning."""
    if not secret:
        return secret
    try:
        box = masterkey.load(config)
    except MasterKeyError as exc:
        _log.warning("webhook secret stored unencrypted: %s", exc.message)
        return secret
    sealed = box.encrypt(secret.encode("ascii"), context=f"webhook/{endpoint_id}")
    return SEALED_PREFIX + base64.b64encode(sealed).decode("ascii")


def unseal(config: Config, endpoint_id: str, stored: str) -> str:
    """The secret of a stored value.

    Raises:
        MasterKeyError: the value is sealed and the master key is missing or another one.
    """
    if not stored.startswith(SEALED_PREFIX):
        return stored
    blob = base64.b64decode(stored[len(SEALED_PREFIX):])
    return masterkey.load(config).decrypt(blob, context=f"webhook/{endpoint_id}").decode("ascii")

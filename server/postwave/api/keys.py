"""API keys: random secrets, stored only as hashes, compared in constant time.

A key reads ``pw_<key_id>_<secret>``. The key id finds the record; the secret's sha256 is
compared with ``hmac.compare_digest``. A fast hash is right here because the secret is 256
random bits: there is nothing to brute-force, unlike a password.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from postwave.errors import InvalidArgumentError
from postwave.store.base import ApiKeyRecord

SCOPES = ("mail.send", "mail.read", "events.read", "admin")
PREFIX = "pw_"


def hash_secret(secret: str) -> bytes:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode()).digest()


def new_key(tenant_id: str, name: str, scopes: list[str] | tuple[str, ...]) -> tuple[ApiKeyRecord, str]:
    """A new key record and the full key to show once."""
    scopes = tuple(dict.fromkeys(scopes or SCOPES))
    for i, scope in enumerate(scopes):
        if scope not in SCOPES:
            raise InvalidArgumentError(f"scopes[{i}]", f"unknown scope {scope!r}; use one of {', '.join(SCOPES)}")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    record = ApiKeyRecord(key_id, tenant_id, name, scopes, hash_secret(secret), time.time())
    return record, f"{PREFIX}{key_id}_{secret}"


def split_key(key: str) -> tuple[str, str] | None:
    """(key_id, secret) of a well-formed key, else None."""
    if not key.startswith(PREFIX):
        return None
    key_id, sep, secret = key[len(PREFIX):].partition("_")
    if not sep or len(key_id) != 16 or not secret:
        return None
    return key_id, secret


def matches(record: ApiKeyRecord, secret: str) -> bool:
    """Constant-time check of a presented secret against the stored hash."""
    return hmac.compare_digest(record.secret_hash, hash_secret(secret))

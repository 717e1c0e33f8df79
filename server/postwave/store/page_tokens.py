"""Opaque page tokens of the stores' keyset-paged lists.

A token is the key of the last entry of a page (the next page starts after it), as a
base64url JSON list. Keyset tokens stay valid while entries are added and removed, unlike
offsets, and unlike a driver's paging state they do not depend on one node's layout.
"""

from __future__ import annotations

import base64
import binascii
import json

from postwave.errors import InvalidArgumentError

MAX_TOKEN = 2048


def encode(*key: str | int) -> str:
    """The token of the page after the entry with this key."""
    return base64.urlsafe_b64encode(json.dumps(list(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode(token: str, *kinds: type) -> list[str | int]:
    """The key in a token, checked against the expected types; "" decodes to no key ([])."""
    if not token:
        return []
    try:
        if len(token) > MAX_TOKEN:
            raise ValueError("too long")
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        key = None
    if not isinstance(key, list) or len(key) != len(kinds) or not all(
            type(k) is kind for k, kind in zip(key, kinds)):
        raise InvalidArgumentError("page_token", "not a token from an earlier page of this list")
    return key

"""VERP return paths: ``b-<message id>-<mac>@<return-path domain>``.

Each message gets its own envelope sender, so a bounce addressed back to it names the
message without parsing the bounce at all. The MAC (HMAC-SHA256 under a key derived from the
master key, truncated to 80 bits, base32) makes the address unforgeable: a report to a made-up
or altered address is refused at RCPT instead of suppressing someone's recipient. Lower-case
letters and digits only, because some servers change the case of the local part.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from postwave.domains.masterkey import MasterKey

PURPOSE = "verp/v1"
_MAC_BYTES = 10
_SHAPE = re.compile(r"b-([0-9a-f]{8,64})-([a-z2-7]{16})")


class ForgedAddressError(ValueError):
    """An address shaped like a VERP return path whose MAC is wrong."""


def _mac(key: bytes, message_id: str) -> str:
    digest = hmac.new(key, message_id.encode("ascii"), hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.b32encode(digest).decode("ascii").lower()


class Verp:
    """Makes and checks VERP addresses under one key."""

    def __init__(self, master: MasterKey) -> None:
        self._key = master.derive(PURPOSE)

    def address(self, message_id: str, domain: str) -> str:
        """The return path of a message sent with ``domain`` as its bounce domain."""
        return f"b-{message_id}-{_mac(self._key, message_id)}@{domain}"

    def message_id(self, address: str) -> str | None:
        """The message id of a VERP address; None when the address is not VERP-shaped.

        Raises:
            ForgedAddressError: VERP-shaped, but the MAC does not match.
        """
        local = address.strip().strip("<>").rpartition("@")[0].lower()
        found = _SHAPE.fullmatch(local)
        if found is None:
            return None
        message_id, mac = found.groups()
        if not hmac.compare_digest(mac, _mac(self._key, message_id)):
            raise ForgedAddressError(f"VERP address {address!r} has a wrong signature")
        return message_id

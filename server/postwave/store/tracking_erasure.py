"""Scrubbing one recipient out of stored records (the right to erasure), for both stores.

Pure functions over serialized records: the stores find the rows, these rewrite them.
A payload keeps its shape -- the message's personalization stays at its index, so the
other recipients' messages of the same request still render -- but the erased
personalization loses its addresses, substitutions, headers and custom arguments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from postwave.v1 import send_pb2

M = TypeVar("M", bound=Message)

__all__ = ["address_hash", "erased_forms", "scrub_payload", "scrub_response", "scrub_text", "with_erased"]


def address_hash(address: str) -> str:
    """The stand-in kept for an erased address: ``sha256:`` and the hex digest of its lower-cased form.

    Suppressions are re-keyed to it, so the address is still recognised (by hashing it
    again) and never mailed by mistake, while the store no longer holds it.
    """
    return "sha256:" + hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()


def erased_forms(addresses: Sequence[str]) -> dict[str, str]:
    """hash -> address, for a suppression check that also finds erased addresses."""
    return {address_hash(a): a for a in addresses if a and not a.startswith("sha256:")}


def with_erased(found: dict[str, str], hashed: dict[str, str]) -> dict[str, str]:
    """Suppressions found by hash reported under the address asked about."""
    return {hashed.get(key, key): reason for key, reason in found.items()}


def _bare(address: str) -> str:
    """The addr-spec of ``Name <addr>`` or ``addr``, lower-cased."""
    address = address.strip()
    if address.endswith(">") and "<" in address:
        address = address[address.rindex("<") + 1:-1]
    return address.strip().lower()


def _same(a: str, address: str) -> bool:
    return _bare(a) == _bare(address)


def _decoded(cls: type[M], data: bytes) -> M | None:
    try:
        decoded: M = cls.FromString(data)
        return decoded
    except DecodeError:
        return None


def scrub_payload(payload: bytes, address: str, replacement: str) -> tuple[bytes, bool]:
    """A SendRequest with every personalization addressed to ``address`` emptied; (bytes, changed)."""
    request = _decoded(send_pb2.SendRequest, payload)
    if request is None:
        return payload, False
    changed = False
    for p in request.personalizations:
        if not any(_same(a, address) for a in (*p.to, *p.cc, *p.bcc)):
            continue
        for field in (p.to, p.cc, p.bcc):
            kept = [replacement if _same(a, address) else a for a in field]
            del field[:]
            field.extend(kept)
        p.ClearField("substitutions")
        p.headers.clear()
        p.custom_args.clear()
        changed = True
    return (request.SerializeToString(), True) if changed else (payload, False)


def scrub_response(response: bytes, address: str, replacement: str) -> tuple[bytes, bool]:
    """A stored SendResponse (idempotent replay) without ``address``; (bytes, changed)."""
    reply = _decoded(send_pb2.SendResponse, response)
    if reply is None:
        return response, False
    changed = False
    for ref in reply.messages:
        if _same(ref.recipient, address):
            ref.recipient = replacement
            changed = True
    return (reply.SerializeToString(), True) if changed else (response, False)


def scrub_text(text: str, address: str, replacement: str) -> str:
    """``text`` (an SMTP reply, an event detail) with the address replaced, in any case."""
    if not text:
        return text
    lowered, wanted = text.lower(), _bare(address)
    out: list[str] = []
    start = search = 0
    while (found := lowered.find(wanted, search)) >= 0:
        search = found + len(wanted)
        if found > 0 and (lowered[found - 1].isalnum() or lowered[found - 1] in "._%+-"):
            continue  # a longer address that ends with this one
        out += (text[start:found], replacement)
        start = search
    out.append(text[start:])
    return "".join(out)

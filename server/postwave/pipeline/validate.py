"""Validation of a SendRequest: every rule a short named check, every error naming its field."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import time
from typing import Any

from google.protobuf import struct_pb2

from postwave.errors import InvalidArgumentError
from postwave.render.addresses import parse_address
from postwave.render.mime import validate_headers
from postwave.v1 import send_pb2

# Headers postwave writes itself; a tenant may not set them.
RESERVED_HEADERS = frozenset(
    h.lower() for h in (
        "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "MIME-Version", "Reply-To",
        "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Return-Path",
        "Received", "DKIM-Signature", "List-Unsubscribe", "List-Unsubscribe-Post", "Sender",
    )
)
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ':'
_CONTENT_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$")
_FORBIDDEN = re.compile(r"[\r\n\x00]")
MAX_SEND_ID = 128
MAX_TAGS = 10
# A subject or custom header value longer than one RFC 5322 line (998 characters) would
# only be folded into a wall of continuation lines that receivers truncate or refuse.
MAX_HEADER_VALUE = 998
MAX_FILENAME = 255  # what file systems accept as one name
# A file name is a name, not a path: mail clients that save attachments must not be led
# out of their folder ("../../.bashrc", "C:\\Windows\\...").
_PATH_LIKE = re.compile(r"[/\\\x00-\x1f\x7f]|^\.{1,2}$")


@dataclasses.dataclass(frozen=True, slots=True)
class Recipient:
    """One envelope recipient: each becomes its own message."""

    personalization: int
    address: str


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """A validated request, ready to be rendered and written."""

    recipients: tuple[Recipient, ...]
    substitutions: tuple[dict[str, Any], ...]
    lane: str
    send_at: float
    body_hash: bytes  # sha256 of the request with a send_id; empty without one


def validate(req: send_pb2.SendRequest, *, max_recipients: int, max_bytes: int,
             max_ahead_seconds: float, now: float | None = None) -> Plan:
    """Check a request; raise InvalidArgumentError naming the first bad field."""
    now = time.time() if now is None else now
    _check_size(req, max_bytes)
    _check_ids(req)
    _address(getattr(req, "from"), "from", required=True)
    _address(req.reply_to, "reply_to", required=False)
    _check_content(req)
    _check_headers(req.headers, "headers")
    _check_attachments(req)
    _check_tags(req)
    recipients = _recipients(req, max_recipients)
    return Plan(
        recipients=recipients,
        substitutions=tuple(
            substitutions(p.substitutions, f"personalizations[{i}].substitutions") if p.HasField("substitutions") else {}
            for i, p in enumerate(req.personalizations)
        ),
        lane="bulk" if req.stream == send_pb2.STREAM_BULK else "transactional",
        send_at=_send_at(req, now, max_ahead_seconds),
        # Only a send_id's idempotency record keeps it (a retry with another body is refused).
        body_hash=hashlib.sha256(req.SerializeToString(deterministic=True)).digest() if req.send_id else b"",
    )


def substitutions(struct: struct_pb2.Struct, field: str) -> dict[str, Any]:
    """Substitutions as the templates see them: what ``json_format.MessageToDict`` gives
    (numbers as floats), without its generic walk over descriptors. A NaN or infinite number,
    which JSON cannot hold, is an InvalidArgumentError naming ``field`` (MessageToDict raised a
    bare ValueError, which failed the whole BatchSend stream)."""
    try:
        return struct_values(struct)
    except ValueError as exc:
        raise InvalidArgumentError(field, f"{exc}: JSON has no such number; send it as a string") from None


def struct_values(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain Python values (ValueError for a NaN or infinite number)."""
    return {key: _value(value) for key, value in struct.fields.items()}


def _value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number = value.number_value
        if not math.isfinite(number):
            raise ValueError(f"the number {number}")
        return number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_values(value.struct_value)
    if kind == "list_value":
        return [_value(item) for item in value.list_value.values]
    return None


def _check_size(req: send_pb2.SendRequest, max_bytes: int) -> None:
    size = req.ByteSize()
    if size > max_bytes:
        raise InvalidArgumentError(
            "attachments", f"request is {size} bytes, over the {max_bytes}-byte limit; send large files as links"
        )


def _check_ids(req: send_pb2.SendRequest) -> None:
    for name in ("send_id", "batch_id"):
        value = getattr(req, name)
        if len(value) > MAX_SEND_ID or _FORBIDDEN.search(value):
            raise InvalidArgumentError(name, f"must be at most {MAX_SEND_ID} characters without CR, LF or NUL")


def _address(value: str, field: str, *, required: bool) -> str:
    if not value:
        if required:
            raise InvalidArgumentError(field, "is required")
        return ""
    return parse_address(value, field=field)[1]


def _no_line_breaks(value: str, field: str) -> None:
    if _FORBIDDEN.search(value):
        raise InvalidArgumentError(field, "must not contain CR, LF or NUL (header injection)")


def _header_value(value: str, field: str) -> None:
    _no_line_breaks(value, field)
    if len(value) > MAX_HEADER_VALUE:
        raise InvalidArgumentError(field, f"is {len(value)} characters, over the limit of {MAX_HEADER_VALUE}")


def _check_content(req: send_pb2.SendRequest) -> None:
    _header_value(req.subject, "subject")
    if req.template_id:
        return
    if not req.subject and not all(p.subject for p in req.personalizations):
        raise InvalidArgumentError("subject", "is required unless template_id is set")
    if not req.text and not req.html:
        raise InvalidArgumentError("text", "text or html is required unless template_id is set")


def _check_headers(headers: Any, field: str) -> None:
    for name, value in headers.items():
        path = f"{field}.{name}"
        if not _HEADER_NAME.match(name) or len(name) > 76:
            raise InvalidArgumentError(path, "is not a valid header name (printable ASCII, no ':' or space)")
        if name.lower() in RESERVED_HEADERS:
            raise InvalidArgumentError(path, "is set by postwave and cannot be overridden")
        _header_value(value, path)
    # Then every rule the MIME builder applies at delivery time, so nothing it would refuse
    # is ever accepted (its errors name "headers.<name>"; re-root them at this field).
    try:
        validate_headers(headers)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(field + exc.field[len("headers"):], exc.description) from None


def _check_attachments(req: send_pb2.SendRequest) -> None:
    for i, att in enumerate(req.attachments):
        path = f"attachments[{i}]"
        if not att.filename:
            raise InvalidArgumentError(f"{path}.filename", "is required")
        _no_line_breaks(att.filename, f"{path}.filename")
        if len(att.filename) > MAX_FILENAME:
            raise InvalidArgumentError(
                f"{path}.filename", f"is {len(att.filename)} characters, over the limit of {MAX_FILENAME}")
        if _PATH_LIKE.search(att.filename):
            raise InvalidArgumentError(
                f"{path}.filename", "must be a plain file name: no '/', '\\', control characters, '.' or '..'")
        if not _CONTENT_TYPE.match(att.content_type or "application/octet-stream"):
            raise InvalidArgumentError(f"{path}.content_type", f"{att.content_type!r} is not type/subtype")
        if att.content_id and (_FORBIDDEN.search(att.content_id) or any(c in att.content_id for c in "<> ")):
            raise InvalidArgumentError(f"{path}.content_id", "must not contain <, >, spaces, CR or LF")


def _check_tags(req: send_pb2.SendRequest) -> None:
    if len(req.tags) > MAX_TAGS:
        raise InvalidArgumentError("tags", f"at most {MAX_TAGS} tags")
    for i, tag in enumerate(req.tags):
        if not tag or len(tag) > 64 or _FORBIDDEN.search(tag):
            raise InvalidArgumentError(f"tags[{i}]", "must be 1-64 characters without CR or LF")


def _recipients(req: send_pb2.SendRequest, max_recipients: int) -> tuple[Recipient, ...]:
    if not req.personalizations:
        raise InvalidArgumentError("personalizations", "at least one personalization with a 'to' address is required")
    total = sum(len(p.to) + len(p.cc) + len(p.bcc) for p in req.personalizations)
    if total > max_recipients:
        raise InvalidArgumentError(
            "personalizations", f"{total} recipients, over the limit of {max_recipients} per request; split the batch"
        )
    found: list[Recipient] = []
    for i, p in enumerate(req.personalizations):
        path = f"personalizations[{i}]"
        if not p.to:
            raise InvalidArgumentError(f"{path}.to", "at least one address is required")
        _header_value(p.subject, f"{path}.subject")
        _check_headers(p.headers, f"{path}.headers")
        for kind in ("to", "cc", "bcc"):
            for j, value in enumerate(getattr(p, kind)):
                found.append(Recipient(i, _address(value, f"{path}.{kind}[{j}]", required=True)))
    return tuple(found)


def _send_at(req: send_pb2.SendRequest, now: float, max_ahead_seconds: float) -> float:
    if not req.HasField("send_at"):
        return now
    at = req.send_at.seconds + req.send_at.nanos / 1e9
    if at > now + max_ahead_seconds:
        raise InvalidArgumentError(
            "send_at", f"is more than {max_ahead_seconds / 3600:g} hours ahead; schedule closer to the send time"
        )
    return max(at, now)

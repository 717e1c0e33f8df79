"""Assembly of one outgoing message (RFC 5322 + MIME) as wire-ready bytes.

The message is written directly as bytes rather than through ``email.message`` and its
generator: that path is several times slower and this runs once per recipient (and is the
reference for a compiled twin). Correctness is pinned by tests that parse the output back
with :mod:`email` (``policy.default``) and compare every header, part and byte.

What the output guarantees:

* CRLF line endings everywhere; no bare CR or LF; no line over 78 characters except a
  single unbreakable token (an address or URL), and none over 998.
* 7-bit clean: bodies are quoted-printable or base64, headers RFC 2047 / RFC 2231 encoded.
* No header injection: header values with CR, LF or NUL are refused, not cleaned.
* No SMTP smuggling: bodies are normalised to CRLF before encoding, so a bare LF or CR in
  a tenant's text (which some servers take as a line end and others not, letting a fake
  ``<LF>.<LF>`` end the DATA early) never reaches the wire; and no body line is a lone
  ``.`` (encoded as ``=2E``), so the message does not depend on the SMTP client's
  dot-stuffing to be safe.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import NamedTuple
from urllib.parse import quote

from postwave.errors import InvalidArgumentError
from postwave.render.addresses import parse_address

__all__ = ["Attachment", "build_message", "new_message_id", "smtp_data", "validate_headers"]

_CRLF = "\r\n"
_LINE = 78  # RFC 5322: lines SHOULD be at most 78 characters (998 is the hard limit)
_HARD_LINE = 998
_MAX_NAME = 76  # a header name must fit on its first line with the colon
# UTF-8 bytes per RFC 2047 encoded word: 45 bytes -> 60 base64 chars -> 72-char word.
_WORD_BYTES = 45
_WORD_OVERHEAD = len("=?utf-8?b??=")
# Characters of a parameter value per line: ' filename*12*=' + "utf-8''" + 50 + ';' < 78.
_PARAM_CHUNK = 50

_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_DOT_ATOM = f"[{_ATEXT}]+(?:\\.[{_ATEXT}]+)*"
_MESSAGE_ID = re.compile(f"{_DOT_ATOM}@{_DOT_ATOM}")
_CONTENT_ID = re.compile(f"[.@{_ATEXT}]+")
# Printable ASCII words separated by single spaces: safe to send as they are.
_PLAIN_TEXT = re.compile(r"[!-~]+(?: [!-~]+)*")
_PLAIN_PHRASE = re.compile(f"[{_ATEXT}]+(?: [{_ATEXT}]+)*")
# Printable ASCII without '"' and '\': fits in a quoted-string with no escaping.
_QUOTABLE = re.compile(r'[ !#-\[\]-~]*')
_FIELD_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII except ':'
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")
_INJECTION = re.compile("[\r\n\x00]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
_LONE_DOT = re.compile(rb"^\.(?=\r\n|\Z)", re.MULTILINE)
_FROM_LINE = re.compile(rb"^From ", re.MULTILINE)
_ANY_NEWLINE = re.compile(rb"\r\n|\n|\r")
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)
_HIGH_BYTES = bytes(range(128, 256))
_CONTINUATION_ESCAPES = frozenset(f"%{digit}" for digit in "89AB")
# RFC 2231 attribute-char beyond what urllib.parse.quote always keeps (letters, digits, _.-~).
_ATTRIBUTE_SAFE = "!#$&+^`|"

# Set by build_message's own arguments, by later stages (DKIM) or by the receiving MTA.
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "return-path",
        "dkim-signature",
    }
)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file attached to a message.

    With ``content_id`` set it is an inline part (``Content-Disposition: inline`` and
    ``Content-ID: <content_id>``) that the html body references as ``cid:content_id``.
    """

    filename: str
    content_type: str
    content: bytes
    content_id: str | None = None


class _Entity(NamedTuple):
    """A MIME entity: its media type, its header lines (CRLF-terminated) and its body."""

    media_type: str
    headers: bytes
    body: bytes


def validate_headers(headers: Mapping[str, str]) -> None:
    """Check custom headers as :func:`build_message` will, so the API can refuse them early.

    Raises:
        InvalidArgumentError: on ``headers.<name>``: a bad name, a reserved name
            (From, To, Cc, Bcc, Reply-To, Subject, Date, Message-ID, MIME-Version,
            Content-*, List-Unsubscribe*, Return-Path, DKIM-Signature), or a value with
            CR, LF or NUL.
    """
    _custom_headers(headers)


def smtp_data(message: bytes) -> bytes:
    """The bytes to send after DATA's 354 for ``message`` (RFC 5321 4.5.2): every CR, LF
    and CRLF as CRLF, a CRLF at the end, a dot doubled at the start of every line, then the
    terminating ``.`` line. What an SMTP client library does with two regex passes; the
    compiled twin does it in one.
    """
    data = _ANY_NEWLINE.sub(b"\r\n", message)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return _LEADING_DOT.sub(b"..", data) + b".\r\n"


def new_message_id(domain: str) -> str:
    """A new, globally unique Message-ID without brackets: ``"<32 hex digits>@domain"``.

    Raises:
        InvalidArgumentError: on ``domain`` when it cannot appear in a Message-ID.
    """
    message_id = f"{os.urandom(16).hex()}@{domain}"
    if not _MESSAGE_ID.fullmatch(message_id):
        raise InvalidArgumentError("domain", "must be a domain name like 'postwave.example'")
    return message_id


def build_message(
    *,
    from_addr: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    reply_to: str | None = None,
    subject: str,
    text: str | None,
    html: str | None,
    headers: Mapping[str, str] = {},  # noqa: B006 -- never mutated
    attachments: Sequence[Attachment] = (),
    message_id: str,
    date: datetime | None = None,
    list_unsubscribe: str | None = None,
    list_unsubscribe_post: bool = False,
) -> bytes:
    """Build the complete message as bytes (CRLF line endings, 7-bit, ready for DATA).

    Structure: a text/plain or text/html part alone; both as multipart/alternative;
    inline attachments (with ``content_id``) in a multipart/related around that; other
    attachments in a multipart/mixed around everything.

    Args:
        from_addr, to, cc, reply_to: mailboxes as ``"Name <a@b.c>"`` or ``"a@b.c"``.
            Bcc recipients are never written into headers (pass them only to SMTP); with
            ``to`` and ``cc`` empty there is no To header at all.
        subject: any Unicode text without CR, LF or NUL.
        text, html: bodies; at least one must be given.
        headers: extra header fields, written as given after :func:`validate_headers`.
        attachments: files, in order.
        message_id: the id without angle brackets, such as ``"abc@postwave.example"``.
        date: the Date header (a naive datetime is taken as UTC); default now.
        list_unsubscribe: one https:, http: or mailto: URL for ``List-Unsubscribe``.
        list_unsubscribe_post: add RFC 8058 one-click (needs an https URL).

    Raises:
        InvalidArgumentError: an invalid address, header, body or attachment; ``field``
            names it (``"to[1]"``, ``"headers.X-Tag"``, ``"attachments[0].filename"``).
    """
    head = [
        *_address_headers(from_addr, to, cc, reply_to),
        _unstructured("Subject", _header_text(subject, "subject"), "subject"),
        f"Date: {_date(date)}\r\n",
        f"Message-ID: <{_message_id(message_id)}>\r\n",
        *_unsubscribe_headers(list_unsubscribe, list_unsubscribe_post),
        *_custom_headers(headers),
        "MIME-Version: 1.0\r\n",
    ]
    entity = _structure(text, html, attachments)
    return "".join(head).encode("ascii") + entity.headers + b"\r\n" + entity.body


# -- header steps -------------------------------------------------------------------------


def _address_headers(from_addr: str, to: Sequence[str], cc: Sequence[str], reply_to: str | None) -> list[str]:
    lines = [_address_header("From", [parse_address(from_addr, field="from")], "from")]
    for name, field, values in (("To", "to", to), ("Cc", "cc", cc)):
        if isinstance(values, str):
            raise InvalidArgumentError(field, "must be a list of addresses, not one string")
        if values:
            mailboxes = [parse_address(value, field=f"{field}[{i}]") for i, value in enumerate(values)]
            lines.append(_address_header(name, mailboxes, field))
    if reply_to is not None:
        lines.append(_address_header("Reply-To", [parse_address(reply_to, field="reply_to")], "reply_to"))
    return lines


def _header_text(value: str, field: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(field, "must be a string")
    if _INJECTION.search(value):
        raise InvalidArgumentError(field, "contains CR, LF or NUL (header injection is not allowed)")
    return value


def _date(date: datetime | None) -> str:
    if date is None:
        return _date_of_second(int(time.time()))
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    return format_datetime(date)


@functools.lru_cache(maxsize=4)
def _date_of_second(second: int) -> str:
    """The Date header of a whole second (it has no finer unit): made once a second, not once a message."""
    return format_datetime(datetime.fromtimestamp(second, UTC))


def _message_id(message_id: str) -> str:
    if not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id) or len(message_id) > 250:
        raise InvalidArgumentError("message_id", "must look like 'id@domain' (no angle brackets, spaces or controls)")
    return message_id


def _unsubscribe_headers(url: str | None, one_click: bool) -> list[str]:
    if url is None:
        if one_click:
            raise InvalidArgumentError("list_unsubscribe_post", "one-click unsubscribe needs list_unsubscribe")
        return []
    if not isinstance(url, str) or not re.fullmatch(r"(?:https?://|mailto:)[!-;=?-~]+", url) or len(url) > 900:
        raise InvalidArgumentError("list_unsubscribe", "must be one https:, http: or mailto: URL without spaces or <>")
    lines = [_fold("List-Unsubscribe", [f"<{url}>"])]
    if one_click:
        if not url.startswith("https://"):
            raise InvalidArgumentError("list_unsubscribe", "one-click unsubscribe (RFC 8058) needs an https URL")
        lines.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
    return lines


def _custom_headers(headers: Mapping[str, str]) -> list[str]:
    lines = []
    for name, value in headers.items():
        field = f"headers.{name}"
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name) or len(name) > _MAX_NAME:
            raise InvalidArgumentError(field, "header name must be printable ASCII without ':' or spaces")
        if name.lower() in _RESERVED_HEADERS or name.lower().startswith("content-"):
            raise InvalidArgumentError(field, f"{name} is reserved: it is set by postwave, not by custom headers")
        lines.append(_unstructured(name, _header_text(value, field), field))
    return lines


# -- header encoding ----------------------------------------------------------------------


def _unstructured(name: str, value: str, field: str) -> str:
    """An unstructured header (Subject, custom headers): folded, RFC 2047 when needed."""
    if not value:
        return f"{name}:\r\n"
    # "=?" would be decoded as an encoded word by readers; leading, trailing or double
    # spaces would be lost on unfolding; both go encoded so they arrive unchanged.
    if _PLAIN_TEXT.fullmatch(value) and "=?" not in value:
        folded = _fold(name, value.split(" "))
        if max(map(len, folded.split(_CRLF))) <= _HARD_LINE:
            return folded
    return _fold(name, _encoded_words(value, field, first=_LINE - len(name) - 2))


def _address_header(name: str, mailboxes: list[tuple[str, str]], field: str) -> str:
    tokens: list[str] = []
    for index, (display, address) in enumerate(mailboxes):
        mailbox = _mailbox(display, address, f"{field}[{index}]" if len(mailboxes) > 1 else field)
        if index < len(mailboxes) - 1:
            mailbox[-1] += ","
        tokens.extend(mailbox)
    return _fold(name, tokens)


def _mailbox(display: str, address: str, field: str) -> list[str]:
    """``display <address>`` as foldable tokens; the name as atoms, quoted or encoded."""
    if not display:
        return [address]
    if "=?" not in display:
        if _PLAIN_PHRASE.fullmatch(display):
            return [*display.split(" "), f"<{address}>"]
        if _QUOTABLE.fullmatch(display) and len(display) <= _LINE - 20:
            return [f'"{display}"', f"<{address}>"]
    return [*_encoded_words(display, field, first=_LINE - len("Reply-To: ")), f"<{address}>"]


def _encoded_words(value: str, field: str, *, first: int) -> list[str]:
    """RFC 2047 ``=?utf-8?b?...?=`` words, split on character boundaries.

    ``first`` is the room left on the header's first line, so that line stays within 78
    characters too (a zero-byte first chunk moves the first word to the next line).
    """
    data = _utf8(value, field)
    limit = min(_WORD_BYTES, max(0, (first - _WORD_OVERHEAD) // 4 * 3))
    words: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and end > start and data[end] & 0xC0 == 0x80:
            end -= 1  # never cut inside a UTF-8 sequence: each word must decode alone
        if end > start:
            words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        else:
            words.append("")  # nothing fits on the first line: fold right after the colon
        start = end
        limit = _WORD_BYTES
    return words


def _fold(name: str, tokens: Sequence[str]) -> str:
    """``name: tokens`` joined by spaces, breaking lines before tokens at 78 characters."""
    lines: list[str] = []
    line = f"{name}:"
    placed = False
    for token in tokens:
        if placed and len(line) + 1 + len(token) > _LINE:
            lines.append(line)
            line = " " + token
        elif token:
            line += " " + token
        placed = True
    lines.append(line)
    return _CRLF.join(lines) + _CRLF


def _utf8(value: str, field: str) -> bytes:
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(field, "is not valid Unicode (it holds a lone surrogate)") from None


# -- bodies -------------------------------------------------------------------------------


def _structure(text: str | None, html: str | None, attachments: Sequence[Attachment]) -> _Entity:
    # Boundaries start with "=_": quoted-printable and base64 output never contain that
    # pair, so no body line can be mistaken for a boundary. The suffixes (.a, .r, .m) keep
    # the nested ones distinct, none a prefix of another.
    token = os.urandom(8).hex()
    entity = _alternative(text, html, token)
    inline = [_attachment(i, a) for i, a in enumerate(attachments) if a.content_id is not None]
    files = [_attachment(i, a) for i, a in enumerate(attachments) if a.content_id is None]
    if inline:
        entity = _multipart("related", [entity, *inline], f"=_{token}.r", f'; type="{entity.media_type}"')
    if files:
        entity = _multipart("mixed", [entity, *files], f"=_{token}.m")
    return entity


def _alternative(text: str | None, html: str | None, token: str) -> _Entity:
    if text is None and html is None:
        raise InvalidArgumentError("text", "a message needs a text body, an html body or both")
    if html is None:
        return _text_part("plain", text, "text")
    if text is None:
        return _text_part("html", html, "html")
    parts = [_text_part("plain", text, "text"), _text_part("html", html, "html")]
    return _multipart("alternative", parts, f"=_{token}.a")


def _multipart(subtype: str, parts: Sequence[_Entity], boundary: str, params: str = "") -> _Entity:
    delimiter = b"--" + boundary.encode("ascii")
    chunks: list[bytes] = []
    for part in parts:
        # The CRLF before each delimiter belongs to the delimiter, not to the part.
        chunks += (delimiter, b"\r\n", part.headers, b"\r\n", part.body, b"\r\n")
    chunks += (delimiter, b"--\r\n")
    media_type = f"multipart/{subtype}"
    header = f'Content-Type: {media_type}{params}; boundary="{boundary}"\r\n'
    if len(header) > _LINE:
        header = f'Content-Type: {media_type}{params};\r\n boundary="{boundary}"\r\n'
    return _Entity(media_type, header.encode("ascii"), b"".join(chunks))


def _text_part(subtype: str, value: str | None, field: str) -> _Entity:
    if not isinstance(value, str):
        raise InvalidArgumentError(field, "must be a string")
    # Any CR, LF or CRLF becomes CRLF (SMTP smuggling: see the module docstring).
    data = _utf8(value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n"), field)
    encoding, body = _encode_body(data)
    headers = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n'
    return _Entity(f"text/{subtype}", headers.encode("ascii"), body)


def _encode_body(data: bytes) -> tuple[str, bytes]:
    """Quoted-printable for mostly-ASCII text, base64 when QP would be larger."""
    high = len(data) - len(data.translate(None, _HIGH_BYTES))
    # QP writes a high byte as 3 characters, base64 every byte as 4/3: break-even ~1/6.
    if high * 6 > len(data):
        return "base64", _base64(data)
    return "quoted-printable", _quoted_printable(data)


def _quoted_printable(data: bytes) -> bytes:
    """Quoted-printable with CRLF lines, no lone "." lines and no "From " lines."""
    encoded = binascii.b2a_qp(data, quotetabs=False, istext=True, header=False)
    if b"\n" not in data:
        # b2a_qp copies the input's line ending into soft breaks; with no line in the
        # input it falls back to a bare LF.
        encoded = encoded.replace(b"\n", b"\r\n")
    # b2a_qp encodes a lone "." only at the start of an input line, not after a soft break.
    # (The substring tests are cheap and nearly always false; the regexes are not.)
    if b"\n.\r\n" in encoded or encoded.startswith(b".") or encoded.endswith(b"\n."):
        encoded = _LONE_DOT.sub(b"=2E", encoded)
    # Mailbox (mbox) writers turn "From " at a line start into ">From ", which breaks the
    # DKIM body hash; a soft break after the F hides it and decodes to the same text.
    if b"\nFrom " in encoded or encoded.startswith(b"From "):
        encoded = _FROM_LINE.sub(b"F=\r\nrom ", encoded)
    if encoded and not encoded.endswith(b"\n"):
        encoded += b"=\r\n"  # end on a line break without adding one to the text
    return encoded


def _base64(data: bytes) -> bytes:
    """Base64 in 76-character CRLF lines (one C call and a slice loop: faster than encodebytes)."""
    if not data:
        return b""
    encoded = binascii.b2a_base64(data, newline=False)
    return b"\r\n".join([encoded[i : i + 76] for i in range(0, len(encoded), 76)]) + b"\r\n"


# -- attachments --------------------------------------------------------------------------


def _attachment(index: int, attachment: Attachment) -> _Entity:
    field = f"attachments[{index}]"
    media_type = _attachment_type(attachment.content_type, f"{field}.content_type")
    filename = _filename(attachment.filename, f"{field}.filename")
    if not isinstance(attachment.content, (bytes, bytearray, memoryview)):
        raise InvalidArgumentError(f"{field}.content", "must be bytes")
    disposition = "attachment" if attachment.content_id is None else "inline"
    # The name goes in both places: Content-Disposition is the standard, some clients
    # (older Outlook) only read the Content-Type name.
    lines = [
        _parameters("Content-Type", media_type, _parameter("name", filename) if filename else []),
        "Content-Transfer-Encoding: base64\r\n",
        _parameters("Content-Disposition", disposition, _parameter("filename", filename) if filename else []),
    ]
    if attachment.content_id is not None:
        lines.append(f"Content-ID: <{_content_id(attachment.content_id, f'{field}.content_id')}>\r\n")
    return _Entity(media_type, "".join(lines).encode("ascii"), _base64(bytes(attachment.content)))


def _attachment_type(content_type: str, field: str) -> str:
    if not isinstance(content_type, str) or not _MEDIA_TYPE.fullmatch(content_type):
        raise InvalidArgumentError(field, "must be a media type like 'application/pdf' (no parameters)")
    media_type = content_type.lower()
    if media_type.startswith(("multipart/", "message/")):
        # RFC 2046 forbids base64 for these; send an .eml as application/octet-stream.
        raise InvalidArgumentError(field, f"{media_type} attachments are not supported")
    return media_type


def _filename(filename: str, field: str) -> str:
    if not isinstance(filename, str):
        raise InvalidArgumentError(field, "must be a string")
    if _CONTROL.search(filename):
        raise InvalidArgumentError(field, "contains control characters")
    return filename.strip()  # readers strip it anyway


def _content_id(content_id: str, field: str) -> str:
    if isinstance(content_id, str) and content_id.startswith("<") and content_id.endswith(">"):
        content_id = content_id[1:-1]
    if not isinstance(content_id, str) or not _CONTENT_ID.fullmatch(content_id) or len(content_id) > 250:
        raise InvalidArgumentError(field, "must be printable ASCII without spaces or <> (like 'logo@example.com')")
    return content_id


def _parameter(key: str, value: str) -> list[str]:
    """``key="value"``, or RFC 2231 ``key*=utf-8''...`` (split into ``key*N*`` when long)."""
    if _QUOTABLE.fullmatch(value) and len(value) <= _PARAM_CHUNK:
        return [f'{key}="{value}"']
    encoded = quote(_utf8(value, key), safe=_ATTRIBUTE_SAFE)
    chunks = _split_percent_encoded(encoded)
    if len(chunks) == 1:
        return [f"{key}*=utf-8''{encoded}"]
    first, *rest = chunks
    return [f"{key}*0*=utf-8''{first}", *(f"{key}*{n}*={chunk}" for n, chunk in enumerate(rest, 1))]


def _split_percent_encoded(encoded: str) -> list[str]:
    chunks = []
    start = 0
    while start < len(encoded):
        end = min(start + _PARAM_CHUNK, len(encoded))
        percent = encoded.rfind("%", end - 2, end)
        if end < len(encoded) and percent > start:
            end = percent  # do not split a %XX escape
        # Nor a UTF-8 sequence (%80-%BF continue one): some clients decode each segment alone.
        while end < len(encoded) and end - 3 > start and encoded[end : end + 2] in _CONTINUATION_ESCAPES:
            end -= 3
        chunks.append(encoded[start:end])
        start = end
    return chunks


def _parameters(name: str, value: str, parameters: list[str]) -> str:
    line = "; ".join([f"{name}: {value}", *parameters])
    if len(line) <= _LINE:
        return line + _CRLF
    return ";\r\n ".join([f"{name}: {value}", *parameters]) + _CRLF

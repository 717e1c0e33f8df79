"""Link wrapping: the twin of ``native/linkwrap.pyx``.

Every ``http(s)`` link of a message is rewritten to ``{base_url}/c/{token}``, and an open
pixel ``{base_url}/o/{token}`` is added to the html. The token names what the tracker
needs -- the id of the signing key, the kind (``c`` html link, ``t`` text link, ``o`` open
pixel, ``u`` unsubscribe), the message id, the link's index in its body and a hash of the
link's URL (96 bits of SHA-256) -- under an HMAC-SHA256 (128 bits) with that key:

* a token cannot be forged or altered without the key (:func:`verify_token` checks the
  MAC in constant time); keys rotate by id, so old mail keeps working while the key it
  was signed with is still configured;
* the URL itself is not in the token: the tracker re-renders the message, takes link
  ``index`` of the body (:func:`html_links` / :func:`text_links`) and redirects only if
  its hash matches. So the tracker can never be used as an open redirect -- it only sends
  people to a link that is in a message postwave sent -- and links stay short;
* nothing is stored per link, so wrapping costs no write.

Not wrapped: ``mailto:``, ``tel:``, anchors (``#top``), relative and other non-http links,
and links whose ``<a>`` tag has a ``data-pw-notrack`` attribute.

The html is scanned, not parsed: ``<a`` (any case) followed by whitespace opens a tag, whose
attributes are read as HTML does (names up to whitespace, ``/``, ``>`` or ``=``; values
double-quoted, single-quoted or bare); a tag with an unclosed quote is left alone. Only
the first ``href`` counts, as in a browser. The ``href`` value is HTML-unescaped and
stripped before it is checked and signed (``&amp;`` in the markup is ``&`` in the URL).
In text, a URL starts at ``http://`` or ``https://`` (any case, not preceded by an ASCII
letter or digit) and runs to whitespace, ``<``, ``>`` or ``"``, less trailing punctuation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from html import unescape
from typing import NamedTuple

from postwave.errors import InvalidArgumentError, PostwaveError

__all__ = ["InvalidTokenError", "Token", "html_links", "sign_token", "text_links", "url_hash", "verify_token",
           "wrap_html", "wrap_text"]

KINDS = frozenset({"c", "t", "o", "u"})
DEFAULT_KEY_ID = "1"
_MAC_BYTES = 16
_URL_HASH_BYTES = 12
_KEY_ID = re.compile(r"[A-Za-z0-9]{1,16}")
_INDEX = re.compile(r"0|[1-9][0-9]{0,5}")
_WS = " \t\n\r\f"
_TAG = re.compile(r"<[Aa][ \t\n\r\f]")
_SKIP = re.compile(r"[ \t\n\r\f/]*")
_NAME = re.compile(r"[^ \t\n\r\f/>=]+")
_SPACE = re.compile(r"[ \t\n\r\f]*")
_BARE = re.compile(r"[^ \t\n\r\f>]*")
_BODY_END = re.compile(r"</[Bb][Oo][Dd][Yy]")
_TEXT_URL = re.compile(r"(?<![A-Za-z0-9])[Hh][Tt][Tt][Pp][Ss]?://[^\s<>\"]*")
_TRAILING = ".,;:!?)]}'"
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_BASE_URL = re.compile(r"https?://[A-Za-z0-9.:\[\]-]+(?:/[A-Za-z0-9._~/%!$&()*+,;=:@-]*)?")


class InvalidTokenError(PostwaveError, ValueError):
    """A tracking token that is malformed, forged or altered."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Token(NamedTuple):
    """What a verified token names."""

    key_id: str
    kind: str  # c (html link), t (text link), o (open pixel), u (unsubscribe)
    message_id: str
    position: int  # the link's index among the tracked links of its body
    url_hash: str  # url_hash() of the link's URL; "" for o and u


def url_hash(url: str) -> str:
    """The hash a token carries for ``url``: 96 bits of SHA-256, base64url."""
    return _b64(hashlib.sha256(url.encode("utf-8", "surrogatepass")).digest()[:_URL_HASH_BYTES])


def sign_token(key: bytes, kind: str, message_id: str, url: str, index: int = 0, key_id: str = DEFAULT_KEY_ID) -> str:
    """The token of link ``index`` (``url``) of a body, or of the pixel or unsubscribe link (``url`` "")."""
    digest = url_hash(url) if url else ""
    payload = f"{key_id}\x00{kind}\x00{message_id}\x00{index}\x00{digest}".encode("utf-8", "surrogatepass")
    return _b64(payload) + "." + _b64(hmac.digest(key, payload, "sha256")[:_MAC_BYTES])


def verify_token(keys: Mapping[str, bytes], token: str) -> Token:
    """What a token made with one of ``keys`` (key id -> key) names.

    Raises:
        InvalidTokenError: the token is malformed, its key id unknown or its MAC wrong.
    """
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise InvalidTokenError("tracking token is malformed")
    data, _, mac = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        given = base64.urlsafe_b64decode(mac + "=" * (-len(mac) % 4))
    except (binascii.Error, ValueError):
        raise InvalidTokenError("tracking token is malformed") from None
    if _b64(payload) != data or _b64(given) != mac:  # one spelling per token
        raise InvalidTokenError("tracking token is malformed")
    try:
        fields = payload.decode("utf-8", "surrogatepass").split("\x00")
    except UnicodeDecodeError:  # a made-up payload (security helper: was an HTTP 500)
        raise InvalidTokenError("tracking token is malformed") from None
    if len(fields) != 5 or fields[1] not in KINDS or not _INDEX.fullmatch(fields[3]):
        raise InvalidTokenError("tracking token is malformed")
    key = keys.get(fields[0])
    if key is None:
        raise InvalidTokenError("tracking token names an unknown key")
    if not hmac.compare_digest(given, hmac.digest(key, payload, "sha256")[:_MAC_BYTES]):
        raise InvalidTokenError("tracking token is forged or altered")
    return Token(fields[0], fields[1], fields[2], int(fields[3]), fields[4])


def check_key_id(key_id: str) -> str:
    """``key_id`` if it is 1-16 ASCII letters and digits."""
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise InvalidArgumentError("tracking_key_id", "must be 1-16 ASCII letters or digits")
    return key_id


def check_base_url(base_url: str) -> str:
    """``base_url`` without a trailing slash, if it is a plain http(s) URL."""
    if not isinstance(base_url, str) or not _BASE_URL.fullmatch(base_url):
        raise InvalidArgumentError("tracking_base_url", "must be an http(s) URL without query or fragment")
    return base_url.rstrip("/")


def _tracked(value: str) -> str | None:
    """The URL an href value points to, if it is one to track."""
    url = (unescape(value) if "&" in value else value).strip()
    scheme = url[:8].lower()
    if scheme.startswith("http://") or scheme == "https://":
        return url
    return None


def _tag(html: str, position: int) -> tuple[int, tuple[int, int, str] | None, bool] | None:
    """Read the attributes of a tag from ``position``.

    Returns ``(end, href, notrack)`` -- ``href`` as ``(start, end, value)`` of its value
    in ``html`` -- or ``None`` when the tag does not close properly.
    """
    href: tuple[int, int, str] | None = None
    notrack = False
    while True:
        position = _SKIP.match(html, position).end()  # type: ignore[union-attr]
        if position >= len(html):
            return None
        char = html[position]
        if char == ">":
            return position + 1, href, notrack
        if char == "=":
            position += 1
            continue
        name_end = _NAME.match(html, position).end()  # type: ignore[union-attr]
        name = html[position:name_end].lower()
        position = _SPACE.match(html, name_end).end()  # type: ignore[union-attr]
        value_start = value_end = position
        value = ""
        if position < len(html) and html[position] == "=":
            position = _SPACE.match(html, position + 1).end()  # type: ignore[union-attr]
            value_start = position
            if position < len(html) and html[position] in "\"'":
                close = html.find(html[position], position + 1)
                if close < 0:
                    return None
                value, value_end = html[position + 1 : close], close + 1
            else:
                value_end = _BARE.match(html, position).end()  # type: ignore[union-attr]
                value = html[position:value_end]
            position = value_end
        if name == "href" and href is None:
            href = (value_start, value_end, value)
        elif name == "data-pw-notrack":
            notrack = True


def _html_hrefs(html: str) -> list[tuple[int, int, str]]:
    """``(start, end, url)`` of each tracked href value of ``html``, in order."""
    found: list[tuple[int, int, str]] = []
    search = 0
    while True:
        match = _TAG.search(html, search)
        if match is None:
            return found
        tag = _tag(html, match.end())
        if tag is None:
            search = match.start() + 2
            continue
        end, href, notrack = tag
        search = end
        url = _tracked(href[2]) if href is not None and not notrack else None
        if url is not None:
            found.append((href[0], href[1], url))  # type: ignore[index]


def _text_urls(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, url)`` of each tracked URL of ``text``, in order."""
    found: list[tuple[int, int, str]] = []
    for match in _TEXT_URL.finditer(text):
        url = match.group().rstrip(_TRAILING)
        if not url.endswith("://"):
            found.append((match.start(), match.start() + len(url), url))
    return found


def html_links(html: str) -> list[str]:
    """The URLs :func:`wrap_html` tracks, by index (the tracker's view of a message)."""
    return [url for _, _, url in _html_hrefs(html)]


def text_links(text: str) -> list[str]:
    """The URLs :func:`wrap_text` tracks, by index."""
    return [url for _, _, url in _text_urls(text)]


def wrap_html(
    html: str, *, base_url: str, key: bytes, message_id: str, links: bool = True, open_pixel: bool = True,
    key_id: str = DEFAULT_KEY_ID,
) -> str:
    """``html`` with, as asked, its tracked links rewritten and an open pixel added.

    The pixel goes just before the last ``</body`` (or at the end without one).
    """
    base = check_base_url(base_url)
    out: list[str] = []
    done = 0
    for index, (start, end, url) in enumerate(_html_hrefs(html) if links else ()):
        out += (html[done:start], '"', base, "/c/", sign_token(key, "c", message_id, url, index, key_id), '"')
        done = end
    out.append(html[done:])
    result = "".join(out)
    if not open_pixel:
        return result
    pixel = (f'<img src="{base}/o/{sign_token(key, "o", message_id, "", 0, key_id)}.gif" width="1" height="1" '
             'alt="" style="border:0;width:1px;height:1px">')
    at = len(result)
    for found in _BODY_END.finditer(result):
        at = found.start()
    return result[:at] + pixel + result[at:]


def wrap_text(text: str, *, base_url: str, key: bytes, message_id: str, key_id: str = DEFAULT_KEY_ID) -> str:
    """``text`` with every http(s) URL rewritten to its tracking URL."""
    base = check_base_url(base_url)
    out: list[str] = []
    done = 0
    for index, (start, end, url) in enumerate(_text_urls(text)):
        out += (text[done:start], base, "/c/", sign_token(key, "t", message_id, url, index, key_id))
        done = end
    out.append(text[done:])
    return "".join(out)

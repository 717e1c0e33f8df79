"""Link wrapping: the twin of ``native/linkwrap.pyx``.

Every ``http(s)`` link of a message is rewritten to ``{base_url}/c/{token}``, and an open
pixel ``{base_url}/o/{token}`` is added to the html. The token carries what the tracker
needs -- the kind (``c`` or ``o``), the message id and the original URL -- and an
HMAC-SHA256 over them (128 bits) with the tracking secret:

* a token cannot be forged or altered without the secret (:func:`verify_token` checks the
  MAC in constant time), so the tracker can never be used as an open redirect: it only
  redirects to URLs that were in a message postwave sent;
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
import hmac
import re
from html import unescape

from postwave.errors import InvalidArgumentError, PostwaveError

__all__ = ["InvalidTokenError", "sign_token", "verify_token", "wrap_html", "wrap_text"]

_MAC_BYTES = 16
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


def sign_token(key: bytes, kind: str, message_id: str, url: str) -> str:
    """The token of one tracked ``url`` (``kind`` ``"c"``) or of the open pixel (``"o"``, no url)."""
    payload = f"{kind}\x00{message_id}\x00{url}".encode("utf-8", "surrogatepass")
    return _b64(payload) + "." + _b64(hmac.digest(key, payload, "sha256")[:_MAC_BYTES])


def verify_token(key: bytes, token: str) -> tuple[str, str, str]:
    """``(kind, message_id, url)`` of a token made with ``key``.

    Raises:
        InvalidTokenError: the token is malformed or its MAC does not match.
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
    expected = hmac.digest(key, payload, "sha256")[:_MAC_BYTES]
    if not hmac.compare_digest(given, expected):
        raise InvalidTokenError("tracking token is forged or altered")
    kind, _, rest = payload.decode("utf-8", "surrogatepass").partition("\x00")
    message_id, _, url = rest.partition("\x00")
    return kind, message_id, url


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


def wrap_html(
    html: str, *, base_url: str, key: bytes, message_id: str, links: bool = True, open_pixel: bool = True
) -> str:
    """``html`` with, as asked, its tracked links rewritten and an open pixel added.

    The pixel goes just before the last ``</body`` (or at the end without one).
    """
    base = check_base_url(base_url)
    out: list[str] = []
    done = 0
    search = 0
    while links:
        match = _TAG.search(html, search)
        if match is None:
            break
        tag = _tag(html, match.end())
        if tag is None:
            search = match.start() + 2
            continue
        end, href, notrack = tag
        search = end
        url = _tracked(href[2]) if href is not None and not notrack else None
        if url is None:
            continue
        out += (html[done : href[0]], '"', base, "/c/", sign_token(key, "c", message_id, url), '"')  # type: ignore[index]
        done = href[1]  # type: ignore[index]
    out.append(html[done:])
    result = "".join(out)
    if not open_pixel:
        return result
    pixel = (f'<img src="{base}/o/{sign_token(key, "o", message_id, "")}" width="1" height="1" alt="" '
             'style="border:0;width:1px;height:1px">')
    at = len(result)
    for found in _BODY_END.finditer(result):
        at = found.start()
    return result[:at] + pixel + result[at:]


def wrap_text(text: str, *, base_url: str, key: bytes, message_id: str) -> str:
    """``text`` with every http(s) URL rewritten to its tracking URL."""
    base = check_base_url(base_url)
    out: list[str] = []
    done = 0
    for match in _TEXT_URL.finditer(text):
        url = match.group().rstrip(_TRAILING)
        if url.endswith("://"):
            continue
        out += (text[done : match.start()], base, "/c/", sign_token(key, "c", message_id, url))
        done = match.start() + len(url)
    out.append(text[done:])
    return "".join(out)

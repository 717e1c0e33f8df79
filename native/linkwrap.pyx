"""Link wrapping: compiled twin of ``postwave.tracking.linkwrap``.

The scanning of html and text -- every character of every body -- is a C loop here; the
twin (the specification, with the token format and its verification) does the same with
regular expressions. Each tracked link then costs one HMAC-SHA256 (OpenSSL's SHA-256 through
``hashlib``, from pad states made once per key).
Output is identical to the twin's; tests/native/ checks it on generated markup.
"""

import hashlib
from html import unescape

from libc.string cimport memchr

from postwave.tracking.linkwrap import (
    DEFAULT_KEY_ID, InvalidTokenError, Token, check_base_url, html_links, text_links, verify_token,
)

__all__ = ["InvalidTokenError", "Token", "html_links", "sign_token", "text_links", "url_hash", "verify_token",
           "wrap_html", "wrap_text"]

cdef extern from "Python.h":
    int PyUnicode_KIND(object text)
    void* PyUnicode_DATA(object text)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index) nogil


cdef struct _Text:
    int kind
    void* data
    Py_ssize_t n


cdef inline _Text _text(str value):
    cdef _Text text
    text.kind = PyUnicode_KIND(value)
    text.data = PyUnicode_DATA(value)
    text.n = len(value)
    return text


cdef inline Py_UCS4 _at(_Text* text, Py_ssize_t index) noexcept nogil:
    return PyUnicode_READ(text.kind, text.data, index)


cdef inline Py_ssize_t _find(_Text* text, Py_UCS4 c, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    """The index of the first ``c`` (< 128) in ``[start, end)``, or ``end``: ``memchr`` over a
    one-byte-per-character string (nearly every body), a loop over the others."""
    cdef const char* data
    cdef const void* found
    if start >= end:
        return end
    if text.kind == 1:
        data = <const char*>text.data
        found = memchr(data + start, <int>c, end - start)
        return end if found == NULL else <const char*>found - data
    while start < end and PyUnicode_READ(text.kind, text.data, start) != c:
        start += 1
    return start


cdef Py_ssize_t _MAC_BYTES = 16
cdef Py_ssize_t _URL_HASH_BYTES = 12
cdef const char* _B64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
cdef str _TRAILING = ".,;:!?)]}'"
cdef object _sha256 = hashlib.sha256


cdef str _b64(bytes data):
    """Unpadded base64url, written into one buffer."""
    cdef const unsigned char* src = data
    cdef Py_ssize_t n = len(data), i = 0, o = 0
    cdef unsigned int v
    cdef bytearray buf = bytearray((n + 2) // 3 * 4)
    cdef unsigned char* dst = buf
    while i + 3 <= n:
        v = (src[i] << 16) | (src[i + 1] << 8) | src[i + 2]
        dst[o] = _B64URL[v >> 18]
        dst[o + 1] = _B64URL[(v >> 12) & 63]
        dst[o + 2] = _B64URL[(v >> 6) & 63]
        dst[o + 3] = _B64URL[v & 63]
        o += 4
        i += 3
    if i < n:
        v = src[i] << 16
        if i + 1 < n:
            v |= src[i + 1] << 8
        dst[o] = _B64URL[v >> 18]
        dst[o + 1] = _B64URL[(v >> 12) & 63]
        o += 2
        if i + 1 < n:
            dst[o] = _B64URL[(v >> 6) & 63]
            o += 1
    return buf[:o].decode("ascii")


cdef dict _url_hashes = {}  # url -> url_hash(url): a campaign's few links recur in every message


cpdef str url_hash(str url):
    """96 bits of SHA-256 of ``url``, base64url; see the twin."""
    cdef str found = _url_hashes.get(url)
    if found is None:
        found = _b64(_sha256(url.encode("utf-8", "surrogatepass")).digest()[:_URL_HASH_BYTES])
        if len(_url_hashes) >= 4096:
            _url_hashes.clear()  # bounded: a new campaign's links fill it again at once
        _url_hashes[url] = found
    return found


cdef bytes _prefix(str key_id, str kind, str message_id):
    """The payload up to the index: the same for every link of a body."""
    return f"{key_id}\x00{kind}\x00{message_id}\x00".encode("utf-8", "surrogatepass")


cdef dict _pads = {}  # key -> SHA-256 states after its inner and outer pad (RFC 2104)


cdef tuple _keyed(bytes key):
    """The key's HMAC-SHA256 pad states, made once: a link then costs two state copies and
    two short hashes instead of a whole OpenSSL HMAC set-up (about half the time)."""
    cdef tuple pads = _pads.get(key)
    if pads is None:
        block = _sha256(key).digest() if len(key) > 64 else key
        block = block + b"\x00" * (64 - len(block))
        pads = (_sha256(bytes([c ^ 0x36 for c in block])), _sha256(bytes([c ^ 0x5C for c in block])))
        if len(_pads) >= 64:
            _pads.clear()  # a handful of tracking keys in practice; never grows without bound
        _pads[key] = pads
    return pads


cdef bytes _hmac_sha256(bytes key, bytes payload):
    cdef tuple pads = _keyed(key)
    inner = pads[0].copy()
    inner.update(payload)
    outer = pads[1].copy()
    outer.update(inner.digest())
    return outer.digest()


cdef str _sign(bytes key, bytes prefix, str url, Py_ssize_t index):
    cdef bytes payload = prefix + (b"%d\x00" % index) + (url_hash(url).encode("ascii") if url else b"")
    return _b64(payload) + "." + _b64(_hmac_sha256(key, payload)[:_MAC_BYTES])


cpdef str sign_token(bytes key, str kind, str message_id, str url, Py_ssize_t index=0, str key_id=DEFAULT_KEY_ID):
    """The token of link ``index`` of a body, or of the pixel or unsubscribe link; see the twin."""
    return _sign(key, _prefix(key_id, kind, message_id), url, index)


cdef inline bint _space(Py_UCS4 c) noexcept:
    return c == u" " or c == u"\t" or c == u"\n" or c == u"\r" or c == u"\f"


cdef str _tracked(str value):
    cdef str url = (unescape(value) if "&" in value else value).strip()
    cdef str scheme = url[:8].lower()
    if scheme.startswith("http://") or scheme == "https://":
        return url
    return None


cdef Py_ssize_t _tag(str html, Py_ssize_t p, Py_ssize_t* href_start, Py_ssize_t* href_end, bint* notrack):
    """Read a tag's attributes from ``p``; its end, or -1 when it does not close. See the twin."""
    cdef _Text t = _text(html)
    cdef Py_ssize_t n = t.n, name_end, value_start, value_end, close
    cdef Py_UCS4 c, quote
    cdef str name
    href_start[0] = -1
    notrack[0] = False
    while True:
        while p < n and (_space(_at(&t, p)) or _at(&t, p) == u"/"):
            p += 1
        if p >= n:
            return -1
        c = _at(&t, p)
        if c == u">":
            return p + 1
        if c == u"=":
            p += 1
            continue
        name_end = p
        while name_end < n:
            c = _at(&t, name_end)
            if _space(c) or c == u"/" or c == u">" or c == u"=":
                break
            name_end += 1
        name = html[p:name_end].lower()
        p = name_end
        while p < n and _space(_at(&t, p)):
            p += 1
        value_start = value_end = p
        if p < n and _at(&t, p) == u"=":
            p += 1
            while p < n and _space(_at(&t, p)):
                p += 1
            value_start = p
            if p < n and (_at(&t, p) == u'"' or _at(&t, p) == u"'"):
                quote = _at(&t, p)
                close = p + 1
                while close < n and _at(&t, close) != quote:
                    close += 1
                if close >= n:
                    return -1
                value_end = close + 1
            else:
                value_end = p
                while value_end < n and not _space(_at(&t, value_end)) and _at(&t, value_end) != u">":
                    value_end += 1
            p = value_end
        if name == "href" and href_start[0] < 0:
            href_start[0] = value_start
            href_end[0] = value_end
        elif name == "data-pw-notrack":
            notrack[0] = True


cdef inline bint _is_char(Py_UCS4 c, Py_UCS4 lower) noexcept:
    return c == lower or <unsigned int>c + 32 == <unsigned int>lower


def wrap_html(str html, *, base_url, bytes key, str message_id, links=True, open_pixel=True,
              str key_id=DEFAULT_KEY_ID):
    """``html`` with its tracked links rewritten and an open pixel; see the twin."""
    cdef str base = check_base_url(base_url)
    cdef list out = []
    cdef Py_ssize_t n = len(html), i = 0, done = 0, end, href_start = -1, href_end = -1, at, index = 0
    cdef bint notrack = False
    cdef str value, url, result
    cdef _Text t = _text(html)
    cdef bytes prefix = _prefix(key_id, "c", message_id)
    if not links:
        i = n
    while i + 2 < n:
        i = _find(&t, u"<", i, n - 2)
        if i + 2 >= n:
            break
        if not _is_char(_at(&t, i + 1), u"a") or not _space(_at(&t, i + 2)):
            i += 1
            continue
        end = _tag(html, i + 3, &href_start, &href_end, &notrack)
        if end < 0:
            i += 2
            continue
        i = end
        if href_start < 0 or notrack:
            continue
        value = html[href_start:href_end]
        if href_end > href_start and (value[0] == u'"' or value[0] == u"'"):
            value = value[1:len(value) - 1]
        url = _tracked(value)
        if url is None:
            continue
        out += (html[done:href_start], '"', base, "/c/", _sign(key, prefix, url, index), '"')
        index += 1
        done = href_end
    out.append(html[done:])
    result = "".join(out)
    if not open_pixel:
        return result
    pixel = (f'<img src="{base}/o/{sign_token(key, "o", message_id, "", 0, key_id)}.gif" width="1" height="1" '
             'alt="" style="border:0;width:1px;height:1px">')
    at = len(result)
    i = len(result) - 6
    t = _text(result)
    while i >= 0:
        if (_at(&t, i) == u"<" and _at(&t, i + 1) == u"/" and _is_char(_at(&t, i + 2), u"b")
                and _is_char(_at(&t, i + 3), u"o") and _is_char(_at(&t, i + 4), u"d")
                and _is_char(_at(&t, i + 5), u"y")):
            at = i
            break
        i -= 1
    return result[:at] + pixel + result[at:]


cdef inline bint _ascii_alnum(Py_UCS4 c) noexcept:
    return (u"a" <= c <= u"z") or (u"A" <= c <= u"Z") or (u"0" <= c <= u"9")


def wrap_text(str text, *, base_url, bytes key, str message_id, str key_id=DEFAULT_KEY_ID):
    """``text`` with every http(s) URL rewritten to its tracking URL; see the twin."""
    cdef str base = check_base_url(base_url)
    cdef list out = []
    cdef Py_ssize_t n = len(text), i = 0, done = 0, j, end, stop, index = 0
    cdef Py_UCS4 c
    cdef str url
    cdef _Text t = _text(text)
    cdef bytes prefix = _prefix(key_id, "t", message_id)
    while i + 7 <= n:
        c = _at(&t, i)
        if not _is_char(c, u"h") or (i > 0 and _ascii_alnum(_at(&t, i - 1))):
            i += 1
            continue
        if not (_is_char(_at(&t, i + 1), u"t") and _is_char(_at(&t, i + 2), u"t") and _is_char(_at(&t, i + 3), u"p")):
            i += 1
            continue
        j = i + 4
        if j < n and _is_char(_at(&t, j), u"s"):
            j += 1
        if not (j + 3 <= n and _at(&t, j) == u":" and _at(&t, j + 1) == u"/" and _at(&t, j + 2) == u"/"):
            i += 1
            continue
        end = j + 3
        while end < n:
            c = _at(&t, end)
            if c.isspace() or c == u"<" or c == u">" or c == u'"':
                break
            end += 1
        stop = end
        while stop > i and _TRAILING.find(_at(&t, stop - 1)) >= 0:
            stop -= 1
        url = text[i:stop]
        if not url.endswith("://"):
            out += (text[done:i], base, "/c/", _sign(key, prefix, url, index))
            index += 1
            done = stop
        i = end
    out.append(text[done:])
    return "".join(out)

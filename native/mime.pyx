"""MIME assembly: compiled twin of ``postwave.render.mime``.

The per-byte work -- newline normalisation, quoted-printable (the exact output of
``binascii.b2a_qp`` plus the twin's lone-dot and ``From `` protection) and base64 with
CRLF lines -- is done here in C loops over the body. Header fields are few and short:
their validation, RFC 2047 encoding and folding are the twin's own functions (one
source), called from the compiled :func:`build_message`. The output is byte-identical
to the twin's (tests/native/ compares them on generated messages).
"""

import os

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport uint64_t
from libc.string cimport memchr, memcmp, memcpy

from postwave.errors import InvalidArgumentError
from postwave.render.mime import (  # header steps and validation: one source, the twin's
    Attachment,
    _address_headers,
    _attachment_type,
    _content_id,
    _custom_headers,
    _date,
    _Entity,
    _filename,
    _header_text,
    _message_id,
    _parameter,
    _parameters,
    _unstructured,
    _unsubscribe_headers,
    new_message_id,
    validate_headers,
)

__all__ = ["Attachment", "build_message", "new_message_id", "smtp_data", "validate_headers"]

cdef Py_ssize_t _LINE = 78
cdef Py_ssize_t _MAXLINESIZE = 76  # binascii's quoted-printable line length
cdef const char* _HEX = b"0123456789ABCDEF"
cdef const char* _B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def build_message(
    *, from_addr, to, cc=(), reply_to=None, subject, text, html, headers={}, attachments=(),
    message_id, date=None, list_unsubscribe=None, list_unsubscribe_post=False,
):
    """Build the complete message as bytes; see :func:`postwave.render.mime.build_message`."""
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


# -- structure ------------------------------------------------------------------------


cdef object _structure(object text, object html, object attachments):
    cdef str token = os.urandom(8).hex()
    entity = _alternative(text, html, token)
    inline = [_attachment(i, a) for i, a in enumerate(attachments) if a.content_id is not None]
    files = [_attachment(i, a) for i, a in enumerate(attachments) if a.content_id is None]
    if inline:
        entity = _multipart("related", [entity, *inline], f"=_{token}.r", f'; type="{entity.media_type}"')
    if files:
        entity = _multipart("mixed", [entity, *files], f"=_{token}.m")
    return entity


cdef object _alternative(object text, object html, str token):
    if text is None and html is None:
        raise InvalidArgumentError("text", "a message needs a text body, an html body or both")
    if html is None:
        return _text_part("plain", text, "text")
    if text is None:
        return _text_part("html", html, "html")
    parts = [_text_part("plain", text, "text"), _text_part("html", html, "html")]
    return _multipart("alternative", parts, f"=_{token}.a")


cdef object _multipart(str subtype, list parts, str boundary, str params=""):
    cdef bytes delimiter = b"--" + boundary.encode("ascii")
    cdef list chunks = []
    for part in parts:
        chunks += (delimiter, b"\r\n", part.headers, b"\r\n", part.body, b"\r\n")
    chunks += (delimiter, b"--\r\n")
    cdef str media_type = f"multipart/{subtype}"
    cdef str header = f'Content-Type: {media_type}{params}; boundary="{boundary}"\r\n'
    if len(header) > _LINE:
        header = f'Content-Type: {media_type}{params};\r\n boundary="{boundary}"\r\n'
    return _Entity(media_type, header.encode("ascii"), b"".join(chunks))


cdef object _text_part(str subtype, object value, str field):
    if not isinstance(value, str):
        raise InvalidArgumentError(field, "must be a string")
    try:
        raw = (<str>value).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgumentError(field, "is not valid Unicode (it holds a lone surrogate)") from None
    cdef const unsigned char* src = <const unsigned char*>PyBytes_AS_STRING(raw)
    cdef Py_ssize_t n = PyBytes_GET_SIZE(raw)
    cdef str encoding
    cdef bytes body
    # The twin's rule on the CRLF text: quoted-printable unless over 1/6 of its bytes are high.
    if _high_bytes(src, n) * 6 > n + _lone_breaks(src, n):
        encoding, body = "base64", _base64(_crlf(raw))
    else:
        encoding, body = "quoted-printable", _quoted_printable(src, n)
    headers = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: {encoding}\r\n'
    return _Entity(f"text/{subtype}", headers.encode("ascii"), body)


cdef object _attachment(Py_ssize_t index, object attachment):
    cdef str field = f"attachments[{index}]"
    media_type = _attachment_type(attachment.content_type, f"{field}.content_type")
    filename = _filename(attachment.filename, f"{field}.filename")
    if not isinstance(attachment.content, (bytes, bytearray, memoryview)):
        raise InvalidArgumentError(f"{field}.content", "must be bytes")
    disposition = "attachment" if attachment.content_id is None else "inline"
    lines = [
        _parameters("Content-Type", media_type, _parameter("name", filename) if filename else []),
        "Content-Transfer-Encoding: base64\r\n",
        _parameters("Content-Disposition", disposition, _parameter("filename", filename) if filename else []),
    ]
    if attachment.content_id is not None:
        lines.append(f"Content-ID: <{_content_id(attachment.content_id, f'{field}.content_id')}>\r\n")
    return _Entity(media_type, "".join(lines).encode("ascii"), _base64(bytes(attachment.content)))


# -- byte-level encoders --------------------------------------------------------------


cdef inline Py_ssize_t _put_crlf(const unsigned char* src, Py_ssize_t i, Py_ssize_t n, unsigned char* out,
                                 Py_ssize_t o) noexcept nogil:
    """Write CRLF at ``out[o]`` for the line break (CR, LF or CRLF) at ``src[i]``; the index after it."""
    out[o] = 13
    out[o + 1] = 10
    return i + 2 if src[i] == 13 and i + 1 < n and src[i + 1] == 10 else i + 1


cdef inline Py_ssize_t _find(const unsigned char* src, unsigned char c, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """The index of the first ``c`` at or after ``i``, or ``n``."""
    cdef const void* p = memchr(src + i, c, n - i)
    return n if p == NULL else <const unsigned char*>p - src


def smtp_data(bytes message):
    """The DATA payload of ``message``, a line at a time (each line one memcpy); see the twin."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(message), i = 0, o = 0, cr = -1, lf = -1, brk
    cdef const unsigned char* src = <const unsigned char*>PyBytes_AS_STRING(message)
    cdef unsigned char* out
    cdef bint line_start = True
    # worst case: each byte a lone LF (2 out) or a dot opening a line (2 out), plus CRLF . CRLF
    out = <unsigned char*>PyMem_Malloc(2 * n + 5)
    if out == NULL:
        raise MemoryError()
    try:
        with nogil:
            while i < n:  # i starts a line
                if cr < i:
                    cr = _find(src, 13, i, n)
                if lf < i:
                    lf = _find(src, 10, i, n)
                brk = cr if cr < lf else lf  # its line break (CR, LF or CRLF), or the end
                if brk > i:
                    if src[i] == 46:
                        out[o] = 46  # dot stuffing
                        o += 1
                    memcpy(out + o, src + i, brk - i)
                    o += brk - i
                    line_start = False
                if brk == n:
                    break
                out[o] = 13
                out[o + 1] = 10
                o += 2
                line_start = True
                i = brk + 2 if src[brk] == 13 and brk + 1 < n and src[brk + 1] == 10 else brk + 1
            if not line_start or o == 0:  # the last line ends with CRLF (an empty message too)
                out[o] = 13
                out[o + 1] = 10
                o += 2
            out[o] = 46
            out[o + 1] = 13
            out[o + 2] = 10
            o += 3
        return PyBytes_FromStringAndSize(<char*>out, o)
    finally:
        PyMem_Free(out)


cdef bytes _crlf(bytes data):
    """Every CR, LF and CRLF becomes CRLF (SMTP smuggling: see the twin's docstring)."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data), i = 0, o = 0, extra = 0
    cdef const unsigned char* src = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef unsigned char* out
    cdef unsigned char c
    for i in range(n):
        c = src[i]
        if c == 10 and (i == 0 or src[i - 1] != 13):
            extra += 1
        elif c == 13 and (i + 1 == n or src[i + 1] != 10):
            extra += 1
    if extra == 0:
        return data
    out = <unsigned char*>PyMem_Malloc(n + extra)
    if out == NULL:
        raise MemoryError()
    try:
        i = 0
        while i < n:
            c = src[i]
            if c == 13 or c == 10:
                i = _put_crlf(src, i, n, out, o)
                o += 2
            else:
                out[o] = c
                o += 1
                i += 1
        return PyBytes_FromStringAndSize(<char*>out, o)
    finally:
        PyMem_Free(out)


cdef Py_ssize_t _high_bytes(const unsigned char* src, Py_ssize_t n) noexcept nogil:
    """How many bytes of ``src`` are >= 0x80, eight at a time."""
    cdef Py_ssize_t i = 0, high = 0
    cdef uint64_t word
    while i + 8 <= n:
        memcpy(&word, src + i, 8)
        # each byte's top bit moved to its bottom, then all eight summed into the top byte
        high += <Py_ssize_t>((((word >> 7) & 0x0101010101010101ULL) * 0x0101010101010101ULL) >> 56)
        i += 8
    while i < n:
        high += src[i] >> 7
        i += 1
    return high


cdef Py_ssize_t _lone_breaks(const unsigned char* src, Py_ssize_t n) noexcept nogil:
    """How many bytes CRLF normalisation adds: one per lone CR and per lone LF."""
    cdef Py_ssize_t extra = 0
    cdef const unsigned char* p = src
    cdef const unsigned char* end = src + n
    while p < end:
        p = <const unsigned char*>memchr(p, 10, end - p)
        if p == NULL:
            break
        if p == src or (p - 1)[0] != 13:
            extra += 1
        p += 1
    p = src
    while p < end:
        p = <const unsigned char*>memchr(p, 13, end - p)
        if p == NULL:
            break
        if p + 1 == end or p[1] != 10:
            extra += 1
        p += 1
    return extra


cdef bytes _base64(bytes data):
    """``base64.encodebytes`` with CRLF: 76-character lines, each ending with CRLF."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data), i = 0, o = 0, line = 0, size
    cdef const unsigned char* src = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef unsigned char* out
    cdef unsigned int v
    if n == 0:
        return b""
    size = (n + 2) // 3 * 4
    size += (size + 75) // 76 * 2
    out = <unsigned char*>PyMem_Malloc(size)
    if out == NULL:
        raise MemoryError()
    try:
        while i + 3 <= n:
            v = (src[i] << 16) | (src[i + 1] << 8) | src[i + 2]
            out[o] = _B64[v >> 18]
            out[o + 1] = _B64[(v >> 12) & 63]
            out[o + 2] = _B64[(v >> 6) & 63]
            out[o + 3] = _B64[v & 63]
            o += 4
            i += 3
            line += 4
            if line == 76:
                out[o] = 13
                out[o + 1] = 10
                o += 2
                line = 0
        if i < n:
            v = src[i] << 16
            if i + 1 < n:
                v |= src[i + 1] << 8
            out[o] = _B64[v >> 18]
            out[o + 1] = _B64[(v >> 12) & 63]
            out[o + 2] = _B64[(v >> 6) & 63] if i + 1 < n else 61
            out[o + 3] = 61
            o += 4
            line += 4
        if line:
            out[o] = 13
            out[o + 1] = 10
            o += 2
        return PyBytes_FromStringAndSize(<char*>out, o)
    finally:
        PyMem_Free(out)


# Byte classes of the quoted-printable pass: binascii.b2a_qp's rules (istext=True,
# quotetabs=False, header=False) looked up once per byte instead of tested one by one.
cdef enum:
    _LITERAL = 0  # written as it is (space and tab too, but see _qp_core)
    _QUOTED = 1   # always =XX: "=", control bytes, DEL and every byte >= 0x80
    _BREAK = 2    # CR or LF: a line break (CR, LF and CRLF all become CRLF)
    _DOT = 3      # ".": quoted when it would stand alone on a line

cdef unsigned char _CLASS[256]


cdef void _init_classes() noexcept:
    cdef int c
    for c in range(256):
        if c == 10 or c == 13:
            _CLASS[c] = _BREAK
        elif c == 46:
            _CLASS[c] = _DOT
        elif c == 32 or c == 9 or 33 <= c <= 126 and c != 61:
            _CLASS[c] = _LITERAL
        else:
            _CLASS[c] = _QUOTED


_init_classes()


cdef inline Py_ssize_t _soft_break(unsigned char* out, Py_ssize_t o) noexcept nogil:
    """Write a soft line break ("=" CRLF) at ``out[o]``; the index after it."""
    out[o] = 61
    out[o + 1] = 13
    out[o + 2] = 10
    return o + 3


cdef Py_ssize_t _qp_core(const unsigned char* d, Py_ssize_t n, unsigned char* out) noexcept nogil:
    """``binascii.b2a_qp`` (istext=True) of ``d`` with its line breaks made CRLF first,
    in one pass over ``d``: each CR, LF or CRLF is read as the CRLF it becomes. Returns
    the output length (at most 3n + 3(n // 24 + 2) bytes)."""
    cdef Py_ssize_t i = 0, o = 0, linelen = 0, j, end
    cdef unsigned char c, k, after
    while i < n:
        c = d[i]
        k = _CLASS[c]
        if k == _LITERAL:  # the common case first; a blank ending the text is quoted
            if i + 1 != n:
                if linelen + 1 >= _MAXLINESIZE:
                    o = _soft_break(out, o)
                    linelen = 0
                # the run of literals that fits on the line (the text's last byte left out)
                j = i + 1
                end = i + _MAXLINESIZE - 1 - linelen
                if end > n - 1:
                    end = n - 1
                while j < end and _CLASS[d[j]] == _LITERAL:
                    j += 1
                memcpy(out + o, d + i, j - i)
                o += j - i
                linelen += j - i
                i = j
                continue
            if c == 32 or c == 9:
                k = _QUOTED
        elif k == _DOT:
            after = d[i + 1] if i + 1 < n else 0
            # alone on a line: at a line start, with the text's end or a line break after it
            k = _QUOTED if linelen == 0 and (i + 1 == n or after == 10 or after == 13 or after == 0) else _LITERAL
        if k == _BREAK:
            linelen = 0
            if o and (out[o - 1] == 32 or out[o - 1] == 9):
                c = out[o - 1]  # whitespace at a line end is encoded
                out[o - 1] = 61
                out[o] = _HEX[c >> 4]
                out[o + 1] = _HEX[c & 15]
                o += 2
            out[o] = 13
            out[o + 1] = 10
            o += 2
            i += 2 if d[i] == 13 and i + 1 < n and d[i + 1] == 10 else 1
        elif k == _QUOTED:
            if linelen + 3 >= _MAXLINESIZE:
                o = _soft_break(out, o)
                linelen = 0
            out[o] = 61
            out[o + 1] = _HEX[c >> 4]
            out[o + 2] = _HEX[c & 15]
            o += 3
            i += 1
            linelen += 3
        else:  # a literal ending the text, or a dot among other characters
            if linelen + 1 >= _MAXLINESIZE and i + 1 != n:
                o = _soft_break(out, o)
                linelen = 0
            out[o] = c
            o += 1
            i += 1
            linelen += 1
    return o


cdef inline bint _lone_dot_at(const unsigned char* q, Py_ssize_t i, Py_ssize_t m) noexcept nogil:
    return q[i] == 46 and (i + 1 == m or (q[i + 1] == 13 and i + 2 < m and q[i + 2] == 10))


cdef inline bint _from_at(const unsigned char* q, Py_ssize_t i, Py_ssize_t m) noexcept nogil:
    return i + 5 <= m and memcmp(q + i, b"From ", 5) == 0


cdef Py_ssize_t _line_start_extra(const unsigned char* q, Py_ssize_t m) noexcept nogil:
    """Bytes the lone-dot and "From " rewrites add to the encoded ``q`` (nearly always 0)."""
    cdef Py_ssize_t i = 0, extra = 0
    cdef const unsigned char* lf
    while i < m:  # i is a line start
        if _lone_dot_at(q, i, m):
            extra += 2
        elif _from_at(q, i, m):
            extra += 3
        lf = <const unsigned char*>memchr(q + i, 10, m - i)
        if lf == NULL:
            break
        i = lf - q + 1
    return extra


cdef Py_ssize_t _rewrite_line_starts(const unsigned char* q, Py_ssize_t m, unsigned char* out) noexcept nogil:
    """``q`` with a lone "." line written "=2E" and a "From " line start "F=\\r\\nrom "."""
    cdef Py_ssize_t i, o = 0
    for i in range(m):
        if i == 0 or q[i - 1] == 10:
            if _lone_dot_at(q, i, m):
                out[o] = 61
                out[o + 1] = 50
                out[o + 2] = 69  # "=2E"
                o += 3
                continue
            if _from_at(q, i, m):
                out[o] = 70
                out[o + 1] = 61
                out[o + 2] = 13
                out[o + 3] = 10  # "F=\r\n", then "rom " follows
                o += 4
                continue
        out[o] = q[i]
        o += 1
    return o


cdef bytes _quoted_printable(const unsigned char* src, Py_ssize_t n):
    """Quoted-printable with CRLF lines, no lone "." lines and no "From " lines; see the
    twin. ``src`` may hold any line breaks: they are normalised as they are encoded."""
    cdef Py_ssize_t m, o, extra
    cdef unsigned char* qp
    cdef unsigned char* out = NULL
    qp = <unsigned char*>PyMem_Malloc(3 * n + 3 * (n // 24 + 2) + 16)
    if qp == NULL:
        raise MemoryError()
    try:
        with nogil:
            m = _qp_core(src, n, qp)
            extra = _line_start_extra(qp, m)
        if extra:  # rare: rewrite into a second buffer
            out = <unsigned char*>PyMem_Malloc(m + extra + 3)
            if out == NULL:
                raise MemoryError()
            with nogil:
                o = _rewrite_line_starts(qp, m, out)
        else:
            out, qp, o = qp, NULL, m
        if o and out[o - 1] != 10:
            out[o] = 61
            out[o + 1] = 13
            out[o + 2] = 10  # end on a line break without adding one to the text
            o += 3
        return PyBytes_FromStringAndSize(<char*>out, o)
    finally:
        PyMem_Free(qp)
        PyMem_Free(out)

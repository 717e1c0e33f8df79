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
    cdef bytes data = _crlf(raw)
    cdef str encoding
    cdef bytes body
    if _high_bytes(data) * 6 > PyBytes_GET_SIZE(data):
        encoding, body = "base64", _base64(data)
    else:
        encoding, body = "quoted-printable", _quoted_printable(data)
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


def smtp_data(bytes message):
    """The DATA payload of ``message`` in one pass; see the twin."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(message), i = 0, o = 0
    cdef const unsigned char* src = <const unsigned char*>PyBytes_AS_STRING(message)
    cdef unsigned char* out
    cdef unsigned char c
    cdef bint line_start = True
    # worst case: each byte a lone LF (2 out) or a dot opening a line (2 out), plus CRLF . CRLF
    out = <unsigned char*>PyMem_Malloc(2 * n + 5)
    if out == NULL:
        raise MemoryError()
    try:
        with nogil:
            while i < n:
                c = src[i]
                if c == 13 or c == 10:
                    i = _put_crlf(src, i, n, out, o)
                    o += 2
                    line_start = True
                else:
                    if line_start and c == 46:
                        out[o] = 46
                        o += 1
                    out[o] = c
                    o += 1
                    i += 1
                    line_start = False
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


cdef Py_ssize_t _high_bytes(bytes data) noexcept:
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data), i, high = 0
    cdef const unsigned char* src = <const unsigned char*>PyBytes_AS_STRING(data)
    for i in range(n):
        high += src[i] >> 7
    return high


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


cdef inline bint _needs_quoting(const unsigned char* d, Py_ssize_t i, Py_ssize_t n, Py_ssize_t linelen) noexcept nogil:
    # binascii.b2a_qp's rule with istext=True, quotetabs=False, header=False.
    cdef unsigned char c = d[i]
    if c > 126 or c == 61:
        return True
    if c == 46 and linelen == 0 and (i + 1 == n or d[i + 1] == 10 or d[i + 1] == 13 or d[i + 1] == 0):
        return True
    if (c == 9 or c == 32) and i + 1 == n:
        return True
    return c < 33 and c != 13 and c != 10 and c != 9 and c != 32


cdef Py_ssize_t _qp_core(const unsigned char* d, Py_ssize_t n, unsigned char* out) noexcept nogil:
    """``binascii.b2a_qp(d, istext=True)`` for CRLF input; returns the output length."""
    cdef Py_ssize_t i = 0, o = 0, linelen = 0
    cdef unsigned char c
    while i < n:
        c = d[i]
        if _needs_quoting(d, i, n, linelen):
            if linelen + 3 >= _MAXLINESIZE:
                out[o] = 61
                out[o + 1] = 13
                out[o + 2] = 10
                o += 3
                linelen = 0
            out[o] = 61
            out[o + 1] = _HEX[c >> 4]
            out[o + 2] = _HEX[c & 15]
            o += 3
            i += 1
            linelen += 3
        elif c == 10 or (c == 13 and i + 1 < n and d[i + 1] == 10):
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
            i += 2 if d[i] == 13 else 1
        else:
            if i + 1 != n and d[i + 1] != 10 and linelen + 1 >= _MAXLINESIZE:
                out[o] = 61
                out[o + 1] = 13
                out[o + 2] = 10
                o += 3
                linelen = 0
            linelen += 1
            out[o] = c
            o += 1
            i += 1
    return o


cdef bytes _quoted_printable(bytes data):
    """Quoted-printable with CRLF lines, no lone "." lines and no "From " lines; see the twin."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data), m, i, o = 0, extra = 0
    cdef const unsigned char* src = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef unsigned char* qp
    cdef unsigned char* out
    qp = <unsigned char*>PyMem_Malloc(3 * n + 3 * (n // 24 + 2) + 8)
    if qp == NULL:
        raise MemoryError()
    out = NULL
    try:
        with nogil:
            m = _qp_core(src, n, qp)
            # A line start is the start or after LF; count what the rewrites below add.
            for i in range(m):
                if i == 0 or qp[i - 1] == 10:
                    if qp[i] == 46 and (i + 1 == m or (qp[i + 1] == 13 and i + 2 < m and qp[i + 2] == 10)):
                        extra += 2
                    elif i + 5 <= m and qp[i] == 70 and qp[i + 1] == 114 and qp[i + 2] == 111 and qp[i + 3] == 109 and qp[i + 4] == 32:
                        extra += 3
        out = <unsigned char*>PyMem_Malloc(m + extra + 3)
        if out == NULL:
            raise MemoryError()
        with nogil:
            for i in range(m):
                if i == 0 or qp[i - 1] == 10:
                    if qp[i] == 46 and (i + 1 == m or (qp[i + 1] == 13 and i + 2 < m and qp[i + 2] == 10)):
                        out[o] = 61
                        out[o + 1] = 50
                        out[o + 2] = 69  # "=2E"
                        o += 3
                        continue
                    if i + 5 <= m and qp[i] == 70 and qp[i + 1] == 114 and qp[i + 2] == 111 and qp[i + 3] == 109 and qp[i + 4] == 32:
                        out[o] = 70
                        out[o + 1] = 61
                        out[o + 2] = 13
                        out[o + 3] = 10  # "F=\r\n", then "rom " follows
                        o += 4
                        continue
                out[o] = qp[i]
                o += 1
            if o and out[o - 1] != 10:
                out[o] = 61
                out[o + 1] = 13
                out[o + 2] = 10  # end on a line break without adding one to the text
                o += 3
        return PyBytes_FromStringAndSize(<char*>out, o)
    finally:
        PyMem_Free(qp)
        PyMem_Free(out)

"""DKIM signing, relaxed/relaxed: compiled twin of ``postwave.render.dkim``.

The canonicalizations (the per-byte work) are C loops here; the key type, the
DKIM-Signature layout and key loading are shared with the twin, which is the
specification. Output is byte-identical to the twin's (tests/native/ checks it).
"""

import base64
import hashlib
import time

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc

from postwave.render.dkim import (  # cold code, one source
    OVERSIGNED, SIGNED_HEADERS, DkimKey, _signed, load_key, load_keys, signature_header,
)

__all__ = [
    "SIGNED_HEADERS", "DkimKey", "load_key", "load_keys", "relaxed_body", "relaxed_header", "sign",
    "signature_header",
]

cdef Py_ssize_t _B_CHUNK = 72


cdef inline bint _wsp(unsigned char c) noexcept nogil:
    return c == 32 or c == 9


cpdef bytes relaxed_body(bytes body):
    """The relaxed body canonicalization (RFC 6376 3.4.4); see the twin."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(body), i = 0, o = 0
    cdef const unsigned char* src = <const unsigned char*>PyBytes_AS_STRING(body)
    cdef unsigned char* out
    cdef unsigned char c
    cdef bint pending = False
    if n == 0:
        return b""
    out = <unsigned char*>PyMem_Malloc(n + 2)
    if out == NULL:
        raise MemoryError()
    try:
        with nogil:
            while i < n:
                c = src[i]
                if c > 32:
                    # The common case: a run of visible characters, copied at once.
                    if pending:
                        out[o] = 32
                        o += 1
                        pending = False
                    out[o] = c
                    o += 1
                    i += 1
                    # Visible characters and single spaces between them stay as they are:
                    # copied byte by byte (a call per word would cost more than the word).
                    while i < n:
                        c = src[i]
                        if c > 32:
                            out[o] = c
                            o += 1
                            i += 1
                        elif c == 32 and i + 1 < n and src[i + 1] > 32:
                            out[o] = 32
                            out[o + 1] = src[i + 1]
                            o += 2
                            i += 2
                        else:
                            break
                elif _wsp(c):
                    pending = True
                    i += 1
                elif c == 13 and i + 1 < n and src[i + 1] == 10:
                    pending = False  # whitespace at a line end goes
                    out[o] = 13
                    out[o + 1] = 10
                    o += 2
                    i += 2
                else:
                    if pending:
                        out[o] = 32
                        o += 1
                        pending = False
                    out[o] = c
                    o += 1
                    i += 1
            while o >= 2 and out[o - 2] == 13 and out[o - 1] == 10:
                o -= 2  # empty lines at the end go
            if o:
                out[o] = 13
                out[o + 1] = 10
                o += 2
        return PyBytes_FromStringAndSize(<char*>out, o)
    finally:
        PyMem_Free(out)


cpdef bytes relaxed_header(bytes field):
    """The relaxed canonicalization (RFC 6376 3.4.2) of one raw header field; see the twin."""
    cdef Py_ssize_t n = PyBytes_GET_SIZE(field), colon = -1, i, o = 0, end, name_end, value_start
    cdef const unsigned char* src = <const unsigned char*>PyBytes_AS_STRING(field)
    cdef unsigned char* out
    cdef unsigned char c
    cdef bint pending = False
    for i in range(n):
        if src[i] == 58:
            colon = i
            break
    if colon < 0:
        raise ValueError("a header field needs a colon")
    out = <unsigned char*>PyMem_Malloc(n + 3)
    if out == NULL:
        raise MemoryError()
    try:
        name_end = colon
        while name_end > 0 and _wsp(src[name_end - 1]):
            name_end -= 1
        for i in range(name_end):
            c = src[i]
            out[o] = c + 32 if 65 <= c <= 90 else c
            o += 1
        out[o] = 58
        o += 1
        value_start = o
        end = n
        if end - colon - 1 >= 2 and src[end - 2] == 13 and src[end - 1] == 10:
            end -= 2
        i = colon + 1
        while i < end:
            c = src[i]
            if c == 13 and i + 2 < end and src[i + 1] == 10 and _wsp(src[i + 2]):
                i += 2  # unfold: the whitespace after the line break stays
            elif _wsp(c):
                pending = True
                i += 1
            else:
                if pending and o > value_start:  # leading whitespace goes
                    out[o] = 32
                    o += 1
                pending = False
                out[o] = c
                o += 1
                i += 1
        out[o] = 13
        out[o + 1] = 10
        return PyBytes_FromStringAndSize(<char*>out, o + 2)
    finally:
        PyMem_Free(out)


def _split(bytes message):
    """The raw header fields (each with its CRLF and continuation lines) and the body."""
    cdef Py_ssize_t end, start, i, n
    cdef const unsigned char* src = <const unsigned char*>PyBytes_AS_STRING(message)
    cdef list fields = []
    if message.startswith(b"\r\n"):
        return fields, message[2:]
    end = message.find(b"\r\n\r\n")
    if end < 0:
        raise ValueError("message has no blank line between header and body")
    start = 0
    n = end + 2
    i = 0
    while i < n:
        if src[i] == 13 and src[i + 1] == 10:
            # a field ends at a CRLF that is not followed by whitespace (or at the header's end)
            if i + 2 >= n or not _wsp(src[i + 2]):
                fields.append(message[start:i + 2])
                start = i + 2
            i += 2
        else:
            i += 1
    return fields, message[end + 4:]


def _selected(list fields):
    """The ``h=`` names and the fields they pick, each name taking instances bottom-up."""
    cdef dict by_name = {}
    cdef list names = [], picked = [], present
    for field in fields:
        by_name.setdefault((<bytes>field).partition(b":")[0].rstrip(b" \t").decode("ascii").lower(), []).append(field)
    for name in SIGNED_HEADERS:
        present = by_name.get(name, [])
        names.extend([name] * (len(present) + (name in OVERSIGNED)))
        picked.extend(reversed(present))
    return names, picked


def sign(bytes message, keys, *, timestamp=None):
    """``message`` with one DKIM-Signature field per key prepended; see the twin."""
    if not keys:
        return message
    fields, body = _split(message)
    names, picked = _selected(fields)
    canonical = b"".join([relaxed_header(field) for field in picked])
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest()).decode("ascii")
    stamp = int(time.time()) if timestamp is None else int(timestamp)
    cdef list out = []
    cdef Py_ssize_t i
    for key in keys:
        head = signature_header(key, names, body_hash, stamp)
        tail = relaxed_header(head.encode("ascii"))
        data = canonical + tail[:len(tail) - 2]  # the field as signed: without its CRLF
        value = base64.b64encode(_signed(key, data)).decode("ascii")
        chunks = [value[i:i + _B_CHUNK] for i in range(0, len(value), _B_CHUNK)]
        out.append((head + "\r\n ".join(chunks) + "\r\n").encode("ascii"))
    return b"".join(out) + message

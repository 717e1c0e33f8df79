"""How the stores keep request payloads: compressed, behind a two-byte header.

A payload is a serialized SendRequest, about 20 KB for a typical HTML message, written once
at acceptance and read once or twice by a worker. Compressed with zlib (level 1) it is
several times smaller: fewer bytes through the commit log, memtables and compaction of a
CQL cluster, or SQLite's WAL, and small enough to share a batch with the message's other
rows (cql_session.PACK_BYTES).

The stored form is a header and a body:

- ``b"\\x00z"`` + zlib data: compressed;
- ``b"\\x00r"`` + the payload as it is: compression did not make it smaller (attachments
  already compressed), or it is larger than COMPRESS_MAX (compressing it would hold the API's
  event loop for tens of milliseconds);
- anything else is a payload stored before this format, as it is. A serialized SendRequest
  never starts with a zero byte (no protobuf field has number 0), so the two never meet.
"""

from __future__ import annotations

import logging
import zlib

__all__ = ["COMPRESS_MAX", "pack", "unpack"]

log = logging.getLogger(__name__)

COMPRESS_MAX = 1 << 20  # payloads larger than this are stored as they are
LEVEL = 1  # zlib's fastest level: ~20 us for the benchmark's 20 KB, within a few % of level 6's size
COMPRESSED = b"\x00z"
RAW = b"\x00r"


def pack(payload: bytes) -> bytes:
    """The stored form of a payload."""
    if len(payload) <= COMPRESS_MAX:
        compressed = zlib.compress(payload, LEVEL)
        if len(compressed) < len(payload):
            return COMPRESSED + compressed
    return RAW + payload


def unpack(stored: bytes, request_id: str = "") -> bytes | None:
    """The payload from its stored form; None (and an error logged) if its compressed body is
    damaged, which a reader treats as a missing payload."""
    header = stored[:2]
    if header == COMPRESSED:
        try:
            return zlib.decompress(stored[2:])
        except zlib.error as exc:
            log.error("the stored payload of request %s is damaged (%s): treated as missing", request_id, exc)
            return None
    if header == RAW:
        return stored[2:]
    return stored

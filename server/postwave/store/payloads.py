"""How the stores keep request payloads: compressed, behind a two-byte header.

A payload is a serialized SendRequest, about 20 KB for a typical HTML message, written once
at acceptance and read once or twice by a worker. Compressed with Zstandard (level 1) it is
several times smaller: fewer bytes through the commit log, memtables and compaction of a
CQL cluster, or SQLite's WAL, and small enough to share a batch with the message's other
rows (cql_session.PACK_BYTES).

The stored form is a header and a body:

- ``b"\\x00s"`` + a Zstandard frame with a checksum: compressed (since 2026-11-30);
- ``b"\\x00z"`` + zlib data: compressed by an earlier release, still read;
- ``b"\\x00r"`` + the payload as it is: compression did not make it smaller (attachments
  already compressed), or it is larger than COMPRESS_MAX (compressing it would hold the API's
  event loop for milliseconds);
- anything else is a payload stored before this format, as it is. A serialized SendRequest
  never starts with a zero byte (no protobuf field has number 0), so the two never meet.

Zstandard's level 1 compresses the benchmark's request in half the time zlib's level 1 took,
decompresses it in under half, and makes it smaller (README, Performance). A release before
the change cannot read ``b"\\x00s"`` payloads: roll back only with the queue drained.
"""

from __future__ import annotations

import logging
import threading
import zlib

import zstandard

__all__ = ["COMPRESS_MAX", "pack", "unpack"]

log = logging.getLogger(__name__)

COMPRESS_MAX = 1 << 20  # payloads larger than this are stored as they are
LEVEL = 1  # Zstandard's fastest standard level: ~10 us for the benchmark's 20 KB
ZSTD = b"\x00s"
ZLIB = b"\x00z"
RAW = b"\x00r"

# A (de)compression context is reused, but never by two threads at once. The frame carries
# a checksum of the payload, so damage reads as damage (as zlib's adler32 made it).
_contexts = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    compressor: zstandard.ZstdCompressor | None = getattr(_contexts, "compressor", None)
    if compressor is None:
        compressor = _contexts.compressor = zstandard.ZstdCompressor(level=LEVEL, write_checksum=True)
    return compressor


def _decompressor() -> zstandard.ZstdDecompressor:
    decompressor: zstandard.ZstdDecompressor | None = getattr(_contexts, "decompressor", None)
    if decompressor is None:
        decompressor = _contexts.decompressor = zstandard.ZstdDecompressor()
    return decompressor


def pack(payload: bytes) -> bytes:
    """The stored form of a payload."""
    if len(payload) <= COMPRESS_MAX:
        compressed = _compressor().compress(payload)
        if len(compressed) < len(payload):
            return ZSTD + compressed
    return RAW + payload


def unpack(stored: bytes, request_id: str = "") -> bytes | None:
    """The payload from its stored form; None (and an error logged) if its compressed body is
    damaged, which a reader treats as a missing payload."""
    header = stored[:2]
    try:
        if header == ZSTD:
            return _decompressor().decompress(stored[2:])
        if header == ZLIB:
            return zlib.decompress(stored[2:])
    except (zstandard.ZstdError, zlib.error) as exc:
        log.error("the stored payload of request %s is damaged (%s): treated as missing", request_id, exc)
        return None
    if header == RAW:
        return stored[2:]
    return stored

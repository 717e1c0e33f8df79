"""The stored form of request payloads (postwave/store/payloads.py)."""

from __future__ import annotations

import logging
import os
import zlib

import pytest
import zstandard
from postwave.store import payloads
from postwave.v1 import send_pb2


def _newsletter() -> bytes:
    html = "".join(f"<tr><td>Item {n}</td><td>{n * 7 % 13}.99 EUR</td></tr>" for n in range(400))
    return send_pb2.SendRequest(subject="Spring", html=f"<table>{html}</table>",
                                personalizations=[send_pb2.Personalization(to=["ann@x.test"])]).SerializeToString()


def test_a_compressible_payload_is_stored_compressed_and_comes_back_whole() -> None:
    payload = _newsletter()
    stored = payloads.pack(payload)
    assert stored[:2] == b"\x00s" and len(stored) < len(payload) // 4
    assert payloads.unpack(stored) == payload


def test_a_payload_compressed_by_the_earlier_release_with_zlib_is_still_read() -> None:
    payload = _newsletter()
    assert payloads.unpack(b"\x00z" + zlib.compress(payload, 1)) == payload


def test_payloads_packed_on_several_threads_at_once_come_back_whole() -> None:
    # Each thread compresses with its own context: a shared one would mix the frames.
    from concurrent.futures import ThreadPoolExecutor
    bodies = [_newsletter() + os.urandom(64) * n for n in range(64)]
    with ThreadPoolExecutor(8) as pool:
        stored = list(pool.map(payloads.pack, bodies * 4))
        back = list(pool.map(payloads.unpack, stored))
    assert back == bodies * 4


@pytest.mark.parametrize("payload", [os.urandom(5000), b"", b"p"], ids=["random", "empty", "one byte"])
def test_a_payload_compression_does_not_shrink_is_stored_as_it_is(payload: bytes) -> None:
    stored = payloads.pack(payload)
    assert stored == b"\x00r" + payload
    assert payloads.unpack(stored) == payload


def test_a_payload_over_the_compression_limit_is_stored_as_it_is() -> None:
    payload = b"a" * (payloads.COMPRESS_MAX + 1)  # very compressible, but too large to compress inline
    stored = payloads.pack(payload)
    assert stored[:2] == b"\x00r" and payloads.unpack(stored) == payload
    assert payloads.pack(payload[:-1])[:2] == b"\x00s"  # at the limit it is still compressed


def test_a_payload_stored_before_the_format_is_read_as_it_is() -> None:
    legacy = _newsletter()  # a serialized SendRequest never starts with a zero byte
    assert legacy[0] != 0
    assert payloads.unpack(legacy) == legacy


@pytest.mark.parametrize("header", [b"\x00s", b"\x00z"], ids=["zstd", "zlib"])
def test_a_damaged_compressed_payload_reads_as_missing_and_says_which(header: bytes,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    payload = _newsletter()
    stored = payloads.pack(payload) if header == b"\x00s" else header + zlib.compress(payload, 1)
    damaged = stored[:40] + bytes(b ^ 0xFF for b in stored[40:60]) + stored[60:]
    with pytest.raises((zlib.error, zstandard.ZstdError)):  # noqa: PT012 - whichever codec, it refuses
        (zstandard.ZstdDecompressor() if header == b"\x00s" else zlib).decompress(damaged[2:])
    with caplog.at_level(logging.ERROR, logger="postwave.store.payloads"):
        assert payloads.unpack(damaged, "req-7") is None
    assert "req-7" in caplog.text and "damaged" in caplog.text


def test_no_single_damaged_byte_reads_as_a_different_payload(caplog: pytest.LogCaptureFixture) -> None:
    # A flipped bit inside the compressed literals still decodes: only the frame's checksum
    # tells that the bytes changed.
    payload = _newsletter()
    stored = payloads.pack(payload)
    with caplog.at_level(logging.CRITICAL, logger="postwave.store.payloads"):
        for at in range(2, len(stored)):
            damaged = stored[:at] + bytes([stored[at] ^ 0x01]) + stored[at + 1:]
            assert payloads.unpack(damaged) in (None, payload), f"byte {at} of {len(stored)}"

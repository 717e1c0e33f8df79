"""The stored form of request payloads (postwave/store/payloads.py)."""

from __future__ import annotations

import logging
import os
import zlib

import pytest
from postwave.store import payloads
from postwave.v1 import send_pb2


def _newsletter() -> bytes:
    html = "".join(f"<tr><td>Item {n}</td><td>{n * 7 % 13}.99 EUR</td></tr>" for n in range(400))
    return send_pb2.SendRequest(subject="Spring", html=f"<table>{html}</table>",
                                personalizations=[send_pb2.Personalization(to=["ann@x.test"])]).SerializeToString()


def test_a_compressible_payload_is_stored_compressed_and_comes_back_whole() -> None:
    payload = _newsletter()
    stored = payloads.pack(payload)
    assert stored[:2] == b"\x00z" and len(stored) < len(payload) // 4
    assert payloads.unpack(stored) == payload


@pytest.mark.parametrize("payload", [os.urandom(5000), b"", b"p"], ids=["random", "empty", "one byte"])
def test_a_payload_compression_does_not_shrink_is_stored_as_it_is(payload: bytes) -> None:
    stored = payloads.pack(payload)
    assert stored == b"\x00r" + payload
    assert payloads.unpack(stored) == payload


def test_a_payload_over_the_compression_limit_is_stored_as_it_is() -> None:
    payload = b"a" * (payloads.COMPRESS_MAX + 1)  # very compressible, but too large to compress inline
    stored = payloads.pack(payload)
    assert stored[:2] == b"\x00r" and payloads.unpack(stored) == payload
    assert payloads.pack(payload[:-1])[:2] == b"\x00z"  # at the limit it is still compressed


def test_a_payload_stored_before_the_format_is_read_as_it_is() -> None:
    legacy = _newsletter()  # a serialized SendRequest never starts with a zero byte
    assert legacy[0] != 0
    assert payloads.unpack(legacy) == legacy


def test_a_damaged_compressed_payload_reads_as_missing_and_says_which(caplog: pytest.LogCaptureFixture) -> None:
    stored = payloads.pack(_newsletter())
    damaged = stored[:40] + bytes(b ^ 0xFF for b in stored[40:60]) + stored[60:]
    with pytest.raises(zlib.error):
        zlib.decompress(damaged[2:])
    with caplog.at_level(logging.ERROR, logger="postwave.store.payloads"):
        assert payloads.unpack(damaged, "req-7") is None
    assert "req-7" in caplog.text and "damaged" in caplog.text

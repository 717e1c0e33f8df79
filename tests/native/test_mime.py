"""MIME assembly: the compiled builder gives the twin's bytes; its output parses back."""

from __future__ import annotations

import email
import email.policy
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from email.message import EmailMessage
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postwave.render.mime import Attachment
from tests.native.twins import DIFFERENTIAL, KINDS, compiled, implementation, outcome, twin

BASE: dict[str, Any] = {
    "from_addr": "Sender <sender@postwave.example>",
    "to": ["rcpt@example.com"],
    "subject": "Hello",
    "text": "Hi there",
    "html": None,
    "message_id": "abc123@postwave.example",
    "date": datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc),
}


@pytest.fixture(params=KINDS)
def mime(request: pytest.FixtureRequest) -> ModuleType:
    return implementation("mime", request.param)


@pytest.fixture
def fixed_random(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Both builders take their boundary from os.urandom: make it the same for both."""
    monkeypatch.setattr(os, "urandom", lambda n: bytes(range(1, n + 1)))
    yield


def wire_safe(raw: bytes) -> None:
    assert raw.isascii() and raw.endswith(b"\r\n")
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    for line in raw[:-2].split(b"\r\n"):
        assert len(line) <= 998 and line != b"." and not line.startswith(b"From ")


def test_a_twenty_kilobyte_message_parses_back(mime: ModuleType) -> None:
    text = "Hello there, a line of text with a link https://example.com/x?a=1.\n" * 150 + ".\nFrom here on\n"
    html = "<p>Grüße, " + "a paragraph <a href='https://example.com/p'>link</a> and words. " * 100 + "</p>"
    pdf = os.urandom(6000)
    raw = mime.build_message(**{**BASE, "text": text, "html": html, "subject": "Grüße " * 20,
                                "attachments": [Attachment("Rechnung März.pdf", "application/pdf", pdf),
                                                Attachment("logo.png", "image/png", b"\x89PNG", content_id="logo")]})
    wire_safe(raw)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert all(not part.defects for part in message.walk())
    assert message["Subject"] == "Grüße " * 20
    assert message.get_body(("plain",)).get_content() == text.replace("\n", "\r\n")  # type: ignore[union-attr]
    assert message.get_body(("html",)).get_content() == html  # type: ignore[union-attr]
    files = [(part.get_filename(), part.get_payload(decode=True)) for part in message.iter_attachments()]
    assert files == [("Rechnung März.pdf", pdf)]
    assert len(raw) > 20_000


def test_invalid_input_is_refused_alike(mime: ModuleType) -> None:
    from postwave.errors import InvalidArgumentError

    for bad in ({"text": None, "html": None}, {"subject": "a\r\nBcc: x@y.z"}, {"text": "\ud800"},
                {"attachments": [Attachment("a", "multipart/mixed", b"")]}, {"headers": {"From": "x"}}):
        with pytest.raises(InvalidArgumentError):
            mime.build_message(**{**BASE, **bad})


_line_pieces = st.sampled_from(
    ["a", "word ", " ", "\t", ".", "From ", "=", "é", "€", "😀", "\r", "\n", "\r\n", "x" * 75, "\x00", "\x7f", "-"]
)
_texts = st.one_of(st.none(), st.text(max_size=300), st.lists(_line_pieces, max_size=60).map("".join))
_attachments = st.lists(
    st.builds(
        Attachment,
        filename=st.text(max_size=80),
        content_type=st.sampled_from(["application/pdf", "image/png", "text/csv", "bad type"]),
        content=st.binary(max_size=300),
        content_id=st.one_of(st.none(), st.sampled_from(["logo@x.example", "img1", "<b@c>", "bad id"])),
    ),
    max_size=3,
)


@DIFFERENTIAL
@given(
    text=_texts,
    html=_texts,
    subject=st.text(max_size=120),
    display=st.text(max_size=40),
    attachments=_attachments,
    headers=st.dictionaries(st.sampled_from(["X-Tag", "Keywords", "X-Long-Header-Name"]), st.text(max_size=100), max_size=2),
)
def test_compiled_equals_twin(
    text: str | None, html: str | None, subject: str, display: str, attachments: list[Attachment],
    headers: dict[str, str],
) -> None:
    fields = {**BASE, "text": text, "html": html, "subject": subject, "attachments": attachments,
              "headers": headers, "to": [f"{display} <to@example.com>" if display.strip() else "to@example.com"]}
    real = os.urandom
    os.urandom = lambda n: bytes(range(1, n + 1))  # the boundary, the same for both
    try:
        got = outcome(compiled("mime").build_message, **fields)
        want = outcome(twin("mime").build_message, **fields)
    finally:
        os.urandom = real
    assert got == want
    if got[0] == "ok":
        wire_safe(got[1])


def test_bodies_compiled_equal_twin_on_edge_cases(fixed_random: None) -> None:
    cases = ["", ".", "a\n.", ".\r\n", "From x", "a" * 75 + ".", "a" * 74 + ".\n", "a" * 75 + " \nb", "x\t",
             "a\r\rb", "é" * 100, "é" * 10 + "a" * 200, "=" * 80, " " * 200, "a" * 75 + "\nFrom y", "\n" * 5,
             # a blank before each kind of line break; runs of literals across the line limit
             "a \r\nb", "a\t\r\nb", "a \rb", "a\t\nb", "x" * 74 + " \r\n.", "a" * 300 + "=" + "b" * 150 + " ",
             "a" * 73 + "é" + "b" * 80, "a" * 150 + ".\n." + "\t" * 3]
    for text in cases:
        fields = {**BASE, "text": text, "attachments": [Attachment("f", "a/b", text.encode())]}
        assert compiled("mime").build_message(**fields) == twin("mime").build_message(**fields), repr(text)


# -- the DATA payload --------------------------------------------------------------------

_FRAMING_BYTES = st.binary(max_size=300) | st.lists(
    st.sampled_from([b"\r", b"\n", b"\r\n", b".", b"..", b"a", b" ", b"\xc3\xa9", b"From "]), max_size=60
).map(b"".join)


def _client_library_framing(message: bytes) -> bytes:
    """What aiosmtplib itself sends after DATA's 354 (its two regex passes), for comparison."""
    from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

    return PERIOD_REGEX.sub(b"..", normalize_message_line_endings(message)) + b".\r\n"


@DIFFERENTIAL
@given(message=_FRAMING_BYTES)
def test_smtp_data_compiled_equals_twin_and_the_client_library(message: bytes) -> None:
    expected = _client_library_framing(message)
    assert twin("mime").smtp_data(message) == expected
    assert compiled("mime").smtp_data(message) == expected


@pytest.mark.parametrize(("message", "wire"), [
    (b"", b"\r\n.\r\n"),
    (b".", b"..\r\n.\r\n"),
    (b"a\n.\rb", b"a\r\n..\r\nb\r\n.\r\n"),
    (b"x\r\n.\r\n", b"x\r\n..\r\n.\r\n"),  # a lone dot line is stuffed, never a terminator
    (b"line\r\n\r\n", b"line\r\n\r\n.\r\n"),
])
def test_smtp_data_frames_edge_cases(mime: ModuleType, message: bytes, wire: bytes) -> None:
    assert mime.smtp_data(message) == wire
    # no line of the payload but the last is a lone dot: the message cannot end early
    assert wire.split(b"\r\n").index(b".") == len(wire.split(b"\r\n")) - 2

"""MIME assembly: checked by parsing the output back with the standard library."""

from __future__ import annotations

import email
import email.policy
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postwave.errors import InvalidArgumentError
from postwave.render.mime import Attachment, build_message, new_message_id, validate_headers

BASE: dict[str, Any] = {
    "from_addr": "Sender <sender@postwave.example>",
    "to": ["rcpt@example.com"],
    "subject": "Hello",
    "text": "Hi there",
    "html": None,
    "message_id": "abc123@postwave.example",
    "date": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def build(**overrides: Any) -> bytes:
    return build_message(**{**BASE, **overrides})


def parse(raw: bytes) -> EmailMessage:
    assert_wire_safe(raw)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    for part in message.walk():
        assert not part.defects, part.defects
    return message


def assert_wire_safe(raw: bytes) -> None:
    """CRLF only, 7-bit, short lines, nothing SMTP or mbox would misread."""
    assert raw.isascii()
    assert raw.endswith(b"\r\n")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    for line in raw[:-2].split(b"\r\n"):
        assert len(line) <= 998
        assert line != b"."
        assert not line.startswith(b"From ")
        # Only a single unbreakable token (a long address or URL) may exceed 78.
        assert len(line) <= 78 or b" " not in line.strip(), line


def body_parts(message: EmailMessage) -> list[EmailMessage]:
    return [part for part in message.walk() if not part.is_multipart()]


def display_name(raw: bytes, header: str = "From") -> str:
    """The display name as an RFC 2047 reader shows it.

    CPython's address parser keeps the whitespace between adjacent encoded words of a
    display name (RFC 2047 6.2 says to drop it), so it misreads long non-ASCII names --
    also those written by CPython's own generator. ``email.header`` decodes them right.
    """
    message = parse(raw)
    name = message[header].addresses[0].display_name
    value = email.message_from_bytes(raw, policy=email.policy.compat32)[header]
    if "=?" in value:
        name = str(make_header(decode_header(value.rpartition("<")[0].strip())))
    return name


def crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


# -- structure --------------------------------------------------------------------------------


def test_text_only_is_a_single_part() -> None:
    message = parse(build(text="Hi there"))
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content() == "Hi there"


def test_html_only_is_a_single_part() -> None:
    message = parse(build(text=None, html="<p>Hi</p>"))
    assert message.get_content_type() == "text/html"
    assert message.get_content() == "<p>Hi</p>"


def test_text_and_html_are_alternatives_text_first() -> None:
    message = parse(build(text="Hi", html="<p>Hi</p>"))
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message.get_body(("html",)).get_content() == "<p>Hi</p>"  # type: ignore[union-attr]
    assert message.get_body(("plain",)).get_content() == "Hi"  # type: ignore[union-attr]


def test_inline_images_are_related_to_the_alternative() -> None:
    logo = Attachment("logo.png", "image/png", PNG, content_id="logo@postwave.example")
    message = parse(build(text="Hi", html='<img src="cid:logo@postwave.example">', attachments=[logo]))
    assert message.get_content_type() == "multipart/related"
    assert message.get_param("type") == "multipart/alternative"
    root, image = message.iter_parts()
    assert root.get_content_type() == "multipart/alternative"
    assert image["Content-ID"] == "<logo@postwave.example>"
    assert image.get_content_disposition() == "inline"
    assert image.get_filename() == "logo.png"
    assert image.get_content() == PNG


def test_attachments_are_mixed_around_everything() -> None:
    logo = Attachment("logo.png", "image/png", PNG, content_id="logo")
    pdf = Attachment("report.pdf", "application/pdf", b"%PDF-1.7\n" + bytes(1000))
    csv = Attachment("data.csv", "text/csv", b"a,b\n1,2\n")
    message = parse(build(text="Hi", html="<p>Hi</p>", attachments=[pdf, logo, csv]))
    assert message.get_content_type() == "multipart/mixed"
    body, *files = message.iter_parts()
    assert body.get_content_type() == "multipart/related"
    assert [(f.get_filename(), f.get_content_type(), f.get_content_disposition()) for f in files] == [
        ("report.pdf", "application/pdf", "attachment"),
        ("data.csv", "text/csv", "attachment"),
    ]
    assert [f["Content-Transfer-Encoding"] for f in files] == ["base64", "base64"]
    assert [p.get_payload(decode=True) for p in message.iter_attachments()] == [pdf.content, csv.content]


def test_attachment_without_inline_parts_and_without_html() -> None:
    pdf = Attachment("r.pdf", "application/pdf", b"x" * 10)
    message = parse(build(text="Hi", attachments=[pdf]))
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "application/pdf"]


def test_non_ascii_filenames_use_rfc2231() -> None:
    name = "Rechnung März 2024 – " + "é" * 60 + ".pdf"
    raw = build(attachments=[Attachment(name, "application/pdf", b"%PDF")])
    assert b"filename*0*=utf-8''" in raw
    (attachment,) = parse(raw).iter_attachments()
    assert attachment.get_filename() == name
    # Each continuation holds whole characters: some clients decode segments separately.
    segments = re.findall(rb"filename\*\d+\*=(?:utf-8'')?([^;\r]*)", raw)
    assert len(segments) > 1
    for segment in segments:
        re.sub(rb"%([0-9A-F]{2})", lambda m: bytes([int(m[1], 16)]), segment).decode("utf-8")


def test_boundaries_do_not_occur_in_content() -> None:
    raw = build(text="--=_ not a boundary\n=_", html="<p>--=_x</p>", attachments=[Attachment("a", "a/b", b"--=_")])
    boundaries = re.findall(rb'boundary="([^"]+)"', raw)
    assert len(boundaries) == 2
    for boundary in boundaries:
        delimiter_lines = [line for line in raw.split(b"\r\n") if line.startswith(b"--" + boundary)]
        assert len(delimiter_lines) == 3  # two parts and the close


# -- headers ----------------------------------------------------------------------------------


def test_headers() -> None:
    raw = build(
        from_addr="Jörg Müller <Jorg@Example.COM>",
        to=["a@example.com", '"Lee, Ann" <ann@example.com>'],
        cc=["Carl <carl@example.com>"],
        reply_to="Support <help@postwave.example>",
        subject="Grüße — 50% off",
        headers={"X-Campaign-ID": "spring-2024", "X-Note": "ünïcode"},
        list_unsubscribe="https://u.postwave.example/u/abc?x=1",
        list_unsubscribe_post=True,
    )
    message = parse(raw)
    assert message["From"] == "Jörg Müller <Jorg@example.com>"
    assert [(a.display_name, a.addr_spec) for a in message["To"].addresses] == [
        ("", "a@example.com"),
        ("Lee, Ann", "ann@example.com"),
    ]
    assert message["Cc"] == "Carl <carl@example.com>"
    assert message["Reply-To"] == "Support <help@postwave.example>"
    assert message["Subject"] == "Grüße — 50% off"
    assert message["Date"].datetime == BASE["date"]
    assert message["Message-ID"] == "<abc123@postwave.example>"
    assert message["MIME-Version"] == "1.0"
    assert message["List-Unsubscribe"] == "<https://u.postwave.example/u/abc?x=1>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["X-Campaign-ID"] == "spring-2024"
    assert message["X-Note"] == "ünïcode"
    assert "Bcc" not in message
    order = [line.split(b":")[0] for line in raw.split(b"\r\n\r\n")[0].split(b"\r\n") if not line.startswith(b" ")]
    assert order[:7] == [b"From", b"To", b"Cc", b"Reply-To", b"Subject", b"Date", b"Message-ID"]


def test_date_defaults_to_now_and_naive_dates_are_utc() -> None:
    message = parse(build(date=None))
    assert abs(message["Date"].datetime - datetime.now(UTC)) < timedelta(minutes=1)
    message = parse(build(date=datetime(2024, 1, 2, 3, 4, 5)))
    assert message["Date"].datetime == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    offset = timezone(timedelta(hours=2))
    assert "+0200" in str(parse(build(date=datetime(2024, 1, 2, tzinfo=offset)))["Date"])


def test_list_unsubscribe_without_one_click() -> None:
    message = parse(build(list_unsubscribe="mailto:unsub@postwave.example?subject=x"))
    assert message["List-Unsubscribe"] == "<mailto:unsub@postwave.example?subject=x>"
    assert "List-Unsubscribe-Post" not in message


def test_long_headers_are_folded() -> None:
    subject = " ".join(["word"] * 60)
    recipients = [f"Recipient Number {i} <r{i}@example.com>" for i in range(10)]
    raw = build(subject=subject, to=recipients, from_addr=f"{'Ä' * 80} <a@example.com>")
    message = parse(raw)
    assert message["Subject"] == subject
    assert len(message["To"].addresses) == 10
    assert display_name(raw) == "Ä" * 80


def test_new_message_id() -> None:
    ids = {new_message_id("postwave.example") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}@postwave\.example", i) for i in ids)
    with pytest.raises(InvalidArgumentError):
        new_message_id("bad domain")


# -- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"subject": "Hi\r\nBcc: x@example.com"}, "subject", "header injection"),
        ({"subject": "Hi\nthere"}, "subject", "header injection"),
        ({"subject": "Hi\x00"}, "subject", "header injection"),
        ({"headers": {"X-Evil": "a\r\nBcc: x@example.com"}}, "headers.X-Evil", "header injection"),
        ({"headers": {"X-Evil": "a\rb"}}, "headers.X-Evil", "header injection"),
        ({"headers": {"X-Evil": "a\x00b"}}, "headers.X-Evil", "header injection"),
        ({"headers": {"X Bad": "v"}}, "headers.X Bad", "header name"),
        ({"headers": {"X:Bad": "v"}}, "headers.X:Bad", "header name"),
        ({"headers": {"Bcc\r\nX": "v"}}, "headers.Bcc\r\nX", "header name"),
        ({"headers": {"": "v"}}, "headers.", "header name"),
        ({"headers": {"X-Ünï": "v"}}, "headers.X-Ünï", "header name"),
        ({"headers": {"From": "evil@example.com"}}, "headers.From", "reserved"),
        ({"headers": {"bcc": "x@example.com"}}, "headers.bcc", "reserved"),
        ({"headers": {"Message-Id": "<x@y>"}}, "headers.Message-Id", "reserved"),
        ({"headers": {"content-type": "text/html"}}, "headers.content-type", "reserved"),
        ({"headers": {"Content-Transfer-Encoding": "8bit"}}, "headers.Content-Transfer-Encoding", "reserved"),
        ({"headers": {"MIME-Version": "2.0"}}, "headers.MIME-Version", "reserved"),
        ({"headers": {"Date": "x"}}, "headers.Date", "reserved"),
        ({"from_addr": "a@example.com, b@example.com"}, "from", "more than one address"),
        ({"to": ["ok@example.com", "bad"]}, "to[1]", "missing '@'"),
        ({"to": "a@example.com"}, "to", "list of addresses"),
        ({"cc": ["x@example.com\r\nBcc: y@example.com"]}, "cc[0]", "control character"),
        ({"reply_to": "nope"}, "reply_to", "missing '@'"),
        ({"message_id": "<abc@postwave.example>"}, "message_id", "id@domain"),
        ({"message_id": "abc"}, "message_id", "id@domain"),
        ({"message_id": "a b@c"}, "message_id", "id@domain"),
        ({"text": None, "html": None}, "text", "needs a text body"),
        ({"text": "bad \ud800 surrogate"}, "text", "lone surrogate"),
        ({"subject": "bad \udfff"}, "subject", "lone surrogate"),
        ({"list_unsubscribe": "https://x.example/a b"}, "list_unsubscribe", "URL"),
        ({"list_unsubscribe": "javascript:alert(1)"}, "list_unsubscribe", "URL"),
        ({"list_unsubscribe": "https://x.example/>\r\nBcc: y"}, "list_unsubscribe", "URL"),
        ({"list_unsubscribe": "mailto:u@x.example", "list_unsubscribe_post": True}, "list_unsubscribe", "https"),
        ({"list_unsubscribe_post": True}, "list_unsubscribe_post", "needs list_unsubscribe"),
        ({"attachments": [Attachment("a\r\n.pdf", "application/pdf", b"")]}, "attachments[0].filename", "control"),
        ({"attachments": [Attachment("a", "text/x\r\nX: y", b"")]}, "attachments[0].content_type", "media"),
        ({"attachments": [Attachment("a.pdf", "pdf", b"")]}, "attachments[0].content_type", "media type"),
        ({"attachments": [Attachment("a", "multipart/mixed", b"")]}, "attachments[0].content_type", "not supported"),
        ({"attachments": [Attachment("a", "image/png", b"", content_id="a b")]}, "attachments[0].content_id", "ASCII"),
        ({"attachments": [Attachment("a", "image/png", "text")]}, "attachments[0].content", "bytes"),  # type: ignore[arg-type]
    ],
)
def test_rejects_invalid_input(overrides: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        build(**overrides)
    assert caught.value.field == field
    assert message in caught.value.description


def test_validate_headers_applies_the_same_rules() -> None:
    validate_headers({"X-Tag": "ok", "Sender": "s@example.com"})
    for headers in ({"X-Tag": "a\r\nb"}, {"Subject": "x"}, {"List-Unsubscribe": "<https://x>"}, {"Bad Name": "v"}):
        with pytest.raises(InvalidArgumentError) as caught:
            validate_headers(headers)
        assert caught.value.field == f"headers.{next(iter(headers))}"


def test_allowed_custom_headers() -> None:
    message = parse(build(headers={"Sender": "s@example.com", "In-Reply-To": "<a@b>", "X-Empty": ""}))
    assert message["Sender"] == "s@example.com"
    assert message["In-Reply-To"] == "<a@b>"
    assert message["X-Empty"] == ""


# -- bodies and smuggling -----------------------------------------------------------------------


def test_bare_cr_and_lf_become_crlf() -> None:
    text = "a\nb\rc\r\nd\n\r\n.\n.\r\n\r.\r"
    message = parse(build(text=text, html=text))
    for part in body_parts(message):
        assert part.get_content() == "a\r\nb\r\nc\r\nd\r\n\r\n.\r\n.\r\n\r\n.\r\n"


def test_smtp_smuggling_payload_is_neutralised() -> None:
    payload = "hi\n.\r\nMAIL FROM:<admin@bank.example>\r\n\n.\n\r.\r"
    raw = build(text=payload)
    assert b"\r\n.\r\n" not in raw
    assert parse(raw).get_content() == crlf(payload)


def test_long_lines_and_dots_and_from_lines() -> None:
    text = "." + "x" * 75 + ".\n" + "From here\n" + "y" * 5000 + "\n.\nFrom"
    message = parse(build(text=text))
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert message.get_content() == crlf(text)


def test_mostly_non_ascii_text_is_base64() -> None:
    text = "日本語のテキスト" * 100
    message = parse(build(text=text))
    assert message["Content-Transfer-Encoding"] == "base64"
    assert message.get_content() == text


def test_empty_bodies() -> None:
    message = parse(build(text="", html=""))
    assert [p.get_content() for p in body_parts(message)] == ["", ""]


# -- round trips ----------------------------------------------------------------------------------

_header_text = st.text(st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)), max_size=200)
_lines = st.sampled_from([".", "..", ". ", "From ", "From me", ">From", "=", "=?utf-8?q?x?=", " ", "\t", "x" * 120, ""])
_bodies = st.lists(st.one_of(st.text(max_size=100), _lines), max_size=12).map(
    lambda parts: "".join(p + sep for p, sep in zip(parts, ["\n", "\r\n", "\r", ""] * 4, strict=False))
)
_names = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=60)
_filenames = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=120)


@settings(max_examples=300, deadline=None)
@given(subject=_header_text, value=_header_text, name=_names)
def test_headers_round_trip(subject: str, value: str, name: str) -> None:
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raw = build(subject=subject, headers={"X-Value": value}, from_addr=f"{quoted} <a@example.com>")
    message = parse(raw)
    assert str(message["Subject"]) == subject
    assert str(message["X-Value"]) == value
    # Display names are stored as readers show them: runs of spaces are one space.
    assert display_name(raw) == " ".join(word for word in name.split(" ") if word)


@settings(max_examples=300, deadline=None)
@given(text=_bodies, html=st.none() | _bodies)
def test_bodies_round_trip(text: str, html: str | None) -> None:
    message = parse(build(text=text, html=html))
    assert message.get_body(("plain",)).get_content() == crlf(text)  # type: ignore[union-attr]
    if html is not None:
        assert message.get_body(("html",)).get_content() == crlf(html)  # type: ignore[union-attr]


@settings(max_examples=150, deadline=None)
@given(
    files=st.lists(st.tuples(_filenames, st.binary(max_size=3000), st.booleans()), min_size=1, max_size=4),
)
def test_attachments_round_trip(files: list[tuple[str, bytes, bool]]) -> None:
    attachments = [
        Attachment(name, "application/octet-stream", content, content_id=f"part{i}@x" if inline else None)
        for i, (name, content, inline) in enumerate(files)
    ]
    message = parse(build(text="t", html="<p>h</p>", attachments=attachments))
    found = [p for p in body_parts(message) if p.get_content_type() == "application/octet-stream"]
    assert len(found) == len(attachments)
    inline_found = [p for p in found if p.get_content_disposition() == "inline"]
    files_found = [p for p in found if p.get_content_disposition() == "attachment"]
    expected_inline = [a for a in attachments if a.content_id]
    expected_files = [a for a in attachments if not a.content_id]
    for got, want in zip(inline_found + files_found, expected_inline + expected_files, strict=True):
        assert (got.get_filename() or "") == want.filename.strip()
        assert got.get_content() == want.content
        if want.content_id:
            assert got["Content-ID"] == f"<{want.content_id}>"


def test_the_default_date_is_now_to_the_second() -> None:
    from email.utils import format_datetime

    from postwave.render import mime as python_mime

    before = format_datetime(datetime.fromtimestamp(int(time.time()), UTC))
    header = python_mime._date(None)
    after = format_datetime(datetime.fromtimestamp(int(time.time()), UTC))
    assert header in {before, after}
    assert header.endswith("+0000")

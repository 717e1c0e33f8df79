"""Fuzzing of everything that reads input from outside: no crash but the documented errors,
no hang, and the security invariants hold on every output.

Targets: the MIME builder (compiled module and pure-Python twin), the DSN/ARF parser, the
template compiler and engine (and the compiled personalization fast path with its twin),
the click/open token verifier and the VERP decoder. Inputs are hostile on purpose: CR, LF,
NUL, lone surrogates, Jinja syntax with dunder names, mutated reports and tokens.

Bounded for CI: a fixed number of examples per target, derandomized (the same cases every
run) and no example database. The deadline is generous (10 s for inputs of a few KB): it
flags a hang, not a slow machine.
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
import pytest

from postwave.errors import InvalidArgumentError
from postwave.feedback import parse
from postwave.feedback.verp import ForgedAddressError, Verp
from postwave.domains.masterkey import MasterKey
from postwave.render.mime import Attachment
from postwave.render.templates import TemplateEngine
from postwave.tracking import linkwrap
from tests.feedback import samples
from tests.native.twins import KINDS, implementation

FUZZ = settings(max_examples=120, deadline=timedelta(seconds=10), derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HEAVY = settings(FUZZ, max_examples=60)  # targets whose every example builds or parses a whole message

# Characters that break things: line ends, NUL, controls, a lone surrogate, encoded-word
# markers, quotes, angle brackets, dots and non-ASCII.
HOSTILE = st.sampled_from(["\r", "\n", "\r\n", "\x00", "\x7f", "\x85", "\u2028", "\ud800", "=?", "?=", '"', "\\",
                           "<", ">", ",", ";", ":", ".", " ", "\t", "é", "😀", "Bcc: v@x.test", "\r\n.\r\n"])
TEXT = st.lists(HOSTILE | st.text(max_size=12), max_size=12).map("".join)
ASCII_HEADER_NAMES = st.sampled_from(["X-Tag", "X-Campaign", "List-Id", "Bcc", "Content-Type", "X-A\r\nB", "X:y",
                                      "", "X Y", "x" * 80, "Subject"])
STANDARD = {"from", "to", "cc", "reply-to", "subject", "date", "message-id", "mime-version", "content-type",
            "content-transfer-encoding", "content-disposition", "content-id", "list-unsubscribe",
            "list-unsubscribe-post"}
BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


def wire_invariants(raw: bytes, custom: set[str]) -> None:
    """What every built message must be: 7-bit, CRLF only, no lone '.', only known headers."""
    raw.decode("ascii")
    assert not BARE.search(raw)
    lines = raw.split(b"\r\n")
    assert b"." not in lines and max(map(len, lines)) <= 998
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    names = {k.lower() for part in parsed.walk() for k in part.keys()}
    assert names <= STANDARD | {c.lower() for c in custom}, names - STANDARD


@pytest.mark.parametrize("kind", KINDS)
@HEAVY
@given(subject=TEXT, name=TEXT, text=st.none() | TEXT, html=st.none() | TEXT,
       headers=st.dictionaries(ASCII_HEADER_NAMES, TEXT, max_size=3),
       files=st.lists(st.tuples(TEXT, st.sampled_from(["text/plain", "image/png", "bad type", "a/b\r\nX: y"]),
                                st.binary(max_size=64), st.none() | TEXT), max_size=2))
@example(subject="a\r\nBcc: v@x.test", name="", text="x", html=None, headers={}, files=[])
def test_mime_builder_refuses_or_builds_a_safe_message(kind: str, subject: str, name: str, text: str | None,
                                                       html: str | None, headers: dict[str, str],
                                                       files: list[tuple[str, str, bytes, str | None]]) -> None:
    mime = implementation("mime", kind)
    try:
        raw = mime.build_message(
            from_addr=f"{name} <sender@postwave.test>" if name else "sender@postwave.test", to=["a@x.test"],
            subject=subject, text=text if text is not None or html is not None else "", html=html, headers=headers,
            attachments=[Attachment(f, t, c, i) for f, t, c, i in files], message_id="m1@postwave.test")
    except InvalidArgumentError as exc:
        assert exc.field and exc.description
        return
    wire_invariants(raw, set(headers))


REPORTS = st.sampled_from([
    lambda r: samples.dsn(to="b-x@bounces.test", recipient=r, returned="message",
                          orig=samples.original(message_id="m@x", return_path="b-x@bounces.test", to=r)),
    lambda r: samples.arf(to="fbl@bounces.test", rcpt=r, returned="headers",
                          orig=samples.original(message_id="m@x", return_path="b-x@bounces.test", to=r)),
    lambda r: samples.qmail_bounce(to="b@x.test", recipient=r, orig="Subject: s\n\nbody\n"),
    lambda r: samples.exim_bounce(to="b@x.test", recipient=r, orig="Subject: s\n\nbody\n"),
    lambda r: samples.delay_warning(to="b@x.test", recipient=r),
])
EDITS = st.lists(st.tuples(st.sampled_from(["insert", "delete", "replace", "truncate"]), st.integers(0, 10**6),
                           st.binary(min_size=1, max_size=16) | st.sampled_from(
                               [b"\r\n--", b"\r\n\r\n", b"Content-Type: multipart/mixed; boundary=x\r\n",
                                b"charset=utf-16", b"\xff\xfe", b"=?utf-8?b?", b"\x00"])), max_size=6)


def mutate(raw: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    """``raw`` with byte-level edits applied (positions wrap around its length)."""
    data = bytearray(raw)
    for op, at, chunk in edits:
        at %= max(1, len(data))
        if op == "insert":
            data[at:at] = chunk
        elif op == "delete":
            del data[at:at + len(chunk)]
        elif op == "replace":
            data[at:at + len(chunk)] = chunk
        else:
            del data[at:]
    return bytes(data)


@HEAVY
@given(make=REPORTS, recipient=TEXT, edits=EDITS)
def test_report_parser_answers_a_report_or_report_error(make: Any, recipient: str, edits: list[Any]) -> None:
    raw = mutate(make(recipient.encode("utf-8", "surrogatepass").decode("utf-8", "replace")), edits)
    try:
        report = parse.parse_report(raw)
    except parse.ReportError:
        return
    assert report.kind in ("bounce", "complaint") and report.source in ("dsn", "plain", "arf")
    for notice in report.notices:
        assert parse.bounce_class(notice)


@FUZZ
@given(raw=st.binary(max_size=2048))
def test_report_parser_survives_arbitrary_bytes(raw: bytes) -> None:
    try:
        parse.parse_report(raw)
    except parse.ReportError:
        pass


JINJA = st.sampled_from([
    "{{", "}}", "{%", "%}", "{#", "#}", " ", "x", "name", ".", "__class__", "__globals__", "__mro__", "__subclasses__",
    "__init__", "__builtins__", "()", "[0]", "[1]", "|attr('__class__')", "|safe", "|e", "|join", "|format", "'", '"',
    "for ", " in ", "endfor", "if ", "endif", "set ", "=", "range(10**9)", "*", "**", "'x'*99999", "cycler",
    "joiner", "namespace", "lipsum", "self", "loop", "macro ", "endmacro", "include ", "import ", "'{0.__class__}'",
    ".format(1)", "\n", "\r", "\x00", "\ud800", "{{ name }}", "{% raw %}", "{% endraw %}", "~", "-", "+",
])
SOURCES = st.lists(JINJA | st.text(max_size=4), max_size=25).map("".join)
LEAK = re.compile(r"<class |<function |<built-in |<module |<bound method |__globals__")


@FUZZ
@given(source=SOURCES, autoescape=st.booleans(), name=st.text(alphabet="ab <&>'\"", max_size=8))
def test_template_engine_renders_or_refuses_and_never_leaks_internals(source: str, autoescape: bool,
                                                                      name: str) -> None:
    engine = TemplateEngine()
    try:
        engine.check(source, field="text", autoescape=autoescape)
        out = engine.render(source, {"name": name, "items": ["a", "b"], "d": {"k": "v"}}, field="text",
                            autoescape=autoescape)
    except InvalidArgumentError as exc:
        assert exc.field == "text"
        assert not LEAK.search(exc.description), exc.description
        return
    assert isinstance(out, str) and not LEAK.search(out), out[:200]


@pytest.mark.parametrize("kind", KINDS)
@FUZZ
@given(source=SOURCES, autoescape=st.booleans(), name=TEXT)
def test_fast_personalization_compiles_or_declines(kind: str, source: str, autoescape: bool, name: str) -> None:
    personalize = implementation("personalize", kind)
    program = personalize.compile_template(source, autoescape=autoescape)
    if program is None:
        return  # outside the fast subset: the engine takes it
    out = program.render({"name": name, "d": {"k": name}})
    assert out is None or isinstance(out, str)


KEYS = {"1": b"tracking key one", "2": b"tracking key two"}
TOKENS = st.builds(linkwrap.sign_token, st.sampled_from([b"tracking key one", b"tracking key two", b"other"]),
                   st.sampled_from(["c", "t", "o", "u", "x"]), TEXT, TEXT, st.integers(0, 10**6),
                   st.sampled_from(["1", "2", "9"]))


@FUZZ
@given(token=TOKENS, edit=st.tuples(st.integers(0, 10**4), st.sampled_from(
    ["", "A", "-", "_", ".", "=", "%", "\x00", "é", "AAAA", ".x"])) | st.none())
def test_token_verifier_accepts_only_tokens_it_signed(token: str, edit: tuple[int, str] | None) -> None:
    if edit is not None:
        at = edit[0] % (len(token) + 1)
        changed = token[:at] + edit[1] + token[at + 1:]
    else:
        changed = token
    try:
        verified = linkwrap.verify_token(KEYS, changed)
    except linkwrap.InvalidTokenError:
        return
    assert changed == token, "an altered token verified"
    assert verified.key_id in KEYS and verified.kind in linkwrap.KINDS


@FUZZ
@given(text=TEXT | st.text(max_size=200))
def test_token_verifier_refuses_arbitrary_text(text: str) -> None:
    with pytest.raises(linkwrap.InvalidTokenError):
        linkwrap.verify_token(KEYS, text)


VERP = Verp(MasterKey(b"k" * 32))


@FUZZ
@given(address=TEXT | st.text(max_size=120) | st.from_regex(r"<?b-[0-9a-f]{8,70}-[a-z2-7]{14,18}@[a-z.]{1,20}>?",
                                                             fullmatch=True))
def test_verp_decoder_answers_an_id_none_or_forged(address: str) -> None:
    try:
        found = VERP.message_id(address)
    except ForgedAddressError:
        return
    if found is not None:
        assert VERP.address(found, "x.test").split("@")[0] == address.strip().strip("<>").rpartition("@")[0].lower()

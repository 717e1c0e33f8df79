"""Coverage-guided fuzzing (atheris, libFuzzer) of postwave's input readers.

    python3 tests/security/atheris_fuzz.py -runs=200000          # a long local session
    python3 tests/security/atheris_fuzz.py -max_total_time=600   # ten minutes

CI runs it briefly (tests/security/test_atheris.py). Each input picks one target with its
first byte: the MIME builder (pure-Python twin: atheris instruments Python, not the compiled
module), the DSN/ARF parser, the template engine, the tracking token verifier or the VERP
decoder. A documented error is an answer; any other exception, or a built message that
breaks the wire rules, is a crash that libFuzzer reports with the input that caused it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "server"))

with atheris.instrument_imports(include=["postwave"]):
    from postwave.domains.masterkey import MasterKey
    from postwave.errors import InvalidArgumentError
    from postwave.feedback import parse
    from postwave.feedback.verp import ForgedAddressError, Verp
    from postwave.render import mime
    from postwave.render.templates import TemplateEngine
    from postwave.tracking import linkwrap

BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")
LEAK = re.compile(r"<class |<function |<built-in |<module |__globals__")
KEYS = {"1": b"tracking key one"}
VERP = Verp(MasterKey(b"k" * 32))
ENGINE = TemplateEngine()


def _mime(fdp: atheris.FuzzedDataProvider) -> None:
    try:
        raw = mime.build_message(
            from_addr=fdp.ConsumeUnicode(40) + " <s@postwave.test>", to=["a@x.test"],
            subject=fdp.ConsumeUnicode(120), text=fdp.ConsumeUnicode(400), html=fdp.ConsumeUnicode(200) or None,
            headers={"X-" + fdp.ConsumeUnicode(10): fdp.ConsumeUnicode(60)},
            attachments=[mime.Attachment(fdp.ConsumeUnicode(30), "application/octet-stream", fdp.ConsumeBytes(40))],
            message_id="m@postwave.test")
    except InvalidArgumentError:
        return
    raw.decode("ascii")
    if BARE.search(raw) or b"." in raw.split(b"\r\n") or max(map(len, raw.split(b"\r\n"))) > 998:
        raise AssertionError("a built message breaks the wire rules")


def _report(fdp: atheris.FuzzedDataProvider) -> None:
    try:
        parse.parse_report(fdp.ConsumeBytes(4096))
    except parse.ReportError:
        pass


def _template(fdp: atheris.FuzzedDataProvider) -> None:
    try:
        out = ENGINE.render(fdp.ConsumeUnicode(300), {"name": "ann", "d": {"k": "v"}}, field="text",
                            autoescape=fdp.ConsumeBool())
    except InvalidArgumentError as exc:
        out = exc.description
    if LEAK.search(out):
        raise AssertionError(f"template output leaks internals: {out[:200]!r}")


def _token(fdp: atheris.FuzzedDataProvider) -> None:
    try:
        linkwrap.verify_token(KEYS, fdp.ConsumeUnicode(200))
    except linkwrap.InvalidTokenError:
        return
    raise AssertionError("a token nobody signed verified")


def _verp(fdp: atheris.FuzzedDataProvider) -> None:
    try:
        VERP.message_id(fdp.ConsumeUnicode(120))
    except ForgedAddressError:
        pass


TARGETS = [_mime, _report, _template, _token, _verp]


def test_one_input(data: bytes) -> None:
    """libFuzzer's entry point."""
    fdp = atheris.FuzzedDataProvider(data)
    TARGETS[fdp.ConsumeIntInRange(0, len(TARGETS) - 1)](fdp)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()

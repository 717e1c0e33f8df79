"""Malicious DSN and ARF reports, over real SMTP to a real `postwave feedback` process.

Complements tests/feedback/test_bad_input.py (forged VERP, malformed but small reports) with
hostile sizes and shapes: a report at and over the size limit, multiparts nested thousands
deep, a DSN quoting a DSN quoting a DSN, thousands of recipients, and wrong or lying charsets.
Each is answered (kept, or refused for size), the receiver keeps running, and a good report
sent right after is processed.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable

from tests.feedback import samples
from tests.feedback.conftest import RETURN_PATH_DOMAIN, FeedbackWorld

LIMIT = 10 * 1024 * 1024  # the receiver's DATA limit (feedback/receiver.py)


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "surrogateescape")


def _report(to: str, body: str, *, report_type: str = "delivery-status", boundary: str = "R") -> bytes:
    return _crlf(f"From: MAILER-DAEMON@mx.isp.test\nTo: {to}\nSubject: Undelivered\nMIME-Version: 1.0\n"
                 f'Content-Type: multipart/report; report-type={report_type}; boundary="{boundary}"\n\n'
                 f"{body}")


def nested(to: str, depth: int) -> bytes:
    """A report whose first part is ``depth`` multiparts, each inside the last."""
    opening = "".join(f'--b{i}\nContent-Type: multipart/mixed; boundary="b{i + 1}"\n\n' for i in range(depth))
    closing = "".join(f"--b{i}--\n" for i in reversed(range(depth + 1)))
    return _report(to, opening + f"--b{depth}\nContent-Type: text/plain\n\nbottom\n" + closing, boundary="b0")


def recursive(to: str, recipient: str, depth: int) -> bytes:
    """A DSN returning a DSN returning a DSN ... ``depth`` times."""
    raw = samples.dsn(to=to, recipient=recipient, returned="none").decode()
    for _ in range(depth):
        raw = samples.dsn(to=to, recipient=recipient, returned="message", orig=raw).decode()
    return raw.encode()


def status_part(to: str, recipients: str, *, charset: str = "us-ascii", transfer: str = "7bit") -> bytes:
    return _report(to, "--R\nContent-Type: text/plain\n\nbounce\n"
                       f"--R\nContent-Type: message/delivery-status; charset={charset}\n"
                       f"Content-Transfer-Encoding: {transfer}\n\nReporting-MTA: dns; mx.isp.test\n\n"
                       f"{recipients}--R--\n")


def one(recipient: str) -> str:
    return f"Final-Recipient: rfc822; {recipient}\nAction: failed\nStatus: 5.1.1\n\n"


Builder = Callable[[str, str], bytes]  # (return path, recipient) -> the report


def cases() -> dict[str, Builder]:
    """Every hostile report, by name."""
    quoted = "X" * 76 + "\n"
    big_orig = "Subject: big\n\n" + quoted * ((LIMIT - 200_000) // len(quoted))
    return {
        "just under the size limit": lambda to, r: samples.dsn(to=to, recipient=r, returned="message", orig=big_orig),
        "over the size limit": lambda to, r: samples.dsn(to=to, recipient=r, returned="message",
                                                         orig=big_orig + quoted * 5000),
        "multiparts nested 50 deep": lambda to, r: nested(to, 50),
        "multiparts nested 3000 deep": lambda to, r: nested(to, 3000),
        "dsn quoting dsn 200 deep": lambda to, r: recursive(to, r, 200),
        "10000 recipients": lambda to, r: status_part(to, "".join(one(f"u{i}@isp.test") for i in range(10_000))),
        "10000 boundary lines": lambda to, r: _report(to, "--R\nContent-Type: text/plain\n\n" + "--R\n" * 10_000
                                                      + "--R--\n"),
        "utf-16 declared, ascii sent": lambda to, r: status_part(to, one(r), charset="utf-16"),
        "utf-7 script": lambda to, r: status_part(to, one("+ADw-script+AD4-@isp.test"), charset="utf-7"),
        "unknown charset with nul": lambda to, r: status_part(to, one(r), charset='"x-\x00evil"'),
        "latin-1 bytes as utf-8": lambda to, r: status_part(to, one("caf\udce9@isp.test"), charset="utf-8"),
        "base64 status, broken": lambda to, r: status_part(to, "!!!not base64!!!\n", transfer="base64"),
        "quoted-printable soft breaks": lambda to, r: status_part(
            to, "Final-Recipient: rfc822; a=\n@isp.test\n" * 3000, transfer="quoted-printable"),
        "encoded-word of unknown charset": lambda to, r: _crlf(
            f"From: x@isp.test\nTo: {to}\nSubject: =?x-klingon?B?AAAA?= =?utf-8?Q?=FF=FE?=\n\n"
            f"Delivery to the following recipient failed permanently:\n\n  {r}\n"),
        "arf with 5000 feedback fields": lambda to, r: _report(
            to, "--R\nContent-Type: text/plain\n\nabuse\n--R\nContent-Type: message/feedback-report\n\n"
            + "Feedback-Type: abuse\n" * 5000 + "--R--\n", report_type="feedback-report"),
    }


def deliver(feedback: FeedbackWorld, raw: bytes, rcpt: str) -> tuple[int, str]:
    """One transaction; a refusal during or after DATA counts as its code."""
    try:
        return feedback.deliver(raw, rcpt)
    except smtplib.SMTPDataError as exc:
        return exc.smtp_code, exc.smtp_error.decode(errors="replace")
    except smtplib.SMTPServerDisconnected as exc:
        return 0, str(exc)


def test_hostile_reports_are_kept_or_refused_and_the_receiver_keeps_serving(feedback: FeedbackWorld) -> None:
    hostile = cases()
    sent = feedback.sent(len(hostile), prefix="hostile")
    outcomes: dict[str, int] = {}
    for (name, build), s in zip(hostile.items(), sent):
        raw = build(s.return_path, s.recipient)
        code, reply = deliver(feedback, raw, s.return_path)
        outcomes[name] = code
        assert feedback.proc.poll() is None, (name, feedback.log()[-3000:])
        if len(raw) > LIMIT:
            assert code == 552, (name, code, reply)
            continue
        assert code == 250, (name, code, reply)
        # Still serving and still correct: a good report right after is processed.
        (good,) = feedback.sent(1, prefix=f"after{len(outcomes)}")
        good_raw = samples.dsn(to=good.return_path, recipient=good.recipient, returned="none")
        assert deliver(feedback, good_raw, good.return_path)[0] == 250, name
        assert [e.type for e in feedback.events(good.message_id)] == ["bounced", "suppressed"], name
    assert outcomes["over the size limit"] == 552
    assert "Traceback" not in feedback.log(), feedback.log()[-4000:]
    # Nothing hostile invented an event for an address it named but we never sent to.
    for address in ("+ADw-script+AD4-@isp.test", "u5@isp.test"):
        assert feedback.suppressed(address) is None
    assert RETURN_PATH_DOMAIN in sent[0].return_path

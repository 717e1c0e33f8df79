"""Feedback messages in the shapes mailbox providers send, written from the RFC formats.

- RFC 3464 DSNs: multipart/report; report-type=delivery-status with a message/delivery-status
  part (per-message fields, a blank line, per-recipient fields), and the original returned as
  message/rfc822, text/rfc822-headers, or not at all.
- Plain-text bounces (no multipart/report), as qmail, Exim and Postfix-style warnings word them.
- RFC 5965 ARF: multipart/report; report-type=feedback-report with a message/feedback-report
  part, and the original as message/rfc822, text/rfc822-headers, or left out.

Every builder returns bytes with CRLF line ends, ready for SMTP DATA.
"""

from __future__ import annotations

BOUNDARY = "=_pw_report_boundary"


def _crlf(text: str) -> bytes:
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")


def original(*, message_id: str, return_path: str, to: str, subject: str = "Your order") -> str:
    """The header (and a short body) of a message we sent."""
    return (
        f"Return-Path: <{return_path}>\n"
        "Received: from mta.postwave.test (mta.postwave.test [127.0.0.10])\n"
        "\tby mx.isp.test with ESMTPS id 4Xy1; Sun, 29 Nov 2026 01:02:03 +0000\n"
        "From: Shop <news@acme.test>\n"
        f"To: {to}\n"
        f"Subject: {subject}\n"
        "Date: Sun, 29 Nov 2026 01:02:00 +0000\n"
        f"Message-ID: <{message_id}@postwave.test>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
        "Hello, your order has shipped.\n"
    )


def _headers_only(text: str) -> str:
    return text.split("\n\n", 1)[0] + "\n"


def dsn(*, to: str, recipient: str, status: str = "5.1.1", action: str = "failed",
        diagnostic: str = "smtp; 550 5.1.1 <{r}>: Recipient address rejected: User unknown",
        returned: str = "message", orig: str = "", extra_recipients: str = "",
        reporting_mta: str = "dns; mx.isp.test") -> bytes:
    """An RFC 3464 DSN. ``returned``: message (message/rfc822), headers (text/rfc822-headers)
    or none."""
    diag = diagnostic.format(r=recipient)
    notification = (
        f"--{BOUNDARY}\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "Content-Description: Notification\n"
        "\n"
        "This is the mail system at host mx.isp.test.\n"
        "\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n"
        "\n"
        f"<{recipient}>: {diag}\n"
    )
    status = (
        f"--{BOUNDARY}\n"
        "Content-Type: message/delivery-status\n"
        "Content-Description: Delivery report\n"
        "\n"
        f"Reporting-MTA: {reporting_mta}\n"
        "X-Postfix-Queue-ID: 4Xy1\n"
        "Arrival-Date: Sun, 29 Nov 2026 01:02:03 +0000\n"
        "\n"
        f"Final-Recipient: rfc822; {recipient}\n"
        f"Original-Recipient: rfc822;{recipient}\n"
        f"Action: {action}\n"
        f"Status: {status}\n"
        "Remote-MTA: dns; mailstore.isp.test\n"
        f"Diagnostic-Code: {diag}\n"
        + (f"\n{extra_recipients}" if extra_recipients else "")
    )
    parts = [notification, status]
    if returned == "message":
        parts.append(f"--{BOUNDARY}\nContent-Type: message/rfc822\nContent-Description: Undelivered Message\n\n"
                     f"{orig}")
    elif returned == "headers":
        parts.append(f"--{BOUNDARY}\nContent-Type: text/rfc822-headers\n"
                     f"Content-Description: Undelivered Message Headers\n\n{_headers_only(orig)}")
    body = "".join(parts) + f"--{BOUNDARY}--\n"
    return _crlf(
        "From: MAILER-DAEMON@mx.isp.test (Mail Delivery System)\n"
        f"To: {to}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Date: Sun, 29 Nov 2026 01:02:04 +0000\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\n\tboundary="{BOUNDARY}"\n'
        "\n"
        "This is a MIME-encapsulated message.\n"
        "\n" + body
    )


def qmail_bounce(*, to: str, recipient: str, orig: str) -> bytes:
    """A qmail-send failure notice: plain text, the original quoted below a marker line."""
    return _crlf(
        "From: MAILER-DAEMON@mail.qmail.test\n"
        f"To: {to}\n"
        "Subject: failure notice\n"
        "\n"
        "Hi. This is the qmail-send program at mail.qmail.test.\n"
        "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        "This is a permanent error; I've given up. Sorry it didn't work out.\n"
        "\n"
        f"<{recipient}>:\n"
        "Sorry, no mailbox here by that name. (#5.1.1)\n"
        "\n"
        "--- Below this line is a copy of the message.\n"
        "\n" + orig
    )


def exim_bounce(*, to: str, recipient: str, orig: str) -> bytes:
    """An Exim bounce: plain text with the remote server's reply, then the returned message."""
    return _crlf(
        "From: Mail Delivery System <Mailer-Daemon@exim.test>\n"
        f"To: {to}\n"
        "Subject: Mail delivery failed: returning message to sender\n"
        "Auto-Submitted: auto-replied\n"
        "\n"
        "This message was created automatically by mail delivery software.\n"
        "\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n"
        "\n"
        f"  {recipient}\n"
        f"    host mx.exim.test [127.0.1.77]\n"
        f"    SMTP error from remote mail server after RCPT TO:<{recipient}>:\n"
        "    550 5.1.1 The email account that you tried to reach does not exist\n"
        "\n"
        "------ This is a copy of the message, including all the headers. ------\n"
        "\n" + orig
    )


def delay_warning(*, to: str, recipient: str) -> bytes:
    """A plain-text delay warning without any status code."""
    return _crlf(
        "From: postmaster@slow.test\n"
        f"To: {to}\n"
        "Subject: Delivery delayed\n"
        "\n"
        f"Your message to {recipient} has not yet been delivered.\n"
        "The mail system will continue trying to deliver it for 5 days.\n"
    )


def arf(*, to: str, rcpt: str = "", mail_from: str = "", returned: str = "message", orig: str = "",
        feedback_type: str = "abuse") -> bytes:
    """An RFC 5965 abuse report. ``returned``: message, headers or none."""
    fields = [f"Feedback-Type: {feedback_type}", "User-Agent: ISP-FBL/2.1", "Version: 1"]
    if mail_from:
        fields.append(f"Original-Mail-From: <{mail_from}>")
    if rcpt:
        fields.append(f"Original-Rcpt-To: <{rcpt}>")
    fields += ["Arrival-Date: Sun, 29 Nov 2026 01:02:03 +0000", "Source-IP: 127.0.0.10",
               "Reported-Domain: acme.test"]
    parts = [
        (f"--{BOUNDARY}\nContent-Type: text/plain; charset=us-ascii\n\n"
         "This is an email abuse report for an email message received from IP 127.0.0.10.\n"),
        f"--{BOUNDARY}\nContent-Type: message/feedback-report\n\n" + "\n".join(fields) + "\n",
    ]
    if returned == "message":
        parts.append(f"--{BOUNDARY}\nContent-Type: message/rfc822\nContent-Disposition: inline\n\n{orig}")
    elif returned == "headers":
        parts.append(f"--{BOUNDARY}\nContent-Type: text/rfc822-headers\n\n{_headers_only(orig)}")
    return _crlf(
        "From: <staff@fbl.isp.test>\n"
        "Date: Sun, 29 Nov 2026 02:00:00 +0000\n"
        "Subject: FW: Your order\n"
        f"To: <{to}>\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=feedback-report;\n\tboundary="{BOUNDARY}"\n'
        "\n" + "".join(parts) + f"--{BOUNDARY}--\n"
    )


# Broken or misdirected mail that reaches the bounce domain: each must be kept, never crash.
MALFORMED: dict[str, bytes] = {
    "report without status part": _crlf(
        "From: MAILER-DAEMON@x.test\nSubject: bounce\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{BOUNDARY}"\n\n'
        f"--{BOUNDARY}\nContent-Type: text/plain\n\nsomething failed\n--{BOUNDARY}--\n"),
    "status part without recipients": _crlf(
        "From: MAILER-DAEMON@x.test\nSubject: bounce\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{BOUNDARY}"\n\n'
        f"--{BOUNDARY}\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x.test\n--{BOUNDARY}--\n"),
    "recipient without status": _crlf(
        "From: MAILER-DAEMON@x.test\nSubject: bounce\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{BOUNDARY}"\n\n'
        f"--{BOUNDARY}\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x.test\n\n"
        "Final-Recipient: rfc822; a@b.test\nAction: failed\nStatus: broken\n"
        f"--{BOUNDARY}--\n"),
    "unterminated multipart": _crlf(
        "From: MAILER-DAEMON@x.test\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{BOUNDARY}"\n\n'
        f"--{BOUNDARY}\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; x.test\n\nFinal-Rec"),
    "unknown report type": _crlf(
        "From: a@x.test\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=disposition-notification; boundary="{BOUNDARY}"\n\n'
        f"--{BOUNDARY}\nContent-Type: text/plain\n\nread\n--{BOUNDARY}--\n"),
    "arf without feedback type": _crlf(
        "From: a@x.test\nMIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=feedback-report; boundary="{BOUNDARY}"\n\n'
        f"--{BOUNDARY}\nContent-Type: message/feedback-report\n\nUser-Agent: x\nVersion: 1\n--{BOUNDARY}--\n"),
    "auto reply": _crlf("From: bob@isp.test\nSubject: Out of office\n\nI am away until Monday.\n"),
    "binary junk": b"\x00\xff\xfe garbage \x80\x81\r\n\r\n\xc3\x28 \x00\x00" * 40,
    "bad base64 body": _crlf(
        "From: MAILER-DAEMON@x.test\nMIME-Version: 1.0\nContent-Type: text/plain\n"
        "Content-Transfer-Encoding: base64\n\n!!!not*base64***\n"),
    "headers only": _crlf("From: x@y.test\nSubject: nothing\n"),
    "empty": b"\r\n",
    "huge folded header": _crlf("From: x@y.test\nX-Junk: " + "\n ".join(["A" * 200] * 1000) + "\n\nbody\n"),
    "unknown charset": _crlf(
        "From: MAILER-DAEMON@x.test\nMIME-Version: 1.0\nContent-Type: text/plain; charset=x-klingon\n\n"
        "no status here at all\n"),
}

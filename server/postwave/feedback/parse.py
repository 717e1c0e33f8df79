"""Parsing of feedback mail: DSNs (RFC 3464), plain-text bounces, ARF reports (RFC 5965).

Pure functions of the message bytes. What comes out is a :class:`Report`: for a bounce, one
:class:`Notice` per recipient the DSN speaks of (action, status, diagnostic); for a complaint,
the feedback type and the reported recipient; for both, references to the original message
(Message-IDs, return paths) found in the report, used when the envelope gives no VERP address.

A message that is none of these (an auto-reply, spam sent to the bounce domain, a truncated
report) raises :class:`ReportError`, and the receiver keeps it for inspection.
"""

from __future__ import annotations

import dataclasses
import email
import email.message
import email.parser
import email.policy
import re

from postwave.mta.classify import classify

__all__ = ["Notice", "Report", "ReportError", "bounce_class", "parse_report"]

_ENHANCED = re.compile(r"\b([245])\.([0-9]{1,3})\.([0-9]{1,3})\b")
_BASIC = re.compile(r"(?<![0-9.])([45][0-9][0-9])(?=[ -])")
_ADDRESS = re.compile(r"<?([A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})>?")
_MESSAGE_ID = re.compile(r"^Message-ID:[ \t]*<([^>\r\n]+)>", re.IGNORECASE | re.MULTILINE)
_RETURN_PATH = re.compile(r"^Return-Path:[ \t]*<([^>\r\n]*)>", re.IGNORECASE | re.MULTILINE)
# Where plain-text bounces start quoting the original message: the diagnosis is above it.
_QUOTE_START = re.compile(
    r"^(-+ ?(Below this line is a copy of the message|Original message|This is a copy of the message|"
    r"The header of the original message)|Original-Message|Return-Path:)", re.IGNORECASE | re.MULTILINE)
_PERMANENT = re.compile(r"permanent|could not be delivered|undeliverable|failed permanently|"
                        r"no such (user|mailbox)|user unknown|does not exist", re.IGNORECASE)
_TEMPORARY = re.compile(r"delayed|will (continue|keep) (trying|to try)|temporar|not yet been delivered",
                        re.IGNORECASE)
_HEADER_PARSER = email.parser.HeaderParser(policy=email.policy.compat32)
MAX_TEXT = 64 * 1024  # only the first part of a plain bounce is read for its diagnosis


class ReportError(ValueError):
    """The message is not a bounce or complaint this parser understands."""


@dataclasses.dataclass(frozen=True, slots=True)
class Notice:
    """One recipient's fate, as a DSN reports it."""

    recipient: str
    action: str  # failed, delayed (delivered, relayed and expanded are not bounces)
    status: str  # enhanced status code, e.g. 5.1.1
    diagnostic: str  # e.g. "smtp; 550 5.1.1 user unknown"
    remote_mta: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    """A parsed bounce or complaint."""

    kind: str  # bounce or complaint
    source: str  # dsn, plain or arf
    notices: tuple[Notice, ...] = ()
    feedback_type: str = ""  # complaints: abuse, fraud, virus, other, ...
    complainant: str = ""  # complaints: the reported recipient (often redacted)
    reporter: str = ""  # the reporting MTA or feedback provider
    message_ids: tuple[str, ...] = ()  # Message-IDs of the original, without <>
    return_paths: tuple[str, ...] = ()  # return paths of the original (our VERP addresses)


def parse_report(raw: bytes) -> Report:
    """Parse a feedback message.

    Raises:
        ReportError: not a DSN, plain bounce or ARF report.
    """
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception as exc:  # noqa: BLE001 - the parser's failures are not a closed set
        raise ReportError(f"unparseable MIME: {exc}") from None
    if message.get_content_type() == "multipart/report":
        report_type = (message.get_param("report-type") or "").lower()  # type: ignore[union-attr]
        if report_type == "feedback-report":
            return _arf(message)
        if report_type == "delivery-status":
            return _dsn(message)
        raise ReportError(f"multipart/report of unknown report-type {report_type!r}")
    return _plain(message, raw)


# --- RFC 3464 delivery status notifications ---

def _dsn(message: email.message.Message) -> Report:
    status_part = _part(message, ("message/delivery-status", "text/delivery-status"))
    if status_part is None:
        raise ReportError("multipart/report (delivery-status) without a message/delivery-status part")
    groups = _field_groups(status_part)
    if len(groups) < 2:
        raise ReportError("delivery-status part without per-recipient fields")
    per_message, recipients = groups[0], groups[1:]
    notices = tuple(n for n in (_notice(g, per_message) for g in recipients) if n is not None)
    if not any(n.action in ("failed", "delayed") for n in notices):
        raise ReportError("delivery status notification reports no failed or delayed recipient")
    ids, paths = _original_refs(message)
    return Report("bounce", "dsn", notices=notices, reporter=_type_value(per_message.get("reporting-mta", "")),
                  message_ids=ids, return_paths=paths)


def _notice(fields: dict[str, str], per_message: dict[str, str]) -> Notice | None:
    recipient = _type_value(fields.get("final-recipient", "") or fields.get("original-recipient", ""))
    action = fields.get("action", "").strip().lower()
    status = _ENHANCED.search(fields.get("status", ""))
    if not recipient or not action:
        return None
    if status is None:
        raise ReportError(f"recipient {recipient} has no valid Status field")
    return Notice(recipient.strip("<>").lower(), action, status.group(0),
                  " ".join(fields.get("diagnostic-code", "").split()),
                  _type_value(fields.get("remote-mta", "")))


def _type_value(value: str) -> str:
    """``rfc822; bob@example.com`` -> ``bob@example.com`` (RFC 3464 address-type; value)."""
    return value.partition(";")[2].strip() if ";" in value else value.strip()


# --- plain-text bounces (no multipart/report): best effort ---

def _plain(message: email.message.Message, raw: bytes) -> Report:
    text = _first_text(message)
    cut = _QUOTE_START.search(text)
    diagnosis = text[: cut.start()] if cut else text
    enhanced = _ENHANCED.search(diagnosis)
    basic = _BASIC.search(diagnosis)
    permanent, temporary = bool(_PERMANENT.search(diagnosis)), bool(_TEMPORARY.search(diagnosis))
    if enhanced is None and basic is None and not (permanent or temporary):
        raise ReportError("neither a DSN nor a recognisable plain-text bounce (no status code or bounce wording)")
    if enhanced is not None:
        status = enhanced.group(0)
    elif basic is not None:
        status = f"{basic.group(1)[0]}.0.0"
    else:
        status = "4.0.0" if temporary and not permanent else "5.0.0"
    action = "delayed" if status.startswith("4") else "failed"
    line = _diagnostic_line(diagnosis, enhanced or basic)
    recipients = [a.lower() for a in _ADDRESS.findall(diagnosis) if not _is_daemon(a)]
    notice = Notice(recipients[0] if recipients else "", action, status, line)
    ids, paths = _refs_in_text(raw.decode("utf-8", "replace"))
    return Report("bounce", "plain", notices=(notice,), reporter=str(message.get("From", "")),
                  message_ids=ids, return_paths=paths)


def _first_text(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.is_multipart():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                charset = part.get_content_charset() or "utf-8"
                try:
                    return payload[:MAX_TEXT].decode(charset, "replace")
                except LookupError:
                    return payload[:MAX_TEXT].decode("utf-8", "replace")
    raise ReportError("no text/plain part to read a bounce from")


def _diagnostic_line(text: str, found: re.Match[str] | None) -> str:
    if found is None:
        return " ".join(text.split())[:300]
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    return " ".join(text[start: end if end >= 0 else len(text)].split())[:300]


def _is_daemon(address: str) -> bool:
    local = address.split("@")[0].lower()
    return local in ("mailer-daemon", "postmaster", "mailer_daemon") or local.startswith("b-")


# --- RFC 5965 abuse feedback reports ---

def _arf(message: email.message.Message) -> Report:
    part = _part(message, ("message/feedback-report",))
    if part is None:
        raise ReportError("multipart/report (feedback-report) without a message/feedback-report part")
    groups = _field_groups(part)
    fields = groups[0] if groups else {}
    feedback_type = fields.get("feedback-type", "").strip().lower()
    if not feedback_type:
        raise ReportError("feedback report without a Feedback-Type field")
    ids, paths = _original_refs(message)
    mail_from = fields.get("original-mail-from", "").strip().strip("<>")
    return Report(
        "complaint", "arf", feedback_type=feedback_type,
        complainant=fields.get("original-rcpt-to", "").strip().strip("<>").lower(),
        reporter=fields.get("reported-domain", "") or fields.get("user-agent", ""),
        message_ids=ids, return_paths=tuple(dict.fromkeys(((mail_from,) if mail_from else ()) + paths)),
    )


# --- shared pieces ---

def _part(message: email.message.Message, types: tuple[str, ...]) -> email.message.Message | None:
    for part in message.walk():
        if part.get_content_type() in types:
            return part
    return None


def _field_groups(part: email.message.Message) -> list[dict[str, str]]:
    """The blank-line separated header groups of a delivery-status or feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the email package split the groups into sub-messages
        return [{k.lower(): str(v) for k, v in block.items()} for block in payload
                if isinstance(block, email.message.Message) and len(block)]
    data = part.get_payload(decode=True)
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload)
    groups = []
    for block in re.split(r"\r?\n[ \t]*\r?\n", text.strip()):
        headers = _HEADER_PARSER.parsestr(block.strip() + "\n")
        if len(headers):
            groups.append({k.lower(): str(v) for k, v in headers.items()})
    return groups


def _original_refs(message: email.message.Message) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Message-IDs and Return-Paths of the returned original (message/rfc822 or headers)."""
    original = _part(message, ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"))
    if original is None:
        return (), ()
    payload = original.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], email.message.Message):
        inner = payload[0]
        ids = tuple(str(v).strip().strip("<>") for v in inner.get_all("Message-ID", []))
        paths = tuple(str(v).strip().strip("<>") for v in inner.get_all("Return-Path", []) if str(v).strip("<> "))
        return ids, paths
    data = original.get_payload(decode=True)
    return _refs_in_text(data.decode("utf-8", "replace") if isinstance(data, bytes) else str(payload))


def _refs_in_text(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    ids = tuple(dict.fromkeys(m.strip() for m in _MESSAGE_ID.findall(text)))
    paths = tuple(dict.fromkeys(p.strip() for p in _RETURN_PATH.findall(text) if p.strip()))
    return ids, paths


def bounce_class(notice: Notice) -> str:
    """``hard`` (the address is bad: suppress now), ``soft`` (temporary, or a full mailbox:
    the soft-bounce policy decides) or ``block`` (a policy refusal aimed at the sender: never
    the recipient's fault, so no suppression), from the status and diagnostic code."""
    if notice.action == "delayed" or notice.status.startswith("4"):
        return "soft"
    diagnostic = notice.diagnostic.partition(";")[2] if ";" in notice.diagnostic else notice.diagnostic
    basic = _BASIC.search(diagnostic + " ")
    code = int(basic.group(1)) if basic else 550
    verdict = classify(code, f"{notice.status} {diagnostic}")
    if verdict.suppress:
        return "hard"
    if verdict.policy:
        return "block"
    return "soft"

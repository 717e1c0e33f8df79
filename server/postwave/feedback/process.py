"""From one received feedback message to events and suppressions, as named guard steps.

1. ``parse`` -- DSN, plain bounce or ARF (:mod:`postwave.feedback.parse`); else kept as
   ``unparsed``.
2. ``find_message`` -- the message it is about: the signed VERP address it was sent to (or,
   for ARF, the Original-Mail-From / the original's Return-Path), else the original's
   Message-ID; a Message-ID match must also agree with the recipient the report names, as
   it is not signed. No match: kept as ``unmatched``.
3. ``outcome`` -- ``bounced`` (detail starts with hard, soft or block, then the status and
   diagnostic code) or ``complained``; hard bounces and complaints suppress the address at
   once, a block (a policy refusal of the sender) never does, soft bounces go to the
   soft-bounce policy.
4. ``commit`` -- written in a group commit with every other report arriving meanwhile; the
   SMTP reply (250) waits for it, so an accepted report is never lost.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import logging
import re
import secrets
import time
from collections.abc import Sequence

from google.protobuf.message import DecodeError

from postwave import loop, metrics
from postwave.breakers.gate import SampleWriter, feedback_samples, merge_samples
from postwave.feedback.parse import (
    Notice,
    Report,
    ReportError,
    bounce_class,
    parse_report,
)
from postwave.feedback.verp import ForgedAddressError, Verp
from postwave.store.base import (
    BreakerSample,
    EventRecord,
    FeedbackReport,
    MessageRecord,
    Store,
    Suppression,
)
from postwave.suppression.policy import (
    MAX_REASON,
    SuppressionPolicy,
    check_reason,
    suppression_key,
)
from postwave.v1 import send_pb2

log = logging.getLogger(__name__)

_OUR_MESSAGE_ID = re.compile(r"([0-9a-f]{20,40})@[^@\s]+")
RECENT = 100_000  # (message, event kind) pairs remembered to drop repeated reports
COMMIT_MAX = 1000


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    """One message as the SMTP receiver got it."""

    raw: bytes
    mail_from: str
    rcpt_tos: tuple[str, ...]


class _Kept(Exception):
    """A guard step decided to keep the report for inspection."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Writer:
    """Group commit of feedback results: everything submitted while a commit runs goes into
    the next one; each submitter is answered when its own rows are durable."""

    def __init__(self, store: Store, breakers: SampleWriter | None = None) -> None:
        self.store = store
        self.breakers = breakers  # tenant circuit breakers: bounces and complaints count (reputation helper)
        self._pending: list[tuple[list[EventRecord], list[Suppression], Sequence[BreakerSample],
                                  asyncio.Future[None]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the committer task."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name="feedback-writer")

    async def stop(self) -> None:
        """Finish what was submitted, then stop."""
        while self._pending:
            await asyncio.sleep(0.01)
        if self._task is not None:
            await loop.cancel_and_wait([self._task])

    async def submit(self, events: list[EventRecord], suppressions: list[Suppression],
                     samples: Sequence[BreakerSample] = ()) -> None:
        """Wait until these rows are written (raises what the store raised); ``samples`` go to
        the circuit breakers after the commit that wrote their events."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((events, suppressions, samples, future))
        self._wakeup.set()
        await future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = self._pending[:COMMIT_MAX]
                del self._pending[:len(batch)]
                events = [e for b in batch for e in b[0]]
                suppressions = [s for b in batch for s in b[1]]
                try:
                    await asyncio.to_thread(self.store.record_feedback, events, suppressions)
                except Exception as exc:  # noqa: BLE001 - every waiter must hear of it
                    for *_, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for *_, future in batch:
                    if not future.done():
                        future.set_result(None)
                await self._count([s for b in batch for s in b[2]])

    async def _count(self, samples: list[BreakerSample]) -> None:
        """Hand the committed reports' samples to the breakers (a failure loses counts, never a report)."""
        if self.breakers is None or not samples:
            return
        try:
            await asyncio.to_thread(self.breakers.record, merge_samples(samples))
        except Exception as exc:  # noqa: BLE001 - the reports are durable; only the breaker counts are lost
            log.warning("counting %d feedback reports for the circuit breakers failed: %s", len(samples), exc)


class FeedbackProcessor:
    """Turns received feedback into events and suppressions."""

    def __init__(self, store: Store, verp: Verp, writer: Writer, policy: SuppressionPolicy) -> None:
        self.store = store
        self.verp = verp
        self.writer = writer
        self.policy = policy
        self._recent: collections.OrderedDict[tuple[str, str], None] = collections.OrderedDict()
        self._custom: collections.OrderedDict[tuple[str, int], str] = collections.OrderedDict()
        self.counts: collections.Counter[str] = collections.Counter()

    async def process(self, received: Received) -> str:
        """Handle one message; returns a one-line summary for the SMTP reply and the log.

        Raises:
            StoreUnavailableError: the store could not be reached (answer 4xx: the sender retries).
        """
        try:
            report = self.parse(received)
            message = await self.find_message(received, report)
            events, suppressions = await self.outcome(message, report)
        except _Kept as kept:
            await self.keep(received, kept.status, kept.reason)
            self.counts[kept.status] += 1
            return f"kept as {kept.status}: {kept.reason}"
        fresh = self._fresh(events)
        if fresh:
            await self.writer.submit(fresh, suppressions, feedback_samples(message, fresh))
            await self.soft_bounce_policy(message, fresh)
            if report.kind == "complaint":
                metrics.count_complaint(message.tenant_id)
            else:
                metrics.count_bounce(message.tenant_id, "dsn")
        kinds = ", ".join(e.detail.split(":")[0] if e.type == "bounced" else e.type for e in fresh
                          if e.type != "suppressed") or "duplicate"
        self.counts[report.kind] += 1
        return f"{report.kind} of message {message.message_id}: {kinds}"

    # guard steps

    def parse(self, received: Received) -> Report:
        """Parse; an unparseable message is kept."""
        try:
            return parse_report(received.raw)
        except ReportError as exc:
            raise _Kept("unparsed", str(exc)) from None

    async def find_message(self, received: Received, report: Report) -> MessageRecord:
        """The message the report is about (signed references first)."""
        signed = [mid for mid in (self._verp_id(a) for a in (*received.rcpt_tos, *report.return_paths)) if mid]
        for message_id in dict.fromkeys(signed):
            found = await asyncio.to_thread(self.store.get_message, message_id)
            if found is not None:
                return found
        named = {n.recipient for n in report.notices if n.recipient} | ({report.complainant} - {""})
        for header in report.message_ids:
            shape = _OUR_MESSAGE_ID.fullmatch(header.lower())
            found = await asyncio.to_thread(self.store.get_message, shape.group(1)) if shape else None
            # An unsigned reference must agree with the recipient the report names, if any.
            if found is not None and (not named or found.recipient.lower() in named):
                return found
        what = "a valid VERP address or a Message-ID of ours" if not signed else "a message that still exists"
        raise _Kept("unmatched", f"{report.source} {report.kind} names no known message (needs {what})")

    async def outcome(self, msg: MessageRecord, report: Report) -> tuple[list[EventRecord], list[Suppression]]:
        """The events and suppressions of the report."""
        now = time.time()
        custom = await self._custom_args(msg)
        if report.kind == "complaint":
            detail = f"complaint ({report.feedback_type}) by ARF report" + (f" from {report.reporter}"
                                                                            if report.reporter else "")
            events = [_event(msg, "complained", detail, now, custom)]
            reason = f"complaint: {report.feedback_type} report" + (f" from {report.reporter}" if report.reporter else "")
            return self._suppressed(msg, events, reason, now, custom)
        notice = _worst(report.notices)
        kind = bounce_class(notice)
        where = f" (reported by {report.reporter})" if report.reporter else ""
        detail = f"{kind} bounce {notice.status}: {notice.diagnostic or notice.action}{where}"[:1000]
        events = [_event(msg, "bounced", detail, now, custom)]
        if kind == "hard":
            return self._suppressed(msg, events, f"bounce: {notice.status} {notice.diagnostic}"[:500], now, custom)
        return events, []

    async def soft_bounce_policy(self, msg: MessageRecord, events: Sequence[EventRecord]) -> None:
        """A soft bounce counts toward a temporary suppression (the suppression policy's
        soft_bounce_limit within its window); counted once per message."""
        if events[0].type == "bounced" and events[0].detail.startswith("soft "):
            await asyncio.to_thread(self.policy.record_soft_bounce, msg.tenant_id, msg.recipient,
                                    f"soft:{msg.message_id}", events[0].time, msg.message_id)

    async def keep(self, received: Received, status: str, reason: str) -> None:
        """Keep a report for inspection (a table, not the log: reports can be large)."""
        report = FeedbackReport(
            report_id=f"{int(time.time() * 1000):011x}{secrets.token_hex(6)}", received=time.time(), status=status,
            reason=reason[:1000], mail_from=received.mail_from[:500], rcpt_to=",".join(received.rcpt_tos)[:1000],
            raw=received.raw,
        )
        await asyncio.to_thread(self.store.keep_feedback_report, report)

    # pieces

    def _verp_id(self, address: str) -> str | None:
        try:
            return self.verp.message_id(address)
        except ForgedAddressError:
            log.warning("ignoring forged VERP reference %r", address)
            return None

    @staticmethod
    def _suppressed(msg: MessageRecord, events: list[EventRecord], reason: str, now: float,
                    custom: str) -> tuple[list[EventRecord], list[Suppression]]:
        """Hard bounces and complaints suppress for good, saying why (the event and message)."""
        events.append(_event(msg, "suppressed", f"address suppressed after {events[0].type}", now, custom))
        entry = Suppression(msg.tenant_id, suppression_key(msg.recipient), check_reason(_clean(reason)[:MAX_REASON]),
                            None, source=events[0].type, message_id=msg.message_id, created=now)
        return events, [entry]

    def _fresh(self, events: Sequence[EventRecord]) -> list[EventRecord]:
        """Drop events a repeated report (an ISP retrying, a duplicate FBL copy) already gave."""
        key = (events[0].message_id, events[0].type + events[0].detail.split(" ")[0])
        if key in self._recent:
            return []
        self._recent[key] = None
        if len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return list(events)

    async def _custom_args(self, msg: MessageRecord) -> str:
        key = (msg.request_id, msg.index)
        if key not in self._custom:
            payload = await asyncio.to_thread(self.store.get_payload, msg.request_id)
            custom = ""
            if payload is not None:
                try:
                    req = send_pb2.SendRequest.FromString(payload)
                except DecodeError:
                    req = send_pb2.SendRequest()
                if msg.index < len(req.personalizations) and req.personalizations[msg.index].custom_args:
                    custom = json.dumps(dict(req.personalizations[msg.index].custom_args))
            self._custom[key] = custom
            if len(self._custom) > 10_000:
                self._custom.popitem(last=False)
        return self._custom[key]


def _worst(notices: Sequence[Notice]) -> Notice:
    failed = [n for n in notices if n.action == "failed"]
    return (failed or [n for n in notices if n.action == "delayed"] or list(notices))[0]


def _event(msg: MessageRecord, kind: str, detail: str, now: float, custom: str) -> EventRecord:
    return EventRecord(msg.tenant_id, msg.message_id, kind, now, detail, msg.recipient, msg.send_id, msg.batch_id,
                       custom)


def _clean(text: str) -> str:
    """One line of printable text (report fields may be folded or carry control characters)."""
    return "".join(c for c in " ".join(text.split()) if c.isprintable())

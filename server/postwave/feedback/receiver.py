"""``postwave feedback``: the SMTP receiver of the bounce domains (aiosmtpd).

The return-path domains' MX records point here. RCPT TO a VERP-shaped address with a wrong
signature is refused (550 5.7.1): forged bounces never reach the parser. Every other
message is read, processed (:mod:`postwave.feedback.process`) and answered 250 only once
its events, suppressions or kept copy are durable; if the store is unreachable the answer
is 451 and the sender retries later. Nothing a sender can put in a message crashes the
receiver: an unexpected error is logged, the message kept for inspection, and answered 250
(answering 4xx would only bring the same poison back).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from aiosmtpd.smtp import SMTP, Envelope, Session

from postwave import metrics
from postwave.backends import open_backends
from postwave.config import Config
from postwave.domains import masterkey
from postwave.errors import PostwaveError, StoreUnavailableError
from postwave.breakers.gate import SampleWriter
from postwave.breakers.policy import BreakerPolicy
from postwave.feedback.process import FeedbackProcessor, Received, Writer
from postwave.feedback.verp import ForgedAddressError, Verp
from postwave.store.base import Store
from postwave.suppression.policy import SuppressionPolicy

log = logging.getLogger("postwave.feedback")

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # a bounce quoting a large original: the rest is not needed
MAX_RECIPIENTS = 100
IDLE_TIMEOUT = 120.0


class FeedbackHandler:
    """aiosmtpd handler: RCPT checks, then one processed message per DATA."""

    def __init__(self, processor: FeedbackProcessor, verp: Verp) -> None:
        self.processor = processor
        self.verp = verp

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        """Refuse forged VERP addresses; accept everything else (FBL and postmaster mail too)."""
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        try:
            self.verp.message_id(address)
        except ForgedAddressError:
            log.warning("refused forged VERP recipient %r from %s", address, session.peer)
            return "550 5.7.1 Invalid return path signature"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Process the message; the reply waits for the durable write."""
        raw = envelope.original_content or b""
        received = Received(raw, envelope.mail_from or "", tuple(envelope.rcpt_tos))
        try:
            summary = await self.processor.process(received)
        except StoreUnavailableError as exc:
            log.warning("store unavailable, asking the sender to retry: %s", exc.message)
            return "451 4.3.0 Temporary failure, please retry"
        except Exception as exc:
            log.exception("unexpected error processing a report from %s", session.peer)
            return await self._keep_after_error(received, exc)
        log.debug("%s", summary)
        return f"250 2.0.0 OK {summary[:200]}"

    async def _keep_after_error(self, received: Received, exc: Exception) -> str:
        try:
            await self.processor.keep(received, "unparsed", f"processing error: {exc!r}")
        except PostwaveError:
            return "451 4.3.0 Temporary failure, please retry"
        return "250 2.0.0 OK kept for inspection"


class FeedbackReceiver:
    """The listening server, its processor and its group-commit writer."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config
        self.verp = Verp(masterkey.load(config))
        self.writer = Writer(store, SampleWriter(store, BreakerPolicy.from_config(config)))  # tenant circuit breakers
        self.processor = FeedbackProcessor(store, self.verp, self.writer, SuppressionPolicy.from_config(store, config))
        self.handler = FeedbackHandler(self.processor, self.verp)
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self) -> int:
        """Listen on ``feedback_listen``; returns the bound port."""
        host, _, port = self.config.feedback_listen.rpartition(":")
        self.writer.start()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, host=host.strip("[]"), port=int(port))
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def _protocol(self) -> SMTP:
        return SMTP(self.handler, data_size_limit=MAX_MESSAGE_BYTES, enable_SMTPUTF8=True, decode_data=False,
                    hostname=self.config.feedback_mx_host or self.config.helo_name, ident="postwave feedback",
                    timeout=IDLE_TIMEOUT)

    async def stop(self) -> None:
        """Stop listening, then finish the writes in progress."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self.writer.stop()


async def run_feedback(config: Config) -> None:
    """Run the receiver until SIGINT or SIGTERM (the ``postwave feedback`` role), with the
    admin endpoint (/metrics, /healthz, /readyz) every role serves."""
    metrics.set_role("feedback")
    # aiosmtpd logs every command at INFO; at thousands of reports a second that is most of
    # the receiver's time. Its warnings and errors still show.
    logging.getLogger("mail.log").setLevel(max(logging.WARNING, logging.getLogger().level))
    store, queue = open_backends(config, role="feedback")
    try:
        receiver = FeedbackReceiver(store, config)
        admin = await metrics.start_admin_server(config.admin_listen, _readiness(store))
        port = await receiver.start()
        host = config.feedback_listen.rpartition(":")[0]
        print(f"postwave feedback listening on {host}:{port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await receiver.stop()
        await admin.stop()
        log.info("stopped; processed %s", dict(receiver.processor.counts))
    finally:
        await queue.close()
        store.close()


def _readiness(store: Store) -> metrics.Ready:
    async def ready() -> bool:
        await asyncio.to_thread(store.get_tenant, "t_readiness_probe")
        return True

    return ready


def print_kept(config: Config, limit: int) -> None:
    """Print the newest kept reports (``postwave feedback --list-kept N``)."""
    store, _ = open_backends(config, role="feedback")
    try:
        for report in store.list_feedback_reports(limit):
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(report.received))
            print(f"{when} {report.report_id} {report.status}: {report.reason}")
            print(f"  from <{report.mail_from}> to {report.rcpt_to}; {len(report.raw)} bytes")
    finally:
        store.close()

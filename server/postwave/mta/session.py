"""One SMTP session with one receiving server, on top of aiosmtplib.

:class:`Session` knows how to open a connection (greeting, EHLO, opportunistic STARTTLS)
and run one mail transaction on it, turning aiosmtplib's exceptions into what delivery
needs to know: a reply to classify (:class:`SMTPReply`), a target that could not be used
(:class:`TargetUnusable`), or a connection that died under us (:class:`SessionLost`).
Pooling and target order live in ``client.py``.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.email import quote_address

from postwave.errors import DeliveryError, InvalidArgumentError
from postwave.mta.mx import Target
from postwave.native import mime

__all__ = [
    "SMTPReply",
    "Session",
    "SessionLost",
    "SessionSettings",
    "TargetUnusable",
    "check_addresses",
]

# 421 means "service not available, closing transmission channel" at any stage.
CLOSING = 421
START_INPUT = 354  # DATA: go ahead
COMPLETED = 250
FORWARDED = 251  # RCPT: user not local, will forward


@dataclass(frozen=True, slots=True)
class SMTPReply:
    """The receiving server's answer that decided a delivery attempt.

    Attributes:
        code: the basic reply code, e.g. 250, 451, 550.
        text: the reply text (lines joined by newlines), enhanced code included.
        host: the MX host (:attr:`Target.host`) that answered.
        address: the address that was connected to.
        stage: where it answered: ``"CONNECT"``, ``"EHLO"``, ``"MAIL"``, ``"RCPT"``
            or ``"DATA"``.
    """

    code: int
    text: str
    host: str
    address: str
    stage: str


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """How sessions are opened; one instance shared by a pool's sessions."""

    helo_name: str
    source_address: str | None
    connect_timeout: float
    command_timeout: float
    tls_context: ssl.SSLContext | None  # None: never STARTTLS


class TargetUnusable(Exception):
    """A target could not be brought to the point of a mail transaction.

    ``reply`` is the server's refusal (greeting or EHLO) when it gave one, ``None`` when
    the network failed. ``tls_failed`` marks a STARTTLS handshake failure, after which the
    target may be retried without TLS.
    """

    def __init__(
        self, reason: str, reply: SMTPReply | None = None, *, tls_failed: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply
        self.tls_failed = tls_failed


class SessionLost(Exception):
    """The connection died during a transaction: a disconnect, a timeout, or a 421.

    ``reply`` holds the 421 when the server said goodbye, ``None`` for a silent loss.
    """

    def __init__(self, reason: str, stage: str, reply: SMTPReply | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.stage = stage
        self.reply = reply


class Session:
    """An open, greeted SMTP connection to one target, ready for transactions."""

    def __init__(self, target: Target, smtp: aiosmtplib.SMTP, source: str | None = None) -> None:
        self.target = target
        self.source = source  # the local address it was opened from (None: the kernel's choice)
        self.messages = 0
        self._smtp = smtp
        # Kept to abort it on close: aiosmtplib closes gracefully, and a TLS transport's
        # graceful close waits for the peer's close_notify, which can outlive the event loop.
        self._transport = smtp.transport

    @classmethod
    async def open(cls, target: Target, settings: SessionSettings) -> Session:
        """Connect, read the greeting, EHLO (HELO as fallback) and STARTTLS if offered.

        Raises:
            TargetUnusable: the target refused, failed, or timed out before a transaction.
        """
        source = settings.source_address
        smtp = aiosmtplib.SMTP(
            hostname=target.address,
            port=target.port,
            source_address=(source, 0) if source else None,
            local_hostname=settings.helo_name,
            timeout=settings.command_timeout,
            start_tls=False,  # aiosmtplib would otherwise decide on its own
        )
        await _connect(smtp, target, settings.connect_timeout)
        try:
            await _greet(smtp, target)
            if settings.tls_context is not None and smtp.supports_extension("starttls"):
                await _starttls(smtp, target, settings.tls_context)
        except BaseException:
            smtp.close()
            raise
        return cls(target, smtp, source)

    @property
    def connected(self) -> bool:
        """Whether the connection is still open as far as we know."""
        return self._smtp.is_connected

    @property
    def encrypted(self) -> bool:
        """Whether STARTTLS succeeded on this connection."""
        return self._smtp.get_transport_info("sslcontext") is not None

    async def send(self, mail_from: str, rcpt_to: str, data: bytes) -> SMTPReply:
        """Run one transaction: MAIL, RCPT, DATA. Any reply of 400 or more is returned.

        Raises:
            SessionLost: the connection was lost or closed by a 421.
            DeliveryError: the server cannot take this message at all (SMTPUTF8 missing).
        """
        self.messages += 1
        options = self._mail_options(mail_from, rcpt_to, data)
        encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
        # The addresses went through check_addresses (DeliveryPool.deliver): each is sent as
        # <address>, what the client library's mail()/rcpt() would send after parsing it again.
        mail = self._envelope(b"MAIL", b"FROM:", mail_from, encoding, options, (COMPLETED,), aiosmtplib.SMTPSenderRefused)
        refusal = await self._command("MAIL", mail)
        if refusal is None:
            rcpt = self._envelope(b"RCPT", b"TO:", rcpt_to, encoding, (), (COMPLETED, FORWARDED),
                                  aiosmtplib.SMTPRecipientRefused)
            refusal = await self._command("RCPT", rcpt)
        if refusal is None:
            refusal = await self._data(data)
        return refusal

    async def _envelope(self, verb: bytes, tag: bytes, address: str, encoding: str, options: Sequence[str],
                        accepted: tuple[int, ...], refused: type[aiosmtplib.SMTPResponseException]) -> None:
        """MAIL FROM or RCPT TO, raising ``refused`` (as mail() and rcpt() do) unless ``accepted``."""
        response = await self._smtp.execute_command(
            verb, tag + b"<" + address.encode(encoding) + b">", *(option.encode("ascii") for option in options))
        if response.code not in accepted:
            raise refused(response.code, response.message, address)

    async def reset(self) -> bool:
        """Send RSET after a failed transaction; True if the connection is reusable."""
        try:
            reply = await self._smtp.rset()
        except aiosmtplib.SMTPException:
            self.close()
            return False
        return reply.code == 250 and self.connected

    async def quit(self) -> None:
        """Say goodbye politely; the connection is closed whatever the server answers."""
        try:
            await self._smtp.quit()
        except aiosmtplib.SMTPException:
            pass  # the server went first, which is what we wanted anyway
        finally:
            self.close()

    def close(self) -> None:
        """Close the connection at once, without QUIT; the socket goes on the next loop turn."""
        transport, self._transport = self._transport, None
        if isinstance(transport, asyncio.Transport):
            transport.abort()
        self._smtp.close()

    def _mail_options(self, mail_from: str, rcpt_to: str, data: bytes) -> list[str]:
        options: list[str] = []
        if not (mail_from.isascii() and rcpt_to.isascii()):
            if not self._smtp.supports_extension("smtputf8"):
                # RFC 6531 §3.4: without SMTPUTF8 the message cannot be sent here as is.
                raise DeliveryError(
                    f"{self.target.host} does not support SMTPUTF8 for a non-ASCII address",
                    temporary=False,
                )
            options.append("SMTPUTF8")
        if not data.isascii() and self._smtp.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
        return options

    async def _command(self, stage: str, call: Awaitable[object]) -> SMTPReply | None:
        """Await one envelope command; None on success, the refusal as a reply."""
        try:
            await call
        except aiosmtplib.SMTPResponseException as exc:
            return self._refusal(stage, exc.code, exc.message)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            self.close()
            raise SessionLost(f"{stage}: {exc}", stage) from exc
        return None

    async def _data(self, data: bytes) -> SMTPReply:
        try:
            response = await self._transmit(mime.smtp_data(data))
        except aiosmtplib.SMTPResponseException as exc:
            return self._refusal("DATA", exc.code, exc.message)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError) as exc:
            self.close()
            raise SessionLost(f"DATA: {exc}", "DATA") from exc
        return self._reply("DATA", response.code, response.message)

    async def _transmit(self, payload: bytes) -> aiosmtplib.SMTPResponse:
        """DATA, then ``payload`` framed by :func:`postwave.native.mime.smtp_data` (one C
        pass; the client library's own ``data()`` would normalise and dot-stuff the ~20 KB
        again with two regex passes, a tenth of a worker's CPU)."""
        smtp = self._smtp
        start = await smtp.execute_command(b"DATA")
        if start.code != START_INPUT:
            raise aiosmtplib.SMTPDataError(start.code, start.message)
        protocol = smtp.protocol
        if protocol is None:
            raise aiosmtplib.SMTPServerDisconnected("connection lost after DATA")
        protocol.write(payload)
        try:
            # No await between the write and this call: the reply cannot arrive unasked.
            response = await protocol.read_response(timeout=smtp.timeout)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
            smtp.close()
            raise
        if response.code != COMPLETED:
            raise aiosmtplib.SMTPDataError(response.code, response.message)
        return response

    def _refusal(self, stage: str, code: int, text: str) -> SMTPReply:
        reply = self._reply(stage, code, text)
        if code == CLOSING:
            self.close()
            raise SessionLost(f"{stage}: {code} {text}", stage, reply)
        return reply

    def _reply(self, stage: str, code: int, text: str) -> SMTPReply:
        return SMTPReply(code, text, self.target.host, self.target.address, stage)


def check_addresses(mail_from: str, rcpt_to: str) -> None:
    """Reject envelope addresses that would not go out exactly as given.

    aiosmtplib re-parses addresses as RFC 5322 headers ("a@x (c)" becomes "a@x", text after
    a CR LF is dropped), so anything it would rewrite is refused here rather than sent to
    a different mailbox than the caller named.

    Raises:
        InvalidArgumentError: naming ``mail_from`` or ``rcpt_to``.
    """
    if not rcpt_to:
        raise InvalidArgumentError("rcpt_to", "empty recipient address")
    for field, address in (("mail_from", mail_from), ("rcpt_to", rcpt_to)):
        problem = _address_problem(address)
        if problem:
            raise InvalidArgumentError(field, problem)


@functools.lru_cache(maxsize=4096)  # the envelope sender is the same for most messages
def _address_problem(address: str) -> str:
    """Why ``address`` cannot go out exactly as given ("" when it can)."""
    if any(ord(char) < 32 or ord(char) == 127 for char in address):
        return "control characters in address"
    try:
        quoted = quote_address(address)
    except ValueError as exc:
        return str(exc)
    if quoted != f"<{address}>":
        return f"not a plain SMTP mailbox: {address!r}"
    return ""


async def _connect(smtp: aiosmtplib.SMTP, target: Target, timeout: float) -> None:
    try:
        await smtp.connect(timeout=timeout)
    except aiosmtplib.SMTPConnectResponseError as exc:
        reply = SMTPReply(exc.code, exc.message, target.host, target.address, "CONNECT")
        raise TargetUnusable(f"greeting {exc.code} {exc.message}", reply) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise TargetUnusable(f"connect: {exc}") from exc


async def _greet(smtp: aiosmtplib.SMTP, target: Target) -> None:
    try:
        await smtp.ehlo()
    except aiosmtplib.SMTPHeloError as exc:
        if exc.code == CLOSING or not smtp.is_connected:
            raise _ehlo_refused(target, exc) from exc
        await _helo(smtp, target)
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise TargetUnusable(f"EHLO: {exc}") from exc


async def _helo(smtp: aiosmtplib.SMTP, target: Target) -> None:
    try:
        await smtp.helo()
    except aiosmtplib.SMTPHeloError as exc:
        raise _ehlo_refused(target, exc) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise TargetUnusable(f"HELO: {exc}") from exc


def _ehlo_refused(target: Target, exc: aiosmtplib.SMTPResponseException) -> TargetUnusable:
    reply = SMTPReply(exc.code, exc.message, target.host, target.address, "EHLO")
    return TargetUnusable(f"EHLO {exc.code} {exc.message}", reply)


async def _starttls(smtp: aiosmtplib.SMTP, target: Target, context: ssl.SSLContext) -> None:
    try:
        await smtp.starttls(server_hostname=target.host, tls_context=context)
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code == CLOSING or not smtp.is_connected:
            raise TargetUnusable(f"STARTTLS {exc.code} {exc.message}") from exc
        return  # RFC 3207 §4: a refused STARTTLS leaves a usable plaintext session
    except (aiosmtplib.SMTPException, OSError) as exc:
        # Includes ssl.SSLError: the connection is unusable, but the target may still take
        # the message in plaintext on a new one (what opportunistic TLS means).
        raise TargetUnusable(f"STARTTLS: {exc}", tls_failed=True) from exc
    # RFC 3207 §4.2: forget what was learnt before TLS and ask again.
    await _greet(smtp, target)

"""One SMTP session with one receiving server, on top of aiosmtplib.

:class:`Session` knows how to open a connection (greeting, EHLO, opportunistic STARTTLS)
and run one mail transaction on it, turning aiosmtplib's exceptions into what delivery
needs to know: a reply to classify (:class:`SMTPReply`), a target that could not be used
(:class:`TargetUnusable`), or a connection that died under us (:class:`SessionLost`).
Pooling and target order live in ``client.py``.
"""

from __future__ import annotations

import functools
import re
import ssl
from dataclasses import dataclass

import aiosmtplib
from aiosmtplib.email import quote_address

from postwave.errors import DeliveryError, InvalidArgumentError
from postwave.mta.mx import Target
from postwave.mta.wire import Wire
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
DEFAULT_TIMEOUT = 60.0  # seconds for a reply when the settings give none


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
        self._smtp = smtp  # what EHLO said (extensions) and the TLS state
        assert smtp.transport is not None, "a session starts on an open connection"
        self._wire = Wire(smtp.transport, smtp.timeout or DEFAULT_TIMEOUT)
        self._pipelining = smtp.supports_extension("pipelining")

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
            return cls(target, smtp, source)
        except BaseException:
            smtp.close()
            raise

    @property
    def connected(self) -> bool:
        """Whether the connection is still open as far as we know."""
        return self._wire.connected

    @property
    def encrypted(self) -> bool:
        """Whether STARTTLS succeeded on this connection."""
        return self._smtp.get_transport_info("sslcontext") is not None

    async def send(self, mail_from: str, rcpt_to: str, data: bytes) -> SMTPReply:
        """Run one transaction: MAIL, RCPT, DATA. Any reply of 400 or more is returned.

        With PIPELINING the three commands go in one write and their replies are read after
        (RFC 2920); the message itself follows only when all three were accepted.

        Raises:
            SessionLost: the connection was lost or closed by a 421.
            DeliveryError: the server cannot take this message at all (SMTPUTF8 missing).
        """
        self.messages += 1
        options = self._mail_options(mail_from, rcpt_to, data)
        encoding = "utf-8" if "SMTPUTF8" in options else "ascii"
        # The addresses went through check_addresses (DeliveryPool.deliver): each is sent as
        # <address>, what the client library's mail()/rcpt() would send after parsing it again.
        mail = b"MAIL FROM:<" + mail_from.encode(encoding) + b">" + b"".join(
            b" " + option.encode("ascii") for option in options) + b"\r\n"
        rcpt = b"RCPT TO:<" + rcpt_to.encode(encoding) + b">\r\n"
        commands = ((mail, "MAIL", (COMPLETED,)), (rcpt, "RCPT", (COMPLETED, FORWARDED)),
                    (b"DATA\r\n", "DATA", (START_INPUT,)))
        if self._pipelining:
            self._write("MAIL", mail + rcpt + b"DATA\r\n")
        refusal: SMTPReply | None = None
        for command, stage, accepted in commands:
            if not self._pipelining:
                if refusal is not None:
                    break  # one at a time: nothing more was sent after a refusal
                self._write(stage, command)
            try:
                code, text = await self._read(stage)
            except SessionLost:
                if refusal is None:
                    raise
                return refusal  # the refusal decided the attempt; the session is closed
            if refusal is None and code not in accepted:
                refusal = self._refusal(stage, code, text)
            elif refusal is not None and code == START_INPUT:
                # A server that takes DATA after refusing the envelope: end the empty message.
                try:
                    self._write("DATA", b".\r\n")
                    await self._read("DATA")
                except SessionLost:
                    return refusal
        if refusal is not None:
            return refusal
        # The message, framed in one C pass (CRLF line ends, dot stuffing, the final dot):
        # the client library's own data() would normalise it again with two regex passes.
        self._write("DATA", mime.smtp_data(data))
        code, text = await self._read("DATA")
        return self._reply("DATA", code, text) if code == COMPLETED else self._refusal("DATA", code, text)

    async def reset(self) -> bool:
        """Send RSET after a failed transaction; True if the connection is reusable."""
        try:
            self._wire.write(b"RSET\r\n")
            code, _ = await self._wire.reply()
        except aiosmtplib.SMTPException:
            self.close()
            return False
        return code == COMPLETED and self.connected

    async def quit(self) -> None:
        """Say goodbye politely; the connection is closed whatever the server answers."""
        try:
            self._wire.write(b"QUIT\r\n")
            await self._wire.reply()
        except aiosmtplib.SMTPException:
            pass  # the server went first, which is what we wanted anyway
        finally:
            self.close()

    def close(self) -> None:
        """Close the connection at once, without QUIT; the socket goes on the next loop turn."""
        self._wire.close()
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

    def _write(self, stage: str, data: bytes) -> None:
        try:
            self._wire.write(data)
        except aiosmtplib.SMTPException as exc:
            self.close()
            raise SessionLost(f"{stage}: {exc}", stage) from exc

    async def _read(self, stage: str) -> tuple[int, str]:
        """The next reply; a lost connection, a late reply or one that is not SMTP loses the session."""
        try:
            return await self._wire.reply()
        except aiosmtplib.SMTPException as exc:
            self.close()
            raise SessionLost(f"{stage}: {exc}", stage) from exc

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


# A dot-atom local part at a host name: what nearly every recipient looks like, and what
# the RFC 5322 parser below takes as it is (tests/integration/test_mta_delivery.py checks).
_PLAIN = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]"
                    r"(?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*")


@functools.lru_cache(maxsize=4096)  # the envelope sender is the same for most messages
def _address_problem(address: str) -> str:
    """Why ``address`` cannot go out exactly as given ("" when it can)."""
    if _PLAIN.fullmatch(address):
        return ""
    return _parsed_address_problem(address)


def _parsed_address_problem(address: str) -> str:
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

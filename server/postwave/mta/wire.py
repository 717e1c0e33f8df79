"""The SMTP connection once greeted: commands written back to back, replies read in order.

aiosmtplib opens a connection (greeting, EHLO, STARTTLS); :class:`Wire` then takes its
transport over for the mail transactions. Its protocol keeps every reply that arrives, so a
client may write MAIL, RCPT and DATA in one segment when the server offers PIPELINING
(RFC 2920) and read the three replies after: one round trip and one wake-up of the event
loop instead of three. aiosmtplib's own protocol keeps one reply at a time and drops bytes
that arrive while one waits to be read, so it cannot be used that way.

Errors are aiosmtplib's, so callers handle one family: ``SMTPServerDisconnected`` when the
connection is gone, ``SMTPReadTimeoutError`` when a reply is late, ``SMTPResponseException``
(code -1) for a reply that is not SMTP.
"""

from __future__ import annotations

import asyncio
import collections

import aiosmtplib

__all__ = ["MAX_LINE", "Wire"]

MAX_LINE = 8192  # octets in one reply line; aiosmtplib allows the same
MAX_PENDING = 64 * 1024  # octets of replies nobody has asked for yet


class Wire(asyncio.Protocol):
    """Replies in arrival order for the commands written on one transport."""

    def __init__(self, transport: asyncio.Transport, timeout: float) -> None:
        self.transport: asyncio.Transport | None = transport
        self.timeout = timeout
        self._loop = asyncio.get_running_loop()
        self._buffer = bytearray()
        self._lines: list[bytes] = []  # the lines of a multi-line reply so far
        self._replies: collections.deque[tuple[int, str]] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        self._failure: aiosmtplib.SMTPException | None = None
        transport.set_protocol(self)

    @property
    def connected(self) -> bool:
        """Whether the connection is open as far as we know."""
        return self.transport is not None and self._failure is None and not self.transport.is_closing()

    def write(self, data: bytes) -> None:
        """Send ``data`` as it is (commands end in CRLF)."""
        if not self.connected:
            raise self._failure or aiosmtplib.SMTPServerDisconnected("Connection lost")
        assert self.transport is not None
        self.transport.write(data)

    async def reply(self) -> tuple[int, str]:
        """The next reply: (code, text with lines joined by newlines)."""
        while not self._replies:
            if self._failure is not None:
                raise self._failure
            waiter = self._waiter = self._loop.create_future()
            timer = self._loop.call_later(self.timeout, self._late, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
        return self._replies.popleft()

    def close(self) -> None:
        """Drop the connection at once."""
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.abort()
        self._fail(aiosmtplib.SMTPServerDisconnected("Connection closed"))

    # asyncio.Protocol

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        while (end := buffer.find(b"\n", start)) != -1:
            line = bytes(buffer[start:end + 1])
            start = end + 1
            if not self._line(line):
                return
        del buffer[:start]
        if len(buffer) > MAX_LINE:
            self._bad("Response too long")
        elif self._replies and self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def eof_received(self) -> bool:
        self._fail(aiosmtplib.SMTPServerDisconnected("Unexpected EOF received"))
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        reason = f"Connection lost: {exc}" if exc else "Connection lost"
        self._fail(aiosmtplib.SMTPServerDisconnected(reason))

    # inside

    def _line(self, line: bytes) -> bool:
        """Take one reply line; False when the connection was given up on."""
        if len(line) > MAX_LINE:
            self._bad("Response too long")
            return False
        try:
            code = int(line[:3])
        except ValueError:
            self._bad(f"Malformed SMTP response line: {line.decode('utf-8', 'ignore')}")
            return False
        self._lines.append(line[4:].strip(b" \t\r\n"))
        if line[3:4] == b"-":
            return True
        text = b"\n".join(self._lines).decode("utf-8", "surrogateescape")
        self._lines = []
        self._replies.append((code, text))
        if len(self._replies) * 512 > MAX_PENDING:
            self._bad("Replies nobody asked for")
            return False
        return True

    def _bad(self, reason: str) -> None:
        """The peer does not speak SMTP: report it after the replies already read, and close
        the connection."""
        failure = aiosmtplib.SMTPResponseException(-1, reason)
        transport, self.transport = self.transport, None
        if transport is not None:
            transport.abort()
        self._fail(failure)

    def _fail(self, failure: aiosmtplib.SMTPException) -> None:
        if self._failure is None:
            self._failure = failure
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _late(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(aiosmtplib.SMTPReadTimeoutError("Timed out waiting for server response"))

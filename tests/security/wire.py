"""An SMTP receiver that keeps every byte exactly as it arrived on the socket.

aiosmtpd (tests/servers/smtp.py) hands a handler the message after it has split lines and
undone dot-stuffing, which is what a mailbox needs but hides what a smuggling test must
see: a bare CR or LF, or a ``<LF>.<LF>`` that a lenient server would take as the end of
DATA. This server reads the raw stream itself, ends DATA only at ``<CRLF>.<CRLF>`` (RFC
5321), and records every transaction and every command line, so a test can show that a
message was neither split nor carried a second, smuggled transaction.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

_END = b"\r\n.\r\n"
_LIMIT = 64 * 1024 * 1024  # one DATA section is read at once


@dataclasses.dataclass
class Transaction:
    """One MAIL ... DATA transaction: the envelope and the DATA bytes up to the final dot."""

    mail_from: bytes
    rcpt_to: list[bytes]
    data: bytes  # raw, still dot-stuffed, without the terminating <CRLF>.<CRLF>

    def unstuffed(self) -> bytes:
        """The message as a receiver stores it: leading dots removed (RFC 5321 4.5.2)."""
        return b"\r\n".join(line[1:] if line.startswith(b".") else line for line in self.data.split(b"\r\n"))


class WireSink:
    """A raw-recording SMTP server on ``address:port`` (its own thread and event loop)."""

    def __init__(self, address: str, port: int = 25) -> None:
        self.address = address
        self.port = port
        self.transactions: list[Transaction] = []
        self.commands: list[bytes] = []  # every command line, as sent
        self._lock = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen (raises OSError when the address is taken)."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._session, self.address, self.port, reuse_address=True, limit=_LIMIT))
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, name=f"wire-sink-{self.address}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]

    def stop(self) -> None:
        """Stop listening and end the thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Transaction]:
        """Block until ``count`` transactions completed; return them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.transactions) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.transactions)} of {count} messages reached the sink")
                self._lock.wait(left)
            return list(self.transactions)

    def find(self, marker: bytes) -> list[Transaction]:
        """The transactions whose raw DATA holds ``marker``."""
        with self._lock:
            return [t for t in self.transactions if marker in t.data]

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 wire.test ESMTP raw recorder\r\n")
        mail_from, rcpts = b"", []
        try:
            while line := await reader.readuntil(b"\r\n"):
                with self._lock:
                    self.commands.append(line)
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-wire.test\r\n250-8BITMIME\r\n250 SIZE 67108864\r\n")
                elif verb == b"MAIL":
                    mail_from, rcpts = line, []
                    writer.write(b"250 2.1.0 ok\r\n")
                elif verb == b"RCPT":
                    rcpts.append(line)
                    writer.write(b"250 2.1.5 ok\r\n")
                elif verb == b"DATA":
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    data = await reader.readuntil(_END)
                    with self._lock:
                        self.transactions.append(Transaction(mail_from, rcpts, data[: -len(_END)]))
                        self._lock.notify_all()
                    writer.write(b"250 2.0.0 queued\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 2.0.0 bye\r\n")
                    await writer.drain()
                    break
                else:  # RSET, NOOP and anything else
                    writer.write(b"250 2.0.0 ok\r\n" if verb in (b"RSET", b"NOOP") else b"502 5.5.1 not here\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

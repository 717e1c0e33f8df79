"""A small hand-written SMTP server for faults below the level of a reply line.

:class:`SMTPPeer` (aiosmtpd) scripts whole replies; some receiving servers misbehave at the
byte level, which needs control of the socket itself:

* ``tarpit`` -- every reply is written one byte at a time, ``tarpit_bytes_per_second`` apart
  (spam-trap servers and overloaded MXs that drip their greeting to waste a sender's time);
* ``banner`` -- any greeting bytes at all, e.g. ``b"554 5.7.1 ..."`` or an SSH banner
  (the MX record points at the wrong service);
* ``broken_starttls`` -- STARTTLS is offered and accepted with 220, then the TLS handshake
  gets plaintext garbage instead of a ServerHello, and the connection is closed. A client
  doing opportunistic TLS must come back without it; the plaintext session works;
* ``drop_mid_data`` -- the first N mail transactions lose their connection in the middle of
  the message content (after the first content line), without any reply.

Everything else is a plain, correct SMTP server that accepts every message and records it
(:class:`tests.servers.smtp.Received`). It listens on its own loopback address like
:class:`SMTPPeer` and runs an event loop in its own thread.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import threading
import time
from types import TracebackType

from tests.servers.smtp import Received

__all__ = ["NO_FAULT", "RawBehaviour", "RawSMTPServer"]

_MAX_LINE = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class RawBehaviour:
    """What the server does wrong (nothing, by default).

    Attributes:
        banner: the greeting bytes, without the final CRLF; ``None`` = a normal 220.
        hang_up_after_banner: close the connection right after the greeting.
        tarpit_bytes_per_second: write every reply this slowly (0 = at once).
        broken_starttls: offer STARTTLS and break the handshake that follows.
        drop_mid_data: how many transactions lose the connection in the middle of DATA.
    """

    banner: bytes | None = None
    hang_up_after_banner: bool = False
    tarpit_bytes_per_second: float = 0.0
    broken_starttls: bool = False
    drop_mid_data: int = 0


NO_FAULT = RawBehaviour()


class RawSMTPServer:
    """An SMTP server on ``address:port`` with byte-level faults (see the module docstring).

    Attributes:
        received: accepted messages, in order.
        attempts: counts of ``CONNECT``, each command verb, ``DROPPED`` (mid-DATA drops)
            and ``TLS_BROKEN`` (handshakes broken).
    """

    def __init__(self, address: str, port: int = 25, *, behaviour: RawBehaviour = NO_FAULT,
                 hostname: str | None = None) -> None:
        if not address.startswith("127."):
            raise ValueError(f"test servers listen on loopback only, not {address}")
        self.address = address
        self.port = port
        self.behaviour = behaviour
        self.hostname = hostname or f"raw-{address.replace('.', '-')}.test"
        self.received: list[Received] = []
        self.attempts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._drops_left = behaviour.drop_mid_data
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None

    def __repr__(self) -> str:
        return f"RawSMTPServer({self.address}:{self.port}, {self.behaviour})"

    def __enter__(self) -> RawSMTPServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Bind and serve in a background thread.

        Raises:
            OSError: the address cannot be bound.
        """
        if self._thread is not None:
            raise RuntimeError(f"{self!r} already started")
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, args=(ready, errors), daemon=True,
                                        name=f"raw-smtp-{self.address}")
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError(f"{self!r} did not start")
        if errors:
            self._thread.join()
            self._thread = None
            raise errors[0]

    def stop(self) -> None:
        """Stop listening and cut every connection."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._thread = None
        self._loop = None

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Received]:
        """Block until ``count`` messages were accepted; return them all."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self!r} got {len(self.received)} of {count}; commands {dict(self.attempts)}")
            time.sleep(0.02)
        return list(self.received)

    # server side (its own thread and loop)

    def _serve(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._session, self.address, self.port, reuse_address=True))
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            errors.append(exc)
            loop.close()
            ready.set()
            return
        self._loop = loop
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._shutdown())
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _count(self, what: str) -> None:
        with self._lock:
            self.attempts[what] += 1

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._count("CONNECT")
        session = _Session(self, reader, writer)
        try:
            await session.run()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # server shutdown; ending normally keeps asyncio's stream callback quiet
        finally:
            writer.transport.abort()


class _Session:
    """One connection's dialogue."""

    def __init__(self, server: RawSMTPServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.behaviour = server.behaviour
        self.reader = reader
        self.writer = writer
        self.helo = ""
        self.mail_from: str | None = None
        self.rcpts: list[str] = []

    async def reply(self, line: str | bytes) -> None:
        data = (line.encode() if isinstance(line, str) else line) + b"\r\n"
        rate = self.behaviour.tarpit_bytes_per_second
        if rate <= 0:
            self.writer.write(data)
            await self.writer.drain()
            return
        for i in range(len(data)):
            self.writer.write(data[i:i + 1])
            await self.writer.drain()
            await asyncio.sleep(1 / rate)

    async def run(self) -> None:
        banner = self.behaviour.banner
        await self.reply(banner if banner is not None else f"220 {self.server.hostname} ESMTP ready".encode())
        if self.behaviour.hang_up_after_banner:
            return
        while True:
            line = await self.reader.readuntil(b"\n")
            verb, _, arg = line.decode("latin-1").strip().partition(" ")
            verb = verb.upper()
            self.server._count(verb or "EMPTY")
            if verb == "QUIT":
                await self.reply("221 2.0.0 Bye")
                return
            handler = _COMMANDS.get(verb)
            if handler is None:
                await self.reply("502 5.5.2 Command not recognized")
            elif await handler(self, arg) is False:
                return

    async def ehlo(self, arg: str) -> bool:
        self.helo = arg
        lines = [self.server.hostname, "PIPELINING", "8BITMIME", "SIZE 52428800"]
        if self.behaviour.broken_starttls:
            lines.append("STARTTLS")
        for line in lines[:-1]:
            await self.reply(f"250-{line}")
        await self.reply(f"250 {lines[-1]}")
        return True

    async def helo_(self, arg: str) -> bool:
        self.helo = arg
        await self.reply(f"250 {self.server.hostname}")
        return True

    async def starttls(self, arg: str) -> bool:
        if not self.behaviour.broken_starttls:
            await self.reply("502 5.5.1 STARTTLS not offered")
            return True
        await self.reply("220 2.0.0 Ready to start TLS")
        # The client now sends a ClientHello; answer with bytes that are no TLS record.
        await self.reader.read(_MAX_LINE)
        self.server._count("TLS_BROKEN")
        self.writer.write(b"this is not a TLS ServerHello\r\n")
        await self.writer.drain()
        return False

    async def mail(self, arg: str) -> bool:
        self.mail_from = _path(arg, "FROM:")
        self.rcpts = []
        await self.reply("250 2.1.0 Ok")
        return True

    async def rcpt(self, arg: str) -> bool:
        if self.mail_from is None:
            await self.reply("503 5.5.1 Need MAIL first")
            return True
        self.rcpts.append(_path(arg, "TO:"))
        await self.reply("250 2.1.5 Ok")
        return True

    async def data(self, arg: str) -> bool:
        if not self.rcpts:
            await self.reply("503 5.5.1 Need RCPT first")
            return True
        await self.reply("354 End data with <CR><LF>.<CR><LF>")
        drop = self._take_drop()
        lines: list[bytes] = []
        while True:
            line = await self.reader.readuntil(b"\n")
            if line in (b".\r\n", b".\n"):
                break
            lines.append(line[1:] if line.startswith(b".") else line)
            if drop:
                self.server._count("DROPPED")
                return False  # gone in the middle of the content, no reply
        with self.server._lock:
            self.server.received.append(Received(
                mail_from=self.mail_from or "", rcpt_tos=list(self.rcpts), data=b"".join(lines),
                peer=self.writer.get_extra_info("peername")[:2], tls=False, helo=self.helo))
            queued = len(self.server.received)
        self.mail_from, self.rcpts = None, []
        await self.reply(f"250 2.0.0 Ok: queued as R{queued}")
        return True

    async def rset(self, arg: str) -> bool:
        self.mail_from, self.rcpts = None, []
        await self.reply("250 2.0.0 Ok")
        return True

    async def noop(self, arg: str) -> bool:
        await self.reply("250 2.0.0 Ok")
        return True

    def _take_drop(self) -> bool:
        with self.server._lock:
            if self.server._drops_left > 0:
                self.server._drops_left -= 1
                return True
        return False


_COMMANDS = {
    "EHLO": _Session.ehlo, "HELO": _Session.helo_, "STARTTLS": _Session.starttls, "MAIL": _Session.mail,
    "RCPT": _Session.rcpt, "DATA": _Session.data, "RSET": _Session.rset, "NOOP": _Session.noop,
}


def _path(arg: str, prefix: str) -> str:
    """The address of ``FROM:<a@b> SIZE=1`` (or ``TO:<...>``)."""
    rest = arg[len(prefix):] if arg.upper().startswith(prefix) else arg
    return rest.strip().split(" ", 1)[0].strip("<>")

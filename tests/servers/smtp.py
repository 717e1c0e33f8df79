"""A real SMTP server (aiosmtpd) on a loopback address, with scriptable faults.

Each :class:`SMTPPeer` plays one receiving mail server: it listens on its own address
(``127.0.1.x:25``), runs aiosmtpd's full protocol in a background thread with its own
event loop, records what it accepts, counts every command, and answers from a script when
a test wants a fault::

    with SMTPPeer("127.0.1.7", script={"RCPT": ["550 5.1.1 no such user"]}) as peer:
        ...  # the first RCPT is refused, later ones accepted
        peer.wait_for(1)

Script semantics: for each command name, a list of replies used one per occurrence of
that command (across all connections), in order. ``None`` means normal behaviour, a reply
line such as ``"451 4.7.1 Try again later"`` is sent instead of processing the command,
and ``"disconnect"`` closes the connection without a reply. A ``421`` reply also closes the
connection, as a real server does. When the list runs out, the peer behaves normally.

``DATA`` faults apply to the reply *after* the message content (the end-of-data reply;
"disconnect" there is a disconnect mid-DATA); ``CONNECT`` faults replace the greeting
(and the peer hangs up after it);
every other command (``EHLO``, ``MAIL``, ``RCPT``, ``RSET``, ``STARTTLS``...) is faulted
when the command arrives.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.servers.tls import server_context

__all__ = ["DISCONNECT", "Received", "SMTPPeer"]

DISCONNECT = "disconnect"

Script = Mapping[str, Sequence[str | None]]


@dataclass(frozen=True, slots=True)
class Received:
    """One message the peer accepted (a 250 at end of data).

    Attributes:
        mail_from: the envelope sender ("" for the null sender).
        rcpt_tos: the envelope recipients.
        data: the message exactly as received, after dot-unstuffing, CRLF line ends.
        peer: the client's (ip, port), which shows the source address it sent from.
        tls: whether the session had switched to TLS with STARTTLS.
        helo: the name the client gave in EHLO/HELO.
    """

    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: tuple[str, int]
    tls: bool
    helo: str


class _Script:
    """Scripted replies per command, shared between the test thread and the server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: dict[str, collections.deque[str | None]] = {}

    def set(self, command: str, replies: Iterable[str | None]) -> None:
        with self._lock:
            self._replies[command.upper()] = collections.deque(replies)

    def next(self, command: str) -> str | None:
        with self._lock:
            queue = self._replies.get(command)
            return queue.popleft() if queue else None


class SMTPPeer:
    """A real SMTP server on ``address:port`` for tests.

    Args:
        address: the loopback address to listen on (127.0.0.0/8 only).
        port: the TCP port; 25 like a real MX.
        script: scripted replies per command (see the module docstring).
        starttls: offer STARTTLS with a self-signed certificate (not required).
        hostname: the name in the greeting and EHLO reply.
        pipelining: offer PIPELINING (RFC 2920) in the EHLO reply. aiosmtpd reads commands
            line by line either way; the keyword only tells a client it may send them
            back to back.

    Attributes:
        received: the accepted messages, in order.
        attempts: how many times each command arrived (plus ``"CONNECT"`` per connection).
    """

    def __init__(
        self,
        address: str,
        port: int = 25,
        *,
        script: Script | None = None,
        starttls: bool = False,
        hostname: str | None = None,
        pipelining: bool = False,
    ) -> None:
        if not address.startswith("127."):
            raise ValueError(f"test peers listen on loopback only, not {address}")
        self.address = address
        self.port = port
        self.starttls = starttls
        self.pipelining = pipelining
        self.hostname = hostname or f"peer-{address.replace('.', '-')}.test"
        self.received: list[Received] = []
        self.attempts: collections.Counter[str] = collections.Counter()
        self._script = _Script()
        for command, replies in (script or {}).items():
            self._script.set(command, replies)
        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._sessions: set[_PeerSMTP] = set()
        self._queued = 0

    def __repr__(self) -> str:
        return f"SMTPPeer({self.address}:{self.port}, received={len(self.received)})"

    def __enter__(self) -> SMTPPeer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Bind and start serving; returns once the server accepts connections.

        Safe to call from inside a running event loop: the server has its own, in its own
        thread.

        Raises:
            OSError: the address/port cannot be bound (e.g. already in use).
        """
        if self._thread is not None:
            raise RuntimeError(f"{self!r} already started")
        ready = threading.Event()
        errors: list[BaseException] = []
        thread = threading.Thread(
            target=self._serve,
            args=(ready, errors),
            name=f"smtp-peer-{self.address}:{self.port}",
            daemon=True,
        )
        thread.start()
        if not ready.wait(timeout=30):
            raise RuntimeError(f"{self!r} did not start within 30 s")
        if errors:
            thread.join()
            raise errors[0]
        self._thread = thread

    def stop(self) -> None:
        """Stop listening, cut every open connection and end the server thread."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        if self._thread.is_alive():
            raise RuntimeError(f"{self!r} did not stop")
        self._thread = None
        self._loop = None

    def script(self, command: str, replies: Sequence[str | None]) -> None:
        """Set (replace) the scripted replies for ``command``."""
        self._script.set(command, replies)

    def clear(self) -> None:
        """Forget received messages and command counts (scripts are kept)."""
        with self._changed:
            self.received.clear()
            self.attempts.clear()

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        """Block until at least ``count`` messages were received; return them all.

        Do not call this from the event loop that is sending the mail: it would block it.
        Use :meth:`wait_for_async` there.

        Raises:
            AssertionError: fewer than ``count`` messages arrived within ``timeout`` s.
        """
        with self._changed:
            arrived = self._changed.wait_for(lambda: len(self.received) >= count, timeout)
            if not arrived:
                raise AssertionError(self._shortfall(count, timeout))
            return list(self.received)

    async def wait_for_async(self, count: int, timeout: float = 30) -> list[Received]:
        """Like :meth:`wait_for`, without blocking the calling event loop."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() >= deadline:
                raise AssertionError(self._shortfall(count, timeout))
            await asyncio.sleep(0.005)
        with self._changed:
            return list(self.received)

    def _shortfall(self, count: int, timeout: float) -> str:
        return (
            f"{self.address}:{self.port} received {len(self.received)} of {count} messages "
            f"in {timeout} s; commands seen: {dict(self.attempts)}"
        )

    # --- server side: everything below runs in the server thread ---

    def _serve(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        try:
            self._server = loop.run_until_complete(
                loop.create_server(self._protocol, self.address, self.port, reuse_address=True)
            )
        except BaseException as exc:  # reported by start() in the caller's thread
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
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for session in list(self._sessions):
            session.abort()
        await self._server.wait_closed()
        current = asyncio.current_task()
        tasks = [task for task in asyncio.all_tasks() if task is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._server = None

    def _protocol(self) -> _PeerSMTP:
        return _PeerSMTP(
            self,
            _PipeliningHandler(self) if self.pipelining else _Handler(self),
            loop=asyncio.get_running_loop(),
            hostname=self.hostname,
            tls_context=server_context() if self.starttls else None,
            require_starttls=False,
            enable_SMTPUTF8=True,
        )

    def _count(self, command: str) -> None:
        with self._changed:
            self.attempts[command] += 1

    def _next_reply(self, command: str) -> str | None:
        return self._script.next(command)

    def _accept(self, received: Received) -> str:
        with self._changed:
            self.received.append(received)
            self._queued += 1
            queue_id = self._queued
            self._changed.notify_all()
        return f"250 2.0.0 Ok: queued as {queue_id}"


class _PeerSMTP(SMTP):
    """aiosmtpd's SMTP protocol, with every command counted and open to scripting."""

    def __init__(self, peer: SMTPPeer, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._peer = peer
        self._smtp_methods = {
            name: self._scripted(name, method) for name, method in self._smtp_methods.items()
        }

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._peer._sessions.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self._peer._sessions.discard(self)
        super().connection_lost(error)

    def abort(self) -> None:
        """Cut the connection at once (server shutdown)."""
        if self.transport is not None:
            self.transport.abort()  # type: ignore[attr-defined]

    async def _handle_client(self) -> None:
        self._peer._count("CONNECT")
        reply = self._peer._next_reply("CONNECT")
        if reply is None:
            await super()._handle_client()
        else:
            await self.fault(reply)
            await self.hang_up()  # a refused greeting ends the session (a test server's liberty)

    async def fault(self, reply: str) -> None:
        """Answer with a scripted ``reply``; for 421 and "disconnect", then hang up."""
        if reply != DISCONNECT:
            await self.push(reply)
        if reply == DISCONNECT or reply.startswith("421"):
            await self.hang_up()

    async def hang_up(self) -> None:
        """Close the connection and wait to be cancelled (never returns normally)."""
        assert self.transport is not None
        self.transport.close()
        # connection_lost() cancels this session's task, as aiosmtpd expects for a
        # connection that is gone; returning instead would read from a closed stream.
        await asyncio.get_running_loop().create_future()

    def _scripted(
        self, command: str, method: Callable[[str | None], Awaitable[None]]
    ) -> Callable[[str | None], Awaitable[None]]:
        @functools.wraps(method)
        async def scripted(arg: str | None) -> None:
            self._peer._count(command)
            # DATA's fault is applied to the end-of-data reply, in the handler.
            reply = None if command == "DATA" else self._peer._next_reply(command)
            if reply is None:
                await method(arg)
            else:
                await self.fault(reply)

        return scripted


class _Handler:
    """aiosmtpd handler: decides the end-of-data reply and records accepted mail."""

    def __init__(self, peer: SMTPPeer) -> None:
        self._peer = peer

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self._peer._next_reply("DATA")
        if reply == DISCONNECT or (reply or "").startswith("421"):
            assert isinstance(server, _PeerSMTP)
            await server.fault(reply or "")  # hangs up: never returns
        if reply is not None and not reply.startswith("2"):
            return reply  # a refusal: nothing was accepted
        content = envelope.original_content or b""
        received = Received(
            mail_from="" if envelope.mail_from in (None, "<>") else str(envelope.mail_from),
            rcpt_tos=list(envelope.rcpt_tos),
            data=bytes(content),
            peer=_peer_address(session.peer),
            tls=session.ssl is not None,
            helo=str(session.host_name or ""),
        )
        accepted = self._peer._accept(received)
        return reply if reply is not None else accepted


class _PipeliningHandler(_Handler):
    """The handler of a peer that offers PIPELINING."""

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        session.host_name = hostname  # what aiosmtpd does itself when no hook is set
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


def _peer_address(peer: object) -> tuple[str, int]:
    # aiosmtpd types Session.peer as a string, but it holds the socket's peername tuple.
    assert isinstance(peer, tuple)
    return str(peer[0]), int(peer[1])

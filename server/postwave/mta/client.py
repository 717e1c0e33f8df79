"""The SMTP client: pooled delivery over reused connections, MX targets tried in order.

Opening an SMTP connection costs a TCP handshake, a greeting, EHLO and often a TLS
handshake; a busy site gets hundreds of messages a minute, so connections are kept open
between messages and reused (up to ``max_messages_per_connection``; many receivers limit
messages per session) until they have been idle ``idle_timeout`` seconds. The number of
connections open to one address is capped (``max_connections_per_host``), as receivers
refuse or throttle senders that open too many; callers over the cap wait their turn.

A pooled connection may have been closed by the server while idle; that shows up as a
disconnect or a 421 on the next transaction, before any data is sent, and the delivery is
retried once on a fresh connection. Once message data has been sent, a lost connection is
not retried here: the message may or may not have been accepted, which the caller's retry
policy (at-least-once) must decide.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from dataclasses import dataclass, replace

from postwave.errors import DeliveryError, InvalidArgumentError
from postwave.mta.mx import Target
from postwave.mta.session import (
    Session,
    SessionLost,
    SessionSettings,
    SMTPReply,
    TargetUnusable,
    check_addresses,
)

__all__ = ["DeliveryPool", "SMTPReply"]

# How long close() waits for the polite QUITs to idle connections.
_QUIT_TIMEOUT = 5.0


class _Stale(Exception):
    """Internal: a reused connection died before any data was sent; retry on a fresh one."""


@dataclass(slots=True)
class _Idle:
    session: Session
    expiry: asyncio.TimerHandle


class _HostPool:
    """Connections to one (address, port) from one source address: a cap on how many are
    open, and the idle ones.

    ``open`` counts every connection that exists or is being opened, busy or idle.
    Everything here is synchronous, so under asyncio each method runs without
    interleaving; only ``reserve`` waits.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self._idle: list[_Idle] = []
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def reserve(self, *, reuse: bool) -> Session | None:
        """Return an idle session to reuse, or None after reserving a slot for a new one."""
        while True:
            session = self._take_idle() if reuse else None
            if session is not None:
                return session
            if self.open >= self.limit and self._idle:
                self._evict_oldest()  # only a fresh connection will do: make room
            if self.open < self.limit:
                self.open += 1
                return None
            await self._wait()

    def park(self, session: Session, idle_timeout: float) -> None:
        """Keep a healthy session for reuse until it has been idle ``idle_timeout`` s."""
        loop = asyncio.get_running_loop()
        expiry = loop.call_later(idle_timeout, self._expire, session)
        self._idle.append(_Idle(session, expiry))
        self._wake()

    def forget(self) -> None:
        """A connection (or a reservation) is gone: free its slot."""
        self.open -= 1
        self._wake()

    def drain(self) -> list[Session]:
        """Remove and return every idle session (for shutdown)."""
        idle, self._idle = self._idle, []
        for entry in idle:
            entry.expiry.cancel()
            self.open -= 1
        return [entry.session for entry in idle]

    def _take_idle(self) -> Session | None:
        # Most recently used first: it is the likeliest to still be open, and the others
        # then age out instead of every connection being kept barely alive.
        while self._idle:
            entry = self._idle.pop()
            entry.expiry.cancel()
            if entry.session.connected:
                return entry.session
            entry.session.close()
            self.forget()
        return None

    def _evict_oldest(self) -> None:
        entry = self._idle.pop(0)
        entry.expiry.cancel()
        entry.session.close()
        self.open -= 1

    def _expire(self, session: Session) -> None:
        for index, entry in enumerate(self._idle):
            if entry.session is session:
                del self._idle[index]
                session.close()
                self.forget()
                return

    async def _wait(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._wake()  # we were woken and then cancelled: pass the turn on
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class DeliveryPool:
    """Delivers messages over pooled SMTP connections to the targets of a domain.

    Args:
        helo_name: the name announced in EHLO/HELO (should match the source IP's PTR).
        source_address: the local IP to send from (an IP pool member); None for any.
        max_connections_per_host: cap on connections open to one (address, port).
        max_messages_per_connection: a connection is closed after this many messages.
        idle_timeout: seconds an unused connection is kept open.
        connect_timeout: seconds to connect and read the greeting.
        command_timeout: seconds to wait for any reply after the greeting.
        starttls: upgrade to TLS whenever the server offers STARTTLS (opportunistic:
            a failed handshake is retried once in plaintext).
        tls_verify: verify the server's certificate against the MX host name. Off by
            default, as most MX certificates do not match (RFC 7672 needs DANE for that).
    """

    def __init__(
        self,
        *,
        helo_name: str,
        source_address: str | None = None,
        max_connections_per_host: int = 8,
        max_messages_per_connection: int = 100,
        idle_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        command_timeout: float = 60.0,
        starttls: bool = True,
        tls_verify: bool = False,
    ) -> None:
        _require_positive(
            max_connections_per_host=max_connections_per_host,
            max_messages_per_connection=max_messages_per_connection,
            idle_timeout=idle_timeout,
            connect_timeout=connect_timeout,
            command_timeout=command_timeout,
        )
        if not helo_name or any(c.isspace() or not c.isprintable() for c in helo_name):
            raise InvalidArgumentError("helo_name", f"not a host name: {helo_name!r}")
        self._settings = SessionSettings(
            helo_name=helo_name,
            source_address=source_address,
            connect_timeout=connect_timeout,
            command_timeout=command_timeout,
            tls_context=_tls_context(tls_verify) if starttls else None,
        )
        self._max_connections = max_connections_per_host
        self._max_messages = max_messages_per_connection
        self._idle_timeout = idle_timeout
        self._hosts: dict[tuple[str | None, str, int], _HostPool] = {}
        self._closed = False

    async def deliver(
        self, targets: list[Target], mail_from: str, rcpt_to: str, data: bytes, *,
        source_address: str | None = None,
    ) -> SMTPReply:
        """Deliver one message to one recipient through the first target that takes it.

        ``data`` is the complete message, CRLF line endings; dot-stuffing is done here.
        ``source_address`` binds the connection to that local IP (an IP pool member chosen
        by the shaper) instead of the pool's own ``source_address``; connections are pooled
        per (source, target), so one from another source is never reused for it.
        ``mail_from`` may be ``""`` (or ``"<>"``): the null sender of bounces.
        Targets are tried in order until one holds a transaction; any reply of 400 or more
        to MAIL, RCPT or DATA is returned, not raised, for the caller to classify.

        Returns:
            The reply to DATA (250) or the refusal, with the stage that drew it. When every
            target refused at the greeting or EHLO, the last of those refusals.

        Raises:
            InvalidArgumentError: no targets, or an address that cannot be sent.
            DeliveryError: ``temporary=True`` when no target could be reached or the
                connection was lost (a lost connection during DATA included: the message
                may have to be sent again); ``temporary=False`` if the server cannot take
                a non-ASCII address.
        """
        mail_from = "" if mail_from == "<>" else mail_from  # both spell the null sender
        check_addresses(mail_from, rcpt_to)
        if not targets:
            raise InvalidArgumentError("targets", "no targets to deliver to")
        if self._closed:
            raise DeliveryError("the delivery pool is closed", temporary=True)
        source = source_address or self._settings.source_address
        failures: list[str] = []
        refusals: list[SMTPReply] = []
        for target in targets:
            try:
                return await self._deliver_to(target, source, mail_from, rcpt_to, data)
            except TargetUnusable as unusable:
                failures.append(f"{target.host} [{target.address}]:{target.port}: {unusable}")
                if unusable.reply is not None:
                    refusals.append(unusable.reply)
        if len(refusals) == len(targets):
            return refusals[-1]  # every target answered, and refused: that is the answer
        raise DeliveryError("no target took a connection: " + "; ".join(failures))

    async def close(self) -> None:
        """Close every idle connection (with QUIT); busy ones close when they finish."""
        self._closed = True
        idle = [session for host in self._hosts.values() for session in host.drain()]
        if idle:
            quits = asyncio.gather(*(session.quit() for session in idle))
            try:
                await asyncio.wait_for(quits, _QUIT_TIMEOUT)
            except TimeoutError:
                for session in idle:
                    session.close()
        # Let the transports finish closing before the caller's loop may end.
        await asyncio.sleep(0)

    async def _deliver_to(
        self, target: Target, source: str | None, mail_from: str, rcpt_to: str, data: bytes
    ) -> SMTPReply:
        session, reused = await self._checkout(target, source, reuse=True)
        try:
            return await self._transact(session, reused, mail_from, rcpt_to, data)
        except _Stale:
            session, _ = await self._checkout(target, source, reuse=False)
            return await self._transact(session, False, mail_from, rcpt_to, data)

    async def _checkout(self, target: Target, source: str | None, *, reuse: bool) -> tuple[Session, bool]:
        """Return a session to ``target`` from ``source`` and whether it is a reused one."""
        host = self._host(target, source)
        session = await host.reserve(reuse=reuse)
        if session is not None:
            return session, True
        if self._closed:  # closed while we waited for a slot
            host.forget()
            raise DeliveryError("the delivery pool is closed", temporary=True)
        try:
            return await self._open(target, source), False
        except BaseException:
            host.forget()
            raise

    async def _open(self, target: Target, source: str | None) -> Session:
        settings = self._settings
        if source != settings.source_address:
            settings = replace(settings, source_address=source)
        try:
            return await Session.open(target, settings)
        except TargetUnusable as unusable:
            if not unusable.tls_failed:
                raise
        # Opportunistic TLS: a broken handshake must not make the site unreachable.
        return await Session.open(target, replace(settings, tls_context=None))

    async def _transact(
        self, session: Session, reused: bool, mail_from: str, rcpt_to: str, data: bytes
    ) -> SMTPReply:
        try:
            reply = await session.send(mail_from, rcpt_to, data)
        except SessionLost as lost:
            self._discard(session)
            if reused and lost.stage != "DATA":
                raise _Stale() from lost
            if lost.reply is not None:
                return lost.reply
            raise DeliveryError(
                f"connection to {session.target.host} [{session.target.address}] lost: "
                f"{lost.reason}",
                temporary=True,
            ) from lost
        except BaseException:
            self._discard(session)
            raise
        await self._check_in(session, reply)
        return reply

    async def _check_in(self, session: Session, reply: SMTPReply) -> None:
        """Return a session after a transaction: parked for reuse, or closed.

        Its slot is freed whatever happens, cancellation included.
        """
        parked = False
        try:
            if reply.code >= 400 and not await session.reset():
                pass  # RSET failed: the session is not fit to keep
            elif self._closed or session.messages >= self._max_messages or not session.connected:
                await session.quit()
            else:
                self._host(session.target, session.source).park(session, self._idle_timeout)
                parked = True
        finally:
            if not parked:
                self._discard(session)

    def _discard(self, session: Session) -> None:
        session.close()
        self._host(session.target, session.source).forget()

    def _host(self, target: Target, source: str | None) -> _HostPool:
        key = (source, target.address, target.port)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _HostPool(self._max_connections)
        return host


def _tls_context(verify: bool) -> ssl.SSLContext:
    if verify:
        return ssl.create_default_context()
    # Opportunistic TLS (RFC 7435): encrypt against passive snooping, accept any
    # certificate, since an unauthenticated channel beats a plaintext one.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _require_positive(**values: float) -> None:
    for name, value in values.items():
        if value <= 0:
            raise InvalidArgumentError(name, f"must be positive, got {value}")

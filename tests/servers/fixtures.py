"""pytest fixtures that start real test servers; load with
``pytest_plugins = ["tests.servers.fixtures"]``.

* ``smtp_peer`` -- one :class:`SMTPPeer` on a free 127.0.1.x:25, scripted by the test's
  ``smtp_fault`` marker: ``@pytest.mark.smtp_fault(DATA=["421 4.7.0 busy"])``. A value may
  be one reply instead of a list, and a bare code (``RCPT="550"``) gets a stock text.
* ``make_smtp_peer`` -- factory: ``make_smtp_peer(address=None, script=None,
  starttls=False)`` returns a started peer.
* ``make_dns_server`` -- factory: ``make_dns_server(mx=..., a=..., txt=...)`` returns a
  started dnsmasq :class:`DNSServer`.
* ``make_smtp_sink`` -- factory: ``make_smtp_sink(address=None, **options)`` returns a
  started :class:`SMTPSink` (Postfix smtp-sink).
* ``make_raw_smtp_server`` -- factory: ``make_raw_smtp_server(RawBehaviour(...))`` returns a
  started :class:`RawSMTPServer` (byte-level faults: tarpit, broken TLS, any banner, a drop
  in the middle of DATA).

Everything a factory started is stopped when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import pytest

from tests.servers.addresses import next_peer_address
from tests.servers.dns import DNSServer
from tests.servers.raw_smtp import NO_FAULT, RawBehaviour, RawSMTPServer
from tests.servers.sink import SMTPSink
from tests.servers.smtp import Script, SMTPPeer

__all__ = ["make_dns_server", "make_raw_smtp_server", "make_smtp_peer", "make_smtp_sink", "smtp_peer"]

# Another process may bind an address between our free check and the server's bind.
_BIND_ATTEMPTS = 5


class MakeSMTPPeer(Protocol):
    """The ``make_smtp_peer`` factory."""

    def __call__(
        self,
        address: str | None = None,
        script: Script | None = None,
        starttls: bool = False,
        *,
        port: int = 25,
        pipelining: bool = False,
    ) -> SMTPPeer: ...


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "smtp_fault(**script): scripted replies for smtp_peer")


@pytest.fixture
def make_smtp_peer() -> Iterator[MakeSMTPPeer]:
    """Factory for started SMTP peers, all stopped at teardown."""
    peers: list[SMTPPeer] = []

    def make(
        address: str | None = None,
        script: Script | None = None,
        starttls: bool = False,
        *,
        port: int = 25,
        pipelining: bool = False,
    ) -> SMTPPeer:
        peer = _start(lambda a: SMTPPeer(a, port, script=script, starttls=starttls, pipelining=pipelining),
                      address, port)
        peers.append(peer)
        return peer

    yield make
    for peer in reversed(peers):
        peer.stop()


@pytest.fixture
def smtp_peer(request: pytest.FixtureRequest, make_smtp_peer: MakeSMTPPeer) -> SMTPPeer:
    """One started SMTP peer, scripted by the test's ``smtp_fault`` marker if any; an
    indirect parameter True makes it offer PIPELINING."""
    marker = request.node.get_closest_marker("smtp_fault")
    script = _marker_script(marker.kwargs) if marker is not None else None
    return make_smtp_peer(script=script, pipelining=bool(getattr(request, "param", False)))


@pytest.fixture
def make_dns_server() -> Iterator[Callable[..., DNSServer]]:
    """Factory for started dnsmasq servers, all stopped at teardown."""
    servers: list[DNSServer] = []

    def make(**records: Any) -> DNSServer:
        server = DNSServer(**records)
        servers.append(server)
        server.start()
        return server

    yield make
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def make_smtp_sink() -> Iterator[Callable[..., SMTPSink]]:
    """Factory for started smtp-sink processes, all stopped at teardown."""
    sinks: list[SMTPSink] = []

    def make(address: str | None = None, port: int = 25, **options: Any) -> SMTPSink:
        sink = _start(lambda a: SMTPSink(a, port, **options), address, port)
        sinks.append(sink)
        return sink

    yield make
    for sink in reversed(sinks):
        sink.stop()


@pytest.fixture
def make_raw_smtp_server() -> Iterator[Callable[..., RawSMTPServer]]:
    """Factory for started :class:`RawSMTPServer` on free 127.0.1.x:25, stopped at teardown."""
    servers: list[RawSMTPServer] = []

    def make(behaviour: RawBehaviour = NO_FAULT, address: str | None = None) -> RawSMTPServer:
        server = _start(lambda a: RawSMTPServer(a, behaviour=behaviour), address, 25)
        servers.append(server)
        return server

    yield make
    for server in reversed(servers):
        server.stop()


class _Startable(Protocol):
    def start(self) -> None: ...


S = TypeVar("S", bound=_Startable)


def _start(build: Callable[[str], S], address: str | None, port: int) -> S:
    """Build and start a server, on ``address`` or on the next free peer address."""
    if address is not None:
        server = build(address)
        server.start()
        return server
    for attempt in range(_BIND_ATTEMPTS):
        server = build(next_peer_address(port))
        try:
            server.start()
        except (OSError, RuntimeError):
            if attempt == _BIND_ATTEMPTS - 1:
                raise
            continue
        return server
    raise AssertionError("unreachable")


def _marker_script(kwargs: Mapping[str, Any]) -> dict[str, list[str | None]]:
    return {command.upper(): _replies(value) for command, value in kwargs.items()}


def _replies(value: str | None | Sequence[str | None]) -> list[str | None]:
    listed = [value] if value is None or isinstance(value, str) else list(value)
    return [_reply(reply) for reply in listed]


def _reply(reply: str | None) -> str | None:
    if reply is not None and reply.isdigit() and len(reply) == 3:
        return f"{reply} scripted fault"
    return reply

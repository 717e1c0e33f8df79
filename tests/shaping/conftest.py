"""Shaping fixtures: SMTP peers that timestamp what they see, and a platform with a shaping file."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.platform import Platform, bearer, request
from tests.servers.addresses import next_peer_address
from tests.servers.smtp import Received, Script, SMTPPeer

__all__ = ["Arrival", "TimedPeer", "send_each"]


@dataclasses.dataclass(frozen=True, slots=True)
class Arrival:
    """One accepted message: when (monotonic seconds), from which source address, for whom."""

    at: float
    source: str
    rcpt: str


class TimedPeer(SMTPPeer):
    """An SMTPPeer that also records when each message was accepted and each command came."""

    def __init__(self, address: str, *, script: Script | None = None) -> None:
        super().__init__(address, script=script)
        self.arrivals: list[Arrival] = []
        self.commands: list[tuple[float, str]] = []

    def _count(self, command: str) -> None:
        self.commands.append((time.monotonic(), command))
        super()._count(command)

    def _accept(self, received: Received) -> str:
        self.arrivals.append(Arrival(time.monotonic(), received.peer[0], received.rcpt_tos[0]))
        return super()._accept(received)


def send_each(platform: Platform, key: str, recipients: Sequence[str]) -> list[str]:
    """One Send request with a personalization per recipient; the message ids."""
    req = request(to=[recipients[0]])
    del req.personalizations[:]
    for rcpt in recipients:
        req.personalizations.add(to=[rcpt])
    return [m.message_id for m in platform.send_stub().Send(req, metadata=bearer(key), timeout=30).messages]


@pytest.fixture
def make_timed_peer() -> Iterator[Callable[..., TimedPeer]]:
    """Factory of started :class:`TimedPeer` on free 127.0.1.x:25 addresses; stopped at teardown."""
    peers: list[TimedPeer] = []

    def make(script: Script | None = None) -> TimedPeer:
        for attempt in range(5):
            peer = TimedPeer(next_peer_address(), script=script)
            try:
                peer.start()
            except OSError:
                if attempt == 4:
                    raise
                continue
            peers.append(peer)
            return peer
        raise AssertionError("unreachable")

    yield make
    for peer in reversed(peers):
        peer.stop()


@pytest.fixture
def shaped_platform(tmp_path: Path) -> Iterator[Callable[..., Platform]]:
    """Factory: a started platform whose shaping file is ``toml`` (rewrite it and restart to change it)."""
    made: list[Platform] = []

    def make(toml: str, *, dns_port: int, **settings: Any) -> Platform:
        data = tmp_path / f"platform{len(made)}"
        data.mkdir()
        shaping = data / "shaping.toml"
        shaping.write_text(toml)
        platform = Platform(data, dns_port=dns_port, shaping_config=str(shaping),
                            tracking_base_url="https://t.postwave.test", **settings)
        made.append(platform)
        return platform.start()

    yield make
    for platform in made:
        platform.stop()

"""A live postwave for the client examples: `postwave serve` (embedded), a real DNS server
and a real SMTP peer as the MX of the recipients' domain."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.platform import Platform

DOMAIN = "clients.test"


@dataclasses.dataclass
class Live:
    """A started platform, the SMTP peer receiving mail for DOMAIN, and a tenant's key."""

    platform: Platform
    peer: Any
    key: str

    @property
    def server(self) -> str:
        """host:port of the gRPC API."""
        return f"127.0.0.1:{self.platform.port}"


@pytest.fixture
def live(tmp_path: Path, make_dns_server: Any, make_smtp_peer: Any) -> Iterator[Live]:
    """A platform whose MX lookups for DOMAIN reach a real SMTP peer on loopback."""
    peer = make_smtp_peer()
    dns = make_dns_server(mx={DOMAIN: [(10, f"mx.{DOMAIN}")]}, a={f"mx.{DOMAIN}": peer.address})
    data = tmp_path / "platform"
    data.mkdir()
    platform = Platform(data, dns_port=dns.port)
    platform.start()
    try:
        _, key = platform.tenant("sdk-example")
        yield Live(platform, peer, key)
    finally:
        platform.stop()

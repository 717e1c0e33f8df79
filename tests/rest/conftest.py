"""A live postwave with its REST gateway (one per test module: starting one costs seconds),
and a small HTTP client for it."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import DOMAIN, Live
from tests.platform import Platform
from tests.servers.addresses import next_peer_address
from tests.servers.dns import DNSServer
from tests.servers.smtp import SMTPPeer

__all__ = ["DOMAIN", "Http", "Live", "Reply", "http", "live"]

_DEFAULT = object()


@dataclasses.dataclass
class Reply:
    """An HTTP answer: status, headers and the parsed JSON body (None if not JSON)."""

    status: int
    headers: dict[str, str]
    body: Any
    raw: bytes


class Http:
    """Blocking JSON-over-HTTP calls to one gateway, with a tenant's API key by default."""

    def __init__(self, port: int, key: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.key = key

    def call(
        self, method: str, path: str, body: Any = _DEFAULT, *, raw: bytes | None = None, key: Any = _DEFAULT,
        headers: dict[str, str] | None = None, timeout: float = 15.0,
    ) -> Reply:
        """One request; ``key=None`` sends no Authorization header."""
        data = raw if raw is not None else (None if body is _DEFAULT else json.dumps(body).encode())
        sent = {"Content-Type": "application/json"} if data is not None else {}
        key = self.key if key is _DEFAULT else key
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        sent.update(headers or {})
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return _reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            with error:
                return _reply(error.code, dict(error.headers), error.read())

    def lines(self, path: str, *, limit: int, timeout: float = 15.0) -> Iterator[Any]:
        """The first ``limit`` NDJSON lines of a streaming GET, parsed; the stream is then closed."""
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Bearer {self.key}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            assert response.headers["Content-Type"].startswith("application/x-ndjson")
            for _ in range(limit):
                line = response.readline()
                if not line:
                    return
                yield json.loads(line)


def _reply(status: int, headers: dict[str, str], raw: bytes) -> Reply:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    return Reply(status, headers, body, raw)


@pytest.fixture(scope="module")
def module_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One platform for a module's tests; its MX for DOMAIN is a real SMTP peer."""
    with contextlib.ExitStack() as stack:
        peer = SMTPPeer(next_peer_address())
        peer.start()
        stack.callback(peer.stop)
        dns = DNSServer(mx={DOMAIN: [(10, f"mx.{DOMAIN}")]}, a={f"mx.{DOMAIN}": peer.address})
        dns.start()
        stack.callback(dns.stop)
        data: Path = tmp_path_factory.mktemp("rest") / "platform"
        data.mkdir()
        platform = Platform(data, dns_port=dns.port)
        stack.callback(platform.stop)
        platform.start()
        _, key = platform.tenant("rest")
        yield Live(platform, peer, key)


@pytest.fixture
def live(module_live: Live) -> Live:
    """The module's platform, with the SMTP peer's inbox emptied for this test."""
    module_live.peer.clear()
    return module_live


@pytest.fixture
def http(live: Live) -> Http:
    """An HTTP client of the live platform's gateway, authenticated as its tenant."""
    return Http(live.platform.http_port, live.key)


def annotated_rpc_count() -> int:
    """RPCs with a google.api.http option, counted in the .proto sources themselves (not
    through the descriptors the gateway reads), so a route the gateway drops is noticed."""
    import re
    from pathlib import Path

    protos = (Path(__file__).resolve().parents[2] / "proto" / "postwave" / "v1").glob("*.proto")
    return sum(len(re.findall(r"option\s*\(google\.api\.http\)", p.read_text())) for p in protos)

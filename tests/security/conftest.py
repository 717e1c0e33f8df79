"""One real platform for the security tests: `postwave serve` with JSON logs, a dnsmasq
serving the MX of ``wire.test``, and a raw-recording SMTP sink behind it.

The platform is shared by the package's tests (starting one costs seconds); every test makes
its own tenants, so none sees another's data. Authentication throttling stays on with a
burst no test reaches here (the matrix fails thousands of times from 127.0.0.1); the
throttling test starts its own platform with a small burst.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from postwave.v1 import admin_pb2
from tests.platform import Platform, bearer
from tests.security.wire import WireSink
from tests.servers.addresses import next_peer_address
from tests.servers.dns import DNSServer

# The feedback receiver world of tests/feedback and the tracker of tests/tracking, for the
# malicious-report and open-redirect tests.
from tests.feedback.conftest import feedback  # noqa: F401
from tests.tracking.conftest import make_tracker, store  # noqa: F401

_names = itertools.count()


@dataclasses.dataclass
class Tenant:
    """A tenant and a key holding every scope."""

    tenant_id: str
    key: str

    @property
    def auth(self) -> list[tuple[str, str]]:
        """gRPC metadata of the key."""
        return bearer(self.key)


@dataclasses.dataclass
class Site:
    """The shared platform, its DNS and its wire sink."""

    platform: Platform
    sink: WireSink
    dns: DNSServer

    def tenant(self, name: str = "t") -> Tenant:
        """A new tenant with an all-scope key."""
        tenant_id, key = self.platform.tenant(f"{name}{next(_names)}")
        return Tenant(tenant_id, key)

    def key(self, tenant: Tenant, scopes: list[str]) -> admin_pb2.CreateApiKeyResponse:
        """Another key of ``tenant`` with just ``scopes``."""
        return self.platform.admin_stub().CreateApiKey(
            admin_pb2.CreateApiKeyRequest(name="scoped", scopes=scopes), metadata=tenant.auth, timeout=10)


def code_of(call: object) -> tuple[grpc.StatusCode, str]:
    """Run a call expected to fail: (status code, details)."""
    try:
        call()  # type: ignore[operator]
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    raise AssertionError("the call succeeded")


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The started platform (see the module docstring)."""
    sink = _start_sink()
    dns = DNSServer(mx={"wire.test": [(10, "mx.wire.test")]}, a={"mx.wire.test": sink.address})
    dns.start()
    data: Path = tmp_path_factory.mktemp("security-platform")
    platform = Platform(data, dns_port=dns.port, auth_failure_burst=1_000_000, log_format="json",
                        webhook_allow_networks="127.0.0.1/32", tracking_base_url="https://t.postwave.test")
    try:
        platform.start()
        yield Site(platform, sink, dns)
    finally:
        platform.stop()
        dns.stop()
        sink.stop()


def _start_sink() -> WireSink:
    for attempt in range(5):
        sink = WireSink(next_peer_address(25))
        try:
            sink.start()
        except OSError:
            if attempt == 4:
                raise
            continue
        return sink
    raise AssertionError("unreachable")

"""MX resolution against a real DNS server (dnsmasq) on loopback."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from postwave.errors import DeliveryError, InvalidArgumentError
from postwave.mta.mx import MXResolver, Target, site_of
from tests.servers.dns import DNSServer

MakeDNS = Callable[..., DNSServer]

RECORDS: dict[str, Any] = {
    "mx": {
        "ok.test": [(20, "mx2.ok.test"), (10, "mx1.ok.test"), (30, "mx3.ok.test")],
        "twins.test": [(10, "a.twins.test"), (10, "b.twins.test")],
        "null.test": [(0, ".")],
        "dangling.test": [(10, "gone.dangling.test")],
        "partial.test": [(10, "gone.partial.test"), (20, "mx.partial.test")],
    },
    "a": {
        "mx1.ok.test": "127.0.1.11",
        "mx2.ok.test": ["127.0.1.12", "127.0.1.13"],
        "mx3.ok.test": "127.0.1.14",
        "a.twins.test": "127.0.1.21",
        "b.twins.test": "127.0.1.22",
        "bare.test": "127.0.1.31",
        "mx.partial.test": "127.0.1.41",
    },
    "txt": {"ok.test": "v=spf1 ip4:127.0.0.10 -all"},
}


def resolver_for(server: DNSServer, **options: Any) -> MXResolver:
    return MXResolver(nameservers=[server.address], port=server.port, timeout=2.0, **options)


@pytest.fixture
def dns_server(make_dns_server: MakeDNS) -> DNSServer:
    return make_dns_server(**RECORDS)


@pytest.fixture
def resolver(dns_server: DNSServer) -> MXResolver:
    return resolver_for(dns_server)


async def test_targets_follow_preference_with_every_address(resolver: MXResolver) -> None:
    targets = await resolver.resolve("ok.test")
    assert [t.host for t in targets] == ["mx1.ok.test", "mx2.ok.test", "mx2.ok.test", "mx3.ok.test"]
    assert targets[0] == Target("mx1.ok.test", "127.0.1.11", 25)
    assert sorted(t.address for t in targets[1:3]) == ["127.0.1.12", "127.0.1.13"]
    assert targets[3].address == "127.0.1.14"


async def test_name_is_normalised(resolver: MXResolver) -> None:
    assert await resolver.resolve("OK.Test.") == await resolver.resolve("ok.test") != []


async def test_smtp_port_is_configurable(dns_server: DNSServer) -> None:
    targets = await resolver_for(dns_server, smtp_port=2525).resolve("ok.test")
    assert {t.port for t in targets} == {2525}


async def test_equal_preferences_are_shuffled(resolver: MXResolver) -> None:
    orders = set()
    for _ in range(60):  # both orders: chance of failing is 2**-59
        orders.add(tuple(t.host for t in await resolver.resolve("twins.test")))
    assert orders == {("a.twins.test", "b.twins.test"), ("b.twins.test", "a.twins.test")}


async def test_no_mx_falls_back_to_the_domain_address(resolver: MXResolver) -> None:
    assert await resolver.resolve("bare.test") == [Target("bare.test", "127.0.1.31", 25)]


async def test_null_mx_is_permanent(resolver: MXResolver) -> None:
    with pytest.raises(DeliveryError, match="accepts no mail") as caught:
        await resolver.resolve("null.test")
    assert caught.value.temporary is False


async def test_nxdomain_is_permanent(resolver: MXResolver) -> None:
    with pytest.raises(DeliveryError, match="does not exist") as caught:
        await resolver.resolve("nowhere.test")
    assert caught.value.temporary is False


async def test_mx_hosts_without_addresses_is_permanent(resolver: MXResolver) -> None:
    with pytest.raises(DeliveryError, match="no MX host") as caught:
        await resolver.resolve("dangling.test")
    assert caught.value.temporary is False


async def test_mx_hosts_without_addresses_are_skipped(resolver: MXResolver) -> None:
    assert await resolver.resolve("partial.test") == [Target("mx.partial.test", "127.0.1.41", 25)]


async def test_refused_query_is_temporary(resolver: MXResolver) -> None:
    # dnsmasq serves only the .test zone; it refuses everything else, like a broken server.
    with pytest.raises(DeliveryError) as caught:
        await resolver.resolve("example.com")
    assert caught.value.temporary is True


@pytest.fixture
def silent_nameserver() -> Iterator[tuple[str, int]]:
    """A UDP socket that takes queries and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()


async def test_timeout_is_temporary(silent_nameserver: tuple[str, int]) -> None:
    address, port = silent_nameserver
    resolver = MXResolver(nameservers=[address], port=port, timeout=0.3)
    with pytest.raises(DeliveryError, match="Timeout|timed out|Lifetime") as caught:
        await resolver.resolve("ok.test")
    assert caught.value.temporary is True


async def test_answers_are_cached_for_their_ttl(
    dns_server: DNSServer, resolver: MXResolver
) -> None:
    first = await resolver.resolve("ok.test")
    dns_server.stop()
    assert {(t.host, t.address) for t in await resolver.resolve("ok.test")} == {
        (t.host, t.address) for t in first
    }


async def test_negative_answers_are_cached(dns_server: DNSServer, resolver: MXResolver) -> None:
    with pytest.raises(DeliveryError):
        await resolver.resolve("nowhere.test")
    dns_server.stop()
    with pytest.raises(DeliveryError, match="does not exist") as caught:
        await resolver.resolve("nowhere.test")
    assert caught.value.temporary is False


async def test_zero_ttl_is_not_cached(make_dns_server: MakeDNS) -> None:
    server = make_dns_server(ttl=0, **RECORDS)
    resolver = MXResolver(nameservers=[server.address], port=server.port, timeout=0.3)
    assert await resolver.resolve("bare.test")
    server.stop()
    with pytest.raises(DeliveryError) as caught:
        await resolver.resolve("bare.test")
    assert caught.value.temporary is True


async def test_concurrent_lookups_agree(resolver: MXResolver) -> None:
    results = await asyncio.gather(*(resolver.resolve("ok.test") for _ in range(20)))
    assert all(r[0] == results[0][0] for r in results)


@pytest.mark.parametrize("domain", ["", ".", "a..b", "x" * 64 + ".test"])
async def test_invalid_domain_is_rejected(resolver: MXResolver, domain: str) -> None:
    with pytest.raises(InvalidArgumentError):
        await resolver.resolve(domain)


async def test_site_of_a_resolved_domain(resolver: MXResolver) -> None:
    assert site_of(await resolver.resolve("ok.test")) == "ok.test"


@pytest.mark.parametrize(
    ("host", "site"),
    [
        ("gmail-smtp-in.l.google.com", "google.com"),
        ("alt1.gmail-smtp-in.l.google.com.", "google.com"),
        ("example-com.mail.protection.outlook.com", "outlook.com"),
        ("mta7.am0.yahoodns.net", "yahoodns.net"),
        ("MX.Example.CO.UK", "example.co.uk"),
        ("mx1.example.com.au", "example.com.au"),
        ("mail.example.de", "example.de"),
        ("localhost", "localhost"),
    ],
)
def test_site_of(host: str, site: str) -> None:
    assert site_of([Target(host, "127.0.1.1", 25)]) == site


def test_site_of_nothing_is_an_error() -> None:
    with pytest.raises(InvalidArgumentError):
        site_of([])

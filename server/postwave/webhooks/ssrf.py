"""SSRF protection: tenant URLs may not reach internal addresses.

A URL's host is resolved once per connection by :class:`GuardedResolver`, every address
is checked, and the connection goes to a checked address -- the check and the connect use
the same answer, so a DNS record that changes between them (DNS rebinding) cannot slip
an internal address through. Refused: every address that is not globally routable
(loopback, RFC 1918 private, link-local -- which holds the cloud metadata address
169.254.169.254 --, carrier-grade NAT, multicast, reserved, unspecified) and IPv6
forms of them, unless it is in the configured allow-list (tests, on-premise receivers).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from postwave.errors import InvalidArgumentError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))


class BlockedAddressError(InvalidArgumentError, ConnectionError):
    """A webhook URL that resolves to an address postwave must not connect to."""


def allow_list(text: str) -> tuple[Network, ...]:
    """Networks of a comma-separated CIDR list."""
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in text.split(",") if c.strip())


def blocked(address: str, allowed: Sequence[Network]) -> bool:
    """Whether postwave must not connect to ``address``."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip.version == n.version and ip in n for n in allowed):
        return False
    return not ip.is_global or ip.is_multicast or any(ip.version == n.version and ip in n for n in METADATA)


def check_url(url: str, allowed: Sequence[Network]) -> str:
    """``url`` if it is an absolute http(s) URL with a host and, when the host is an address
    literal (which aiohttp connects to without asking a resolver), an allowed one. Names are
    checked by :class:`GuardedResolver` at connect time."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        raise InvalidArgumentError("url", "must be an http(s) URL with a host and no credentials")
    if len(url) > 2048:
        raise InvalidArgumentError("url", "is longer than 2048 characters")
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url
    if blocked(str(literal), allowed):
        raise BlockedAddressError("url", f"{literal} is an internal address")
    return url


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that answers only with allowed addresses, or refuses."""

    def __init__(self, allowed: Sequence[Network]) -> None:
        self.allowed = tuple(allowed)
        self._inner = ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        """Every address of ``host`` must be allowed; a single internal one refuses the host."""
        found = await self._inner.resolve(host, port, family)
        bad = [a["host"] for a in found if blocked(a["host"], self.allowed)]
        if bad:
            raise BlockedAddressError("url", f"{host} resolves to {bad[0]}, an internal address")
        return found

    async def close(self) -> None:
        """Nothing to release."""
        await self._inner.close()

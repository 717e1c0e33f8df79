"""What the tracker keeps of a visitor: truncated addresses, bounded user agents."""

from __future__ import annotations

import ipaddress

USER_AGENT_CHARS = 256


def truncate_ip(address: str) -> str:
    """The network of an address, not the address: IPv4 /24, IPv6 /48 ("" if unparseable).

    Enough to tell a mail provider's proxy range from a home connection, not enough to
    single out a person.
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def bounded_user_agent(user_agent: str) -> str:
    """The user agent, printable and cut to USER_AGENT_CHARS."""
    return "".join(c for c in user_agent[:USER_AGENT_CHARS] if c.isprintable())

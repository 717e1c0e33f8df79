"""Checking a domain's records against DNS (dnspython), one result per expected record.

Each record gets a status: ``ok``; ``missing`` (no such name, or no record of the type);
``wrong`` (records there, none as expected: ``found`` lists what is there and ``problem``
says what differs); ``error`` (DNS did not answer: timeout, SERVFAIL). An ``error`` never
changes a domain's state, so a resolver outage does not mark every domain drifted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import Callable, Sequence

import dns.asyncresolver
import dns.exception
import dns.resolver

from postwave.config import Config
from postwave.domains.records import (
    DKIM,
    DMARC,
    RETURN_PATH_MX,
    RETURN_PATH_SPF,
    SPF,
    TRACKING,
    DnsRecord,
)

OK, MISSING, WRONG, ERROR = "ok", "missing", "wrong", "error"
DNS_TIMEOUT = 5.0


@dataclasses.dataclass(frozen=True, slots=True)
class RecordCheck:
    """What DNS says about one expected record."""

    record: DnsRecord
    status: str
    found: tuple[str, ...] = ()
    problem: str = ""


def make_resolver(config: Config) -> dns.asyncresolver.Resolver:
    """A resolver on ``dns_nameservers``/``dns_port`` (or /etc/resolv.conf)."""
    servers = [s.strip() for s in config.dns_nameservers.split(",") if s.strip()]
    resolver = dns.asyncresolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers = servers
    resolver.port = config.dns_port
    resolver.lifetime = DNS_TIMEOUT
    resolver.cache = None  # a verification must see what DNS says now
    return resolver


async def check_all(resolver: dns.asyncresolver.Resolver, records: Sequence[DnsRecord]) -> list[RecordCheck]:
    """Check every record concurrently; results in the order of ``records``."""
    return list(await asyncio.gather(*(check(resolver, r) for r in records)))


async def check(resolver: dns.asyncresolver.Resolver, record: DnsRecord) -> RecordCheck:
    """Look the record up and compare."""
    try:
        answer = await resolver.resolve(record.name, record.type)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return RecordCheck(record, MISSING, problem=f"no {record.type} record at {record.name}")
    except dns.exception.DNSException as exc:
        return RecordCheck(record, ERROR, problem=f"DNS lookup of {record.name} {record.type} failed: {exc}")
    found = tuple(_text(rdata, record.type) for rdata in answer)
    problem = _COMPARE[record.purpose](record, found)
    return RecordCheck(record, WRONG if problem else OK, found, problem)


def _text(rdata: object, rdtype: str) -> str:
    if rdtype == "TXT":
        return b"".join(rdata.strings).decode("utf-8", "replace")  # type: ignore[attr-defined]
    if rdtype == "MX":
        return f"{rdata.preference} {str(rdata.exchange).rstrip('.').lower()}"  # type: ignore[attr-defined]
    return str(rdata.target).rstrip(".").lower()  # type: ignore[attr-defined]


def _tags(value: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for part in value.split(";"):
        name, eq, tag_value = part.partition("=")
        if eq:
            tags[name.strip().lower()] = re.sub(r"\s+", "", tag_value)
    return tags


def _dkim(record: DnsRecord, found: tuple[str, ...]) -> str:
    want = _tags(record.value)
    keys = [_tags(v) for v in found if "p=" in v]
    if not keys:
        return f"no DKIM key record at {record.name}"
    if any(k.get("p") == want["p"] and k.get("k", "rsa") == want["k"] for k in keys):
        return ""
    if any(k.get("p") == "" for k in keys):
        return "the published key is revoked (empty p=)"
    return f"the published key (k={keys[0].get('k', 'rsa')}) differs from selector {record.selector}'s key"


def _spf(record: DnsRecord, found: tuple[str, ...]) -> str:
    spf = [v for v in found if v.lower().startswith("v=spf1")]
    if not spf:
        return f"no SPF record (v=spf1) at {record.name}"
    if len(spf) > 1:
        return f"{len(spf)} SPF records at {record.name}: receivers treat that as a permanent error; merge them"
    include = next(t for t in record.value.split() if t.startswith("include:"))
    if include.lower() not in spf[0].lower().split():
        return f"the SPF record lacks {include}"
    return ""


def _dmarc(record: DnsRecord, found: tuple[str, ...]) -> str:
    dmarc = [v for v in found if v.replace(" ", "").upper().startswith("V=DMARC1")]
    if len(dmarc) != 1:
        return f"{len(dmarc)} DMARC records at {record.name}; there must be exactly one"
    policy = _tags(dmarc[0]).get("p", "").lower()
    if policy not in ("none", "quarantine", "reject"):
        return "the DMARC record has no valid p= (none, quarantine or reject)"
    return ""


def _mx(record: DnsRecord, found: tuple[str, ...]) -> str:
    host = record.value.split()[1]
    if any(f.split()[1] == host for f in found):
        return ""
    return f"MX points to {', '.join(f.split()[1] for f in found)}, not {host}"


def _cname(record: DnsRecord, found: tuple[str, ...]) -> str:
    return "" if record.value in found else f"CNAME points to {', '.join(found)}, not {record.value}"


_COMPARE: dict[str, Callable[[DnsRecord, tuple[str, ...]], str]] = {
    DKIM: _dkim, SPF: _spf, RETURN_PATH_SPF: _spf, DMARC: _dmarc, RETURN_PATH_MX: _mx, TRACKING: _cname,
}

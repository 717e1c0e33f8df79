"""MX resolution: which addresses to connect to for a recipient domain.

RFC 5321 §5.1: look up the domain's MX records, try the exchanges in preference order
(randomly among equal preferences, to spread load as the domain's owner intended), and
fall back to the domain's own address records when it has no MX at all (the "implicit MX").
RFC 7505: a lone MX of ``0 .`` (null MX) means the domain accepts no mail.

Answers are cached in memory for the smallest TTL among the records used, and definitive
negative answers (no such domain, null MX, no addresses) for ``negative_ttl`` seconds, so a
burst of mail to one domain costs one lookup. Transient failures (timeouts, SERVFAIL) are
never cached: the next message asks again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver
from dns.rdtypes.ANY.MX import MX

from postwave.errors import DeliveryError, InvalidArgumentError

__all__ = ["MXResolver", "Target", "site_of"]

# Second-level labels under which a country-code TLD registers domains ("example.co.uk"),
# so that site_of() keeps three labels there instead of lumping a whole country together.
_CC_SECOND_LEVELS = frozenset({"ac", "co", "com", "edu", "gov", "ne", "net", "or", "org"})

# Bounds memory when mail goes to very many distinct domains; expired entries are dropped
# when the cache grows past this.
_CACHE_PURGE_SIZE = 50_000


@dataclass(frozen=True, slots=True)
class Target:
    """One address to try for a domain, in the order they should be tried.

    Attributes:
        host: the MX host name (or the domain itself for an implicit MX).
        address: the IP address to connect to.
        port: the TCP port (25 unless overridden for tests or smart hosts).
    """

    host: str
    address: str
    port: int


@dataclass(frozen=True, slots=True)
class _Exchange:
    """An MX host with its addresses, before per-call shuffling into targets."""

    preference: int
    host: str
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Answer:
    """The cacheable result of one lookup: exchanges, or the error to raise."""

    exchanges: tuple[_Exchange, ...]
    error: str | None
    temporary: bool
    expires: float


@dataclass(frozen=True, slots=True)
class _Addresses:
    """The A and AAAA records of one host; ``transient`` if a query failed, not denied."""

    addresses: tuple[str, ...]
    ttl: int
    transient: bool


class _LookupFailed(Exception):
    """Internal: a lookup ended in an error worth reporting (and maybe caching)."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.message = message
        self.temporary = temporary


class MXResolver:
    """Resolves a recipient domain to the ordered list of SMTP targets to try.

    Args:
        nameservers: resolver addresses to ask; ``None`` reads the system configuration.
        port: DNS port of those nameservers.
        timeout: total seconds one lookup may take before it is a temporary failure.
        smtp_port: the port put in every :class:`Target`.
        negative_ttl: seconds to remember that a domain does not exist or takes no mail.
    """

    def __init__(
        self,
        *,
        nameservers: list[str] | None = None,
        port: int = 53,
        timeout: float = 5.0,
        smtp_port: int = 25,
        negative_ttl: float = 60.0,
    ) -> None:
        if nameservers is None:
            self._resolver = dns.asyncresolver.Resolver()
        else:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = list(nameservers)
        self._resolver.port = port
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout
        self._smtp_port = smtp_port
        self._negative_ttl = negative_ttl
        self._cache: dict[str, _Answer] = {}
        self._names: dict[str, str] = {}  # domain as given -> normalised name
        self._inflight: dict[str, asyncio.Task[_Answer]] = {}

    async def resolve(self, domain: str) -> list[Target]:
        """Return the targets for ``domain``, most preferred first.

        Raises:
            InvalidArgumentError: ``domain`` is not a valid domain name.
            DeliveryError: ``temporary=False`` if the domain does not exist, has a null MX
                or no usable address; ``temporary=True`` on timeouts and server failures.
        """
        name = self._names.get(domain)
        if name is None:
            name = _normalise(domain)  # dnspython's parse: once per spelling, not per message
            if len(self._names) >= _CACHE_PURGE_SIZE:
                self._names.clear()
            self._names[domain] = name
        answer = self._cached(name)
        if answer is None:
            answer = await self._shared_lookup(name)
        if answer.error is not None:
            raise DeliveryError(answer.error, temporary=answer.temporary)
        return _targets(answer.exchanges, self._smtp_port)

    def _cached(self, name: str) -> _Answer | None:
        answer = self._cache.get(name)
        if answer is None or answer.expires <= time.monotonic():
            return None
        return answer

    async def _shared_lookup(self, name: str) -> _Answer:
        # Concurrent deliveries to one domain share a single lookup; shield() keeps it
        # running for the others when one caller is cancelled.
        task = self._inflight.get(name)
        if task is None:
            task = asyncio.create_task(self._lookup(name))
            self._inflight[name] = task
            task.add_done_callback(lambda _: self._inflight.pop(name, None))
        return await asyncio.shield(task)

    async def _lookup(self, name: str) -> _Answer:
        try:
            exchanges, ttl = await self._exchanges(name)
        except _LookupFailed as failure:
            ttl_seconds = 0.0 if failure.temporary else self._negative_ttl
            answer = _Answer((), failure.message, failure.temporary, _expiry(ttl_seconds))
        else:
            answer = _Answer(exchanges, None, False, _expiry(float(ttl)))
        self._remember(name, answer)
        return answer

    def _remember(self, name: str, answer: _Answer) -> None:
        if answer.expires <= time.monotonic():
            return
        if len(self._cache) >= _CACHE_PURGE_SIZE:
            now = time.monotonic()
            self._cache = {k: v for k, v in self._cache.items() if v.expires > now}
        self._cache[name] = answer

    async def _exchanges(self, name: str) -> tuple[tuple[_Exchange, ...], int]:
        try:
            answer = await self._resolver.resolve(name, "MX", search=False)
        except dns.resolver.NoAnswer:
            return await self._implicit_mx(name)
        except dns.resolver.NXDOMAIN:
            raise _LookupFailed(f"domain {name} does not exist", temporary=False) from None
        except dns.exception.DNSException as exc:
            raise _transient(f"MX lookup for {name}", exc) from None
        records = _mx_records(name, answer)
        found = await asyncio.gather(*(self._addresses(_host(r.exchange)) for r in records))
        exchanges = tuple(
            _Exchange(r.preference, _host(r.exchange), a.addresses)
            for r, a in zip(records, found, strict=True)
            if a.addresses
        )
        if not exchanges:
            _raise_no_addresses(f"no MX host of {name} has an address", found)
        ttl = min([_rrset_ttl(answer), *(a.ttl for a in found if a.addresses)])
        return exchanges, ttl

    async def _implicit_mx(self, name: str) -> tuple[tuple[_Exchange, ...], int]:
        found = await self._addresses(name)
        if not found.addresses:
            _raise_no_addresses(f"domain {name} has no MX and no address records", [found])
        return (_Exchange(0, name, found.addresses),), found.ttl

    async def _addresses(self, host: str) -> _Addresses:
        v4, v6 = await asyncio.gather(self._query(host, "A"), self._query(host, "AAAA"))
        addresses = v4.addresses + v6.addresses
        ttls = [r.ttl for r in (v4, v6) if r.addresses]
        return _Addresses(addresses, min(ttls, default=0), v4.transient or v6.transient)

    async def _query(self, host: str, rdtype: str) -> _Addresses:
        try:
            answer = await self._resolver.resolve(host, rdtype, search=False)
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            return _Addresses((), 0, transient=False)
        except dns.exception.DNSException:
            return _Addresses((), 0, transient=True)
        return _Addresses(tuple(r.to_text() for r in answer), _rrset_ttl(answer), False)


def site_of(targets: list[Target]) -> str:
    """Return the destination "site" of a resolved domain: the key traffic is shaped by.

    The site is the registered-domain-ish suffix of the most preferred MX host, so every
    domain hosted by one provider shares it ("gmail-smtp-in.l.google.com" -> "google.com"
    for gmail.com, googlemail.com and Google Workspace domains alike). It is simply the
    last two labels, or three under a country code's usual second level ("mx.example.co.uk"
    -> "example.co.uk"); no public-suffix list is consulted.

    Raises:
        InvalidArgumentError: ``targets`` is empty.
    """
    if not targets:
        raise InvalidArgumentError("targets", "no targets to take a site from")
    labels = targets[0].host.lower().rstrip(".").split(".")
    keep = 3 if _under_cc_second_level(labels) else 2
    return ".".join(labels[-keep:])


def _under_cc_second_level(labels: list[str]) -> bool:
    return len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _CC_SECOND_LEVELS


def _normalise(domain: str) -> str:
    text = domain.strip().rstrip(".").lower()
    if not text:
        raise InvalidArgumentError("domain", "empty domain name")
    try:
        name = dns.name.from_text(text)
    except dns.exception.DNSException as exc:
        raise InvalidArgumentError("domain", f"invalid domain name {domain!r}: {exc}") from None
    return name.to_text(omit_final_dot=True)


def _mx_records(name: str, answer: dns.resolver.Answer) -> list[MX]:
    records = [r for r in answer if isinstance(r, MX)]
    usable = [r for r in records if r.exchange != dns.name.root]
    if records and not usable:
        raise _LookupFailed(f"domain {name} accepts no mail (null MX)", temporary=False)
    # A null MX mixed with real ones is a misconfiguration (RFC 7505 §3); use the real ones.
    return sorted(usable, key=lambda r: r.preference)


def _host(exchange: dns.name.Name) -> str:
    return exchange.to_text(omit_final_dot=True).lower()


def _rrset_ttl(answer: dns.resolver.Answer) -> int:
    return answer.rrset.ttl if answer.rrset is not None else 0


def _transient(what: str, exc: dns.exception.DNSException) -> _LookupFailed:
    return _LookupFailed(f"{what} failed: {type(exc).__name__}: {exc}", temporary=True)


def _raise_no_addresses(message: str, found: Iterable[_Addresses]) -> NoReturn:
    # Only when every address query was answered (no such name, no records) is the absence
    # definitive; one timed-out query means it may yet resolve.
    transient = any(a.transient for a in found)
    raise _LookupFailed(message, temporary=transient)


def _expiry(seconds: float) -> float:
    return time.monotonic() + seconds


def _targets(exchanges: Iterable[_Exchange], port: int) -> list[Target]:
    by_preference: dict[int, list[_Exchange]] = {}
    for exchange in exchanges:
        by_preference.setdefault(exchange.preference, []).append(exchange)
    targets: list[Target] = []
    for preference in sorted(by_preference):
        group = by_preference[preference]
        random.shuffle(group)
        targets.extend(Target(e.host, a, port) for e in group for a in e.addresses)
    return targets

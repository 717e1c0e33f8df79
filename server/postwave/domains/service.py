"""Sending-domain operations: add, get, list, verify, rotate, and the periodic re-check.

Every operation is tenant-scoped: a domain of another tenant is "not found". Store calls run
on worker threads (the store blocks); DNS lookups are asynchronous.

Verification moves a domain through its states:

- ``pending``: registered, its required records not all found yet;
- ``verified``: every required record found (DKIM of the signing selectors, return-path MX
  and SPF); mail from it is accepted and signed;
- ``drifted``: verified once, but a later check (``verify`` or the periodic re-check) found a
  required record missing or wrong; mail from it is refused until a check finds them again.

A lookup that fails (timeout, SERVFAIL) leaves the state as it was.

Key rotation adds a ``pending`` selector per algorithm. The active selector of that
algorithm keeps signing until a verification finds the new record published; then the new
one becomes ``active`` and the old one ``retiring``: it no longer signs, but is still
reported (and should stay published) for ``dkim_rotation_grace_days``, after which a check
moves it to ``retired``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from collections.abc import Callable, Sequence

import dns.asyncresolver

from postwave.config import Config
from postwave.domains import keys, masterkey
from postwave.domains.records import DKIM, DMARC, DnsRecord, Settings, expected
from postwave.domains.verify import ERROR, OK, RecordCheck, check_all, make_resolver
from postwave.errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from postwave.store.base import DkimSelectorRecord, SendingDomain, Store

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


@dataclasses.dataclass(frozen=True, slots=True)
class DomainView:
    """A domain, its selectors, the records to publish and what the last check found."""

    domain: SendingDomain
    selectors: tuple[DkimSelectorRecord, ...]
    records: tuple[DnsRecord, ...]
    checks: dict[tuple[str, str, str], dict[str, object]]  # (name, type, value) -> last result

    def check_of(self, record: DnsRecord) -> dict[str, object]:
        """The last check of a record (empty when never checked)."""
        return self.checks.get((record.name, record.type, record.value), {})

    @property
    def dmarc_ok(self) -> bool:
        """Whether the last check found a valid DMARC record."""
        return any(r.purpose == DMARC and self.check_of(r).get("status") == OK for r in self.records)


def normalize(name: str) -> str:
    """A domain name in lower-case ASCII (IDNA), or InvalidArgumentError."""
    text = name.strip().rstrip(".").lower()
    try:
        ascii_name = text.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidArgumentError("domain", f"{name!r} is not a valid domain name") from None
    labels = ascii_name.split(".")
    if (len(labels) < 2 or len(ascii_name) > 253 or not all(_LABEL.fullmatch(label) for label in labels)
            or labels[-1].isdigit()):
        raise InvalidArgumentError("domain", f"{name!r} is not a domain name like example.com")
    return ascii_name


class DomainService:
    """Domain operations over a store and DNS."""

    def __init__(self, store: Store, config: Config, resolver: dns.asyncresolver.Resolver | None = None, *,
                 on_change: Callable[[str, str], None] | None = None) -> None:
        self.store = store
        self.config = config
        self.settings = Settings.of(config)
        self._resolver = resolver
        self.on_change = on_change  # (tenant_id, domain): acceptance forgets its cached view

    @property
    def resolver(self) -> dns.asyncresolver.Resolver:
        """The resolver, made on first use (reading /etc/resolv.conf only when a check needs it)."""
        if self._resolver is None:
            self._resolver = make_resolver(self.config)
        return self._resolver

    async def add(self, tenant_id: str, name: str, algorithm_names: Sequence[str] = ()) -> DomainView:
        """Register a domain with new keys (RSA-2048 and Ed25519 by default)."""
        domain_name = normalize(name)
        chosen = keys.algorithms(algorithm_names)
        box = masterkey.load(self.config)
        now = time.time()
        domain = SendingDomain(
            tenant_id=tenant_id, domain=domain_name, state="pending",
            return_path=f"{self.config.bounce_subdomain}.{domain_name}",
            tracking_host=f"{self.config.tracking_subdomain}.{domain_name}", created=now,
        )
        selectors = await _new_selectors(domain_name, chosen, box, now)
        await asyncio.to_thread(self.store.create_domain, domain, selectors)
        self._changed(domain)
        return self._view(domain, selectors)

    async def get(self, tenant_id: str, name: str) -> DomainView:
        """One of the tenant's domains."""
        domain, selectors = await self._load(tenant_id, name)
        return self._view(domain, selectors)

    async def list_domains(self, tenant_id: str) -> list[DomainView]:
        """The tenant's domains."""
        domains = await asyncio.to_thread(self.store.list_domains, tenant_id)
        views = []
        for domain in domains:
            selectors = await asyncio.to_thread(self.store.list_selectors, domain.domain)
            views.append(self._view(domain, selectors))
        return views

    async def verify(self, tenant_id: str, name: str) -> DomainView:
        """Check the records against DNS now, and update states."""
        domain, selectors = await self._load(tenant_id, name)
        return await self._verify(domain, selectors)

    async def rotate(self, tenant_id: str, name: str, algorithm_names: Sequence[str] = ()) -> DomainView:
        """Add a new pending selector per algorithm (default: those of the active selectors)."""
        domain, selectors = await self._load(tenant_id, name)
        if domain.state != "verified":
            raise FailedPreconditionError(
                f"{domain.domain} is {domain.state}: verify it before rotating its keys", field="domain")
        pending = [s.selector for s in selectors if s.state == "pending"]
        if pending:
            raise FailedPreconditionError(
                f"a rotation of {domain.domain} is in progress: publish selector(s) {', '.join(pending)} and "
                "verify the domain first", field="domain")
        active = [s.algorithm for s in selectors if s.state == "active"]
        short = {v: k for k, v in keys.ALGORITHMS.items()}
        chosen = keys.algorithms(algorithm_names or [short[a] for a in active])
        box = masterkey.load(self.config)
        now = time.time()
        fresh = await _new_selectors(domain.domain, chosen, box, now)
        await asyncio.to_thread(self.store.put_selectors, fresh)
        return self._view(domain, [*selectors, *fresh])

    async def recheck(self, *, now: float | None = None) -> list[DomainView]:
        """Re-verify every verified or drifted domain not checked for ``domain_recheck_seconds``;
        returns the domains whose state changed (verified -> drifted, or back)."""
        now = time.time() if now is None else now
        domains = await asyncio.to_thread(self.store.list_domains, "")
        changed = []
        for domain in domains:
            if domain.state == "pending" or now - domain.checked < self.config.domain_recheck_seconds:
                continue
            selectors = await asyncio.to_thread(self.store.list_selectors, domain.domain)
            view = await self._verify(domain, selectors)
            if view.domain.state != domain.state:
                changed.append(view)
        return changed

    # steps

    async def _load(self, tenant_id: str, name: str) -> tuple[SendingDomain, list[DkimSelectorRecord]]:
        domain_name = normalize(name)
        domain = await asyncio.to_thread(self.store.get_domain, domain_name)
        if domain is None or domain.tenant_id != tenant_id:
            raise NotFoundError(f"sending domain {domain_name!r} not found; add it first")
        selectors = await asyncio.to_thread(self.store.list_selectors, domain_name)
        if not any(s.state in ("pending", "active") for s in selectors):
            # Registration was cut short before its keys were written (CQL writes them after
            # claiming the name): give the domain keys now.
            fresh = await _new_selectors(domain_name, keys.DEFAULT_ALGORITHMS, masterkey.load(self.config), time.time())
            await asyncio.to_thread(self.store.put_selectors, fresh)
            selectors += fresh
        return domain, selectors

    async def _verify(self, domain: SendingDomain, selectors: list[DkimSelectorRecord]) -> DomainView:
        records = expected(domain, selectors, self.settings)
        checks = await check_all(self.resolver, records)
        now = time.time()
        new_selectors = transition_selectors(selectors, checks, now=now,
                                             grace=self.config.dkim_rotation_grace_days * 86400)
        records = expected(domain, new_selectors, self.settings)
        by_key = {(c.record.name, c.record.type, c.record.value): c for c in checks}
        # The same lookups, seen through the records as they are after the selector changes
        # (a selector that became active is now required, a retiring one no longer is).
        kept = [dataclasses.replace(by_key[(r.name, r.type, r.value)], record=r)
                for r in records if (r.name, r.type, r.value) in by_key]
        new_domain = dataclasses.replace(
            domain, state=domain_state(domain, records, kept), checked=now, report=report_json(kept),
        )
        if new_domain.state == "verified":
            new_domain = dataclasses.replace(new_domain, verified=now)
        changed = [s for s, old in zip(new_selectors, selectors) if s != old]
        if changed:
            await asyncio.to_thread(self.store.put_selectors, changed)
        await asyncio.to_thread(self.store.update_domain, new_domain)
        self._changed(new_domain)
        return self._view(new_domain, new_selectors)

    def _changed(self, domain: SendingDomain) -> None:
        if self.on_change is not None:
            self.on_change(domain.tenant_id, domain.domain)

    def _view(self, domain: SendingDomain, selectors: Sequence[DkimSelectorRecord]) -> DomainView:
        checks = {(c["name"], c["type"], c["value"]): c for c in json.loads(domain.report or "[]")}
        return DomainView(domain, tuple(selectors), tuple(expected(domain, selectors, self.settings)), checks)


async def _new_selectors(domain: str, algorithms: Sequence[str], box: masterkey.MasterKey,
                         now: float) -> list[DkimSelectorRecord]:
    """New pending selectors; RSA key generation takes a while, so off the event loop."""
    return await asyncio.to_thread(
        lambda: [keys.new_selector(domain, a, box, now=now, state="pending") for a in algorithms])


def transition_selectors(selectors: Sequence[DkimSelectorRecord], checks: Sequence[RecordCheck], *,
                         now: float, grace: float) -> list[DkimSelectorRecord]:
    """Selector states after a check (same order): a pending selector whose record was found
    becomes active and retires the active selector of its algorithm; a retiring selector
    past its grace period becomes retired."""
    published = {c.record.selector for c in checks if c.record.purpose == DKIM and c.status == OK}
    promoted = {s.algorithm for s in selectors if s.state == "pending" and s.selector in published}
    result = []
    for s in selectors:
        if s.state == "pending" and s.selector in published:
            s = dataclasses.replace(s, state="active", changed=now)
        elif s.state == "active" and s.algorithm in promoted:
            s = dataclasses.replace(s, state="retiring", changed=now, retire_after=now + grace)
        elif s.state == "retiring" and s.retire_after <= now:
            s = dataclasses.replace(s, state="retired", changed=now)
        result.append(s)
    return result


def domain_state(domain: SendingDomain, records: Sequence[DnsRecord], checks: Sequence[RecordCheck]) -> str:
    """verified when every required record is ok; a DNS error alone changes nothing."""
    required = [c for c in checks if c.record.required]
    if len(required) == sum(r.required for r in records) and all(c.status == OK for c in required):
        return "verified"
    if all(c.status in (OK, ERROR) for c in required):
        return domain.state
    return "drifted" if domain.verified else "pending"


def report_json(checks: Sequence[RecordCheck]) -> str:
    """The stored form of a check's results."""
    return json.dumps([
        {"name": c.record.name, "type": c.record.type, "value": c.record.value, "purpose": c.record.purpose,
         "required": c.record.required, "status": c.status, "found": list(c.found), "problem": c.problem}
        for c in checks
    ])


async def recheck_domains(store: Store, config: Config) -> list[str]:
    """The periodic re-check, for the scheduler: re-verify the domains that are due and
    return the names of those whose state changed (each a drift or a recovery)."""
    changed = await DomainService(store, config).recheck()
    return [f"{v.domain.domain}: {v.domain.state}" for v in changed]

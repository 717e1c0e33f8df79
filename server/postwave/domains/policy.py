"""The acceptance rule for From domains (a guard step of the acceptance stage).

The rule applies to a tenant once it has registered a sending domain, or to every tenant
with ``require_verified_domain``. It then asks that the From domain (or a parent of it, which
DKIM and DMARC align with under relaxed alignment) be a *verified* domain of the tenant. Bulk
mail also needs a valid DMARC record on that domain (found by the last verification), and a
one-click unsubscribe URL (an https ``tracking_base_url``; RFC 8058).

Regardless of the rule, a From domain registered by *another* tenant is always refused.

Lookups are cached for a few seconds per process, so a change made through another API
process is seen within ``CACHE_SECONDS`` (the API process that made it forgets its cache at
once); a refusal is a FAILED_PRECONDITION naming the field ``from``.
"""

from __future__ import annotations

import asyncio
import json

from postwave.config import Config
from postwave.domains.records import DMARC
from postwave.errors import FailedPreconditionError
from postwave.lookups import Lookups
from postwave.render.addresses import domain_of, parse_address
from postwave.store.base import SendingDomain, Store

CACHE_SECONDS = 5.0


def candidates(domain: str) -> list[str]:
    """The domain and its parents with at least two labels, longest first."""
    labels = domain.lower().rstrip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


class SenderPolicy:
    """Checks the From domain of a request against the tenant's sending domains."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.require_all = bool(config.require_verified_domain)
        self.one_click = config.tracking_base_url.startswith("https://")
        self._domains: Lookups[str, SendingDomain | None] = Lookups(CACHE_SECONDS)
        self._tenants: Lookups[str, bool] = Lookups(CACHE_SECONDS)

    async def check(self, tenant_id: str, from_header: str, lane: str) -> None:
        """Raise FailedPreconditionError when the tenant may not send from this domain."""
        from_domain = domain_of(parse_address(from_header, field="from")[1])
        owned = await self._covering(from_domain)
        if owned is not None and owned.tenant_id != tenant_id:
            raise FailedPreconditionError(
                f"{from_domain} is a sending domain of another tenant", field="from")
        if owned is None and not (self.require_all or await self._has_domains(tenant_id)):
            return
        if owned is None:
            raise FailedPreconditionError(
                f"{from_domain} is not a sending domain of this tenant: add and verify it "
                f"(`postwave domains add {from_domain}`) before sending from it", field="from")
        if owned.state != "verified":
            raise FailedPreconditionError(
                f"sending domain {owned.domain} is {owned.state}, not verified{_problems(owned)}; publish its "
                f"records and run `postwave domains verify {owned.domain}`", field="from")
        if lane == "bulk":
            self._check_bulk(owned)

    def _check_bulk(self, owned: SendingDomain) -> None:
        if not _dmarc_ok(owned):
            raise FailedPreconditionError(
                f"bulk mail needs a DMARC policy: publish a TXT record at _dmarc.{owned.domain} and verify "
                f"{owned.domain} again", field="from")
        if not self.one_click:
            raise FailedPreconditionError(
                "bulk mail needs one-click unsubscribe (RFC 8058), which needs an https tracking_base_url",
                field="stream")

    def forget(self, tenant_id: str, domain: str) -> None:
        """Drop cached lookups after a change made in this process (others expire in seconds)."""
        self._tenants.forget(tenant_id)
        for name in candidates(domain):
            self._domains.forget(name)

    async def _covering(self, from_domain: str) -> SendingDomain | None:
        for name in candidates(from_domain):
            found = await self._domain(name)
            if found is not None:
                return found
        return None

    async def _domain(self, name: str) -> SendingDomain | None:
        return await self._domains.get(name, lambda: asyncio.to_thread(self.store.get_domain, name))

    async def _has_domains(self, tenant_id: str) -> bool:
        async def lookup() -> bool:
            return bool(await asyncio.to_thread(self.store.list_domains, tenant_id))

        return await self._tenants.get(tenant_id, lookup)


def _report(domain: SendingDomain) -> list[dict[str, object]]:
    return json.loads(domain.report or "[]")  # type: ignore[no-any-return]


def _dmarc_ok(domain: SendingDomain) -> bool:
    return any(c.get("purpose") == DMARC and c.get("status") == "ok" for c in _report(domain))


def _problems(domain: SendingDomain) -> str:
    bad = [f"{c['name']} {c['type']} {c['status']}" for c in _report(domain)
           if c.get("required") and c.get("status") != "ok"]
    return f" ({'; '.join(bad[:4])})" if bad else ""

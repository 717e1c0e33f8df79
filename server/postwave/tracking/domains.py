"""Tenant tracking hosts in delivered mail: the base URL of a message's tracking links.

A sending domain registers the tracking host ``<tracking_subdomain>.<domain>`` (a CNAME to
the shared tracking host, see :mod:`postwave.domains.records`). Once a verification of the
domain found that CNAME in place, the tenant's mail links to
``<tracking_domain_scheme>://<tracking host>/...`` -- wrapped clicks, the open pixel, and the
unsubscribe links -- instead of ``tracking_base_url``:

1. the tracking host of the From domain, or of its registered parent (the domain DKIM and
   DMARC align with), when that domain is the tenant's and its CNAME is verified;
2. else the first (by name) verified tracking host among the tenant's domains;
3. else the shared ``tracking_base_url``.

The tracker answers on those hosts for the tenant's tokens only (:mod:`postwave.tracking.hosts`).
The answer is cached per (tenant, From domain) for ``CACHE_SECONDS`` in each worker, so a
verification reaches delivered mail within that time, at one store read per interval.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from postwave.config import Config
from postwave.domains.policy import candidates
from postwave.domains.records import TRACKING
from postwave.domains.verify import OK
from postwave.errors import PostwaveError
from postwave.lookups import Lookups
from postwave.render.addresses import domain_of, parse_address
from postwave.store.base import SendingDomain, Store

CACHE_SECONDS = 30.0
CACHE_SIZE = 4096

Load = Callable[..., Awaitable[Any]]


def tracking_host_verified(domain: SendingDomain) -> bool:
    """Whether the domain's last verification found its tracking CNAME in place."""
    try:
        checks = json.loads(domain.report or "[]")
    except ValueError:
        return False
    return any(isinstance(c, dict) and c.get("purpose") == TRACKING and c.get("status") == OK
               and str(c.get("name", "")).lower() == domain.tracking_host.lower() for c in checks)


class TrackingHosts:
    """Per-worker cache of the tracking base URL of each (tenant, From domain)."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.shared = config.tracking_base_url.rstrip("/")
        self.scheme = config.tracking_domain_scheme
        self._cache: Lookups[tuple[str, str], str] = Lookups(CACHE_SECONDS, CACHE_SIZE)

    async def base_url(self, tenant_id: str, from_header: str, load: Load) -> str:
        """The base URL of the tracking links of a tenant's message from ``from_header``;
        ``load(fn, *args)`` runs a blocking store call off the event loop."""
        try:
            from_domain = domain_of(parse_address(from_header, field="from")[1])
        except PostwaveError:
            from_domain = ""
        async def lookup() -> str:
            host = await self._host(tenant_id, from_domain, load)
            return f"{self.scheme}://{host}" if host else self.shared

        return await self._cache.get((tenant_id, from_domain), lookup)

    async def _host(self, tenant_id: str, from_domain: str, load: Load) -> str:
        for name in candidates(from_domain) if from_domain else ():
            domain = await load(self.store.get_domain, name)
            if domain is not None:
                if domain.tenant_id == tenant_id and tracking_host_verified(domain):
                    return domain.tracking_host.lower()
                break  # the registered domain covering the From address decides; else any of the tenant's
        owned = await load(self.store.list_domains, tenant_id)
        verified = sorted(d.tracking_host.lower() for d in owned if tracking_host_verified(d))
        return verified[0] if verified else ""

"""Host header routing: the shared tracking host serves every tenant, a tenant's own
tracking host (``<tracking_subdomain>.<sending domain>``, a CNAME to the shared one) only
that tenant's messages."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from postwave.config import Config
from postwave.lookups import Lookups
from postwave.store.base import Store

CACHE_SECONDS = 60.0
ANY_TENANT = ""


class HostRouter:
    """Which tenant a Host header stands for."""

    def __init__(self, config: Config, store: Store) -> None:
        self.store = store
        self.shared = (urlsplit(config.tracking_base_url).hostname or "").lower()
        self.label = config.tracking_subdomain.lower()
        self._cache: Lookups[str, str | None] = Lookups(CACHE_SECONDS)

    async def tenant_for(self, host_header: str) -> str | None:
        """ANY_TENANT for the shared host, a tenant id for a tenant's host, None for any other host."""
        host = _hostname(host_header)
        if not host:
            return None
        if host == self.shared:
            return ANY_TENANT
        return await self._cache.get(host, lambda: self._lookup(host))

    async def _lookup(self, host: str) -> str | None:
        label, _, domain = host.partition(".")
        if label != self.label or not domain:
            return None
        found = await asyncio.to_thread(self.store.get_domain, domain)
        if found is None or found.tracking_host.lower() != host:
            return None
        return found.tenant_id


def _hostname(header: str) -> str:
    """The host of a Host header, lower case, without port or trailing dot."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0].rstrip(".") if header.count(":") <= 1 else ""

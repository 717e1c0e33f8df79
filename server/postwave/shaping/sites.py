"""Destination sites: which receiving provider a recipient domain's mail goes to.

Receivers throttle by *their* infrastructure, not by recipient domain: gmail.com,
googlemail.com and every Google Workspace domain land on the same Google MX fleet and
share one reputation and one set of limits. So a domain's site comes from its most
preferred MX host: a host under one of a named site's ``mx`` domains belongs to that
site (``gmail-smtp-in.l.google.com`` -> ``google``); any other host gives a site named
after its registered domain (``mx1.example.net`` -> ``example.net``) with the default
limits.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import sys

from postwave.mta.mx import Target, site_of
from postwave.shaping.policy import Limits, ShapingPolicy

__all__ = ["Site", "SiteMap"]

# Distinct MX hosts remembered; past it the map starts again (hosts are few in practice).
_CACHE_SIZE = 20_000


@dataclasses.dataclass(frozen=True, slots=True)
class Site:
    """A destination site and its per source IP limits."""

    name: str
    limits: Limits


class SiteMap:
    """Maps resolved targets to their :class:`Site` (memoised per MX host)."""

    def __init__(self, policy: ShapingPolicy) -> None:
        self._rules = sorted(((d, rule) for rule in policy.sites for d in rule.mx), key=lambda x: -len(x[0]))
        self._defaults = policy.defaults
        self._by_host: dict[str, Site] = {}
        self._sites: dict[str, Site] = {}

    def site_for(self, targets: list[Target]) -> Site:
        """The site of a domain whose targets (most preferred first) are ``targets``."""
        host = targets[0].host
        site = self._by_host.get(host)
        if site is None:
            if len(self._by_host) >= _CACHE_SIZE:
                self._by_host.clear()
            site = self._by_host[host] = self._classify(host.lower().rstrip("."), targets)
        return site

    def _classify(self, host: str, targets: list[Target]) -> Site:
        for domain, rule in self._rules:
            if host == domain or host.endswith("." + domain):
                return self._site(rule.name, rule.limits)
        if _is_address(host):  # a smart host or route_all_to given as an address
            return self._site(host, self._defaults)
        return self._site(site_of(targets), self._defaults)

    def _site(self, name: str, limits: Limits) -> Site:
        # One Site (and one interned name) per site: shaping keys are then the same
        # objects every time, which the compiled token buckets look up by identity.
        site = self._sites.get(name)
        if site is None:
            site = self._sites[name] = Site(sys.intern(name), limits)
        return site


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True

"""The DNS records a sending domain publishes: pure functions of the domain and settings.

For ``example.com`` with the default settings:

======================================  =====  ==========================================  ========
name                                    type   value                                       required
======================================  =====  ==========================================  ========
<selector>._domainkey.example.com       TXT    v=DKIM1; k=rsa|ed25519; p=<public key>      signing selectors
pw-bounces.example.com                  MX     10 <feedback_mx_host>                       yes
pw-bounces.example.com                  TXT    v=spf1 include:<spf_include> -all           yes
example.com                             TXT    v=spf1 include:<spf_include> ~all           no
_dmarc.example.com                      TXT    v=DMARC1; p=none; ...                       bulk mail
links.example.com                       CNAME  <host of tracking_base_url>                 no
======================================  =====  ==========================================  ========

The return-path domain is the MAIL FROM of every message (VERP), so SPF is evaluated on it
and DMARC aligns with it (relaxed alignment: a subdomain of the From domain); its MX brings
bounces to ``postwave feedback``. The SPF include at the apex covers mail the tenant sends
without a return path of ours; it is recommended, not required.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from urllib.parse import urlsplit

from postwave.config import Config
from postwave.domains.keys import dns_value
from postwave.store.base import DkimSelectorRecord, SendingDomain

DKIM, RETURN_PATH_MX, RETURN_PATH_SPF, SPF, DMARC, TRACKING = (
    "dkim", "return_path_mx", "return_path_spf", "spf", "dmarc", "tracking")
#: Selector states whose record is published (and so checked).
PUBLISHED_STATES = ("pending", "active", "retiring")


@dataclasses.dataclass(frozen=True, slots=True)
class Settings:
    """The platform-wide parts of the records (from configuration)."""

    bounce_subdomain: str
    mx_host: str
    spf_include: str
    tracking_subdomain: str
    tracking_target: str

    @classmethod
    def of(cls, config: Config) -> Settings:
        """Settings from configuration, with the documented defaults."""
        return cls(
            bounce_subdomain=config.bounce_subdomain,
            mx_host=(config.feedback_mx_host or config.helo_name).rstrip(".").lower(),
            spf_include=(config.spf_include or f"spf.{config.helo_name}").rstrip(".").lower(),
            tracking_subdomain=config.tracking_subdomain,
            tracking_target=(urlsplit(config.tracking_base_url).hostname or "").lower(),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class DnsRecord:
    """One record to publish; ``required`` ones decide whether the domain is verified."""

    purpose: str
    name: str
    type: str  # TXT, MX or CNAME
    value: str
    required: bool
    selector: str = ""  # dkim records: which selector
    note: str = ""


def dmarc_value(domain: str) -> str:
    """A starting DMARC policy: monitor (p=none) with aggregate reports to the domain."""
    return f"v=DMARC1; p=none; adkim=r; aspf=r; rua=mailto:dmarc-reports@{domain}"


def signing_selectors(selectors: Sequence[DkimSelectorRecord]) -> list[DkimSelectorRecord]:
    """The selectors a verification requires: the active ones, or before the first
    verification (none active yet) the pending ones that will become active."""
    active = [s for s in selectors if s.state == "active"]
    return active or [s for s in selectors if s.state == "pending"]


def expected(domain: SendingDomain, selectors: Sequence[DkimSelectorRecord], settings: Settings) -> list[DnsRecord]:
    """Every record to publish for ``domain``, required ones first."""
    required = {s.selector for s in signing_selectors(selectors)}
    records = [
        DnsRecord(DKIM, f"{s.selector}._domainkey.{domain.domain}", "TXT", dns_value(s), s.selector in required,
                  selector=s.selector, note=_dkim_note(s))
        for s in selectors if s.state in PUBLISHED_STATES
    ]
    records += [
        DnsRecord(RETURN_PATH_MX, domain.return_path, "MX", f"10 {settings.mx_host}", True,
                  note="brings bounces (DSNs) to the feedback receiver"),
        DnsRecord(RETURN_PATH_SPF, domain.return_path, "TXT", f"v=spf1 include:{settings.spf_include} -all", True,
                  note="SPF of the MAIL FROM domain"),
        DnsRecord(SPF, domain.domain, "TXT", f"v=spf1 include:{settings.spf_include} ~all", False,
                  note="add include:" + settings.spf_include + " to an existing SPF record instead of a second one"),
        DnsRecord(DMARC, f"_dmarc.{domain.domain}", "TXT", dmarc_value(domain.domain), False,
                  note="required for the bulk stream; any valid DMARC policy is accepted"),
    ]
    if settings.tracking_target:
        records.append(DnsRecord(TRACKING, domain.tracking_host, "CNAME", settings.tracking_target, False,
                                 note="branded click and open tracking links"))
    return sorted(records, key=lambda r: not r.required)


def _dkim_note(selector: DkimSelectorRecord) -> str:
    return {
        "pending": "new key: publish it; it signs once verified",
        "active": "signing key",
        "retiring": "rotated out: keep it published until it retires (mail signed with it may be in transit)",
    }.get(selector.state, "")

"""CQL tables and statements of sending domains, DKIM selectors and kept feedback reports.

Owned by the deliverability feature; the schema is CQL migration 30 (deliverability owns
30-39). Partition keys:

- ``sending_domains``: the domain name, so "is this domain registered, and by whom" is one
  partition read, and registration is an ``IF NOT EXISTS`` claim of the name.
- ``sending_domains_by_tenant``: (tenant_id) -> domain names; a tenant has a handful.
- ``dkim_selectors``: (domain) -> selectors; a few per rotation, retired ones included.
- ``feedback_reports``: (UTC day) with a 30-day TTL; rows are kept reports only (the
  receiver keeps what it cannot use), so a day stays small unless under attack, and the
  TTL bounds the total.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from cassandra.cluster import Session

from postwave.errors import AlreadyExistsError
from postwave.store.base import DkimSelectorRecord, FeedbackReport, SendingDomain
from postwave.store.cql_prepared import PreparedCache
from postwave.store.cql_session import CallList, Runner

REPORT_TTL_DAYS = 30

SCHEMA_30: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS {ks}.sending_domains (
         domain text PRIMARY KEY, tenant_id text, state text, return_path text, tracking_host text,
         created double, verified double, checked double, report text)""",
    """CREATE TABLE IF NOT EXISTS {ks}.sending_domains_by_tenant (
         tenant_id text, domain text, PRIMARY KEY ((tenant_id), domain))""",
    """CREATE TABLE IF NOT EXISTS {ks}.dkim_selectors (
         domain text, selector text, algorithm text, public_key text, private_key blob, state text,
         created double, changed double, retire_after double, PRIMARY KEY ((domain), selector))""",
    """CREATE TABLE IF NOT EXISTS {ks}.feedback_reports (
         day int, received double, report_id text, status text, reason text, mail_from text,
         rcpt_to text, raw blob, PRIMARY KEY ((day), received, report_id))
       WITH CLUSTERING ORDER BY (received DESC, report_id ASC)
       AND default_time_to_live = """ + str(REPORT_TTL_DAYS * 86400),
)

_DOMAIN = "domain, tenant_id, state, return_path, tracking_host, created, verified, checked, report"
_SELECTOR = "domain, selector, algorithm, public_key, private_key, state, created, changed, retire_after"

_STATEMENTS: dict[str, tuple[str, bool]] = {
    "domain_claim": (f"INSERT INTO {{ks}}.sending_domains ({_DOMAIN}) VALUES (?,?,?,?,?,?,?,?,?) IF NOT EXISTS",
                     False),
    "domain_put": (f"INSERT INTO {{ks}}.sending_domains ({_DOMAIN}) VALUES (?,?,?,?,?,?,?,?,?)", True),
    "domain_get": ("SELECT * FROM {ks}.sending_domains WHERE domain = ?", True),
    "domain_all": ("SELECT * FROM {ks}.sending_domains", True),
    "domain_by_tenant_put": ("INSERT INTO {ks}.sending_domains_by_tenant (tenant_id, domain) VALUES (?, ?)", True),
    "domains_of_tenant": ("SELECT domain FROM {ks}.sending_domains_by_tenant WHERE tenant_id = ?", True),
    "selector_put": (f"INSERT INTO {{ks}}.dkim_selectors ({_SELECTOR}) VALUES (?,?,?,?,?,?,?,?,?)", True),
    "selectors_of": ("SELECT * FROM {ks}.dkim_selectors WHERE domain = ?", True),
    "report_put": (("INSERT INTO {ks}.feedback_reports (day, received, report_id, status, reason, mail_from,"
                    " rcpt_to, raw) VALUES (?,?,?,?,?,?,?,?)"), True),
    "reports_of_day": ("SELECT * FROM {ks}.feedback_reports WHERE day = ? LIMIT ?", True),
}


class DeliverabilityTables(PreparedCache):
    """The deliverability part of the CQL store (CqlStore delegates to it)."""

    def __init__(self, session: Session, keyspace: str, run: Runner) -> None:
        self.run = run
        super().__init__(session, keyspace, _STATEMENTS)

    def create_domain(self, domain: SendingDomain, selectors: Sequence[DkimSelectorRecord]) -> None:
        """Claim the name (LWT), then write the tenant index and the selectors.

        The claim comes first so that a losing tenant never writes selector rows under a name
        another tenant owns. A crash after the claim leaves a domain without selectors, which
        the domain service notices and repairs (it generates keys for a domain that has none).
        """
        applied, _ = self.run.applied("registering a sending domain", self["domain_claim"], _domain_params(domain))
        if not applied:
            raise AlreadyExistsError(f"the sending domain {domain.domain!r} is already registered")
        calls = CallList(self.run)
        calls.add(self["domain_by_tenant_put"], (domain.tenant_id, domain.domain))
        for s in selectors:
            calls.add(self["selector_put"], _selector_params(s))
        calls.run("writing DKIM selectors")

    def get_domain(self, domain: str) -> SendingDomain | None:
        """One domain, or None."""
        row = self.run.one("reading a sending domain", self["domain_get"], (domain,))
        return _domain(row) if row else None

    def list_domains(self, tenant_id: str) -> list[SendingDomain]:
        """A tenant's domains ("" = all), by name."""
        if not tenant_id:
            rows = list(self.run.rows("listing sending domains", self["domain_all"], ()))
            return sorted((_domain(r) for r in rows), key=lambda d: d.domain)
        names = [r["domain"] for r in self.run.rows("listing sending domains", self["domains_of_tenant"],
                                                      (tenant_id,))]
        found = self.run.all("reading sending domains", [(self["domain_get"], (n,)) for n in names])
        return [_domain(rows[0]) for rows in found if rows and rows[0]["tenant_id"] == tenant_id]

    def update_domain(self, domain: SendingDomain) -> None:
        """Replace a domain's row."""
        self.run.all("updating a sending domain", [(self["domain_put"], _domain_params(domain))])

    def list_selectors(self, domain: str) -> list[DkimSelectorRecord]:
        """A domain's selectors, oldest first."""
        rows = self.run.rows("reading DKIM selectors", self["selectors_of"], (domain,))
        return sorted((_selector(r) for r in rows), key=lambda s: (s.created, s.selector))

    def put_selectors(self, selectors: Sequence[DkimSelectorRecord]) -> None:
        """Insert or replace selectors."""
        self.run.all("writing DKIM selectors", [(self["selector_put"], _selector_params(s)) for s in selectors])

    def keep_report(self, report: FeedbackReport) -> None:
        """Keep one report in its day's partition."""
        self.run.all("keeping a feedback report", [(self["report_put"], (
            int(report.received // 86400), report.received, report.report_id, report.status, report.reason,
            report.mail_from, report.rcpt_to, report.raw,
        ))])

    def list_reports(self, limit: int) -> list[FeedbackReport]:
        """Newest first, day by day back over the retention."""
        found: list[FeedbackReport] = []
        today = int(time.time() // 86400)
        for day in range(today, today - REPORT_TTL_DAYS - 1, -1):
            rows = self.run.rows("reading feedback reports", self["reports_of_day"], (day, limit - len(found)))
            found.extend(FeedbackReport(r["report_id"], r["received"], r["status"], r["reason"] or "",
                                        r["mail_from"] or "", r["rcpt_to"] or "", r["raw"] or b"") for r in rows)
            if len(found) >= limit:
                break
        return found


def _domain_params(d: SendingDomain) -> tuple[Any, ...]:
    return (d.domain, d.tenant_id, d.state, d.return_path, d.tracking_host, d.created, d.verified, d.checked,
            d.report)


def _domain(row: dict[str, Any]) -> SendingDomain:
    return SendingDomain(row["tenant_id"], row["domain"], row["state"], row["return_path"], row["tracking_host"],
                         row["created"], row["verified"] or 0.0, row["checked"] or 0.0, row["report"] or "")


def _selector_params(s: DkimSelectorRecord) -> tuple[Any, ...]:
    return (s.domain, s.selector, s.algorithm, s.public_key, s.private_key, s.state, s.created, s.changed,
            s.retire_after)


def _selector(row: dict[str, Any]) -> DkimSelectorRecord:
    return DkimSelectorRecord(row["domain"], row["selector"], row["algorithm"], row["public_key"],
                              row["private_key"], row["state"], row["created"], row["changed"] or 0.0,
                              row["retire_after"] or 0.0)

"""The sending-domain RPCs of AdminService (scope admin), mixed into AdminServicer."""

from __future__ import annotations

from typing import Any

from postwave.api.auth import Principal
from postwave.api.convert import timestamp
from postwave.api.rpc import rpc
from postwave.domains.service import DomainService, DomainView
from postwave.errors import FailedPreconditionError
from postwave.v1 import admin_pb2


def sending_domain(view: DomainView) -> admin_pb2.SendingDomain:
    """The API message of a domain."""
    d = view.domain
    message = admin_pb2.SendingDomain(
        domain=d.domain, state=d.state, return_path_domain=d.return_path, tracking_host=d.tracking_host,
        created=timestamp(d.created),
    )
    if d.verified:
        message.verified.CopyFrom(timestamp(d.verified))
    if d.checked:
        message.checked.CopyFrom(timestamp(d.checked))
    for r in view.records:
        found = view.check_of(r)
        message.records.add(
            purpose=r.purpose, name=r.name, type=r.type, value=r.value, required=r.required,
            status=str(found.get("status", "")), found=[str(f) for f in found.get("found", [])],  # type: ignore[attr-defined]
            problem=str(found.get("problem", "")), note=r.note, selector=r.selector,
        )
    for s in view.selectors:
        selector = message.selectors.add(selector=s.selector, algorithm=s.algorithm, state=s.state,
                                         created=timestamp(s.created))
        if s.retire_after:
            selector.retire_after.CopyFrom(timestamp(s.retire_after))
    return message


class SendingDomainRpcs:
    """AddSendingDomain, ListSendingDomains, GetSendingDomain, VerifySendingDomain, RotateDkimKeys."""

    domains: DomainService | None

    def _domains(self) -> DomainService:
        if self.domains is None:
            raise FailedPreconditionError("sending domains are not available in this process")
        return self.domains

    @rpc("admin")
    async def AddSendingDomain(self, who: Principal, request: admin_pb2.AddSendingDomainRequest,
                               context: Any) -> admin_pb2.SendingDomain:
        """Register a domain and generate its DKIM keys."""
        return sending_domain(await self._domains().add(who.tenant_id, request.domain, list(request.algorithms)))

    @rpc("admin")
    async def ListSendingDomains(self, who: Principal, request: Any, context: Any) -> admin_pb2.ListSendingDomainsResponse:
        """The tenant's domains."""
        views = await self._domains().list_domains(who.tenant_id)
        return admin_pb2.ListSendingDomainsResponse(domains=[sending_domain(v) for v in views])

    @rpc("admin")
    async def GetSendingDomain(self, who: Principal, request: admin_pb2.GetSendingDomainRequest,
                               context: Any) -> admin_pb2.SendingDomain:
        """One domain with its records and the last check."""
        return sending_domain(await self._domains().get(who.tenant_id, request.domain))

    @rpc("admin")
    async def VerifySendingDomain(self, who: Principal, request: admin_pb2.VerifySendingDomainRequest,
                                  context: Any) -> admin_pb2.SendingDomain:
        """Check the records against DNS now."""
        return sending_domain(await self._domains().verify(who.tenant_id, request.domain))

    @rpc("admin")
    async def RotateDkimKeys(self, who: Principal, request: admin_pb2.RotateDkimKeysRequest,
                             context: Any) -> admin_pb2.SendingDomain:
        """Start a key rotation."""
        return sending_domain(await self._domains().rotate(who.tenant_id, request.domain, list(request.algorithms)))

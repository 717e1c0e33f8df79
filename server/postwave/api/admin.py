"""AdminService: tenants (operator keys), a tenant's keys and templates (scope admin)."""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import Any

from postwave.api import convert, keys
from postwave.api.auth import Authenticator, Principal
from postwave import config as config_mod
from postwave.api.rpc import Servicer, rpc
from postwave.breakers.policy import BreakerPolicy
from postwave.breakers.rpc import BreakerRpcs
from postwave.domains.rpc import SendingDomainRpcs
from postwave.domains.service import DomainService
from postwave.errors import InvalidArgumentError, NotFoundError, PermissionDeniedError
from postwave.pipeline.compose import render
from postwave.pipeline.validate import substitutions
from postwave.render.templates import TemplateEngine
from postwave.store.base import Store, TemplateRecord, Tenant
from postwave.suppression.rpc import SuppressionRpcs
from postwave.tracking.rpc import TrackingAdmin, TrackingRpcs
from postwave.v1 import admin_pb2, send_pb2


def new_tenant(name: str, rate_per_second: float = 0.0, daily_quota: int = 0, *, operator: bool = False) -> Tenant:
    """A validated tenant record with a fresh id."""
    if not name or len(name) > 128 or any(c in name for c in "\r\n\x00"):
        raise InvalidArgumentError("name", "must be 1-128 characters without CR, LF or NUL")
    if rate_per_second < 0 or daily_quota < 0:
        raise InvalidArgumentError("rate_per_second", "rates and quotas must be >= 0 (0 = unlimited)")
    return Tenant("t_" + secrets.token_hex(8), name, rate_per_second, daily_quota, time.time(), operator)


class AdminServicer(SendingDomainRpcs, TrackingRpcs, SuppressionRpcs, BreakerRpcs, Servicer):
    """Administration RPCs (the sending-domain ones live in postwave.domains.rpc, webhooks and
    erasure in postwave.tracking.rpc, circuit breakers in postwave.breakers.rpc)."""

    def __init__(self, auth: Authenticator, store: Store, engine: TemplateEngine, *,
                 domains: DomainService | None = None, tracking: TrackingAdmin | None = None,
                 breaker_policy: BreakerPolicy | None = None) -> None:
        super().__init__(auth)
        self.store = store
        self.breaker_policy = breaker_policy or BreakerPolicy.from_config(config_mod.load(environ={}))
        self.engine = engine
        self.domains = domains
        self.tracking = tracking

    @staticmethod
    def _operator(who: Principal) -> None:
        if not who.operator:
            raise PermissionDeniedError("only an operator tenant's admin key may manage tenants")

    @rpc("admin")
    async def CreateTenant(self, who: Principal, request: admin_pb2.CreateTenantRequest, context: Any) -> admin_pb2.Tenant:
        """Create a tenant (operator only)."""
        self._operator(who)
        tenant = new_tenant(request.name, request.rate_per_second, request.daily_quota)
        await asyncio.to_thread(self.store.create_tenant, tenant)
        return convert.tenant(tenant)

    @rpc("admin")
    async def ListTenants(self, who: Principal, request: Any, context: Any) -> admin_pb2.ListTenantsResponse:
        """Every tenant (operator only)."""
        self._operator(who)
        tenants = await asyncio.to_thread(self.store.list_tenants)
        return admin_pb2.ListTenantsResponse(tenants=[convert.tenant(t) for t in tenants])

    @rpc("admin")
    async def CreateApiKey(
        self, who: Principal, request: admin_pb2.CreateApiKeyRequest, context: Any
    ) -> admin_pb2.CreateApiKeyResponse:
        """A new key for the caller's tenant (operators: any tenant); the secret is shown once."""
        tenant_id = request.tenant_id or who.tenant_id
        if tenant_id != who.tenant_id:
            self._operator(who)
            if await asyncio.to_thread(self.store.get_tenant, tenant_id) is None:
                raise NotFoundError(f"tenant {tenant_id!r} not found")
        record, secret = keys.new_key(tenant_id, request.name, list(request.scopes))
        await asyncio.to_thread(self.store.create_key, record)
        return admin_pb2.CreateApiKeyResponse(key=convert.api_key(record), secret=secret)

    @rpc("admin")
    async def ListApiKeys(self, who: Principal, request: Any, context: Any) -> admin_pb2.ListApiKeysResponse:
        """The caller's tenant's keys."""
        found = await asyncio.to_thread(self.store.list_keys, who.tenant_id)
        return admin_pb2.ListApiKeysResponse(keys=[convert.api_key(k) for k in found])

    @rpc("admin")
    async def RevokeApiKey(self, who: Principal, request: admin_pb2.RevokeApiKeyRequest, context: Any) -> admin_pb2.ApiKey:
        """Revoke one of the tenant's keys; takes effect at once in this process."""
        record = await asyncio.to_thread(self.store.revoke_key, who.tenant_id, request.key_id)
        if record is None:
            raise NotFoundError(f"API key {request.key_id!r} not found")
        self.auth.forget(request.key_id)
        return convert.api_key(record)

    @rpc("admin")
    async def CreateTemplate(
        self, who: Principal, request: admin_pb2.CreateTemplateRequest, context: Any
    ) -> admin_pb2.Template:
        """A new template, or a new version of one; the sources must compile."""
        if not request.text and not request.html:
            raise InvalidArgumentError("text", "a template needs text or html")
        for field in ("subject", "text", "html"):
            self.engine.check(getattr(request, field), field=field)
        template_id = request.template_id or "tpl_" + secrets.token_hex(8)
        if request.template_id and await asyncio.to_thread(self.store.get_template, who.tenant_id, template_id) is None:
            raise NotFoundError(f"template {template_id!r} not found; leave template_id empty to create one")
        stored = await asyncio.to_thread(self.store.create_template, TemplateRecord(
            who.tenant_id, template_id, 0, request.name, request.subject, request.text, request.html, time.time()
        ))
        return convert.template(stored)

    async def _get(self, who: Principal, template_id: str, version: int) -> TemplateRecord:
        found = await asyncio.to_thread(self.store.get_template, who.tenant_id, template_id, version)
        if found is None:
            raise NotFoundError(f"template {template_id!r} not found")
        return found

    @rpc("admin")
    async def GetTemplate(self, who: Principal, request: admin_pb2.GetTemplateRequest, context: Any) -> admin_pb2.Template:
        """One version (0 = newest)."""
        return convert.template(await self._get(who, request.template_id, request.version))

    @rpc("admin")
    async def ListTemplates(self, who: Principal, request: Any, context: Any) -> admin_pb2.ListTemplatesResponse:
        """The newest version of each template."""
        found = await asyncio.to_thread(self.store.list_templates, who.tenant_id)
        return admin_pb2.ListTemplatesResponse(templates=[convert.template(t) for t in found])

    @rpc("admin")
    async def DeleteTemplate(
        self, who: Principal, request: admin_pb2.DeleteTemplateRequest, context: Any
    ) -> admin_pb2.DeleteTemplateResponse:
        """Delete every version."""
        count = await asyncio.to_thread(self.store.delete_template, who.tenant_id, request.template_id)
        if not count:
            raise NotFoundError(f"template {request.template_id!r} not found")
        return admin_pb2.DeleteTemplateResponse(versions_deleted=count)

    @rpc("admin")
    async def RenderTemplate(
        self, who: Principal, request: admin_pb2.RenderTemplateRequest, context: Any
    ) -> admin_pb2.RenderTemplateResponse:
        """Preview a template with substitutions."""
        template = await self._get(who, request.template_id, request.version)
        context_vars = substitutions(request.substitutions, "substitutions") if request.HasField("substitutions") else {}
        req = send_pb2.SendRequest(personalizations=[send_pb2.Personalization()])
        rendered = render(self.engine, req, template, 0, context_vars)
        return admin_pb2.RenderTemplateResponse(subject=rendered.subject, text=rendered.text, html=rendered.html)

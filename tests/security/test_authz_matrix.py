"""Every RPC and every REST route refuses bad keys and keys without the scope it needs.

The RPCs come from the generated descriptors (server/postwave/v1) and the routes from their
google.api.http annotations, so a new RPC or route is in the matrix the day it is added; an
RPC whose handler is not wrapped by ``@rpc(scope)`` fails the matrix.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor

from postwave.api import keys
from postwave.api.admin import AdminServicer
from postwave.api.events import EventServicer
from postwave.api.rest_routes import Route, routes_of
from postwave.api.send import SendServicer
from postwave.api.server import SERVICES
from postwave.v1 import admin_pb2
from tests.platform import bearer
from tests.security.conftest import Site

SERVICERS = {SERVICES[0].full_name: SendServicer, SERVICES[1].full_name: EventServicer,
             SERVICES[2].full_name: AdminServicer}
METHODS = [m for s in SERVICES for m in s.methods]
ROUTES = routes_of(SERVICES)


def scope_of(method: descriptor.MethodDescriptor) -> str:
    """The scope the handler of ``method`` demands (set by the @rpc decorator)."""
    handler = getattr(SERVICERS[method.containing_service.full_name], method.name)
    return str(handler.postwave_scope)


def call_rpc(site: Site, method: descriptor.MethodDescriptor, metadata: Any) -> None:
    """Call ``method`` with an empty request, whatever its streaming shape."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    channel = site.platform.channel
    same = {"request_serializer": lambda b: b, "response_deserializer": lambda b: b}
    if method.client_streaming:
        list(channel.stream_stream(path, **same)(iter([b""]), metadata=metadata, timeout=20))
    elif method.server_streaming:
        list(channel.unary_stream(path, **same)(b"", metadata=metadata, timeout=20))
    else:
        channel.unary_unary(path, **same)(b"", metadata=metadata, timeout=20)


def route_path(route: Route) -> str:
    """A concrete path of a route template, every variable filled in."""
    return re.sub(r"\{[^}]+\}", "x1", route.template)


def call_route(site: Site, route: Route, authorization: str | None) -> tuple[int, dict[str, str], dict[str, Any]]:
    """(HTTP status, headers, JSON body) of one request to the gateway."""
    conn = http.client.HTTPConnection("127.0.0.1", site.platform.http_port, timeout=20)
    headers = {"Authorization": authorization} if authorization is not None else {}
    body = None
    if route.body:
        body, headers["Content-Type"] = b"{}", "application/json"
    try:
        conn.request(route.http_method, route_path(route), body=body, headers=headers)
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, json.loads(reply.read())
    finally:
        conn.close()


class Keys:
    """One credential per way of being refused; ``unscoped(scope)`` lacks exactly that scope."""

    def __init__(self, site: Site) -> None:
        tenant = site.tenant("matrix")
        self.valid = tenant.key
        revoked = site.key(tenant, list(keys.SCOPES))
        site.platform.admin_stub().RevokeApiKey(admin_pb2.RevokeApiKeyRequest(key_id=revoked.key.key_id),
                                                metadata=tenant.auth, timeout=10)
        key_id = revoked.key.key_id
        self.refused: dict[str, str | None] = {
            "missing": None,
            "wrong scheme": "Basic dXNlcjpwYXNzd29yZA==",
            "empty bearer": "Bearer ",
            "malformed": "Bearer not-a-postwave-key",
            "unknown id": f"Bearer pw_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}",
            "wrong secret": f"Bearer pw_{key_id}_{secrets.token_urlsafe(32)}",
            "revoked": f"Bearer {revoked.secret}",
        }
        self._unscoped = {scope: site.key(tenant, [s for s in keys.SCOPES if s != scope]).secret
                          for scope in keys.SCOPES}

    def unscoped(self, scope: str) -> str:
        """A key of the same tenant holding every scope but ``scope``."""
        return self._unscoped[scope]


@pytest.fixture(scope="module")
def credentials(site: Site) -> Keys:
    """The refused credentials, made once."""
    return Keys(site)


def _metadata(authorization: str | None) -> list[tuple[str, str]] | None:
    return None if authorization is None else [("authorization", authorization)]


def test_every_rpc_has_a_scope_and_every_annotated_rpc_a_route() -> None:
    assert set(SERVICERS) == {s.full_name for s in SERVICES}, "map the new service to its servicer class"
    assert len(METHODS) >= 34
    assert {scope_of(m) for m in METHODS} <= set(keys.SCOPES)
    routed = {r.method.full_name for r in ROUTES}
    assert routed == {m.full_name for m in METHODS if not m.client_streaming}


@pytest.mark.parametrize("method", METHODS, ids=[m.full_name.split(".", 2)[2] for m in METHODS])
def test_rpc_refuses_bad_keys_and_missing_scopes(site: Site, credentials: Keys,
                                                 method: descriptor.MethodDescriptor) -> None:
    seen: dict[str, grpc.StatusCode] = {}
    for kind, authorization in credentials.refused.items():
        with pytest.raises(grpc.RpcError) as info:
            call_rpc(site, method, _metadata(authorization))
        seen[kind] = info.value.code()
        secret = (authorization or "").rpartition("_")[2]
        assert len(secret) < 20 or secret not in (info.value.details() or ""), (kind, "the secret is echoed")
    assert seen == dict.fromkeys(credentials.refused, grpc.StatusCode.UNAUTHENTICATED)
    with pytest.raises(grpc.RpcError) as info:
        call_rpc(site, method, bearer(credentials.unscoped(scope_of(method))))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert scope_of(method) in (info.value.details() or "")


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r.http_method} {r.template}" for r in ROUTES])
def test_route_refuses_bad_keys_and_missing_scopes(site: Site, credentials: Keys, route: Route) -> None:
    for kind, authorization in credentials.refused.items():
        status, headers, body = call_route(site, route, authorization)
        assert (status, body["code"]) == (401, grpc.StatusCode.UNAUTHENTICATED.value[0]), (kind, status, body)
        assert headers["content-type"].startswith("application/json")
        assert headers["www-authenticate"] == 'Bearer realm="postwave"'
        assert body["message"], kind
    scope = scope_of(route.method)
    status, headers, body = call_route(site, route, f"Bearer {credentials.unscoped(scope)}")
    assert (status, body["code"]) == (403, grpc.StatusCode.PERMISSION_DENIED.value[0]), (status, body)
    assert scope in body["message"] and "www-authenticate" not in headers


@pytest.mark.parametrize("name", ["CreateTenant", "ListTenants"])
def test_tenant_management_needs_an_operator_even_with_scope_admin(site: Site, credentials: Keys,
                                                                   name: str) -> None:
    method = next(m for m in METHODS if m.name == name)
    with pytest.raises(grpc.RpcError) as info:
        call_rpc(site, method, bearer(credentials.valid))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED and "operator" in (info.value.details() or "")

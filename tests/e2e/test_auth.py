"""API keys and tenancy: each failure answers its own status code."""

from __future__ import annotations

import grpc
import pytest

from tests.e2e.conftest import World
from tests.platform import bearer, request
from postwave.v1 import admin_pb2, events_pb2, send_pb2


def _code(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call()  # type: ignore[operator]
    return info.value.code()


def test_missing_wrong_revoked_and_unscoped_keys(world: World) -> None:
    tenant_id, key = world.platform.tenant("acme")
    stub = world.platform.send_stub()
    send = lambda metadata: lambda: stub.Send(request(to=["a@ok.test"]), metadata=metadata, timeout=10)  # noqa: E731

    assert _code(send(None)) == grpc.StatusCode.UNAUTHENTICATED
    assert _code(send([("authorization", "Basic abc")])) == grpc.StatusCode.UNAUTHENTICATED
    assert _code(send(bearer("pw_0123456789abcdef_wrongsecret"))) == grpc.StatusCode.UNAUTHENTICATED
    wrong_secret = key[: key.rindex("_") + 1] + "x" * 43
    assert _code(send(bearer(wrong_secret))) == grpc.StatusCode.UNAUTHENTICATED

    admin = world.platform.admin_stub()
    read_only = admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(name="ro", scopes=["mail.read"]),
                                   metadata=bearer(key), timeout=10)
    assert _code(send(bearer(read_only.secret))) == grpc.StatusCode.PERMISSION_DENIED
    assert _code(lambda: admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=bearer(read_only.secret),
                                           timeout=10)) == grpc.StatusCode.PERMISSION_DENIED
    # Only operator tenants manage tenants.
    assert _code(lambda: admin.CreateTenant(admin_pb2.CreateTenantRequest(name="evil"), metadata=bearer(key),
                                            timeout=10)) == grpc.StatusCode.PERMISSION_DENIED

    sender = admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(name="s", scopes=["mail.send"]),
                                metadata=bearer(key), timeout=10)
    assert stub.Send(request(to=["a@ok.test"]), metadata=bearer(sender.secret), timeout=10).messages
    admin.RevokeApiKey(admin_pb2.RevokeApiKeyRequest(key_id=sender.key.key_id), metadata=bearer(key), timeout=10)
    assert _code(send(bearer(sender.secret))) == grpc.StatusCode.UNAUTHENTICATED
    listed = admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=bearer(key), timeout=10)
    assert {k.key_id: k.revoked for k in listed.keys}[sender.key.key_id] is True
    assert all(k.tenant_id == tenant_id for k in listed.keys)


def test_tenant_cannot_see_another_tenants_message(world: World) -> None:
    _, key_a = world.platform.tenant("a")
    _, key_b = world.platform.tenant("b")
    stub = world.platform.send_stub()
    mid = stub.Send(request(to=["a@ok.test"]), metadata=bearer(key_a), timeout=10).messages[0].message_id
    assert stub.GetStatus(send_pb2.GetStatusRequest(message_id=mid), metadata=bearer(key_a), timeout=10).message_id == mid
    assert _code(lambda: stub.GetStatus(send_pb2.GetStatusRequest(message_id=mid), metadata=bearer(key_b),
                                        timeout=10)) == grpc.StatusCode.NOT_FOUND
    # Tenant b's event stream holds none of tenant a's events.
    events = list(world.platform.events_stub().StreamEvents(
        events_pb2.StreamEventsRequest(no_follow=True), metadata=bearer(key_b), timeout=10))
    assert events == []

"""Tenant B, holding an all-scope key, reaches none of tenant A's resources, and cannot tell
A's existing ids from ids that exist nowhere: both get the same code and the same message.

Resource types: messages (status, cancellation), events (list, stream, stats), templates,
sending domains, suppressions, webhooks, API keys, tenants and recipient erasure.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2, timestamp_pb2

from postwave.v1 import admin_pb2, events_pb2, send_pb2
from tests.platform import request
from tests.security.conftest import Site, Tenant, code_of


def same_refusal(call: Callable[[str], Any], real: str, fake: str) -> grpc.StatusCode:
    """``call`` refuses A's ``real`` id exactly as it refuses the never-issued ``fake`` one."""
    real_code, real_text = code_of(lambda: call(real))
    fake_code, fake_text = code_of(lambda: call(fake))
    assert real_code == fake_code, (real_code, real_text, fake_code, fake_text)
    assert real_text.replace(real, "<id>") == fake_text.replace(fake, "<id>"), (real_text, fake_text)
    assert real_code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.PERMISSION_DENIED), real_code
    return real_code


def refused_alike(calls: list[Callable[[str], Any]], real: str, fake: str) -> set[grpc.StatusCode]:
    """The codes of :func:`same_refusal` over several calls."""
    return {same_refusal(call, real, fake) for call in calls}


class Owned:
    """Tenant A's resources of every type."""

    def __init__(self, site: Site, a: Tenant) -> None:
        p = site.platform
        future = timestamp_pb2.Timestamp(seconds=int(time.time()) + 3600)
        self.send_id = "a-send-" + secrets.token_hex(4)
        self.recipient = f"owner-{secrets.token_hex(3)}@wire.test"
        sent = p.send_stub().Send(request(to=[self.recipient], send_id=self.send_id, batch_id="a-batch",
                                          send_at=future), metadata=a.auth, timeout=10)
        self.message_id = sent.messages[0].message_id
        admin = p.admin_stub()
        self.template_id = admin.CreateTemplate(admin_pb2.CreateTemplateRequest(
            name="a", subject="Hi {{ name }}", text="secret offer for {{ name }}"), metadata=a.auth,
            timeout=10).template_id
        self.domain = f"a{secrets.token_hex(4)}.example"
        admin.AddSendingDomain(admin_pb2.AddSendingDomainRequest(domain=self.domain), metadata=a.auth, timeout=30)
        self.suppressed = f"victim-{secrets.token_hex(3)}@wire.test"
        admin.AddSuppressions(admin_pb2.AddSuppressionsRequest(
            suppressions=[admin_pb2.NewSuppression(address=self.suppressed)]), metadata=a.auth, timeout=10)
        # A closed port on an allow-listed address: the dispatcher's attempts stay on loopback.
        self.endpoint_id = admin.CreateWebhook(admin_pb2.CreateWebhookRequest(url="http://127.0.0.1:9/hook"),
                                               metadata=a.auth, timeout=10).endpoint_id
        self.key_id = admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=a.auth, timeout=10).keys[0].key_id


@pytest.fixture(scope="module")
def tenants(site: Site) -> tuple[Tenant, Tenant, Owned]:
    """A (with one resource of each type) and B."""
    a, b = site.tenant("owner"), site.tenant("intruder")
    return a, b, Owned(site, a)


def test_messages_and_their_events(site: Site, tenants: tuple[Tenant, Tenant, Owned]) -> None:
    a, b, owned = tenants
    send, events = site.platform.send_stub(), site.platform.events_stub()
    fake = owned.message_id[:-6] + secrets.token_hex(3)
    assert same_refusal(lambda mid: send.GetStatus(send_pb2.GetStatusRequest(message_id=mid), metadata=b.auth,
                                                   timeout=10), owned.message_id, fake) == grpc.StatusCode.NOT_FOUND
    # Cancelling A's send_id or batch_id from B cancels nothing.
    for target in ({"send_id": owned.send_id}, {"batch_id": "a-batch"}):
        reply = send.CancelScheduled(send_pb2.CancelScheduledRequest(**target), metadata=b.auth, timeout=10)
        assert (reply.cancelled, list(reply.message_ids)) == (0, [])
    assert send.GetStatus(send_pb2.GetStatusRequest(message_id=owned.message_id), metadata=a.auth,
                          timeout=10).state == "scheduled"
    # No event of A's message in any of B's views of events.
    listed = events.ListEvents(events_pb2.ListEventsRequest(message_id=owned.message_id), metadata=b.auth, timeout=10)
    streamed = list(events.StreamEvents(events_pb2.StreamEventsRequest(message_id=owned.message_id, no_follow=True),
                                        metadata=b.auth, timeout=10))
    everything = list(events.StreamEvents(events_pb2.StreamEventsRequest(no_follow=True), metadata=b.auth, timeout=10))
    by_recipient = events.ListEvents(events_pb2.ListEventsRequest(recipient=owned.recipient), metadata=b.auth,
                                     timeout=10)
    assert (list(listed.events), streamed, everything, list(by_recipient.events)) == ([], [], [], [])
    assert events.ListEvents(events_pb2.ListEventsRequest(message_id=owned.message_id), metadata=a.auth,
                             timeout=10).events  # A does see them
    stats = events.GetStats(events_pb2.GetStatsRequest(), metadata=b.auth, timeout=10)
    assert stats.total.sent == 0 and list(stats.rows) == [] or all(r.sent == 0 for r in stats.rows)


def test_templates(site: Site, tenants: tuple[Tenant, Tenant, Owned]) -> None:
    a, b, owned = tenants
    admin, send = site.platform.admin_stub(), site.platform.send_stub()
    fake = "tpl_" + secrets.token_hex(8)
    calls: list[Callable[[str], Any]] = [
        lambda t: admin.GetTemplate(admin_pb2.GetTemplateRequest(template_id=t), metadata=b.auth, timeout=10),
        lambda t: admin.RenderTemplate(admin_pb2.RenderTemplateRequest(
            template_id=t, substitutions=struct_pb2.Struct(fields={"name": struct_pb2.Value(string_value="x")})),
            metadata=b.auth, timeout=10),
        lambda t: admin.DeleteTemplate(admin_pb2.DeleteTemplateRequest(template_id=t), metadata=b.auth, timeout=10),
        lambda t: admin.CreateTemplate(admin_pb2.CreateTemplateRequest(template_id=t, text="overwritten"),
                                       metadata=b.auth, timeout=10),
        lambda t: send.Send(request(to=["x@wire.test"], template_id=t), metadata=b.auth, timeout=10),
    ]
    assert refused_alike(calls, owned.template_id, fake) == {grpc.StatusCode.NOT_FOUND}
    listed = admin.ListTemplates(admin_pb2.ListTemplatesRequest(), metadata=b.auth, timeout=10)
    assert owned.template_id not in {t.template_id for t in listed.templates}
    kept = admin.GetTemplate(admin_pb2.GetTemplateRequest(template_id=owned.template_id), metadata=a.auth, timeout=10)
    assert (kept.version, kept.text) == (1, "secret offer for {{ name }}")


def test_sending_domains(site: Site, tenants: tuple[Tenant, Tenant, Owned]) -> None:
    a, b, owned = tenants
    admin = site.platform.admin_stub()
    fake = f"a{secrets.token_hex(4)}.example"
    calls: list[Callable[[str], Any]] = [
        lambda d: admin.GetSendingDomain(admin_pb2.GetSendingDomainRequest(domain=d), metadata=b.auth, timeout=10),
        lambda d: admin.VerifySendingDomain(admin_pb2.VerifySendingDomainRequest(domain=d), metadata=b.auth,
                                            timeout=10),
        lambda d: admin.RotateDkimKeys(admin_pb2.RotateDkimKeysRequest(domain=d), metadata=b.auth, timeout=10),
    ]
    assert refused_alike(calls, owned.domain, fake) == {grpc.StatusCode.NOT_FOUND}
    listed = admin.ListSendingDomains(admin_pb2.ListSendingDomainsRequest(), metadata=b.auth, timeout=10)
    assert owned.domain not in {d.domain for d in listed.domains}
    # A domain has one owner on the whole platform, so registering A's is refused: the one
    # place a name's registration shows (its DNS records are public anyway). Nothing of A's leaks.
    code, text = code_of(lambda: admin.AddSendingDomain(admin_pb2.AddSendingDomainRequest(domain=owned.domain),
                                                         metadata=b.auth, timeout=30))
    assert code == grpc.StatusCode.ALREADY_EXISTS and a.tenant_id not in text
    mine = admin.GetSendingDomain(admin_pb2.GetSendingDomainRequest(domain=owned.domain), metadata=a.auth, timeout=10)
    assert len(mine.selectors) == 2  # rsa and ed25519, no rotation by B


def test_suppressions(site: Site, tenants: tuple[Tenant, Tenant, Owned]) -> None:
    a, b, owned = tenants
    admin = site.platform.admin_stub()
    fake_tenant = "t_" + secrets.token_hex(8)
    by_tenant: list[Callable[[str], Any]] = [
        lambda t: admin.ListSuppressions(admin_pb2.ListSuppressionsRequest(tenant_id=t), metadata=b.auth, timeout=10),
        lambda t: admin.GetSuppression(admin_pb2.GetSuppressionRequest(tenant_id=t, address=owned.suppressed),
                                       metadata=b.auth, timeout=10),
        lambda t: admin.RemoveSuppression(admin_pb2.RemoveSuppressionRequest(tenant_id=t, address=owned.suppressed),
                                          metadata=b.auth, timeout=10),
        lambda t: admin.AddSuppressions(admin_pb2.AddSuppressionsRequest(
            tenant_id=t, suppressions=[admin_pb2.NewSuppression(address="x@wire.test")]), metadata=b.auth, timeout=10),
    ]
    assert refused_alike(by_tenant, a.tenant_id, fake_tenant) == {grpc.StatusCode.PERMISSION_DENIED}
    fake = f"victim-{secrets.token_hex(3)}@wire.test"
    own_list: list[Callable[[str], Any]] = [
        lambda x: admin.GetSuppression(admin_pb2.GetSuppressionRequest(address=x), metadata=b.auth, timeout=10),
        lambda x: admin.RemoveSuppression(admin_pb2.RemoveSuppressionRequest(address=x), metadata=b.auth, timeout=10),
    ]
    assert refused_alike(own_list, owned.suppressed, fake) == {grpc.StatusCode.NOT_FOUND}
    assert admin.GetSuppression(admin_pb2.GetSuppressionRequest(address=owned.suppressed), metadata=a.auth,
                                timeout=10).address == owned.suppressed


def test_webhooks(site: Site, tenants: tuple[Tenant, Tenant, Owned]) -> None:
    a, b, owned = tenants
    admin = site.platform.admin_stub()
    fake = "wh_" + secrets.token_hex(8)
    calls: list[Callable[[str], Any]] = [
        lambda e: admin.DeleteWebhook(admin_pb2.DeleteWebhookRequest(endpoint_id=e), metadata=b.auth, timeout=10),
        lambda e: admin.RotateWebhookSecret(admin_pb2.RotateWebhookSecretRequest(endpoint_id=e), metadata=b.auth,
                                            timeout=10),
        lambda e: admin.TestWebhook(admin_pb2.TestWebhookRequest(endpoint_id=e), metadata=b.auth, timeout=10),
        lambda e: admin.RedriveWebhook(admin_pb2.RedriveWebhookRequest(endpoint_id=e), metadata=b.auth, timeout=10),
    ]
    assert refused_alike(calls, owned.endpoint_id, fake) == {grpc.StatusCode.NOT_FOUND}
    assert owned.endpoint_id not in {w.endpoint_id for w in admin.ListWebhooks(
        admin_pb2.ListWebhooksRequest(), metadata=b.auth, timeout=10).webhooks}
    assert owned.endpoint_id in {w.endpoint_id for w in admin.ListWebhooks(
        admin_pb2.ListWebhooksRequest(), metadata=a.auth, timeout=10).webhooks}


def test_keys_tenants_and_erasure(site: Site, tenants: tuple[Tenant, Tenant, Owned]) -> None:
    a, b, owned = tenants
    admin = site.platform.admin_stub()
    assert same_refusal(lambda k: admin.RevokeApiKey(admin_pb2.RevokeApiKeyRequest(key_id=k), metadata=b.auth,
                                                     timeout=10), owned.key_id, secrets.token_hex(8)) \
        == grpc.StatusCode.NOT_FOUND
    assert same_refusal(lambda t: admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(tenant_id=t, name="x"),
                                                     metadata=b.auth, timeout=10),
                        a.tenant_id, "t_" + secrets.token_hex(8)) == grpc.StatusCode.PERMISSION_DENIED
    assert owned.key_id not in {k.key_id for k in admin.ListApiKeys(admin_pb2.ListApiKeysRequest(),
                                                                    metadata=b.auth, timeout=10).keys}
    # Erasing A's recipient from B touches none of A's messages.
    erased = admin.EraseRecipient(admin_pb2.EraseRecipientRequest(address=owned.recipient), metadata=b.auth,
                                  timeout=10)
    assert erased.messages == 0
    status = site.platform.send_stub().GetStatus(send_pb2.GetStatusRequest(message_id=owned.message_id),
                                                 metadata=a.auth, timeout=10)
    assert status.recipient == owned.recipient
    keys = admin.ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=a.auth, timeout=10).keys
    assert not {k.key_id: k.revoked for k in keys}[owned.key_id]

"""Bad input: a precise INVALID_ARGUMENT naming the field, and nothing reaches an SMTP server."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from tests.e2e.conftest import World
from tests.platform import bearer, request
from postwave.v1 import send_pb2


def _invalid(world: World, key: str, req: send_pb2.SendRequest) -> tuple[str, str]:
    """Send, expect INVALID_ARGUMENT; return (field, message)."""
    with pytest.raises(grpc.RpcError) as info:
        world.platform.send_stub().Send(req, metadata=bearer(key), timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    status = rpc_status.from_call(info.value)
    bad = error_details_pb2.BadRequest()
    assert status is not None and status.details[0].Unpack(bad)
    return bad.field_violations[0].field, info.value.details()


def _with_subs(req: send_pb2.SendRequest, **subs: Any) -> send_pb2.SendRequest:
    req.personalizations[0].substitutions.update(subs)
    return req


CASES: list[tuple[str, Any, str, str]] = [
    ("crlf in subject", lambda: request(to=["a@ok.test"], subject="Hi\r\nBcc: victim@ok.test"), "subject", "CR"),
    ("lf in header", lambda: request(to=["a@ok.test"], headers={"X-Tag": "a\nBcc: v@ok.test"}), "headers.X-Tag", "injection"),
    ("reserved header", lambda: request(to=["a@ok.test"], headers={"Bcc": "v@ok.test"}), "headers.Bcc", "overridden"),
    ("bad header name", lambda: request(to=["a@ok.test"], headers={"X Bad:": "v"}), "headers.X Bad:", "header name"),
    ("no at sign", lambda: request(to=["not-an-address"]), "personalizations[0].to[0]", ""),
    ("two addresses", lambda: request(to=["a@ok.test, b@ok.test"]), "personalizations[0].to[0]", ""),
    ("crlf in address", lambda: request(to=["a@ok.test\r\nRCPT TO:<v@ok.test>"]), "personalizations[0].to[0]", ""),
    ("bad sender", lambda: request(to=["a@ok.test"], sender="nobody"), "from", ""),
    ("too many recipients", lambda: request(to=[f"u{i}@ok.test" for i in range(1001)]), "personalizations", "1001"),
    ("too large", lambda: request(to=["a@ok.test"], attachments=[send_pb2.Attachment(
        filename="big.bin", content_type="application/octet-stream", content=b"\0" * (26 * 1024 * 1024))]),
     "attachments", "limit"),
    ("sandbox escape", lambda: request(to=["a@ok.test"], text="{{ ''.__class__.__mro__[1].__subclasses__() }}"), "text", ""),
    ("class attr", lambda: request(to=["a@ok.test"], subject="{{ ''.__class__ }}"), "subject", ""),
    ("undefined variable", lambda: request(to=["a@ok.test"], text="Hi {{ first_name }}"), "text", "first_name"),
    ("template syntax", lambda: request(to=["a@ok.test"], html="{% if %}"), "html", ""),
    ("no content", lambda: request(to=["a@ok.test"], text=""), "text", "required"),
    ("no personalization", lambda: send_pb2.SendRequest(subject="s", text="t", **{"from": "a@ok.test"}),
     "personalizations", "required"),
]


@pytest.mark.parametrize("name,make,field,words", CASES, ids=[c[0] for c in CASES])
def test_each_bad_request_is_refused_with_its_field(world: World, name: str, make: Any, field: str, words: str) -> None:
    _, key = world.platform.tenant("acme")
    got_field, message = _invalid(world, key, make())
    assert got_field == field, message
    assert words in message
    assert "__" not in message or "not allowed" in message or "__" in field  # no Python internals leak


def test_invalid_utf8_is_refused_and_nothing_is_sent(world: World) -> None:
    _, key = world.platform.tenant("acme")
    raw = request(to=["a@ok.test"], subject="MARKER").SerializeToString().replace(b"MARKER", b"MA\xff\xfeER")
    call = world.platform.channel.unary_unary(
        "/postwave.v1.SendService/Send", request_serializer=lambda b: b,
        response_deserializer=send_pb2.SendResponse.FromString,
    )
    with pytest.raises(grpc.RpcError) as info:
        call(raw, metadata=bearer(key), timeout=10)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "UTF-8" in info.value.details()

    # After all the refusals, not one connection reached a receiving server.
    time.sleep(1.0)
    assert world.ok.received == [] and sum(world.ok.attempts.values()) == 0


def test_headers_the_mime_builder_refuses_are_refused_at_acceptance(world: World) -> None:
    _, key = world.platform.tenant("acme")
    req = request(to=["a@ok.test"])
    req.personalizations[0].headers["Content-Language"] = "en"  # Content-* is the builder's
    field, message = _invalid(world, key, req)
    assert field == "personalizations[0].headers.Content-Language" and "reserved" in message

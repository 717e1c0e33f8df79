"""The gateway's pure parts: path templates, routing, JSON decoding, status mapping, OpenAPI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format
from google.rpc import code_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from postwave.api import openapi, rest_errors
from postwave.api.rest_json import parse_body, query_to_json, to_json, to_message
from postwave.api.rest_routes import TemplateError, compile_template, resolve, routes_of
from postwave.api.server import SERVICES
from postwave.errors import InvalidArgumentError
from postwave.v1 import admin_pb2, events_pb2, send_pb2

from tests.rest.conftest import annotated_rpc_count

ROUTES = routes_of(SERVICES)


@pytest.mark.parametrize(("template", "path", "expected"), [
    ("/v1/status/{message_id}", "/v1/status/abc", {"message_id": "abc"}),
    ("/v1/status/{message_id}", "/v1/status/a%2Fb", {"message_id": "a%2Fb"}),
    ("/v1/status/{message_id}", "/v1/status/a/b", None),
    ("/v1/status/{message_id}", "/v1/status/", None),
    ("/v1/keys/{key_id}:revoke", "/v1/keys/k1:revoke", {"key_id": "k1"}),
    ("/v1/keys/{key_id}:revoke", "/v1/keys/k1", None),
    ("/v1/keys/{key_id}:revoke", "/v1/keys/a:b:revoke", {"key_id": "a:b"}),
    ("/v1/{name=messages/*}", "/v1/messages/m1", {"name": "messages/m1"}),
    ("/v1/{name=messages/*}", "/v1/other/m1", None),
    ("/v1/files/{path=**}", "/v1/files/a/b/c", {"path": "a/b/c"}),
    ("/v1/*/x", "/v1/anything/x", {}),
])
def test_templates_match(template: str, path: str, expected: dict[str, str] | None) -> None:
    pattern, names = compile_template(template)
    found = pattern.fullmatch(path)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert {n: found.group(f"v{i}") for i, n in enumerate(names)} == expected


@pytest.mark.parametrize("template", ["v1/send", "/v1/{bad name}", "/v1/a b", "/v1/{x=a b}"])
def test_bad_templates_are_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        compile_template(template)


def test_every_annotated_rpc_has_a_route() -> None:
    annotated = {(r.service.name, r.method.name) for r in ROUTES}
    assert ("SendService", "Send") in annotated and ("EventService", "StreamEvents") in annotated
    assert ("SendService", "BatchSend") not in annotated
    assert len(ROUTES) == annotated_rpc_count() > 15  # the core 15, and every RPC added since


def test_resolve_tells_404_from_405() -> None:
    found = resolve(ROUTES, "GET", "/v1/status/m1")
    assert found.route is not None and found.route.method.name == "GetStatus" and found.variables == {"message_id": "m1"}
    wrong_verb = resolve(ROUTES, "PUT", "/v1/templates/t1")
    assert wrong_verb.route is None and set(wrong_verb.allowed) == {"GET", "DELETE"}
    nowhere = resolve(ROUTES, "GET", "/v2/status/m1")
    assert nowhere.route is None and nowhere.allowed == ()
    render = resolve(ROUTES, "POST", "/v1/templates/t1:render")
    assert render.route is not None and render.route.method.name == "RenderTemplate"


def test_http_status_of_every_code() -> None:
    expected = {
        "OK": 200, "CANCELLED": 499, "UNKNOWN": 500, "INVALID_ARGUMENT": 400, "DEADLINE_EXCEEDED": 504,
        "NOT_FOUND": 404, "ALREADY_EXISTS": 409, "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401,
        "RESOURCE_EXHAUSTED": 429, "FAILED_PRECONDITION": 400, "ABORTED": 409, "OUT_OF_RANGE": 400,
        "UNIMPLEMENTED": 501, "INTERNAL": 500, "UNAVAILABLE": 503, "DATA_LOSS": 500,
    }
    for name, number in code_pb2.Code.items():
        assert rest_errors.http_status(number) == expected[name], name
    assert rest_errors.http_status(999) == 500


def test_error_body_and_headers() -> None:
    from postwave.api.status import to_status
    from postwave.errors import RateLimitedError

    status = to_status(RateLimitedError("slow down", retry_after=2.2))
    body = rest_errors.body(status)
    assert body["code"] == code_pb2.RESOURCE_EXHAUSTED and body["message"] == "slow down"
    assert body["details"][0]["@type"].endswith("google.rpc.RetryInfo")
    assert rest_errors.headers(status) == {"Retry-After": "3"}
    assert rest_errors.headers(rest_errors.status(code_pb2.UNAUTHENTICATED, "x"))["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("raw", "field"), [
    (b"{", "body"), (b"\xc3", "body"), (b'{"a": Infinity}', "body"), (b'{"a": 1, "a": 2}', "a"),
    (b"[" * 200 + b"]" * 200, "body"),
])
def test_parse_body_refuses(raw: bytes, field: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_body(raw)
    assert caught.value.field == field


def test_empty_body_is_an_empty_request() -> None:
    assert parse_body(b"") == {} and parse_body(b"  \n") == {}


@pytest.mark.parametrize(("value", "field"), [
    ({"personalizations": [{"to": ["a@b"], "cc": [True]}]}, "personalizations[0].cc[0]"),
    ({"personalizations": [{"substitutions": []}]}, "personalizations[0].substitutions"),
    ({"personalizations": [{"custom_args": {"k": None}}]}, "personalizations[0].custom_args.k"),
    ({"send_at": 5}, "send_at"),
    ({"stream": 1.5}, "stream"),
    ({"stream": 2**40}, "stream"),
    ({"template_version": True}, "template_version"),
    ({"attachments": [{"content": 5}]}, "attachments[0].content"),
    ({"attachments": [{"content": "abc=="+"="}]}, "attachments[0].content"),
    ({"tags": "x"}, "tags"),
])
def test_to_message_names_the_field(value: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        to_message(value, send_pb2.SendRequest.DESCRIPTOR)
    assert caught.value.field == field


def test_to_message_accepts_both_names_and_string_numbers() -> None:
    msg = to_message({"sendId": "s", "template_version": "3", "stream": "STREAM_BULK", "sandbox": True,
                      "send_at": "2030-01-02T03:04:05Z", "attachments": [{"content": "aGk"}]},
                     send_pb2.SendRequest.DESCRIPTOR)
    assert msg.send_id == "s" and msg.template_version == 3 and msg.stream == send_pb2.STREAM_BULK
    assert msg.attachments[0].content == b"hi" and msg.send_at.seconds == 1893553445
    events = to_message({"cursor": "12", "types": ["a"]}, events_pb2.StreamEventsRequest.DESCRIPTOR)
    assert events.cursor == 12
    cancel_both = {"send_id": "a", "batch_id": "b"}
    with pytest.raises(InvalidArgumentError, match="only one of"):
        to_message(cancel_both, send_pb2.CancelScheduledRequest.DESCRIPTOR)


def test_query_strings() -> None:
    desc = events_pb2.StreamEventsRequest.DESCRIPTOR
    value = query_to_json({"types": ["a", "b"], "no_follow": ["true"], "cursor": ["7"]}, desc, set())
    assert value == {"types": ["a", "b"], "no_follow": True, "cursor": "7"}
    assert to_message(value, desc).cursor == 7
    with pytest.raises(InvalidArgumentError):
        query_to_json({"cursor": ["1", "2"]}, desc, set())
    with pytest.raises(InvalidArgumentError):
        query_to_json({"message_id": ["x"]}, desc, {"message_id"})
    with pytest.raises(InvalidArgumentError):
        query_to_json({"substitutions": ["x"]}, admin_pb2.RenderTemplateRequest.DESCRIPTOR, set())


_text = st.text(max_size=20)
_maps = st.dictionaries(st.text(min_size=1, max_size=8), _text, max_size=3)


@st.composite
def send_requests(draw: st.DrawFn) -> send_pb2.SendRequest:
    req = send_pb2.SendRequest(
        send_id=draw(_text), subject=draw(_text), template_version=draw(st.integers(-(2**31), 2**31 - 1)),
        tags=draw(st.lists(_text, max_size=3)), headers=draw(_maps), sandbox=draw(st.booleans()),
        stream=draw(st.sampled_from([0, 1, 2])),
        attachments=[send_pb2.Attachment(filename=draw(_text), content=draw(st.binary(max_size=40)))],
        personalizations=[send_pb2.Personalization(to=draw(st.lists(_text, max_size=2)), custom_args=draw(_maps))],
    )
    setattr(req, "from", draw(_text))
    if draw(st.booleans()):
        req.send_at.FromSeconds(draw(st.integers(0, 253402300799)))
    if draw(st.booleans()):
        req.personalizations[0].substitutions.update({"n": draw(st.floats(allow_nan=False, allow_infinity=False)),
                                                      "s": draw(_text), "l": [1, "x", None, {"k": True}]})
    return req


@settings(max_examples=150, deadline=None)
@given(send_requests())
def test_every_encoded_message_decodes_back(req: send_pb2.SendRequest) -> None:
    """The strict checker never refuses canonical proto3 JSON: both JSON spellings round-trip."""
    for text in (json.dumps(to_json(req)), json_format.MessageToJson(req)):
        assert to_message(parse_body(text.encode()), send_pb2.SendRequest.DESCRIPTOR) == req


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [value["$ref"]] if "$ref" in value else [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def test_openapi_references_resolve() -> None:
    doc = openapi.document(ROUTES)
    for ref in _refs(doc):
        section, name = ref.removeprefix("#/components/").split("/", 1)
        assert name in doc["components"][section], ref
    assert {p["name"] for p in doc["paths"]["/v1/events"]["get"]["parameters"]} == {
        "types", "message_id", "cursor", "no_follow"}
    render = doc["paths"]["/v1/templates/{template_id}:render"]["post"]
    assert "template_id" not in render["requestBody"]["content"]["application/json"]["schema"]["properties"]
    json.dumps(doc)  # serialisable as is


async def test_oversized_body_is_413_and_nothing_reaches_a_servicer() -> None:
    """A gateway with a 1 KiB limit on port 0 (no servicers: the request must never get to one)."""
    import aiohttp
    from postwave.api.rest import RestGateway

    gateway = RestGateway({}, SERVICES, max_body_bytes=1024)
    port = await gateway.start("127.0.0.1:0")
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{port}/v1/send"
            async with session.post(url, data=b'{"subject": "' + b"x" * 4096 + b'"}',
                                    headers={"Content-Type": "application/json"}) as response:
                assert response.status == 413
                body = await response.json()
                assert body["code"] == code_pb2.RESOURCE_EXHAUSTED and "1024" in body["message"]
            async with session.get(f"http://127.0.0.1:{port}/v1/openapi.json") as response:
                assert response.status == 200 and (await response.json())["openapi"].startswith("3.")
    finally:
        await gateway.stop()


_json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
                 | st.text(max_size=12) | st.sampled_from(["NaN", "1e3", "-0", "9" * 30, "STREAM_BULK", "2030-01-01T00:00:00Z"]))
_json = st.recursive(_json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["from", "to", "subject", "personalizations", "substitutions", "headers", "attachments", "content",
                     "send_at", "stream", "template_version", "tags", "cursor", "types", "x", "sendAt"]), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(_json, st.sampled_from([send_pb2.SendRequest, send_pb2.SendBatchRequest, events_pb2.StreamEventsRequest,
                               admin_pb2.CreateTenantRequest, admin_pb2.RenderTemplateRequest]))
def test_any_json_is_a_message_or_invalid_argument(value: Any, cls: Any) -> None:
    """Whatever the JSON, decoding yields a request or INVALID_ARGUMENT, never another error."""
    try:
        to_message(value, cls.DESCRIPTOR)
    except InvalidArgumentError:
        pass

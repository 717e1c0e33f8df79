"""The REST/JSON gateway of a live `postwave serve`: the seed's three endpoints, events, admin
routes, and every documented error, each with its HTTP status and JSON body."""

from __future__ import annotations

import email
import email.policy
import time
from typing import Any

import grpc
import pytest
from google.rpc import status_pb2
from postwave.v1 import send_pb2

from tests.clients.conftest import DOMAIN, Live
from tests.platform import bearer
from tests.rest.conftest import Http, Reply, annotated_rpc_count

BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def mail(to: str, subject: str = "Hello", **fields: Any) -> dict[str, Any]:
    """A SendRequest in JSON."""
    return {"from": "Shop <shop@postwave.test>", "subject": subject, "text": "Hello there",
            "personalizations": [{"to": [to]}], **fields}


def assert_error(reply: Reply, status: int, code: int, field: str | None = None) -> dict[str, Any]:
    """The documented error shape: {code, message, details}, BadRequest naming the field."""
    assert reply.status == status, reply.raw
    assert reply.headers["Content-Type"].startswith("application/json")
    assert set(reply.body) == {"code", "message", "details"}, reply.body
    assert reply.body["code"] == code and reply.body["message"]
    if field is not None:
        detail = reply.body["details"][0]
        assert detail["@type"] == BAD_REQUEST
        assert detail["field_violations"][0]["field"] == field, reply.body
    return reply.body


def received_by(live: Live, recipients: set[str], timeout: float = 30) -> list[Any]:
    """The messages the SMTP peer received for ``recipients``, once all of them arrived (the
    platform is shared by the module's tests, so other tests' mail may arrive meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        got = [m for m in list(live.peer.received) if set(m.rcpt_tos) & recipients]
        if {r for m in got for r in m.rcpt_tos} >= recipients or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def wait_state(http: Http, message_id: str, states: set[str], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        reply = http.call("GET", f"/v1/status/{message_id}")
        assert reply.status == 200, reply.raw
        if reply.body["state"] in states or time.monotonic() > deadline:
            return reply.body
        time.sleep(0.1)


def test_send_then_status_then_mail(http: Http, live: Live) -> None:
    reply = http.call("POST", "/v1/send", mail(f"ann@{DOMAIN}", "Over REST"), headers={"Idempotency-Key": "rest-1"})
    assert reply.status == 200, reply.raw
    assert reply.headers["Cache-Control"] == "no-store"
    assert reply.body["send_id"] == "rest-1" and reply.body["code"] == 0
    [ref] = reply.body["messages"]
    assert ref["recipient"] == f"ann@{DOMAIN}" and ref["state"] == "accepted"

    again = http.call("POST", "/v1/send", mail(f"ann@{DOMAIN}", "Over REST"), headers={"Idempotency-Key": "rest-1"})
    assert again.status == 200 and again.body["messages"] == reply.body["messages"]

    status = wait_state(http, ref["message_id"], {"delivered", "bounced", "failed"})
    assert status["state"] == "delivered", status
    assert status["send_id"] == "rest-1" and status["recipient"] == f"ann@{DOMAIN}"
    assert status["attempt_count"] == 1
    [attempt] = status["attempts"]
    assert attempt["smtp_code"] == 250 and attempt["outcome"] == "delivered" and attempt["mx_host"]
    assert status["events"][0]["type"] == "accepted"
    assert isinstance(status["events"][0]["id"], str)  # int64 travels as a decimal string

    [received] = received_by(live, {f"ann@{DOMAIN}"})
    parsed = email.message_from_bytes(received.data, policy=email.policy.default)
    assert parsed["Subject"] == "Over REST" and received.rcpt_tos == [f"ann@{DOMAIN}"]


def test_batch_send_answers_per_item(http: Http, live: Live) -> None:
    reply = http.call("POST", "/v1/batch_send", {"requests": [
        mail(f"batch-a@{DOMAIN}"),
        {"from": "not an address", "subject": "x", "text": "y", "personalizations": [{"to": [f"batch-b@{DOMAIN}"]}]},
        mail(f"batch-c@{DOMAIN}"),
    ]})
    assert reply.status == 200, reply.raw
    codes = [r["code"] for r in reply.body["responses"]]
    assert codes == [0, 3, 0]
    assert reply.body["responses"][1]["field"] == "from" and reply.body["responses"][1]["messages"] == []
    received = received_by(live, {f"batch-a@{DOMAIN}", f"batch-c@{DOMAIN}"})
    assert sorted(r for m in received for r in m.rcpt_tos) == [f"batch-a@{DOMAIN}", f"batch-c@{DOMAIN}"]


def test_same_error_as_grpc(http: Http, live: Live) -> None:
    """The gateway reuses the servicers: a bad request fails with the very same Status."""
    body = mail(f"x@{DOMAIN}")
    body["personalizations"][0]["to"] = ["not-an-address"]
    rest = assert_error(http.call("POST", "/v1/send", body), 400, 3)
    req = send_pb2.SendRequest(subject="Hello", text="Hello there",
                               personalizations=[send_pb2.Personalization(to=["not-an-address"])])
    setattr(req, "from", "Shop <shop@postwave.test>")
    with pytest.raises(grpc.RpcError) as caught:
        live.platform.send_stub().Send(req, metadata=bearer(live.key), timeout=10)
    trailers = dict(caught.value.trailing_metadata())
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    assert rest["message"] == status.message and rest["code"] == status.code
    assert rest["details"][0]["field_violations"][0]["field"] == "personalizations[0].to[0]"


@pytest.mark.parametrize(("raw", "field", "words"), [
    (b'{"from": ', "body", "not valid JSON"),
    (b"[1, 2]", "body", "JSON object"),
    (b'{"subject": NaN}', "body", "NaN"),
    (b'{"subject": "a", "subject": "b"}', "subject", "twice"),
    (b'{"send_id": "a", "sendId": "b"}', "send_id", "given twice"),
    (b'{"bogus": 1}', "bogus", "unknown field"),
    (b'{"personalizations": [{"to": [1]}]}', "personalizations[0].to[0]", "must be a string"),
    (b'{"personalizations": {"to": []}}', "personalizations", "JSON array"),
    (b'{"sandbox": "yes"}', "sandbox", "true or false"),
    (b'{"template_version": "1.5"}', "template_version", "integer"),
    (b'{"template_version": 99999999999}', "template_version", "between"),
    (b'{"stream": "STREAM_SIDEWAYS"}', "stream", "STREAM_BULK"),
    (b'{"send_at": "tomorrow"}', "send_at", "RFC 3339"),
    (b'{"attachments": [{"filename": "a", "content": "%%%"}]}', "attachments[0].content", "base64"),
    (b'{"headers": {"X-A": 1}}', "headers.X-A", "must be a string"),
    (b'{"personalizations": [null]}', "personalizations[0]", "cannot be null"),
    (b'\xff\xfe', "body", "UTF-8"),
    (b'{"subject": "x"}', "from", "is required"),  # a missing field: the server's own validation
])
def test_bad_bodies(http: Http, raw: bytes, field: str, words: str) -> None:
    body = assert_error(http.call("POST", "/v1/send", raw=raw), 400, 3, field)
    assert words in body["message"], body


def test_bad_keys_and_scopes(http: Http, live: Live) -> None:
    missing = assert_error(http.call("POST", "/v1/send", mail(f"a@{DOMAIN}"), key=None), 401, 16)
    assert "missing API key" in missing["message"]
    unknown = http.call("POST", "/v1/send", mail(f"a@{DOMAIN}"), key="pw_0123456789abcdef_nope")
    assert_error(unknown, 401, 16)
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(http.call("GET", "/v1/status/x", key="not-a-key"), 401, 16)
    scheme = http.call("GET", "/v1/status/x", key=None, headers={"Authorization": "Basic YTpi"})
    assert_error(scheme, 401, 16)
    _, reader = live.platform.tenant("reader-only", scopes=("events.read",))
    denied = assert_error(http.call("POST", "/v1/send", mail(f"a@{DOMAIN}"), key=reader), 403, 7)
    assert "mail.send" in denied["message"]
    assert_error(http.call("GET", "/v1/events?no_follow=true", key="pw_0123456789abcdef_nope"), 401, 16)


def test_routes_verbs_and_transport_errors(http: Http) -> None:
    assert_error(http.call("GET", "/v1/status/msg-that-does-not-exist"), 404, 5)
    assert_error(http.call("GET", "/v1/nowhere"), 404, 5)
    wrong = assert_error(http.call("DELETE", "/v1/send"), 405, 12)
    assert http.call("DELETE", "/v1/send").headers["Allow"] == "POST"
    assert "POST" in wrong["message"]
    assert_error(http.call("POST", "/v1/send", raw=b"subject=x", headers={"Content-Type": "text/plain"}),
                 400, 3, "Content-Type")
    assert_error(http.call("POST", "/v1/send?subject=x", {}), 400, 3, "subject")
    assert_error(http.call("GET", "/v1/status/x", raw=b'{"a": 1}'), 400, 3, "body")
    assert_error(http.call("GET", "/v1/events?no_follow=true&colour=red"), 400, 3, "colour")
    assert_error(http.call("GET", "/v1/events?no_follow=maybe"), 400, 3, "no_follow")
    assert_error(http.call("GET", "/v1/events?cursor=abc&no_follow=true"), 400, 3, "cursor")
    assert_error(http.call("GET", "/v1/status/%ff"), 400, 3, "message_id")


def test_conflicting_idempotency_key_and_reuse(http: Http) -> None:
    first = http.call("POST", "/v1/send", mail(f"a@{DOMAIN}"), headers={"Idempotency-Key": "k-9"})
    assert first.status == 200
    assert_error(http.call("POST", "/v1/send", mail(f"a@{DOMAIN}", "changed"), headers={"Idempotency-Key": "k-9"}),
                 409, 6)
    assert_error(http.call("POST", "/v1/send", mail(f"a@{DOMAIN}", send_id="other"),
                           headers={"Idempotency-Key": "k-9"}), 400, 3, "send_id")


def test_quota_exhausted_is_429_with_retry_info(http: Http, live: Live) -> None:
    _, key = live.platform.tenant("tiny", daily_quota=1)
    assert http.call("POST", "/v1/send", mail(f"a@{DOMAIN}"), key=key).status == 200
    reply = http.call("POST", "/v1/send", mail(f"b@{DOMAIN}"), key=key)
    body = assert_error(reply, 429, 8)
    [detail] = [d for d in body["details"] if d["@type"] == RETRY_INFO]
    assert detail["retry_delay"].endswith("s")
    assert int(reply.headers["Retry-After"]) >= 1


def test_events_stream_as_ndjson(http: Http) -> None:
    sent = http.call("POST", "/v1/send", mail(f"ev@{DOMAIN}"))
    message_id = sent.body["messages"][0]["message_id"]
    stored = list(http.lines(f"/v1/events?no_follow=true&message_id={message_id}&types=accepted", limit=10))
    assert [line["result"]["type"] for line in stored] == ["accepted"]
    assert stored[0]["result"]["message_id"] == message_id
    # Following: the stream stays open and brings the delivery as it happens.
    followed = http.lines(f"/v1/events?message_id={message_id}&types=delivered", limit=1, timeout=30)
    [line] = list(followed)
    assert line["result"]["type"] == "delivered"


def test_templates_and_path_variables(http: Http) -> None:
    created = http.call("POST", "/v1/templates", {"name": "welcome", "subject": "Hi {{ name }}", "text": "Hello {{ name }}"})
    assert created.status == 200, created.raw
    template_id = created.body["template_id"]
    assert created.body["version"] == 1
    got = http.call("GET", f"/v1/templates/{template_id}?version=1")
    assert got.status == 200 and got.body["name"] == "welcome"
    rendered = http.call("POST", f"/v1/templates/{template_id}:render", {"substitutions": {"name": "Ann"}})
    assert rendered.status == 200, rendered.raw
    assert rendered.body["subject"] == "Hi Ann" and rendered.body["text"] == "Hello Ann"
    assert_error(http.call("POST", f"/v1/templates/{template_id}:render", {"template_id": "other"}), 400, 3, "template_id")
    listed = http.call("GET", "/v1/templates")
    assert [t["template_id"] for t in listed.body["templates"]] == [template_id]
    deleted = http.call("DELETE", f"/v1/templates/{template_id}")
    assert deleted.status == 200 and deleted.body["versions_deleted"] == 1
    assert_error(http.call("GET", f"/v1/templates/{template_id}"), 404, 5)


def test_revoking_a_key_over_rest_takes_effect_at_once(http: Http) -> None:
    created = http.call("POST", "/v1/keys", {"name": "short-lived", "scopes": ["mail.read"]})
    assert created.status == 200, created.raw
    secret, key_id = created.body["secret"], created.body["key"]["key_id"]
    assert_error(http.call("GET", "/v1/status/x", key=secret), 404, 5)  # authenticated, nothing there
    revoked = http.call("POST", f"/v1/keys/{key_id}:revoke")
    assert revoked.status == 200 and revoked.body["revoked"] is True
    assert_error(http.call("GET", "/v1/status/x", key=secret), 401, 16)
    assert_error(http.call("POST", "/v1/tenants", {"name": "nope"}), 403, 7)  # operator keys only


def test_openapi_document_lists_every_annotated_rpc(http: Http) -> None:
    reply = http.call("GET", "/v1/openapi.json", key=None)
    assert reply.status == 200
    doc = reply.body
    assert doc["openapi"].startswith("3.0")
    operations = {op["operationId"]: (method, path) for path, item in doc["paths"].items() for method, op in item.items()}
    assert operations["SendService_Send"] == ("post", "/v1/send")
    assert operations["SendService_SendBatch"] == ("post", "/v1/batch_send")
    assert operations["SendService_GetStatus"] == ("get", "/v1/status/{message_id}")
    assert operations["EventService_StreamEvents"] == ("get", "/v1/events")
    assert "SendService_BatchSend" not in operations  # client streaming has no JSON form
    assert len(operations) == annotated_rpc_count()
    send_schema = doc["components"]["schemas"]["postwave.v1.SendRequest"]
    assert send_schema["additionalProperties"] is False
    assert send_schema["properties"]["send_at"] == {"type": "string", "format": "date-time"}
    assert_error(http.call("POST", "/v1/openapi.json", {}), 405, 12)

"""Hostile content: refused with the field named, or neutralised -- as seen on the wire.

Everything accepted here is delivered through real DNS to the raw-recording sink
(tests/security/wire.py), which shows the bytes exactly as they crossed the socket: no
bare CR or LF, no transaction but the one sent, no header the tenant smuggled in, and the
whole body in one message.
"""

from __future__ import annotations

import email
import email.policy
import http.client
import re
import secrets
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from postwave.v1 import admin_pb2, send_pb2
from tests.platform import request
from tests.security.conftest import Site, Tenant
from tests.security.wire import Transaction

SMUGGLED = "MAIL FROM:<evil@wire.test>\r\nRCPT TO:<smuggled@wire.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nowned"
SEQUENCES = {
    "lf-dot-lf": "\n.\n", "cr-dot-cr": "\r.\r", "crlf-dot-crlf": "\r\n.\r\n", "lf-dot-crlf": "\n.\r\n",
    "crlf-dot-lf": "\r\n.\n", "cr-dot-crlf": "\r.\r\n", "bare-lf": "\n", "bare-cr": "\r", "dot-dot": "\r\n..\r\n",
}
BARE = re.compile(rb"\r(?!\n)|(?<!\r)\n")


@pytest.fixture(scope="module")
def tenant(site: Site) -> Tenant:
    """The sending tenant of this module."""
    return site.tenant("input")


def refused(site: Site, tenant: Tenant, req: send_pb2.SendRequest) -> tuple[str, str]:
    """Send, expect INVALID_ARGUMENT; (field path, message)."""
    with pytest.raises(grpc.RpcError) as info:
        site.platform.send_stub().Send(req, metadata=tenant.auth, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
    status = rpc_status.from_call(info.value)
    bad = error_details_pb2.BadRequest()
    assert status is not None and status.details[0].Unpack(bad)
    return bad.field_violations[0].field, info.value.details() or ""


def wire_check(tx: Transaction) -> email.message.EmailMessage:
    """The wire rules every delivered message keeps; the parsed message."""
    assert not BARE.search(tx.data), "a bare CR or LF crossed the wire"
    lines = tx.unstuffed().split(b"\r\n")
    assert b"." not in lines, "a lone '.' line relied on dot-stuffing"
    assert max(len(line) for line in lines) <= 998
    tx.data.decode("ascii")  # 7-bit clean
    return email.message_from_bytes(tx.unstuffed(), policy=email.policy.default)  # type: ignore[return-value]


def body_text(message: email.message.EmailMessage) -> str:
    """Every text part, decoded."""
    return "".join(p.get_content() for p in message.walk() if p.get_content_maintype() == "text")


def delivered(site: Site, case: str) -> tuple[Transaction, email.message.EmailMessage]:
    """The one transaction sent with header ``X-Case: <case>`` (after waiting for it)."""
    marker = f"X-Case: {case}\r\n".encode()
    while not site.sink.find(marker):
        site.sink.wait_for(len(site.sink.transactions) + 1, timeout=60)
    found = site.sink.find(marker)
    assert len(found) == 1, f"{len(found)} transactions carry {case!r}"
    return found[0], wire_check(found[0])


def case(req: send_pb2.SendRequest, name: str) -> send_pb2.SendRequest:
    """``req`` marked with header X-Case: ``name``, by which :func:`delivered` finds it."""
    req.headers["X-Case"] = name
    return req


def _att(**fields: Any) -> send_pb2.Attachment:
    return send_pb2.Attachment(**{"filename": "a.txt", "content_type": "text/plain", "content": b"x", **fields})


def _p(req: send_pb2.SendRequest, **fields: Any) -> send_pb2.SendRequest:
    for name, value in fields.items():
        target = getattr(req.personalizations[0], name)
        target.update(value) if isinstance(value, dict) else target.append(value)
    return req


INJECTION: list[tuple[str, Callable[[], send_pb2.SendRequest], str]] = [
    ("from display name", lambda: request(to=["a@wire.test"], sender='"Eve\r\nBcc: v@wire.test" <e@wire.test>'), "from"),
    ("from local part", lambda: request(to=["a@wire.test"], sender="e\r\nBcc: v@wire.test"), "from"),
    ("reply_to", lambda: request(to=["a@wire.test"], reply_to="r@wire.test\r\nBcc: v@wire.test"), "reply_to"),
    ("subject nul", lambda: request(to=["a@wire.test"], subject="Hi\x00there"), "subject"),
    ("subject bare cr", lambda: request(to=["a@wire.test"], subject="Hi\rBcc: v@wire.test"), "subject"),
    ("personal subject", lambda: _subject(request(to=["a@wire.test"]), "x\nBcc: v@wire.test"),
     "personalizations[0].subject"),
    ("personal header", lambda: _p(request(to=["a@wire.test"]), headers={"X-A": "1\r\nBcc: v@wire.test"}),
     "personalizations[0].headers.X-A"),
    ("header name", lambda: request(to=["a@wire.test"], headers={"X-A\r\nBcc": "v@wire.test"}), "headers.X-A\r\nBcc"),
    ("cc", lambda: _p(request(to=["a@wire.test"]), cc="c@wire.test\r\nBcc: v@wire.test"), "personalizations[0].cc[0]"),
    ("bcc", lambda: _p(request(to=["a@wire.test"]), bcc="b@wire.test\nRCPT TO:<v@wire.test>"),
     "personalizations[0].bcc[0]"),
    ("to display name", lambda: request(to=['"A\r\nBcc: v@wire.test" <a@wire.test>']), "personalizations[0].to[0]"),
    ("attachment filename", lambda: request(to=["a@wire.test"], attachments=[_att(filename="a\r\nBcc: v@wire.test")]),
     "attachments[0].filename"),
    ("attachment content_type", lambda: request(to=["a@wire.test"], attachments=[
        _att(content_type="text/plain\r\nBcc: v@wire.test")]), "attachments[0].content_type"),
    ("attachment content_id", lambda: request(to=["a@wire.test"], attachments=[_att(content_id="c\r\nBcc: v")]),
     "attachments[0].content_id"),
    ("tag", lambda: request(to=["a@wire.test"], tags=["t\r\nBcc: v@wire.test"]), "tags[0]"),
    ("send_id", lambda: request(to=["a@wire.test"], send_id="s\r\nBcc: v"), "send_id"),
    ("batch_id", lambda: request(to=["a@wire.test"], batch_id="b\nBcc: v"), "batch_id"),
]


def _subject(req: send_pb2.SendRequest, subject: str) -> send_pb2.SendRequest:
    req.personalizations[0].subject = subject
    return req


@pytest.mark.parametrize("name,make,field", INJECTION, ids=[c[0] for c in INJECTION])
def test_header_injection_is_refused_naming_the_field(site: Site, tenant: Tenant, name: str,
                                                      make: Callable[[], send_pb2.SendRequest], field: str) -> None:
    got, message = refused(site, tenant, make())
    assert got == field, (got, message)


def test_values_that_reach_headers_indirectly_are_neutralised_on_the_wire(site: Site, tenant: Tenant) -> None:
    """Substituted subjects, Unicode line separators, custom args, metadata and unsubscribe
    groups with CR/LF are accepted, and no header the tenant wrote arrives."""
    tag = secrets.token_hex(4)
    cases = {
        f"inj-sub-{tag}": lambda: _with_subs(request(to=["a@wire.test"], subject="Hi {{ name }}"),
                                             name="x\r\nBcc: victim@wire.test\r\nX-Evil: 1"),
        f"inj-uni-{tag}": lambda: request(to=["a@wire.test"], subject="a\u2028Bcc: victim@wire.test\x85X-Evil: 1"),
        f"inj-meta-{tag}": lambda: _custom(request(to=["a@wire.test"], unsubscribe_group="g\r\nX-Evil: 1",
                                                   metadata={"m": "1\r\nBcc: victim@wire.test"})),
    }
    for name, make in cases.items():
        site.platform.send_stub().Send(case(make(), name), metadata=tenant.auth, timeout=30)
    for name in cases:
        tx, message = delivered(site, name)
        header_names = {h.lower() for h in message.keys()}
        assert not header_names & {"bcc", "x-evil"}, (name, header_names)
        assert b"victim" not in b"".join(tx.rcpt_to)
    assert not [c for c in site.sink.commands if b"victim" in c or b"smuggled" in c]


def _with_subs(req: send_pb2.SendRequest, **subs: Any) -> send_pb2.SendRequest:
    req.personalizations[0].substitutions.update(subs)
    return req


def _custom(req: send_pb2.SendRequest) -> send_pb2.SendRequest:
    req.personalizations[0].custom_args["c"] = "1\r\nBcc: victim@wire.test"
    return req


def test_smtp_smuggling_in_bodies_and_templates_never_reaches_the_wire(site: Site, tenant: Tenant) -> None:
    admin, send = site.platform.admin_stub(), site.platform.send_stub()
    tag = secrets.token_hex(4)
    names = []
    for name, seq in SEQUENCES.items():
        payload = f"START{seq}{SMUGGLED}{seq}END"
        inline = f"smug-{name}-{tag}"
        send.Send(case(request(to=["a@wire.test"], text=payload, html=f"<p>{payload}</p>"), inline),
                  metadata=tenant.auth, timeout=30)
        stored = admin.CreateTemplate(admin_pb2.CreateTemplateRequest(
            name=name, subject="s", text=payload + "{{ v }}", html="<p>" + payload + "{{ v }}</p>"),
            metadata=tenant.auth, timeout=10)
        templated = f"smugt-{name}-{tag}"
        send.Send(case(_with_subs(request(to=["a@wire.test"], template_id=stored.template_id),
                                  v=seq + SMUGGLED + seq + "VEND"), templated), metadata=tenant.auth, timeout=30)
        names += [inline, templated]
    for name in names:
        tx, message = delivered(site, name)
        text = body_text(message)
        assert text.count("START") == 2 and text.count("END") >= 2 and "owned" in text, (name, text[:200])
        assert name.startswith("smug-") or text.count("VEND") == 2
    assert not [c for c in site.sink.commands if b"smuggled@" in c or b"evil@" in c]
    assert not [t for t in site.sink.transactions if any(b"smuggled" in r for r in t.rcpt_to)]


LIMITS: list[tuple[str, Callable[[], send_pb2.SendRequest], str, str]] = [
    ("subject", lambda: request(to=["a@wire.test"], subject="s" * 1_000_000), "subject", "998"),
    ("header value", lambda: request(to=["a@wire.test"], headers={"X-Big": "v" * 100_000}), "headers.X-Big", "998"),
    ("filename", lambda: request(to=["a@wire.test"], attachments=[_att(filename="f" * 300 + ".txt")]),
     "attachments[0].filename", "255"),
    ("rendered subject", lambda: _with_subs(request(to=["a@wire.test"], subject="{{ s }}"), s="s" * 5000),
     "subject", "998"),
    ("personal subject", lambda: _subject(request(to=["a@wire.test"]), "s" * 999), "personalizations[0].subject",
     "998"),
    ("send_id", lambda: request(to=["a@wire.test"], send_id="s" * 129), "send_id", "128"),
    ("tag", lambda: request(to=["a@wire.test"], tags=["t" * 65]), "tags[0]", "64"),
    ("tags", lambda: request(to=["a@wire.test"], tags=[f"t{i}" for i in range(11)]), "tags", "10"),
    ("recipients", lambda: request(to=[f"u{i}@wire.test" for i in range(1001)]), "personalizations", "1000"),
    ("message", lambda: request(to=["a@wire.test"], text="x" * (26 * 1024 * 1024)), "attachments", "26214400"),
    ("address", lambda: request(to=["a" * 300 + "@wire.test"]), "personalizations[0].to[0]", ""),
]


@pytest.mark.parametrize("name,make,field,limit", LIMITS, ids=[c[0] for c in LIMITS])
def test_oversized_fields_name_the_field_and_the_limit(site: Site, tenant: Tenant, name: str,
                                                       make: Callable[[], send_pb2.SendRequest], field: str,
                                                       limit: str) -> None:
    got, message = refused(site, tenant, make())
    assert got == field and limit in message, (got, message)


TRAVERSAL = ["../../etc/passwd", "..\\..\\Windows\\win.ini", "/etc/passwd", "a/../../b.txt", "..", ".",
             "C:\\boot.ini", "x\tname.txt", "evil\x7f.exe"]


@pytest.mark.parametrize("filename", TRAVERSAL)
def test_attachment_names_are_names_not_paths(site: Site, tenant: Tenant, filename: str) -> None:
    got, message = refused(site, tenant, request(to=["a@wire.test"], attachments=[_att(filename=filename)]))
    assert got == "attachments[0].filename" and "plain file name" in message, message


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": "deep"}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_deeply_nested_substitutions(site: Site, tenant: Tenant) -> None:
    send = site.platform.send_stub()
    # Within protobuf's nesting limit: rendered like any other value.
    name = "nest-ok-" + secrets.token_hex(3)
    ok = case(request(to=["a@wire.test"], text="{{ " + "d" + ".a" * 20 + ".leaf }}"), name)
    ok.personalizations[0].substitutions.update({"d": _nested(20)})
    send.Send(ok, metadata=tenant.auth, timeout=30)
    assert "deep" in body_text(delivered(site, name)[1])
    # Beyond it: a gRPC request that cannot be decoded, refused with INVALID_ARGUMENT.
    deep = request(to=["a@wire.test"], text="x")
    bottom = deep.personalizations[0].substitutions
    for _ in range(200):
        bottom = bottom.fields["a"].struct_value
    raw = deep.SerializeToString()
    call = site.platform.channel.unary_unary("/postwave.v1.SendService/Send", request_serializer=lambda b: b,
                                             response_deserializer=send_pb2.SendResponse.FromString)
    with pytest.raises(grpc.RpcError) as info:
        call(raw, metadata=tenant.auth, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # The same over REST, as JSON 100,000 levels deep: 400, and the gateway keeps serving.
    body = b'{"from": "s@postwave.test", "subject": "s", "text": "t", "personalizations": [{"to": ["a@wire.test"], ' \
           b'"substitutions": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_000 + b"}]}"
    conn = http.client.HTTPConnection("127.0.0.1", site.platform.http_port, timeout=30)
    conn.request("POST", "/v1/send", body=body, headers={"Authorization": f"Bearer {tenant.key}",
                                                         "Content-Type": "application/json"})
    reply = conn.getresponse()
    assert reply.status == 400 and b'"code": 3' in reply.read().replace(b'"code":3', b'"code": 3')
    conn.close()
    assert send.Send(request(to=["a@wire.test"]), metadata=tenant.auth, timeout=30).messages


ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ ''|attr('__class__') }}",
    "{{ '{0.__class__.__base__}'.format(1) }}",
    "{{ request }}{{ config }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ namespace.__init__.__globals__ }}",
    "{% set x = joiner.__init__ %}{{ x.__globals__ }}",
    "{{ d.__class__ }}",
    "{{ d.items.__self__.__class__ }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_template_sandbox_escapes_are_refused_at_every_entry(site: Site, tenant: Tenant, source: str) -> None:
    admin = site.platform.admin_stub()
    outcomes: list[str] = []
    try:
        made = admin.CreateTemplate(admin_pb2.CreateTemplateRequest(name="esc", text=source), metadata=tenant.auth,
                                    timeout=10)
        subs = struct_pb2.Struct()
        json_format.ParseDict({"d": {"k": "v"}}, subs)
        rendered = admin.RenderTemplate(admin_pb2.RenderTemplateRequest(template_id=made.template_id,
                                                                        substitutions=subs),
                                        metadata=tenant.auth, timeout=10)
        outcomes.append(rendered.text)
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT, exc.details()
    field, message = refused(site, tenant, _with_subs(request(to=["a@wire.test"], text=source), d={"k": "v"}))
    assert field == "text"
    for text in [message, *outcomes]:
        assert not re.search(r"<class|<function|<module|<built-in|uid=|subprocess", text), text

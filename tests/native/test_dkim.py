"""DKIM signing: every signature verifies with dkimpy; compiled and twin sign identically."""

from __future__ import annotations

import base64
import os
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from hypothesis import given
from hypothesis import strategies as st

from postwave.errors import InvalidArgumentError
from postwave.render.dkim import DkimKey, load_key
from postwave.render.mime import Attachment, build_message
from tests.native.twins import DIFFERENTIAL, KINDS, compiled, implementation, outcome, twin

RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED25519 = ed25519.Ed25519PrivateKey.generate()
RSA_KEY = DkimKey("shop.example", "rsa2024", RSA)
ED_KEY = DkimKey("shop.example", "ed2024", ED25519)


def dns(name: bytes, timeout: int = 5) -> bytes:
    """The DKIM TXT records of shop.example, as dkimpy asks for them."""
    if name == b"rsa2024._domainkey.shop.example.":
        der = RSA.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    if name == b"ed2024._domainkey.shop.example.":
        raw = ED25519.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw)
    return b""


def verifies(signed: bytes, index: int) -> bool:
    """Whether dkimpy verifies signature ``index`` (it raises on some failures)."""
    try:
        return bool(dkimpy.DKIM(signed).verify(idx=index, dnsfunc=dns))
    except dkimpy.DKIMException:
        return False


def verify_all(signed: bytes, count: int) -> None:
    for index in range(count):
        assert verifies(signed, index), f"signature {index} does not verify"


def message(**overrides: object) -> bytes:
    fields: dict[str, object] = {
        "from_addr": "Jörg Müller — Shop <news@shop.example>",
        "to": ["Ann Lee <ann@example.com>", "bob@example.net"],
        "cc": ["Carl <carl@example.org>"],
        "subject": "Grüße " + "and a very long subject that has to be folded " * 4,
        "text": "Hello  there \t\nline two   \n\n\n",
        "html": "<p>Hello</p>\n",
        "attachments": [Attachment("report.pdf", "application/pdf", os.urandom(5000)),
                        Attachment("logo.png", "image/png", b"\x89PNG" + bytes(300), content_id="logo")],
        "headers": {"X-Campaign": "spring  sale\t2024"},
        "message_id": "m1@shop.example",
        "date": datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc),
        "list_unsubscribe": "https://t.shop.example/u/m1",
        "list_unsubscribe_post": True,
    }
    fields.update(overrides)
    return build_message(**fields)  # type: ignore[arg-type]


@pytest.fixture(params=KINDS)
def dk(request: pytest.FixtureRequest) -> ModuleType:
    return implementation("dkim", request.param)


@pytest.mark.parametrize("keys", [[RSA_KEY], [ED_KEY], [ED_KEY, RSA_KEY]], ids=["rsa", "ed25519", "dual"])
def test_signatures_verify_with_dkimpy(dk: ModuleType, keys: list[DkimKey]) -> None:
    signed = dk.sign(message(), keys)
    assert signed.count(b"DKIM-Signature:") == len(keys)
    verify_all(signed, len(keys))
    assert f"a={keys[0].algorithm};".encode() in signed.split(b"\r\n\r\n")[0]


def test_tampering_breaks_the_signature(dk: ModuleType) -> None:
    signed = dk.sign(message(), [RSA_KEY, ED_KEY])
    for tampered in (signed.replace(b"Hello", b"Jello"), signed.replace(b"Subject:", b"Subject: Re:"),
                     b"From: evil@attacker.example\r\n" + signed):
        assert not verifies(tampered, 0) and not verifies(tampered, 1)


def test_an_added_header_field_breaks_the_signature_when_oversigned(dk: ModuleType) -> None:
    signed = dk.sign(message(reply_to=None), [RSA_KEY])
    head, body = signed.split(b"\r\n\r\n", 1)
    assert verifies(signed, 0)
    assert not verifies(head + b"\r\nReply-To: phish@attacker.example\r\n\r\n" + body, 0)


def test_signature_layout(dk: ModuleType) -> None:
    signed = dk.sign(message(), [RSA_KEY], timestamp=1700000000)
    header = signed.split(b"\r\nFrom:")[0].decode()
    assert header.startswith("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=shop.example;\r\n")
    assert " s=rsa2024; t=1700000000;" in header
    assert "h=from:from:to:to:cc:cc:reply-to:subject:subject:date:date:message-id:message-id:" in header
    assert all(len(line) <= 998 for line in header.split("\r\n"))


def test_relaxed_canonicalization(dk: ModuleType) -> None:
    assert dk.relaxed_body(b"") == b""
    assert dk.relaxed_body(b"\r\n\r\n") == b""
    assert dk.relaxed_body(b" a \t b \r\n\r\n c\t\r\n\r\n\r\n") == b" a b\r\n\r\n c\r\n"
    assert dk.relaxed_body(b"no newline ") == b"no newline\r\n"
    assert dk.relaxed_header(b"SUBJect \t:  a \r\n\t b  \r\n") == b"subject:a b\r\n"
    assert dk.relaxed_header(b"X:\r\n") == b"x:\r\n"
    with pytest.raises(ValueError):
        dk.relaxed_header(b"no colon")


def test_no_keys_leaves_the_message_alone_and_bad_input_is_refused(dk: ModuleType) -> None:
    assert dk.sign(b"X: y\r\n\r\nbody", []) == b"X: y\r\n\r\nbody"
    with pytest.raises(ValueError):
        dk.sign(b"X: no body separator\r\n", [ED_KEY])


def test_load_key_reads_pem_files(tmp_path: Path) -> None:
    path = tmp_path / "ed.pem"
    path.write_bytes(ED25519.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key = load_key(str(path), domain="Shop.Example", selector="ed2024")
    assert key.domain == "shop.example" and key.algorithm == "ed25519-sha256"
    with pytest.raises(InvalidArgumentError):
        load_key(str(tmp_path / "missing.pem"), domain="shop.example", selector="s")
    with pytest.raises(InvalidArgumentError):
        load_key(str(path), domain="shop.example", selector="bad selector")


_field_text = st.text(alphabet=st.sampled_from(list("ab Z:\t-\r\n")), max_size=40)
_body = st.binary(max_size=400) | st.lists(st.sampled_from([b"x", b" ", b"\t", b"\r\n", b"\r", b"\n", b"."]),
                                           max_size=80).map(b"".join)


@DIFFERENTIAL
@given(body=_body, field=_field_text)
def test_canonicalization_compiled_equals_twin(body: bytes, field: str) -> None:
    c, t = compiled("dkim"), twin("dkim")
    assert c.relaxed_body(body) == t.relaxed_body(body)
    raw = field.encode()
    assert outcome(c.relaxed_header, raw) == outcome(t.relaxed_header, raw)


@DIFFERENTIAL
@given(
    subject=st.text(max_size=150).filter(lambda s: not any(c in s for c in "\r\n\x00")),
    text=st.text(max_size=500),
    extra=st.dictionaries(st.sampled_from(["X-A", "X-B", "Keywords"]), st.text(alphabet="ab \t", max_size=90)),
)
def test_signatures_compiled_equal_twin_and_verify(subject: str, text: str, extra: dict[str, str]) -> None:
    try:
        raw = message(subject=subject, text=text, headers=extra, attachments=[])
    except InvalidArgumentError:
        return  # the builder refuses it (a lone surrogate, say): nothing to sign
    signed = compiled("dkim").sign(raw, [ED_KEY, RSA_KEY], timestamp=1)
    assert signed == twin("dkim").sign(raw, [ED_KEY, RSA_KEY], timestamp=1)
    verify_all(signed, 2)

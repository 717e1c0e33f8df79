"""The pipeline runs on the hot path: fast personalization with the Jinja2 fallback, link
tracking in compose, and DKIM signing in the delivery guard steps (verified by dkimpy)."""

from __future__ import annotations

import base64
import email
import email.policy
import re
import time
from pathlib import Path
from typing import Any

import dkim as dkimpy
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from postwave import config as config_mod
from postwave.errors import InvalidArgumentError, TemplateError
from postwave.pipeline import compose
from postwave.pipeline.deliver import Deliverer
from postwave.queue.base import Lease
from postwave.render.templates import TemplateEngine
from postwave.store.base import MessageRecord
from postwave.tracking.linkwrap import url_hash, verify_token
from tests.platform import request

ENGINE = TemplateEngine()
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED25519 = ed25519.Ed25519PrivateKey.generate()


def test_render_takes_the_fast_path_and_falls_back_to_the_engine() -> None:
    req = request(to=["a@example.com"], subject="Hi {{ name|title }}", text="Dear {{ name }},\n",
                  html="<p>{{ name }} {% if vip %}VIP{% endif %}</p>")
    rendered = compose.render(ENGINE, req, None, 0, {"name": "ann <lee>", "vip": True})
    assert rendered == compose.Rendered("Hi Ann <Lee>", "Dear ann <lee>,", "<p>ann &lt;lee&gt; VIP</p>")
    with pytest.raises(TemplateError) as info:
        compose.render(ENGINE, req, None, 0, {})  # the engine names what is missing
    assert "name" in info.value.message and info.value.field == "subject"


def test_compose_wraps_links_and_adds_the_open_pixel() -> None:
    req = request(to=["a@example.com"], text="Go to https://shop.example/x now",
                  html='<html><body><a href="https://shop.example/x?a=1&amp;b=2">x</a></body></html>')
    rendered = compose.render(ENGINE, req, None, 0, {})
    tracking = compose.Tracking("https://t.postwave.example", b"k", "msg-1", clicks=True, opens=True)
    raw = compose.compose(rendered, req, 0, message_id="msg-1@postwave.example", list_unsubscribe=None,
                          tracking=tracking)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    tokens = re.findall(r"https://t\.postwave\.example/[co]/([\w-]+\.[\w-]+)", html + text)
    assert [verify_token({"1": b"k"}, t) for t in tokens] == [
        ("1", "c", "msg-1", 0, url_hash("https://shop.example/x?a=1&b=2")), ("1", "o", "msg-1", 0, ""),
        ("1", "t", "msg-1", 0, url_hash("https://shop.example/x"))]
    untracked = compose.compose(rendered, req, 0, message_id="m@p.example", list_unsubscribe=None)
    assert b"t.postwave.example" not in untracked


def _pem(key: Any, path: Path) -> str:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return str(path)


def _dns(name: bytes, timeout: int = 5) -> bytes:
    if name.startswith(b"rsa."):
        der = RSA.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    raw = ED25519.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw)


def test_the_worker_dkim_signs_what_it_composes(tmp_path: Path) -> None:
    config = config_mod.load({
        "data_dir": str(tmp_path), "helo_name": "mta.postwave.example", "dkim_domain": "postwave.example",
        "dkim_selector": "rsa,ed", "dkim_private_key_path": f"{_pem(RSA, tmp_path / 'r.pem')},{_pem(ED25519, tmp_path / 'e.pem')}",
    }, environ={})
    deliverer = Deliverer(store=None, config=config, engine=ENGINE, resolver=None, pool=None)  # type: ignore[arg-type]
    req = request(to=["ann@example.com"], subject="Grüße {{ n }}", text="Hello {{ n }}\n", html="<p>{{ n }}</p>")
    req.personalizations[0].substitutions.update({"n": "Ann"})
    now = time.time()
    msg = MessageRecord("m1", "t1", "r1", 0, "ann@example.com", "accepted", "transactional", "", "", now, now,
                        now + 3600, 0)
    lease = Lease("m1", "t1", "transactional", 1)
    signed = deliverer.sign_message(lease, msg, deliverer.compose_message(lease, msg, req, None))
    assert signed.count(b"DKIM-Signature:") == 2
    checker = dkimpy.DKIM(signed)
    assert checker.verify(idx=0, dnsfunc=_dns) and checker.verify(idx=1, dnsfunc=_dns)


def test_dkim_and_tracking_configuration_is_checked() -> None:
    for bad in ({"dkim_private_key_path": "/k.pem"}, {"dkim_domain": "x.example"},
                {"dkim_domain": "x.example", "dkim_selector": "a,b", "dkim_private_key_path": "/k.pem"},
                {"track_clicks": "true"}):
        with pytest.raises(InvalidArgumentError):
            config_mod.load(bad, environ={})

"""The compiled hot path against its twins and against the usual alternatives.

    PYTHONPATH=server python3 -m pytest benchmarks/bench_native.py -p no:cacheprovider -q

Every number that matters is a ratio printed at the end (see benchmarks/conftest.py):
compiled vs twin, and postwave vs the alternative a Python developer would reach for
(``email.message.EmailMessage``, dkimpy, Jinja2). The workload is the one of issue 3: a
message of about 20 KB (text and html alternatives, 5 links, one 3 KB attachment).
Run with POSTWAVE_NO_EXTENSIONS unset and the extensions built; the twins are imported
directly, so both sides run in the same process.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import os
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from types import ModuleType
from typing import Any

import dkim as dkimpy
import jinja2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from postwave.native import MODULES
from postwave.render.dkim import DkimKey
from postwave.render.mime import Attachment
from postwave.render.templates import TemplateEngine



def module(name: str, kind: str) -> ModuleType:
    if kind == "twin":
        return importlib.import_module(MODULES[name])
    try:
        return importlib.import_module(f"postwave._native.{name}")
    except ImportError as exc:
        pytest.skip(f"postwave._native.{name} is not built: {exc}")


KINDS = ["compiled", "twin"]
URLS = [f"https://shop.example/product/{i}?utm_source=mail&utm_campaign=spring" for i in range(5)]
TEXT = "".join(
    f"Line {i}: thank you for shopping with us; here is some news about your account.\n"
    + (f"See {URLS[i // 15]}\n" if i % 15 == 0 else "")
    for i in range(75)
)
HTML = "<html><body>\n" + "".join(
    f"<p>Paragraph {i}: thank you for shopping with us, here is some news about your account.</p>\n"
    + (f'<p><a href="{URLS[i // 14].replace("&", "&amp;")}">Product {i // 14}</a></p>\n' if i % 14 == 0 else "")
    for i in range(70)
) + "</body></html>\n"
ATTACHMENT = Attachment("invoice.pdf", "application/pdf", os.urandom(3000))
FIELDS: dict[str, Any] = {
    "from_addr": "Shop <news@shop.example>", "to": ["Ann Lee <ann@example.com>"], "subject": "Your spring news",
    "text": TEXT, "html": HTML, "attachments": [ATTACHMENT], "message_id": "m1@shop.example",
    "date": datetime(2024, 5, 6, tzinfo=timezone.utc),
}
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def email_message() -> bytes:
    """The same message with the standard library: the alternative to postwave's builder."""
    message = EmailMessage()
    message["From"] = FIELDS["from_addr"]
    message["To"] = FIELDS["to"][0]
    message["Subject"] = FIELDS["subject"]
    message["Message-ID"] = "<m1@shop.example>"
    message.set_content(TEXT)
    message.add_alternative(HTML, subtype="html")
    message.add_attachment(ATTACHMENT.content, maintype="application", subtype="pdf", filename="invoice.pdf")
    return message.as_bytes(policy=policy.SMTP)


# -- mime ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_mime(benchmark: Any, keep: Any, kind: str) -> None:
    build = module("mime", kind).build_message
    raw = benchmark(lambda: build(**FIELDS))
    assert 18_000 < len(raw) < 24_000
    keep(f"mime:{kind}")


def test_mime_email_message(benchmark: Any, keep: Any) -> None:
    benchmark(email_message)
    keep("mime:email")


# -- dkim ---------------------------------------------------------------------------------

MESSAGE = importlib.import_module(MODULES["mime"]).build_message(**FIELDS)


@pytest.mark.parametrize("kind", KINDS)
def test_dkim(benchmark: Any, keep: Any, kind: str) -> None:
    sign = module("dkim", kind).sign
    key = DkimKey("shop.example", "rsa2024", RSA)
    benchmark(lambda: sign(MESSAGE, [key], timestamp=1700000000))
    keep(f"dkim:{kind}")


def test_dkim_bare_rsa_signature(benchmark: Any, keep: Any) -> None:
    digest = hashlib.sha256(MESSAGE[:500]).digest()
    benchmark(lambda: RSA.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256())))
    keep("dkim:bare-rsa")


def test_dkim_dkimpy(benchmark: Any, keep: Any) -> None:
    pem = RSA.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    headers = [b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type"]
    benchmark.pedantic(lambda: dkimpy.sign(MESSAGE, b"rsa2024", b"shop.example", pem, include_headers=headers),
                       rounds=10, iterations=1)
    keep("dkim:dkimpy")


# -- personalize --------------------------------------------------------------------------

TEMPLATE = (
    "<p>Hello {{ first_name|default('there') }},</p>\n"
    "<p>your order {{ order.id }} of {{ order.total }} is on its way to {{ order.city }}.</p>\n"
    "<p>Questions? Write to {{ support_email }}.</p>\n"
)
CONTEXT = {"first_name": "Ann", "order": {"id": "A-10042", "total": "€42.50", "city": "Zürich"},
           "support_email": "help@shop.example"}
CONTEXTS = [dict(CONTEXT, first_name=f"User {i}") for i in range(1000)]


@pytest.mark.parametrize("kind", KINDS)
def test_personalize(benchmark: Any, keep: Any, kind: str) -> None:
    program = module("personalize", kind).compile_template(TEMPLATE, autoescape=True)
    assert program.render(CONTEXT) == jinja2.Environment(autoescape=True).from_string(TEMPLATE).render(CONTEXT)
    benchmark(program.render, CONTEXT)
    keep(f"personalize:{kind}")


def test_personalize_jinja2(benchmark: Any, keep: Any) -> None:
    template = jinja2.Environment(autoescape=True).from_string(TEMPLATE)
    benchmark(template.render, CONTEXT)
    keep("personalize:jinja2")


def test_personalize_postwave_sandbox(benchmark: Any, keep: Any) -> None:
    engine = TemplateEngine()
    benchmark(lambda: engine.render(TEMPLATE, CONTEXT, field="html", autoescape=True))
    keep("personalize:sandbox")


def test_personalize_batch_of_1000(benchmark: Any, keep: Any) -> None:
    program = module("personalize", "compiled").compile_template(TEMPLATE, autoescape=True)
    rendered = benchmark(program.render_many, CONTEXTS)
    assert None not in rendered
    keep("absolute:personalize: batch of 1,000 recipients (target <= 10 ms)")


# -- tokenbucket ----------------------------------------------------------------------------

# What the shaper charges per message: the source IP's total bucket and its (source IP,
# site) bucket, as the same key objects every time (the shaper keeps them).
SHAPING_KEYS = ("127.0.0.10", ("127.0.0.10", "google.com"))
# Calls of well under a microsecond: the same fixed loop on both sides, long enough that the
# timer's own cost (which pytest-benchmark's calibration leaves in under load) is amortised.
NANO = {"rounds": 300, "iterations": 2000, "warmup_rounds": 5}


@pytest.mark.parametrize("kind", KINDS)
def test_tokenbucket(benchmark: Any, keep: Any, kind: str) -> None:
    """The per-message call: one all-or-nothing acquisition over the message's buckets."""
    buckets = module("tokenbucket", kind).TokenBuckets(1e9, 1e9)
    assert buckets.try_acquire_all(SHAPING_KEYS, 1, 1000.0)
    benchmark.pedantic(buckets.try_acquire_all, (SHAPING_KEYS, 1, 1000.0), **NANO)
    keep(f"tokenbucket:{kind}")


@pytest.mark.parametrize("kind", KINDS)
def test_tokenbucket_single_key(benchmark: Any, keep: Any, kind: str) -> None:
    """One key per call: mostly the cost of a Python method call on either side."""
    buckets = module("tokenbucket", kind).TokenBuckets(1e9, 1e9)
    benchmark.pedantic(buckets.try_acquire, ("tenant-1", 1, 1000.0), **NANO)
    keep(f"tokenbucket-single-key:{kind}")


# -- linkwrap -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_linkwrap(benchmark: Any, keep: Any, kind: str) -> None:
    lw = module("linkwrap", kind)
    options = {"base_url": "https://t.shop.example", "key": b"secret", "message_id": "m1"}
    html, text = benchmark(lambda: (lw.wrap_html(HTML, **options), lw.wrap_text(TEXT, **options)))
    assert html.count("https://t.shop.example/c/") == 5 and text.count("https://t.shop.example/c/") == 5
    keep(f"linkwrap:{kind}")


def test_sizes() -> None:
    """The workload is what the issue describes."""
    assert 18_000 < len(MESSAGE) < 24_000
    assert base64.b64encode(ATTACHMENT.content)

"""Link wrapping: signed tracking URLs that cannot be forged; compiled equals twin."""

from __future__ import annotations

import re
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postwave.errors import InvalidArgumentError
from postwave.tracking.linkwrap import InvalidTokenError, Token, html_links, text_links, url_hash, verify_token
from tests.native.twins import DIFFERENTIAL, KINDS, compiled, implementation, twin

KEY = b"tracking secret"
KEYS = {"1": KEY}
BASE = "https://t.postwave.example"
OPTIONS = {"base_url": BASE, "key": KEY, "message_id": "m123"}


@pytest.fixture(params=KINDS)
def lw(request: pytest.FixtureRequest) -> ModuleType:
    return implementation("linkwrap", request.param)


def targets(wrapped: str) -> list[Token]:
    return [verify_token(KEYS, token) for token in re.findall(rf"{re.escape(BASE)}/[co]/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)", wrapped)]


HTML = """<html><body>
<p><a href="https://shop.example/p?id=1&amp;utm=x">product</a>
<A class=btn HREF='http://shop.example/b'>B</A>
<a href=https://shop.example/bare>bare</a>
<a href="mailto:help@shop.example">mail</a> <a href="#top">top</a> <a href="/relative">rel</a>
<a href="tel:+4912345">call</a> <a data-pw-notrack href="https://shop.example/private">no</a>
<abbr href="https://not.a.link">x</abbr> <a href="https://broken.example>unclosed</a>
</body></html>"""


def test_html_links_are_wrapped_and_the_pixel_added(lw: ModuleType) -> None:
    wrapped = lw.wrap_html(HTML, **OPTIONS)
    links = ["https://shop.example/p?id=1&utm=x", "http://shop.example/b", "https://shop.example/bare"]
    assert targets(wrapped) == [
        *(Token("1", "c", "m123", i, url_hash(url)) for i, url in enumerate(links)),
        Token("1", "o", "m123", 0, ""),
    ]
    assert html_links(HTML) == links  # what the tracker resolves an index against
    for kept in ('href="mailto:help@shop.example"', 'href="#top"', 'href="/relative"', 'href="tel:+4912345"',
                 'data-pw-notrack href="https://shop.example/private"', '<abbr href="https://not.a.link">'):
        assert kept in wrapped
    assert re.search(r'<img src="https://t\.postwave\.example/o/[^"]+\.gif" width="1" height="1"[^>]*>\n?</body>', wrapped)
    assert lw.wrap_html("<p>no body</p>", **OPTIONS, open_pixel=False) == "<p>no body</p>"
    assert lw.wrap_html("<p>no body</p>", **OPTIONS).startswith("<p>no body</p><img ")


def test_text_urls_are_wrapped_without_trailing_punctuation(lw: ModuleType) -> None:
    text = "See https://shop.example/a. Or (http://shop.example/b), <https://shop.example/c>\nnothttps://x.y https:// done"
    wrapped = lw.wrap_text(text, **OPTIONS)
    urls = ["https://shop.example/a", "http://shop.example/b", "https://shop.example/c"]
    assert targets(wrapped) == [Token("1", "t", "m123", i, url_hash(u)) for i, u in enumerate(urls)]
    assert text_links(text) == urls
    assert wrapped.startswith("See https://t.postwave.example/c/") and ". Or (" in wrapped
    assert wrapped.endswith("nothttps://x.y https:// done")


def test_tokens_cannot_be_forged_or_altered(lw: ModuleType) -> None:
    token = lw.sign_token(KEY, "c", "m1", "https://shop.example/x", 2)
    assert verify_token(KEYS, token) == Token("1", "c", "m1", 2, url_hash("https://shop.example/x"))
    data, mac = token.split(".")
    b64 = twin("linkwrap")._b64
    forged = [b64(f"1\x00c\x00m1\x00{i}\x00{h}".encode()) for i, h in (
        (2, url_hash("https://evil.example/")), (3, url_hash("https://shop.example/x")))]
    for bad in (*(f"{f}.{mac}" for f in forged), f"{data}.{mac[:-1]}A" if mac[-1] != "A" else f"{data}.{mac[:-1]}B",
                f"{data}x.{mac}", token + "=", "garbage", "", f"{data}.", token.replace(".", "")):
        with pytest.raises(InvalidTokenError):
            verify_token(KEYS, bad)
    with pytest.raises(InvalidTokenError):
        verify_token({"1": b"another key"}, token)
    with pytest.raises(InvalidTokenError, match="unknown key"):
        verify_token({"2": KEY}, token)


def test_keys_rotate_by_id(lw: ModuleType) -> None:
    old = lw.sign_token(b"old key", "o", "m1", "", 0, "k1")
    new = lw.wrap_text("https://a.example/", base_url=BASE, key=b"new key", message_id="m1", key_id="k2")
    both = {"k1": b"old key", "k2": b"new key"}
    assert verify_token(both, old).key_id == "k1"
    assert verify_token(both, new.rsplit("/", 1)[1]) == Token("k2", "t", "m1", 0, url_hash("https://a.example/"))
    with pytest.raises(InvalidTokenError):
        verify_token({"k2": b"new key"}, old)  # a retired key no longer verifies


def test_base_url_is_checked(lw: ModuleType) -> None:
    with pytest.raises(InvalidArgumentError):
        lw.wrap_text("x", base_url='https://x.example/"><script>', key=KEY, message_id="m")


_pieces = st.sampled_from(
    ["<a ", "<A\t", "<a\n", "<ab ", "href=", "HREF = ", "href='", '"', "'", "https://x.y/p", "http://", "HTTPS://",
     "mailto:a@b", ">", "/", "=", " ", "data-pw-notrack", "&amp;", "&lt;", "</body>", "</BODY", "é", "\n",
     "hTTps://q", ".", ")", "<", "Http", "s://", "1", "\u00a0", "\u2028", "ſ"]
)
_markup = st.one_of(st.lists(_pieces, max_size=40).map("".join), st.text(max_size=100))


@DIFFERENTIAL
@given(markup=_markup, open_pixel=st.booleans())
def test_compiled_equals_twin(markup: str, open_pixel: bool) -> None:
    c, t = compiled("linkwrap"), twin("linkwrap")
    assert c.wrap_html(markup, **OPTIONS, open_pixel=open_pixel) == t.wrap_html(markup, **OPTIONS, open_pixel=open_pixel)
    assert c.wrap_text(markup, **OPTIONS) == t.wrap_text(markup, **OPTIONS)
    wrapped = c.wrap_text(markup, **OPTIONS)
    found = t.text_links(markup)
    assert [token.url_hash for token in targets(wrapped)] == [url_hash(url) for url in found]
    assert all(url in markup for url in found)  # only URLs present in the message become redirect targets


def test_compiled_url_hashes_stay_right_past_their_cache() -> None:
    # The compiled url_hash keeps the hashes of the links it has seen (at most 4,096): past
    # that it starts again, and every answer stays the twin's.
    urls = [f"https://shop.example/p/{i}?ref=mail" for i in range(5000)]
    for url in urls + urls[:10]:
        assert compiled("linkwrap").url_hash(url) == twin("linkwrap").url_hash(url) == url_hash(url)

"""Open-redirect and header-splitting attempts on the click tracker, over real HTTP.

tests/tracking/test_tracker.py covers forged and altered tokens and URL parameters around a
valid one; this adds encoded separators, backslashes, CR/LF after a valid token, a foreign
Host, and hostile links inside the tenant's own mail: the tracker redirects to a link of
that mail, verbatim and on one header line, or answers 404 without a Location.
"""

from __future__ import annotations

from typing import Any

from tests.tracking.conftest import Running

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
HOSTILE_HTML = (
    '<p><a href="https://shop.example/x%0d%0aSet-Cookie:%20a=1">encoded crlf</a>'
    ' <a href="https://shop.example/y\r\nSet-Cookie: b=1">raw crlf</a>'
    ' <a href="javascript:alert(1)">script</a> <a href="//evil.example/">relative</a>'
    ' <a href="data:text/html,<script>alert(1)</script>">data</a></p>'
)


async def test_paths_around_a_valid_token_never_redirect_elsewhere(make_tracker: Any) -> None:
    run: Running = await make_tracker()
    sent = run.world.send()
    base, token = sent.clicks[1].rsplit("/", 1)
    attempts = [
        f"{base}/{token}%0d%0aLocation:%20https://evil.example/",
        f"{base}/{token}%2F%2Fevil.example",
        f"{base}/{token}/..%2F..%2Fevil.example",
        f"{base}/%5Cevil.example",
        f"{base}/%5C%5Cevil.example%2F",
        f"{base}/https:%5C%5Cevil.example",
        f"{base}/{token}%00https://evil.example",
        f"{base}/.{token}",
        sent.pixel.replace("/o/", "/c/"),
        sent.unsubscribe.replace("/u/", "/c/"),
        f"{base}/wMA.AAAA",  # a well-formed token whose payload is not UTF-8 (was a 500)
    ]
    for url in attempts:
        reply = await run.get(url, user_agent=BROWSER)
        assert reply.status == 404 and "Location" not in reply.headers, url
    # A valid token with a foreign Host header is refused or goes to the mail's own link.
    reply = await run.get(sent.clicks[1], host="evil.example", user_agent=BROWSER)
    assert reply.status == 404 and "Location" not in reply.headers
    for url in (sent.unsubscribe + "?next=https://evil.example/", sent.pixel + "?url=//evil.example"):
        reply = await run.get(url, user_agent=BROWSER)
        assert not reply.headers.get("Location", "").lstrip("/").startswith(("evil", "https://evil")), url


async def test_hostile_links_in_the_mail_itself_stay_on_one_header_line(make_tracker: Any) -> None:
    run: Running = await make_tracker()
    sent = run.world.send(html=HOSTILE_HTML, text="plain")
    # Only http(s) links are tracked: script, data and scheme-relative links are left alone.
    assert len(sent.clicks) == 2
    for url in sent.clicks:
        reply = await run.get(url, user_agent=BROWSER)
        location = reply.headers.get("Location", "")
        assert reply.status in (302, 404), (url, reply.status)
        assert "\r" not in location and "\n" not in location and "Set-Cookie" not in reply.headers
        assert reply.status == 404 or location.startswith("https://shop.example/")

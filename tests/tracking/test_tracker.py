"""The tracker over real HTTP: redirects only to links of sent mail, pixel, one-click unsubscribe,
bot classification, tenant hosts and key rotation."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
from postwave.store.base import SendingDomain
from postwave.tracking import linkwrap
from postwave.tracking.classify import Classifier

from tests.tracking.conftest import SECRET, Running

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"


def _events(run: Running, kind: str) -> list[Any]:
    return run.world.store.list_events("t_one", 0, [kind], "", 100)


def _detail(event: Any) -> dict[str, Any]:
    return json.loads(event.detail)  # type: ignore[no-any-return]


async def test_click_redirects_to_the_link_and_records_a_human_click(make_tracker: Any) -> None:
    run: Running = await make_tracker()
    sent = run.world.send()
    assert len(sent.clicks) == 3  # two html links and one text link
    reply = await run.get(sent.clicks[1], user_agent=BROWSER)
    assert reply.status == 302 and reply.headers["Location"] == "https://shop.example/account"
    reply = await run.get(sent.clicks[2], user_agent=BROWSER)  # the text body's link, &amp; unescaped
    assert reply.headers["Location"] == "https://shop.example/sale?id=7&src=mail"
    clicks = _events(run, "clicked")
    assert [(e.message_id, e.recipient, json.loads(e.custom_args)) for e in clicks] == [
        (sent.message_id, "ann@example.com", {"crm": "9"})] * 2
    first = _detail(clicks[0])
    assert (first["machine"], first["reason"], first["url"], first["link"]) == (
        False, "", "https://shop.example/account", "c1")
    assert first["network"] == "127.0.0.0/24"  # the client's network, never its address


async def test_forged_altered_and_misused_tokens_get_404_and_no_redirect(make_tracker: Any) -> None:
    run: Running = await make_tracker()
    sent = run.world.send()
    token = sent.clicks[0].rsplit("/", 1)[1]
    data, mac = token.split(".")
    key = SECRET.encode()
    bad = [
        f"{data}.{mac[:-2]}{'AB' if mac[-2:] != 'AB' else 'CD'}",  # altered MAC
        f"{data[:-2]}{'xy' if data[-2:] != 'xy' else 'zw'}.{mac}",  # altered payload
        linkwrap.sign_token(b"guessed key", "c", sent.message_id, "https://evil.example/", 0),  # forged
        linkwrap.sign_token(key, "c", sent.message_id, "https://evil.example/", 0),  # right key, URL not in the mail
        linkwrap.sign_token(key, "c", sent.message_id, "https://shop.example/account", 0),  # URL of another index
        linkwrap.sign_token(key, "c", sent.message_id, "https://shop.example/account", 9),  # no such link
        linkwrap.sign_token(key, "c", "m_unknown", "https://shop.example/account", 1),  # no such message
        linkwrap.sign_token(key, "c", sent.message_id, "https://shop.example/account", 1, "9"),  # unknown key id
        sent.pixel.rsplit("/", 1)[1][:-4],  # an open token used as a click
        "garbage", "a.b",
    ]
    for raw in bad:
        reply = await run.get(f"https://t.postwave.test/c/{raw}")
        assert reply.status == 404 and "Location" not in reply.headers, raw
    # Open-redirect attempts around a valid token go to the mail's own link or nowhere.
    reply = await run.get(sent.clicks[1] + "?url=https://evil.example/&next=//evil.example")
    assert reply.headers["Location"] == "https://shop.example/account"
    for path in ("/c/" + token + "/https://evil.example", "/c//evil.example", "/c/https:%2F%2Fevil.example"):
        reply = await run.get("https://t.postwave.test" + path)
        assert reply.status == 404 and "Location" not in reply.headers, path
    assert _events(run, "clicked") == [_events(run, "clicked")[0]]  # only the one good click counted


async def test_open_pixel_is_an_uncacheable_gif(make_tracker: Any) -> None:
    run: Running = await make_tracker()
    sent = run.world.send()
    assert sent.pixel.endswith(".gif")
    async with run.client.get(run.url(sent.pixel), headers={"Host": "t.postwave.test", "User-Agent": BROWSER}) as reply:
        body = await reply.read()
        assert reply.status == 200 and reply.content_type == "image/gif"
        assert body.startswith(b"GIF89a") and len(body) < 100
        assert "no-store" in reply.headers["Cache-Control"] and reply.headers["Pragma"] == "no-cache"
    assert (await run.get(sent.pixel[:-4])).status == 404  # the token without .gif
    (opened,) = _events(run, "opened")
    assert _detail(opened)["machine"] is False


async def test_bot_classification(make_tracker: Any, tmp_path: Any) -> None:
    run: Running = await make_tracker()
    world = run.world
    sent = world.send()
    await run.get(sent.pixel, method="HEAD", user_agent=BROWSER)
    await run.get(sent.pixel, user_agent="Mozilla/5.0 (Windows NT 5.1) (via ggpht.com GoogleImageProxy)")
    await run.get(world.send(delivered_ago=1.0).pixel, user_agent=BROWSER)  # fetched right after delivery
    burst = world.send()
    for url in burst.clicks:  # every link of the message within a second: a scanner
        await run.get(url, user_agent=BROWSER)
    reasons = [(_detail(e)["machine"], _detail(e)["reason"]) for e in _events(run, "opened")]
    assert reasons == [(True, "head_request"), (True, "ua:google_image_proxy"), (True, "prefetch")]
    clicks = [(_detail(e)["machine"], _detail(e)["reason"]) for e in _events(run, "clicked")]
    assert clicks == [(False, ""), (False, ""), (True, "all_links")]

    bots = tmp_path / "bots.json"
    bots.write_text(json.dumps({"user_agents": {"corp_gateway": "CorpScanner/"},
                                "networks": {"test_range": ["127.0.0.0/8"]}}))
    custom = await make_tracker(Classifier.from_file(str(bots), prefetch_seconds=10.0))
    await custom.get(custom.world.send().pixel, user_agent=BROWSER)
    last = custom.world.store.list_events("t_one", 0, ["opened"], "", 100)[-1]
    assert (_detail(last)["machine"], _detail(last)["reason"]) == (True, "network:test_range")


async def test_one_click_unsubscribe_with_the_mail_clients_body(make_tracker: Any) -> None:
    run: Running = await make_tracker()
    store = run.world.store
    sent = run.world.send(recipient="Bob@Example.com")
    page = await run.client.get(run.url(sent.unsubscribe), headers={"Host": "t.postwave.test"})
    text = await page.text()
    assert page.status == 200 and 'name="List-Unsubscribe" value="One-Click"' in text and 'method="post"' in text
    assert store.suppressed("t_one", ["bob@example.com"], time.time()) == {}  # a GET changes nothing
    wrong = await run.get(sent.unsubscribe, method="POST", data=b"List-Unsubscribe=Yes",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert wrong.status == 400 and store.suppressed("t_one", ["bob@example.com"], time.time()) == {}
    # RFC 8058: exactly this body, as a mail provider POSTs it.
    ok = await run.get(sent.unsubscribe, method="POST", data=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert ok.status == 200
    assert store.suppressed("t_one", ["bob@example.com"], time.time()) == {"bob@example.com": "unsubscribed"}
    form = aiohttp.FormData()
    form.add_field("List-Unsubscribe", "One-Click")
    again = await run.get(sent.unsubscribe, method="POST", data=form())  # multipart/form-data, a repeat
    assert again.status == 200
    (event,) = _events(run, "unsubscribed")
    assert event.message_id == sent.message_id and _detail(event)["group"] == ""
    assert store.suppressed("t_two", ["bob@example.com"], time.time()) == {}  # per tenant

    grouped = run.world.send(recipient="cy@example.com", group="newsletter")
    assert "newsletter" in await (await run.client.get(run.url(grouped.unsubscribe),
                                                         headers={"Host": "t.postwave.test"})).text()
    await run.get(grouped.unsubscribe, method="POST", data=b"List-Unsubscribe=One-Click",
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert store.suppressed("t_one", ["cy@example.com"], time.time()) == {}  # only the group
    assert store.suppressed("t_one", ["group:newsletter:cy@example.com"], time.time())
    bad = linkwrap.sign_token(b"guessed", "u", sent.message_id, "")
    assert (await run.get(f"https://t.postwave.test/u/{bad}", method="POST", data=b"List-Unsubscribe=One-Click",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})).status == 404


async def test_tenant_tracking_hosts_serve_only_their_tenant(make_tracker: Any) -> None:
    run: Running = await make_tracker()
    store = run.world.store
    store.create_domain(SendingDomain("t_one", "shop.example", "verified", "pw-bounces.shop.example",
                                      "links.shop.example", time.time()), [])
    mine, theirs = run.world.send(tenant="t_one"), run.world.send(tenant="t_two")
    assert (await run.get(mine.clicks[0], host="links.shop.example")).status == 302
    assert (await run.get(mine.clicks[0], host="LINKS.shop.example:443")).status == 302
    assert (await run.get(theirs.clicks[0], host="links.shop.example")).status == 404
    assert (await run.get(theirs.clicks[0], host="t.postwave.test")).status == 302  # the shared host serves all
    for host in ("evil.example", "links.other.example", "shop.example", ""):
        assert (await run.get(mine.clicks[0], host=host)).status == 404, host


async def test_keys_rotate_without_breaking_sent_mail(make_tracker: Any) -> None:
    old: Running = await make_tracker()
    sent = old.world.send()
    rotated: Running = await make_tracker(tracking_secret="a brand new secret", tracking_key_id="2",
                                          tracking_previous_keys=f"1:{SECRET}")
    assert (await rotated.get(sent.clicks[0])).status == 302  # signed with key 1, still accepted
    assert "/c/" in rotated.world.send().clicks[0]
    new_token = rotated.world.send().clicks[0].rsplit("/", 1)[1]
    assert linkwrap.verify_token({"2": b"a brand new secret"}, new_token).key_id == "2"
    retired: Running = await make_tracker(tracking_secret="a brand new secret", tracking_key_id="2")
    assert (await retired.get(sent.clicks[0])).status == 404  # key 1 retired

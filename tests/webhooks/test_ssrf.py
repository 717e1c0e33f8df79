"""SSRF protection: internal addresses are refused, by literal and by name, unless allow-listed."""

from __future__ import annotations

from typing import Any

import pytest
from postwave import config as config_mod
from postwave.errors import InvalidArgumentError
from postwave.webhooks import signing
from postwave.webhooks.dispatcher import Sender
from postwave.webhooks.ssrf import (
    BlockedAddressError,
    GuardedResolver,
    allow_list,
    blocked,
    check_url,
)


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.9.9.9", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "fe80::1", "fd00:ec2::254",
    "fc00::1", "::",
])
def test_internal_addresses_are_blocked(address: str) -> None:
    assert blocked(address, ())


def test_public_addresses_pass_and_the_allow_list_opens_only_its_networks() -> None:
    assert not blocked("93.184.215.14", ()) and not blocked("2606:2800:21f:cb07:6820:80da:af6b:8b2c", ())
    allowed = allow_list("127.0.0.1/32, 10.8.0.0/16")
    assert not blocked("127.0.0.1", allowed) and not blocked("10.8.3.4", allowed)
    assert blocked("127.0.0.2", allowed) and blocked("10.9.0.1", allowed) and blocked("169.254.169.254", allowed)


@pytest.mark.parametrize("url", ["ftp://x.example/", "https://user:pw@x.example/", "http:///nohost", "x.example",
                                 "https://127.0.0.1/", "http://[::1]:8080/", "http://169.254.169.254/latest/"])
def test_bad_and_internal_literal_urls_are_refused(url: str) -> None:
    with pytest.raises(InvalidArgumentError):
        check_url(url, ())


async def test_names_are_checked_when_connecting() -> None:
    resolver = GuardedResolver(())
    with pytest.raises(BlockedAddressError, match="internal address"):
        await resolver.resolve("localhost", 80)  # /etc/hosts: 127.0.0.1
    allowed = GuardedResolver(allow_list("127.0.0.0/8,::1/128"))
    assert {a["host"] for a in await allowed.resolve("localhost", 80)} <= {"127.0.0.1", "::1"}
    await resolver.close()
    await allowed.close()


async def test_nothing_reaches_an_internal_receiver_without_the_allow_list(make_receiver: Any, clock: Any) -> None:
    secret = signing.new_secret()
    receiver = await make_receiver([secret])
    closed = Sender(config_mod.load({}, environ={}))
    opened = Sender(config_mod.load({"webhook_allow_networks": "127.0.0.1/32"}, environ={}))
    try:
        for url in (receiver.url, receiver.url.replace("127.0.0.1", "localhost")):
            answer = await closed.post(url, [secret], "msg_1", int(clock.now()), b'{"data": []}')
            assert not answer.ok and answer.status == 0 and "internal address" in answer.detail
        assert receiver.attempts == []
        answer = await opened.post(receiver.url, [secret], "msg_2", int(clock.now()), b'{"data": []}')
        assert answer.ok and len(receiver.accepted) == 1
    finally:
        await closed.close()
        await opened.close()

"""End-to-end fixtures: a real `postwave serve`, real DNS, real SMTP peers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.platform import Platform

ALWAYS_550 = ["550 5.1.1 The email account that you tried to reach does not exist"] * 1000
GREYLIST_TWICE = ["451 4.7.1 Greylisted, please try again later"] * 2


@pytest.fixture
def make_platform(tmp_path: Path) -> Iterator[Callable[..., Platform]]:
    """Factory of started platforms; all stopped at teardown."""
    made: list[Platform] = []

    def make(**settings: Any) -> Platform:
        data = tmp_path / f"platform{len(made)}"
        data.mkdir()
        platform = Platform(data, **settings)
        made.append(platform)
        return platform.start()

    yield make
    for platform in made:
        platform.stop()


@dataclasses.dataclass
class World:
    """Three mail domains with real MX records, each served by its own SMTP peer."""

    platform: Platform
    ok: Any
    bounce: Any
    flaky: Any
    dns: Any


def start_world(make_dns_server: Any, make_smtp_peer: Any, make_platform: Callable[..., Platform],
                **platform_settings: Any) -> World:
    """ok.test accepts, bounce.test answers 550 5.1.1, flaky.test greylists twice then accepts.

    Each peer takes a free loopback address of its own (so parallel runs never collide), and
    the DNS server maps each domain's MX host to it.
    """
    ok = make_smtp_peer()
    bounce = make_smtp_peer(script={"RCPT": list(ALWAYS_550)})
    flaky = make_smtp_peer(script={"RCPT": list(GREYLIST_TWICE)})
    dns = make_dns_server(
        mx={"ok.test": [(10, "mx.ok.test")], "bounce.test": [(10, "mx.bounce.test")],
            "flaky.test": [(10, "mx1.flaky.test")]},
        a={"mx.ok.test": ok.address, "mx.bounce.test": bounce.address, "mx1.flaky.test": flaky.address},
    )
    settings = {"tracking_base_url": "https://t.postwave.test", **platform_settings}
    platform = make_platform(dns_port=dns.port, **settings)
    return World(platform, ok, bounce, flaky, dns)


@pytest.fixture
def world(make_dns_server: Any, make_smtp_peer: Any, make_platform: Callable[..., Platform]) -> World:
    """The three-domain world on the embedded store (see :func:`start_world`)."""
    return start_world(make_dns_server, make_smtp_peer, make_platform)

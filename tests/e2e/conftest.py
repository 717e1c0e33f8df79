"""End-to-end fixtures: a real `postwave serve`, real DNS, real SMTP peers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.platform import Platform

# Every e2e peer lives in 127.0.2.0/24, apart from addresses other tests pick.
OK_MX, BOUNCE_MX, FLAKY_MX = "127.0.2.1", "127.0.2.2", "127.0.2.3"
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


@pytest.fixture
def world(make_dns_server: Any, make_smtp_peer: Any, make_platform: Callable[..., Platform]) -> World:
    """ok.test accepts, bounce.test answers 550 5.1.1, flaky.test greylists twice then accepts."""
    ok = make_smtp_peer(address=OK_MX)
    bounce = make_smtp_peer(address=BOUNCE_MX, script={"RCPT": list(ALWAYS_550)})
    flaky = make_smtp_peer(address=FLAKY_MX, script={"RCPT": list(GREYLIST_TWICE)})
    dns = make_dns_server(
        mx={"ok.test": [(10, "mx.ok.test")], "bounce.test": [(10, "mx.bounce.test")],
            "flaky.test": [(10, "mx1.flaky.test")]},
        a={"mx.ok.test": OK_MX, "mx.bounce.test": BOUNCE_MX, "mx1.flaky.test": FLAKY_MX},
    )
    platform = make_platform(dns_port=dns.port, tracking_base_url="https://t.postwave.test")
    return World(platform, ok, bounce, flaky, dns)

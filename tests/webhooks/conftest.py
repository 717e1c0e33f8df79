"""Fixtures: an embedded store with a tenant's events, a controllable clock, scripted receivers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from postwave.store.base import EventRecord
from postwave.store.embedded import EmbeddedStore

from tests.tracking.conftest import store
from tests.webhooks.receiver import Receiver

__all__ = ["FakeClock", "store", "wait_until", "write_events"]


class FakeClock:
    """Virtual time: sleeping advances it at once (after a short real pause, so servers run)."""

    def __init__(self) -> None:
        self.t = time.time()
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds
        await asyncio.sleep(0.01)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_receiver(clock: FakeClock) -> AsyncIterator[Callable[..., Any]]:
    made: list[Receiver] = []

    async def make(secrets: list[str], *, start: bool = True) -> Receiver:
        receiver = Receiver(secrets, clock.now)
        made.append(receiver)
        if start:
            await receiver.start()
        return receiver

    yield make
    for receiver in made:
        await receiver.stop()


def write_events(store: EmbeddedStore, tenant: str, count: int, *, messages: int = 4) -> list[EventRecord]:
    """``count`` events over ``messages`` messages, interleaved; returns them as stored (with ids)."""
    kinds = ["accepted", "deferred", "delivered", "opened", "clicked"]
    now = time.time()
    store.record_engagement([
        EventRecord(tenant, f"m{i % messages}", kinds[(i // messages) % len(kinds)], now, f"step {i}",
                    f"r{i % messages}@example.com")
        for i in range(count)], [])
    return store.list_events(tenant, 0, (), "", 10_000)


async def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll until ``condition()`` holds (fails the test after ``timeout`` real seconds)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)

"""A webhook receiver down for a simulated day, on the production retry schedule.

The dispatcher runs in-process over an embedded store with a virtual clock: ``sleep`` parks
the caller until virtual time reaches its wake-up, and time jumps to the earliest wake-up
only when every endpoint task is asleep (none is posting or reading the store), so each
endpoint's retries land exactly where its own backoff puts them. The receivers are real
aiohttp servers (tests/webhooks/receiver.py) that check every signature.

Two endpoints of one tenant, with the default schedule (first retry 5 s, doubling, at most
30 min apart, disabled after failing 24 h):

* ``wh_main``: its receiver is down for 23.5 h while events keep coming (5 an hour); when it
  is back, every event arrives once, in order, within one backoff step;
* ``wh_dead``: never answers; it is disabled only once it has failed for the whole 24 h
  window, and the tenant hears of it through a ``webhook.disabled`` event (which wh_main
  receives).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from postwave import config as config_mod
from postwave.store.base import EventRecord, WebhookEndpoint
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database
from postwave.webhooks import signing
from postwave.webhooks.dispatcher import Dispatcher

from tests.servers.addresses import free_port
from tests.webhooks.receiver import Receiver

HOUR = 3600.0
OUTAGE = 23.5 * HOUR
BASE, CAP, WINDOW = 5.0, 1800.0, 86400.0  # the configuration defaults
TENANT = "t_one"


class VirtualClock:
    """Virtual time for the dispatcher (its ``Clock`` protocol), advanced by :meth:`advance`."""

    def __init__(self) -> None:
        self.t = time.time()
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.t + seconds, next(self._order), future))
        await future

    @property
    def sleeping(self) -> int:
        return len(self._sleepers)

    def next_wake(self) -> float:
        return self._sleepers[0][0]

    def advance(self) -> None:
        """Jump to the earliest wake-up and wake everyone due then."""
        self.t = max(self.t, self.next_wake())
        while self._sleepers and self._sleepers[0][0] <= self.t:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    db = Database(str(tmp_path / "webhooks.db"), synchronous="NORMAL")
    yield EmbeddedStore(db)
    db.close()


def _endpoint(eid: str, url: str, secret: str) -> WebhookEndpoint:
    return WebhookEndpoint(eid, TENANT, url, (), secret, "", 0.0, "active", 0, 0.0, time.time() - 5)


def _write(store: EmbeddedStore, at: float, count: int, hour: int) -> None:
    store.record_engagement([EventRecord(TENANT, f"m{hour}-{i}", "delivered", at, f"hour {hour} #{i}",
                                         f"r{i}@example.com") for i in range(count)], [])


def _webhook(store: EmbeddedStore, eid: str) -> WebhookEndpoint:
    found = store.get_webhook(eid)
    assert found is not None
    return found


def _live_tasks(dispatcher: Dispatcher) -> int:
    return sum(1 for task in dispatcher._tasks.values() if not task.done())


async def _drive(dispatcher: Dispatcher, clock: VirtualClock, store: EmbeddedStore, main: Receiver,
                 done: asyncio.Event) -> None:
    """Advance virtual time whenever every endpoint task sleeps; events every hour of the
    outage; the main receiver back after OUTAGE."""
    start, hour, back = clock.now(), 1, False
    while not done.is_set():
        await asyncio.sleep(0.002)
        live = _live_tasks(dispatcher)
        if live == 0 or clock.sleeping < live:
            continue
        wake = clock.next_wake()
        while hour * HOUR < OUTAGE and start + hour * HOUR <= wake:
            _write(store, start + hour * HOUR, 5, hour)
            hour += 1
        if not back and start + OUTAGE <= wake:
            clock.t = start + OUTAGE
            await main.start()  # on the port it had before the outage
            back = True
        clock.advance()


async def _until(condition: object, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.01)


async def test_a_simulated_day_of_outage(store: EmbeddedStore) -> None:
    clock = VirtualClock()
    start = clock.now()
    main_secret, dead_secret = signing.new_secret(), signing.new_secret()
    main = Receiver([main_secret], clock.now)
    await main.start()
    main_url = main.url
    await main.stop()  # down from the start, on a port that is known
    store.create_webhook(_endpoint("wh_main", main_url, main_secret))
    store.create_webhook(_endpoint("wh_dead", f"http://127.0.0.1:{free_port()}/hooks", dead_secret))
    _write(store, start, 20, 0)
    config = config_mod.load({"webhook_allow_networks": "127.0.0.1/32", "webhook_timeout_seconds": 2.0,
                              "webhook_poll_seconds": 60.0}, environ={})
    assert (config.webhook_retry_base_seconds, config.webhook_retry_max_seconds,
            config.webhook_retry_window_seconds) == (BASE, CAP, WINDOW)
    dispatcher = Dispatcher(store=store, config=config, clock=clock)
    stop, done = asyncio.Event(), asyncio.Event()
    running = asyncio.get_running_loop().create_task(dispatcher.run(stop))
    driver = asyncio.get_running_loop().create_task(_drive(dispatcher, clock, store, main, done))
    try:
        await _until(lambda: store.list_events(TENANT, 0, ["webhook.disabled"], "", 10))
        (notice,) = store.list_events(TENANT, 0, ["webhook.disabled"], "", 10)
        assert _webhook(store, "wh_dead").state == "disabled"
        await _until(lambda: str(notice.id) in main.unique_event_ids())
    finally:
        done.set()
        stop.set()
        await asyncio.gather(running, driver)
        await main.stop()

    expected = [str(e.id) for e in store.list_events(TENANT, 0, [], "", 10_000)]
    assert len(expected) == 20 + 5 * 23 + 1
    assert main.unique_event_ids() == expected  # everything, once, in order (the notice last)
    assert main.forged == 0
    first_back = min(d.timestamp for d in main.accepted)
    assert start + OUTAGE <= first_back <= start + OUTAGE + CAP  # caught up within one backoff step
    assert _webhook(store, "wh_main").state == "active"

    for eid in ("wh_main", "wh_dead"):
        delays = [d for e, d in dispatcher.delays if e == eid]
        for n, delay in enumerate(delays, start=1):
            ceiling = min(CAP, BASE * 2 ** (n - 1))
            assert ceiling / 2 <= delay <= ceiling, (eid, n, delay)
    main_delays = [d for e, d in dispatcher.delays if e == "wh_main"]
    assert OUTAGE <= sum(main_delays) <= OUTAGE + CAP

    dead = _webhook(store, "wh_dead")
    assert dead.cursor == 0 and abs(dead.failing_since - start) < 60
    assert WINDOW <= notice.time - dead.failing_since <= WINDOW + CAP  # not before the window, soon after
    detail = json.loads(notice.detail)
    assert detail["endpoint_id"] == "wh_dead" and "failing for 24." in detail["reason"]
    dead_tries = sum(1 for e, _ in dispatcher.delays if e == "wh_dead") + 1
    print(f"\nwebhook outage: wh_main down {OUTAGE / HOUR:.1f} h, {len(main_delays)} retries, caught up "
          f"{first_back - start - OUTAGE:.0f} s after its return with {len(expected)} events in "
          f"{len(main.accepted)} requests; wh_dead tried {dead_tries} times, disabled after "
          f"{(notice.time - dead.failing_since) / HOUR:.2f} h")

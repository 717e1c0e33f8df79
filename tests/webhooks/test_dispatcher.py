"""The dispatcher against real HTTP receivers: signed batches, at least once, none twice after
the receiver's dedupe, per-message order, retries spaced as configured, disabling and redrive."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from postwave import config as config_mod
from postwave.config import Config
from postwave.store.base import WebhookEndpoint
from postwave.webhooks import signing
from postwave.webhooks.dispatcher import Dispatcher, Sender, active_secrets, batch_body

from tests.webhooks.conftest import FakeClock, wait_until, write_events


def settings(**changes: Any) -> Config:
    return config_mod.load({"webhook_allow_networks": "127.0.0.1/32", "webhook_batch_size": 7,
                            "webhook_timeout_seconds": 0.5, "webhook_retry_base_seconds": 1.0,
                            "webhook_retry_max_seconds": 8.0, "webhook_poll_seconds": 0.2, **changes}, environ={})


def endpoint(url: str, secret: str, *, types: tuple[str, ...] = (), eid: str = "wh_1") -> WebhookEndpoint:
    return WebhookEndpoint(eid, "t_one", url, types, secret, "", 0.0, "active", 0, 0.0, time.time() - 5)


@pytest.fixture
def running() -> Iterator[list[tuple[Dispatcher, asyncio.Event, asyncio.Task[None]]]]:
    started: list[tuple[Dispatcher, asyncio.Event, asyncio.Task[None]]] = []
    yield started


async def start(store: Any, config: Config, clock: FakeClock, running: list[Any]) -> Dispatcher:
    dispatcher = Dispatcher(store=store, config=config, clock=clock)
    stop = asyncio.Event()
    running.append((dispatcher, stop, asyncio.get_running_loop().create_task(dispatcher.run(stop))))
    return dispatcher


async def stop_all(running: list[Any]) -> None:
    for _, stop, task in running:
        stop.set()
        await task


async def test_outage_errors_and_slowness_lose_nothing_and_repeat_nothing(
        store: Any, clock: FakeClock, make_receiver: Any, running: list[Any]) -> None:
    secret = signing.new_secret()
    events = write_events(store, "t_one", 20)
    receiver = await make_receiver([secret], start=False)  # down at first
    await receiver.start()
    port = receiver.port
    await receiver.stop()
    store.create_webhook(endpoint(f"http://127.0.0.1:{port}/hooks", secret))
    config = settings()
    dispatcher = await start(store, config, clock, running)
    try:
        await wait_until(lambda: len(dispatcher.delays) >= 3)  # three refused connections
        receiver.script = ["500", "500", "slow"]
        receiver.slow_seconds = 1.0  # beyond the 0.5 s timeout: answered, but too late
        await receiver.start()  # back on the same port
        await wait_until(lambda: len(set(receiver.unique_event_ids())) >= 20)
        more = write_events(store, "t_one", 9)[20:]  # events written while it runs follow
        await wait_until(lambda: len(set(receiver.unique_event_ids())) >= 29)
    finally:
        await stop_all(running)

    expected = [str(e.id) for e in events + more]
    assert receiver.unique_event_ids() == expected  # all, once, in order (so per message too)
    assert receiver.forged == 0
    repeats = [d for d in receiver.accepted if [x.webhook_id for x in receiver.accepted].count(d.webhook_id) > 1]
    assert repeats and all(d.event_ids == repeats[0].event_ids for d in repeats)  # the slow batch, resent as is
    assert all(len(d.event_ids) <= 7 for d in receiver.accepted)
    for n, (_, delay) in enumerate(dispatcher.delays[:6], start=1):  # one failure streak: refused x3, 500 x2, slow
        ceiling = min(8.0, 1.0 * 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling, (n, delay)
    stamps = [stamp for webhook_id, stamp, _ in receiver.attempts]
    assert stamps == sorted(stamps)  # signed with the controllable clock, which the retries advanced
    final = store.get_webhook("wh_1")
    assert (final.state, final.cursor, final.failing_since) == ("active", int(expected[-1]), 0.0)
    by_message: dict[str, list[int]] = {}
    first = {d.webhook_id: d for d in reversed(receiver.accepted)}  # the receiver's dedupe
    for d in sorted(first.values(), key=receiver.accepted.index):
        for e in d.events:
            by_message.setdefault(e["message_id"], []).append(int(e["id"]))
    assert len(by_message) == 4 and all(ids == sorted(ids) for ids in by_message.values())  # per-message order


async def test_a_failing_endpoint_is_disabled_after_the_window_and_redriven(
        store: Any, clock: FakeClock, make_receiver: Any, running: list[Any]) -> None:
    secret = signing.new_secret()
    events = write_events(store, "t_one", 10)
    receiver = await make_receiver([secret])
    receiver.script = ["500"] * 1000
    store.create_webhook(endpoint(receiver.url, secret))
    config = settings(webhook_retry_window_seconds=60.0, webhook_retry_base_seconds=4.0,
                      webhook_retry_max_seconds=16.0)
    dispatcher = await start(store, config, clock, running)
    try:
        await wait_until(lambda: store.get_webhook("wh_1").state == "disabled")
        disabled = store.get_webhook("wh_1")
        assert disabled.cursor == 0 and "HTTP 500" in disabled.detail and receiver.accepted == []
        assert sum(d for _, d in dispatcher.delays) >= 60.0 - 16.0  # it kept trying for the whole window
        (notice,) = store.list_events("t_one", 0, ["webhook.disabled"], "", 10)
        assert json.loads(notice.detail)["endpoint_id"] == "wh_1"
        tries = len(receiver.attempts)
        receiver.script = []
        await asyncio.sleep(0.3)
        assert len(receiver.attempts) == tries  # disabled: no more requests
        store.set_webhook_progress("wh_1", "active", disabled.cursor, 0.0, "")  # what RedriveWebhook does
        await wait_until(lambda: len(receiver.unique_event_ids()) >= 11)
    finally:
        await stop_all(running)
    assert receiver.unique_event_ids() == [str(e.id) for e in events] + [str(notice.id)]


async def test_event_types_filter_and_two_secrets_during_rotation(
        store: Any, clock: FakeClock, make_receiver: Any, running: list[Any]) -> None:
    old, new = signing.new_secret(), signing.new_secret()
    events = write_events(store, "t_one", 20)
    old_only = await make_receiver([old])
    new_only = await make_receiver([new])
    store.create_webhook(WebhookEndpoint("wh_1", "t_one", old_only.url, ("delivered",), new, old, clock.now() + 100,
                                         "active", 0, 0.0, time.time() - 5))
    store.create_webhook(WebhookEndpoint("wh_2", "t_one", new_only.url, (), new, old, clock.now() + 100,
                                         "active", 0, 0.0, time.time() - 5))
    await start(store, settings(), clock, running)
    try:
        await wait_until(lambda: len(old_only.unique_event_ids()) >= 4 and len(new_only.unique_event_ids()) >= 20)
    finally:
        await stop_all(running)
    assert old_only.unique_event_ids() == [str(e.id) for e in events if e.type == "delivered"]
    assert new_only.unique_event_ids() == [str(e.id) for e in events]
    assert old_only.forged == new_only.forged == 0
    # After the overlap only the new secret signs: a receiver still on the old one refuses.
    sender = Sender(settings())
    try:
        later = store.get_webhook("wh_1")
        clock.t += 200
        assert active_secrets(later, clock.now()) == [new]
        body = batch_body(events[:1], clock.now())
        answer = await sender.post(old_only.url, active_secrets(later, clock.now()), "msg_x", int(clock.now()), body)
    finally:
        await sender.close()
    assert answer.status == 401 and old_only.forged == 1


async def test_a_dispatcher_taking_over_posts_the_unrecorded_batch_again_as_it_was(
        store: Any, clock: FakeClock, make_receiver: Any, running: list[Any]) -> None:
    secret = signing.new_secret()
    first = write_events(store, "t_one", 3)  # a partial batch (the size is 7)
    receiver = await make_receiver([secret])
    receiver.script, receiver.slow_seconds = ["slow"], 2.0  # keeps the batch, answers late
    store.create_webhook(endpoint(receiver.url, secret))
    config = settings(webhook_timeout_seconds=30.0)
    await start(store, config, clock, running)
    try:
        await wait_until(lambda: len(receiver.accepted) == 1)
        await stop_all(running)  # the dispatcher dies before it hears the 2xx: nothing recorded
        running.clear()
        held = store.get_webhook("wh_1")
        assert (held.cursor, held.pending) == (0, first[-1].id)
        everything = write_events(store, "t_one", 4)  # a batch read now would hold all seven
        await start(store, config, clock, running)
        await wait_until(lambda: len(receiver.unique_event_ids()) >= 7)
    finally:
        await stop_all(running)
    lost_answer, again, rest = receiver.accepted[0], receiver.accepted[1], receiver.accepted[2:]
    assert (again.webhook_id, again.event_ids) == (lost_answer.webhook_id, [str(e.id) for e in first])
    assert [i for d in rest for i in d.event_ids] == [str(e.id) for e in everything[3:]]
    assert receiver.unique_event_ids() == [str(e.id) for e in everything]  # none twice after the dedupe
    final = store.get_webhook("wh_1")
    assert final.cursor == everything[-1].id


async def test_a_batch_in_flight_whose_events_are_no_longer_wanted_does_not_stall_the_endpoint(
        store: Any, clock: FakeClock, make_receiver: Any, running: list[Any]) -> None:
    secret = signing.new_secret()
    events = write_events(store, "t_one", 20)
    delivered = [e for e in events if e.type == "delivered"]
    receiver = await make_receiver([secret])
    store.create_webhook(endpoint(receiver.url, secret, types=("delivered",)))
    store.set_webhook_progress("wh_1", "active", events[0].id, 0.0, "")
    # In flight when the endpoint's types were changed: events of another type only.
    store.set_webhook_pending("wh_1", next(e.id for e in events if e.id < delivered[0].id and e.id > events[0].id))
    await start(store, settings(), clock, running)
    try:
        await wait_until(lambda: len(receiver.unique_event_ids()) >= len(delivered))
    finally:
        await stop_all(running)
    assert receiver.unique_event_ids() == [str(e.id) for e in delivered]

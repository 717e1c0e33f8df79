"""The event loop of every process: uvloop by default, asyncio's own when configured."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from postwave import config, loop
from postwave.errors import InvalidArgumentError


async def _loop_type() -> type:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop())


def test_processes_run_on_uvloop_by_default() -> None:
    assert config.load({}, {}).event_loop == "uvloop"
    assert loop.run(_loop_type(), config.load({}, {})) is uvloop.Loop


def test_event_loop_asyncio_keeps_the_standard_library_loop() -> None:
    chosen = loop.run(_loop_type(), config.load({"event_loop": "asyncio"}, {}))
    assert issubclass(chosen, asyncio.BaseEventLoop) and chosen is not uvloop.Loop


def test_an_unknown_event_loop_is_refused_with_the_choices() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        config.load({"event_loop": "trio"}, {})
    assert info.value.field == "event_loop" and "uvloop or asyncio" in info.value.message


async def _loop_on_requests(requests: asyncio.Queue[asyncio.Future[None]]) -> None:
    """A background loop the way nats-py requests are made: ``wait_for`` on a reply future."""
    while True:
        reply: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await requests.put(reply)
        await asyncio.wait_for(reply, 30)


async def test_a_cancellation_lost_in_wait_for_is_repeated_and_the_task_ends() -> None:
    requests: asyncio.Queue[asyncio.Future[None]] = asyncio.Queue()
    task = asyncio.get_running_loop().create_task(_loop_on_requests(requests))
    reply = await requests.get()
    reply.set_result(None)  # the reply and the cancellation arrive in the same loop iteration
    started = asyncio.get_running_loop().time()
    await asyncio.wait_for(loop.cancel_and_wait([task], patience=0.2), 10)
    assert task.done() and task.cancelled()
    assert asyncio.get_running_loop().time() - started < 5


async def test_a_task_that_swallows_cancellations_is_cancelled_again_until_it_stops() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed == 3:
                    raise

    task = asyncio.get_running_loop().create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(loop.cancel_and_wait([task], patience=0.05), 10)
    assert task.cancelled() and swallowed == 3


async def test_a_task_that_never_stops_is_named_in_a_warning_and_left_behind(
        caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def deaf() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                pass

    task = asyncio.get_running_loop().create_task(deaf(), name="deaf-task")
    await asyncio.sleep(0)
    await asyncio.wait_for(loop.cancel_and_wait([task], patience=0.05, rounds=3), 10)
    assert not task.done()
    assert "1 tasks ignored 3 cancellations" in caplog.text and "deaf-task" in caplog.text
    release.set()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_errors_of_cancelled_tasks_are_retrieved_and_finished_tasks_left_alone() -> None:
    async def fails_on_cancel() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            raise RuntimeError("cleanup failed")

    async def failed_before() -> None:
        raise ValueError("a helper that died earlier")

    failing = asyncio.get_running_loop().create_task(fails_on_cancel())
    finished = asyncio.get_running_loop().create_task(asyncio.sleep(0, "done"))
    dead = asyncio.get_running_loop().create_task(failed_before())
    await asyncio.sleep(0.01)
    await loop.cancel_and_wait([failing, finished, dead])
    assert finished.result() == "done"
    assert isinstance(failing.exception(), RuntimeError) and isinstance(dead.exception(), ValueError)
    # retrieved, as gather(return_exceptions=True) did: asyncio will not report them at collection
    assert failing._log_traceback is False and dead._log_traceback is False

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

"""The event loop every postwave process runs on.

uvloop (libuv) by default: in alternated runs of the embedded benchmark (three pairs,
`python3 benchmarks/e2e.py --messages 16000`) the workers delivered 434-445/s on it against
391-417/s on the standard library's loop, at 3.16-3.30 against 3.31-3.52 CPU seconds per
1,000 messages. ``event_loop = asyncio`` keeps the standard library's loop (for a platform
without uvloop wheels, or to rule the loop out while debugging).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from postwave.config import Config

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a cancelled background task gets to finish before it is cancelled again.
CANCEL_PATIENCE = 2.0
#: How many times it is cancelled before shutdown goes on without it.
CANCEL_ROUNDS = 5


def run(main: Coroutine[Any, Any, T], config: Config) -> T:
    """Run ``main`` to completion on the configured loop (as :func:`asyncio.run` does)."""
    if config.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("event_loop is uvloop, but uvloop is not installed (pip install uvloop); "
                        "running on asyncio's own loop")
        else:
            return uvloop.run(main)
    return asyncio.run(main)


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]], *, patience: float = CANCEL_PATIENCE,
                          rounds: int = CANCEL_ROUNDS) -> None:
    """Cancel background ``tasks`` and wait until each has finished (their results and
    errors are dropped, as at shutdown they should be).

    On Python 3.11 a cancellation can be lost: ``asyncio.wait_for`` (nats-py's requests use
    it) returns its inner result instead of raising when the result and the cancellation
    arrive in the same loop iteration, and a ``while True`` loop above it carries on. A
    SIGTERM'd scheduler then hung until it was killed, holding its lease. So a task still
    running ``patience`` seconds after its cancellation is cancelled again, up to ``rounds``
    times; one that outlives all that is named in a warning and left behind, so that the
    process still stops."""
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    for _ in range(rounds):
        if not pending:
            break
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=patience)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved, so asyncio does not report it as never retrieved
    if pending:
        log.warning("%d tasks ignored %d cancellations and are left running: %s", len(pending), rounds,
                    ", ".join(sorted(task.get_name() + " " + repr(task.get_coro()) for task in pending)))

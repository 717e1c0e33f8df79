"""The CQL driver's ``execute_async`` bridged to asyncio, and plans run on an event loop.

The driver completes requests on its own I/O thread (libev) and reports through callbacks
on a ``ResponseFuture``. :class:`_Gather` and :func:`first_page` turn those into asyncio
futures: the callbacks hand the rows to the loop with ``call_soon_threadsafe``, so no
thread of the loop's ever waits for the cluster. Paging happens in the callbacks too: on a
page with more to come, the callback asks for the next one (the driver keeps the callbacks
for every page of a future), and the request counts as done with its last page.

Deadlines and errors are the blocking path's: each request has ``cql_request_timeout``,
and a cluster failure becomes :class:`StoreUnavailableError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from cassandra.cluster import ResponseFuture, Session

from postwave.store.cql_session import (
    WINDOW,
    Batch,
    Call,
    Gather,
    Page,
    Plan,
    Row,
    T,
    advance,
    unavailable,
)


def _hand_over(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], value: Any, error: bool) -> None:
    """From the driver's thread: complete ``future`` on its loop (unless it was cancelled)."""

    def complete() -> None:
        if future.done():
            return
        if error:
            future.set_exception(value)
        else:
            future.set_result(value)

    try:
        loop.call_soon_threadsafe(complete)
    except RuntimeError:  # the loop closed meanwhile: nobody waits any more
        pass


class _Gather(Gather):
    """A Gather reported to an event loop (``future``): one hand-over per window of statements."""

    def __init__(self, loop: asyncio.AbstractEventLoop, count: int) -> None:
        super().__init__(count)
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        if not count:
            self.future.set_result(None)

    def finished(self) -> None:
        _hand_over(self.loop, self.future, None, False)


def first_page(response: ResponseFuture) -> asyncio.Future[tuple[list[Row], bytes | None]]:
    """One page of rows and the paging state of the next (None: it was the last)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[tuple[list[Row], bytes | None]] = loop.create_future()

    def on_page(page: list[Row] | None) -> None:
        # The driver stores the next page's state before it calls back (ResultSet.paging_state reads it).
        state = response._paging_state
        _hand_over(loop, future, (list(page or ()), state), False)

    def on_error(exc: BaseException) -> None:
        _hand_over(loop, future, exc, True)

    response.add_callbacks(on_page, on_error)
    return future


class AsyncRunner:
    """Runs prepared statements on a session from an event loop, never blocking it."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def all(self, what: str, calls: Iterable[Call]) -> list[list[Row]]:
        """Run many statements concurrently (WINDOW at a time); every row of each, in order.

        As in the blocking runner, every statement is waited for, even after one failed,
        and then the first failure is raised.
        """
        loop = asyncio.get_running_loop()
        pending = list(calls)
        results: list[list[Row]] = []
        failure: BaseException | None = None
        with unavailable(what):
            for start in range(0, len(pending), WINDOW):
                window = pending[start:start + WINDOW]
                gather = _Gather(loop, len(window))
                for index, (statement, params) in enumerate(window):
                    gather.watch(index, self.session.execute_async(statement, params))
                await gather.future
                results.extend(gather.rows)
                failure = failure or gather.first_error()
            if failure is not None:
                raise failure
        return results

    async def page(self, step: Page) -> tuple[list[Row], bytes | None]:
        """One page of rows and the paging state of the next."""
        bound = step.statement.bind(step.params)
        bound.fetch_size = step.fetch_size
        with unavailable(step.what):
            return await first_page(self.session.execute_async(bound, paging_state=step.paging_state))


async def run_plan_async(runner: AsyncRunner, plan: Plan[T]) -> T:
    """Drive a plan on the running event loop; its return value (see cql_session.run_plan)."""
    finished, value = advance(plan, None, None)
    while not finished:
        result: Any = None
        error: Exception | None = None
        try:
            result = await (runner.all(value.what, value.calls) if isinstance(value, Batch) else runner.page(value))
        except Exception as exc:  # noqa: BLE001 - handed to the plan, which re-raises what it does not handle
            error = exc
        finished, value = advance(plan, result, error)
    return value  # type: ignore[no-any-return]

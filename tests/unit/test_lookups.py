"""Kept store lookups: one lookup per key at a time, expiry, errors, forget, size."""

from __future__ import annotations

import asyncio

import pytest
from postwave.lookups import Lookups


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Row:
    """A lookup that blocks until released and counts its calls."""

    def __init__(self, value: str = "row") -> None:
        self.value = value
        self.calls = 0
        self.release = asyncio.Event()
        self.fail: Exception | None = None

    async def __call__(self) -> str:
        self.calls += 1
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return f"{self.value}{self.calls}"


async def test_concurrent_misses_of_one_key_share_one_lookup() -> None:
    kept: Lookups[str, str] = Lookups(5.0)
    row = Row()
    waiters = [asyncio.create_task(kept.get("t1", row)) for _ in range(500)]
    await asyncio.sleep(0)
    row.release.set()
    assert set(await asyncio.gather(*waiters)) == {"row1"}
    assert row.calls == 1 and kept.lookups == 1
    assert await kept.get("t1", row) == "row1" and row.calls == 1  # kept


async def test_different_keys_are_looked_up_separately() -> None:
    kept: Lookups[str, str] = Lookups(5.0)
    a, b = Row("a"), Row("b")
    a.release.set()
    b.release.set()
    assert (await kept.get("a", a), await kept.get("b", b)) == ("a1", "b1")
    assert kept.lookups == 2 and len(kept) == 2


async def test_an_expired_entry_is_looked_up_again_once() -> None:
    clock = Clock()
    kept: Lookups[str, str] = Lookups(5.0, clock=clock)
    row = Row()
    row.release.set()
    assert await kept.get("t1", row) == "row1"
    clock.now += 4.9
    assert await kept.get("t1", row) == "row1"
    clock.now += 0.2
    assert kept.peek("t1") is None
    results = await asyncio.gather(*(kept.get("t1", row) for _ in range(50)))
    assert set(results) == {"row2"} and row.calls == 2


async def test_a_failed_lookup_reaches_every_waiter_and_is_not_kept() -> None:
    kept: Lookups[str, str] = Lookups(5.0)
    row = Row()
    row.fail = RuntimeError("store down")
    waiters = [asyncio.create_task(kept.get("t1", row)) for _ in range(10)]
    await asyncio.sleep(0)
    row.release.set()
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(o, RuntimeError) and str(o) == "store down" for o in outcomes)
    assert len(kept) == 0
    row.fail = None
    assert await kept.get("t1", row) == "row2"


async def test_a_cancelled_caller_does_not_cancel_the_lookup_others_wait_for() -> None:
    kept: Lookups[str, str] = Lookups(5.0)
    row = Row()
    first = asyncio.create_task(kept.get("t1", row))
    second = asyncio.create_task(kept.get("t1", row))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    row.release.set()
    assert await second == "row1"
    assert first.cancelled() and row.calls == 1


async def test_forget_during_a_lookup_keeps_its_value_out_of_the_cache() -> None:
    kept: Lookups[str, str] = Lookups(5.0)
    row = Row()
    waiter = asyncio.create_task(kept.get("t1", row))
    await asyncio.sleep(0)
    kept.forget("t1")  # the row changed while the lookup ran: its answer may be the old one
    row.release.set()
    assert await waiter == "row1"  # the waiter still gets an answer
    assert kept.peek("t1") is None
    assert await kept.get("t1", row) == "row2"
    assert kept.peek("t1") == "row2"  # and the next lookup is kept again


async def test_forget_and_clear_drop_kept_entries() -> None:
    kept: Lookups[str, str] = Lookups(5.0)
    row = Row()
    row.release.set()
    await kept.get("a", row)
    await kept.get("b", row)
    kept.forget("a")
    assert kept.peek("a") is None and kept.peek("b") == "row2"
    kept.clear()
    assert len(kept) == 0


async def test_size_drops_expired_entries_then_the_oldest() -> None:
    clock = Clock()
    kept: Lookups[int, int] = Lookups(5.0, size=3, clock=clock)

    def value(n: int) -> object:
        async def lookup() -> int:
            return n
        return lookup

    for n in range(3):
        await kept.get(n, value(n))  # type: ignore[arg-type]
    clock.now += 10  # all three expired
    await kept.get(3, value(3))  # type: ignore[arg-type]
    await kept.get(4, value(4))  # type: ignore[arg-type]
    assert len(kept) == 2
    await kept.get(5, value(5))  # type: ignore[arg-type]
    await kept.get(6, value(6))  # type: ignore[arg-type]
    assert len(kept) == 3 and kept.peek(3) is None and kept.peek(6) == 6


def test_a_ttl_or_size_that_keeps_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="ttl must be positive"):
        Lookups(0)
    with pytest.raises(ValueError, match="size at least 1"):
        Lookups(5.0, size=0)

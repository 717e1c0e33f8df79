"""Two workers' shapers on one store: what one learns, the other adopts at its next sync.

The shapers are the real ones over a real embedded store; the replies are classified by the
real classifier. Worker A is throttled twice by one site (rate to a quarter) and blocked by
another (pause); worker B, which never saw a reply, adopts both at its next sync; when A is
throttled again while B's successes raise B's rate, the stored rate is A's lowered one plus
what B's success window added: B never undoes A's slow-down, and both end on one rate.
"""

from __future__ import annotations

import time
from pathlib import Path

from postwave.mta.classify import classify
from postwave.mta.mx import Target
from postwave.shaping.policy import load_policy
from postwave.shaping.shaper import Grant, Hold, Shaper
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database

SHAPING = """
[defaults]
messages_per_minute = 600
burst = 100

[adaptive]
decrease_factor = 0.5
increase_fraction = 0.25
success_window = 1
min_fraction = 0.05
decrease_holdoff_seconds = 0.0
block_pause_seconds = 600.0
"""
SLOW = Target("mx.slow.test", "127.0.1.200", 25)
BLOCKING = Target("mx.blocking.test", "127.0.1.201", 25)


async def _load(fn, *args):  # type: ignore[no-untyped-def]
    return fn(*args)


async def _grant(shaper: Shaper, target: Target) -> Grant:
    decision = await shaper.admit("t1", "transactional", [target], _load)
    assert isinstance(decision, Grant), decision
    return decision


async def test_a_second_worker_adopts_learned_rates_and_pauses_and_cannot_undo_them(tmp_path: Path) -> None:
    shaping = tmp_path / "shaping.toml"
    shaping.write_text(SHAPING)
    store = EmbeddedStore(Database(str(tmp_path / "p.db"), synchronous="NORMAL"))
    a, b = (Shaper(load_policy(str(shaping)), store) for _ in range(2))
    assert await a.reputation.load(_load) == 0
    for target in (SLOW, BLOCKING):  # B has used both lanes at the configured rate
        b.finish(await _grant(b, target), None)
    assert b.rate_per_minute("", "slow.test") == 600.0

    for _ in range(2):
        a.finish(await _grant(a, SLOW), classify(421, "4.7.28 slow down, too many messages"))
    note = a.finish(await _grant(a, BLOCKING), classify(550, "5.7.1 Client host blocked using a reputation list"),
                    "RCPT")
    assert "paused toward blocking.test for 600s" in note
    assert isinstance(await a.admit("t1", "transactional", [BLOCKING], _load), Hold)
    await a.reputation.sync(_load)

    await b.reputation.sync(_load)
    assert b.rate_per_minute("", "slow.test") == 150.0
    held = await b.admit("t1", "transactional", [BLOCKING], _load)
    assert isinstance(held, Hold) and held.reason == "paused" and held.delay > 500
    # A is throttled again; B's own success window meanwhile raises B's rate: at the next syncs the
    # stored rate is A's lowered one plus what B's success added -- B cannot undo A's slow-down.
    a.finish(await _grant(a, SLOW), classify(421, "4.7.28 slow down"))
    b.finish(await _grant(b, SLOW), classify(250, "2.0.0 OK"))  # +150 (a quarter of 600)
    assert (a.rate_per_minute("", "slow.test"), b.rate_per_minute("", "slow.test")) == (75.0, 300.0)
    await a.reputation.sync(_load)
    await b.reputation.sync(_load)
    await a.reputation.sync(_load)
    assert a.rate_per_minute("", "slow.test") == b.rate_per_minute("", "slow.test") == 225.0

    [slow] = [r for r in store.load_reputation([""], time.time()) if r.site == "slow.test"]
    assert (slow.throttled, slow.deferred, slow.delivered) == (3, 3, 1)  # A's three 421s, B's delivery
    store.close()

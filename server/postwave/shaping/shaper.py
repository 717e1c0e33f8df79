"""The shaper: which source IP a message leaves from, and whether it may leave now.

Per message the deliverer asks :meth:`Shaper.admit` with the recipient's resolved MX
targets. The shaper finds the destination site, the message's IP pool, and tries the
pool's IPs in order -- warming IPs that still have warm-up room first (they need the
volume), then warmed ones; a pool with no warmed IP of its own overflows to the default
pool's warmed IPs unless it is dedicated -- until one has a free connection slot and a
token in both its (IP, site) bucket and the IP's total bucket (one all-or-nothing
``try_acquire_all``).
The answer is a :class:`Grant` (send now, from this IP) or a :class:`Hold` (give the
message back to the queue for this long). A message may wait briefly for a slot or a token
in the site's ready queue, which is bounded (size and wait); past that it is held: a
throttled site takes only a bounded share of a worker's slots, so other sites' mail keeps
flowing.

After the SMTP reply, :meth:`Shaper.finish` adapts the (IP, site) rate by AIMD: a
throttling reply (see ``mta/classify.py``) halves it, at most once per hold-off (a
receiver usually says "slow down" on every open connection at once); every
``success_window`` deliveries add a tenth of the configured rate back, up to it. A block
(a 5xx policy refusal before DATA: our IP or domain, not one message's content, is
refused) or, if configured, a throttling reply also pauses the lane.

What a lane learned is stored (:mod:`postwave.shaping.reputation`): rates, pauses and
reply counts are loaded when a worker starts and merged with the other workers' every
``reputation_sync_seconds``, so a restarted worker -- or another host's -- starts from the
learned rate and honours a pause instead of hammering a site that just pushed back.

Distributed mode: each worker enforces its share of every limit. A message costs
``live_workers`` tokens of a bucket filled at the site's configured rate, and a worker
opens at most ``max_connections / live_workers`` connections to a site from one IP.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import heapq
import logging
import math
import random
import sys
import time
from collections.abc import Callable

from postwave import metrics, native
from postwave.mta.classify import Classification, Outcome
from postwave.mta.mx import Target
from postwave.shaping.policy import Pool, PoolIP, ShapingPolicy
from postwave.shaping.reputation import LaneNews, Reputation
from postwave.shaping.sites import Site, SiteMap
from postwave.shaping.warmup import Load, WarmupLedger
from postwave.store.base import Store

__all__ = ["Grant", "Hold", "Shaper"]

log = logging.getLogger(__name__)

# A hold for a full connection slot: about one SMTP transaction.
CONNECTION_WAIT = 0.5
# The ready queue: a message may wait this long in memory for a slot or a token, and at most
# READY_QUEUE_FACTOR x the lane's connection cap messages wait at once; beyond either it is
# handed back to the queue, so a slow site occupies only a bounded share of a worker's slots.
READY_WAIT = 1.0
READY_QUEUE_FACTOR = 2
# Held messages return at this fraction of the spacing the current rate would give.
HOLD_PACE = 0.5
# Longest hold: a dedicated pool whose IPs have used up the day's warm-up caps.
MAX_HOLD = 25 * 3600.0
_UNBOUND = PoolIP("")  # a pool without IPs: the kernel's choice of source address


@dataclasses.dataclass(slots=True)
class _Lane:
    """Shaping state of one (source IP, site) pair in this worker."""

    key: tuple[str, str]  # the (IP, site) token-bucket key: the same object every time
    keys: tuple[str, tuple[str, str]]  # the buckets a message is charged to: the IP's total, then key
    site: Site
    in_flight: int = 0
    waiters: collections.deque[asyncio.Future[None]] = dataclasses.field(default_factory=collections.deque)
    successes: int = 0
    last_decrease: float = -math.inf
    paused_until: float = 0.0  # wall clock (epoch seconds): shared with other workers through the store
    pause_reason: str = ""
    news: LaneNews = dataclasses.field(default_factory=LaneNews)  # changes since the last sync


@dataclasses.dataclass(frozen=True, slots=True)
class Grant:
    """Send now. ``ip``: the source address to bind (None: the kernel's choice)."""

    ip: str | None
    site: str
    lane: _Lane


@dataclasses.dataclass(frozen=True, slots=True)
class Hold:
    """Not now: give the message back to the queue for ``delay`` seconds."""

    delay: float
    reason: str  # rate | connections | warmup | paused
    site: str


class Shaper:
    """Per-worker traffic shaping over a :class:`ShapingPolicy`.

    Args:
        policy: sites, limits, pools, warm-up and AIMD parameters.
        store: where warm-up counts are shared with the other workers.
        live_workers: how many workers share each limit (see :meth:`set_live_workers`).
        clock: monotonic seconds, for the token buckets.
    """

    def __init__(self, policy: ShapingPolicy, store: Store, *, live_workers: int = 1,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.sites = SiteMap(policy)
        self.warmup = WarmupLedger(store, policy.warmup)
        adaptive = policy.adaptive
        self.buckets = native.tokenbucket.TokenBuckets(
            1.0, decrease_factor=adaptive.decrease_factor, increase_fraction=adaptive.increase_fraction,
            min_fraction=adaptive.min_fraction,
        )
        self.clock = clock
        self.live_workers = 1
        self.set_live_workers(live_workers)
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._ip_keys: dict[str, str] = {}
        self._turns: dict[str, int] = {}
        self._held: dict[str, list[float]] = {}  # per site: due times of held messages (a heap)
        self.reputation = Reputation(self, store)

    def set_live_workers(self, count: int) -> None:
        """Enforce a ``1 / count`` share of every rate and connection limit from now on."""
        self.live_workers = max(1, int(count))

    async def admit(self, tenant_id: str, stream: str, targets: list[Target], load: Load) -> Grant | Hold:
        """A grant to send to ``targets`` now, or how long to hold the message back.

        A short wait (a connection slot, the next token, at most ``READY_WAIT`` seconds) is
        spent here, in the site's bounded ready queue; a longer one, or a full ready queue,
        is a :class:`Hold`.
        """
        site = self.sites.site_for(targets)
        pool = self.policy.pool_for(tenant_id, stream)
        deadline = self.clock() + READY_WAIT
        while True:
            decision = await self._try_pool(site, pool, load)
            if isinstance(decision, Grant):
                return decision
            now = self.clock()
            wait, reason, lane = min(decision, key=lambda w: w[0])
            if reason in ("warmup", "paused") or now + wait > deadline or len(lane.waiters) >= self._ready_limit(lane):
                return self._hold(site, decision, now)
            await self._pause(lane, wait if reason == "rate" else deadline - now)

    async def _try_pool(self, site: Site, pool: Pool, load: Load) -> Grant | list[tuple[float, str, _Lane]]:
        """One pass over the pool's IPs: a grant, or why and how long each refused."""
        now, wall = self.clock(), time.time()
        waits: list[tuple[float, str, _Lane]] = []
        for member in self._candidates(pool, wall):
            lane = self._lane(member.ip, site, now)
            refusal = self._refusal(lane, member, now, wall)
            if refusal is None and not await self.warmup.take(member, wall, load):
                refusal = (max(self.warmup.blocked_for(member, wall), CONNECTION_WAIT), "warmup")
            if refusal is None:
                lane.in_flight += 1
                return Grant(member.ip or None, site.name, lane)
            waits.append((*refusal, lane))
        return waits

    async def _pause(self, lane: _Lane, seconds: float) -> None:
        """Wait in the lane's ready queue until a slot is freed or ``seconds`` have passed."""
        waiter = asyncio.get_running_loop().create_future()
        lane.waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, max(0.0, seconds))
        except TimeoutError:
            pass
        finally:
            if waiter in lane.waiters:
                lane.waiters.remove(waiter)

    def _ready_limit(self, lane: _Lane) -> int:
        return READY_QUEUE_FACTOR * self._connection_cap(lane)

    def _connection_cap(self, lane: _Lane) -> int:
        return max(1, lane.site.limits.max_connections // self.live_workers)

    def finish(self, grant: Grant, verdict: Classification | None, stage: str = "") -> str:
        """Free the grant's connection slot and adapt its rate to the reply (None: no reply);
        ``stage``: the SMTP command the reply answered (a refusal before DATA is of us, not the content).

        Returns a note for the message's event when the rate changed or the lane paused, else "".
        """
        lane = grant.lane
        lane.in_flight -= 1
        while lane.waiters:  # the first one waiting in the ready queue takes the slot
            waiter = lane.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break
        if verdict is None:
            return ""
        lane.news.count(verdict)
        if verdict.policy and verdict.outcome is Outcome.BOUNCED and stage not in ("DATA", ""):
            return self._pause_lane(lane, self.policy.adaptive.block_pause_seconds, f"blocked at {stage}")
        if verdict.throttle:
            note = self._slow_down(lane)
            return note + self._pause_lane(lane, self.policy.adaptive.throttle_pause_seconds, "throttled")
        if verdict.outcome is Outcome.DELIVERED:
            lane.successes += 1
            if lane.successes >= self.policy.adaptive.success_window:
                lane.successes = 0
                self._speed_up(lane)
        return ""

    def rate_per_minute(self, ip: str, site: str) -> float:
        """The current (adapted) configured rate of (ip, site) for the whole platform."""
        lane = self._lanes.get((ip, site))
        return self.buckets.rate(lane.key) * 60.0 if lane else math.nan

    # -- steps -------------------------------------------------------------------------------

    def _candidates(self, pool: Pool, wall: float) -> list[PoolIP]:
        if not pool.ips:
            return [_UNBOUND]
        turn = self._turns[pool.name] = self._turns.get(pool.name, -1) + 1
        warming = [m for m in pool.ips if self.warmup.is_warming(m, wall)]
        warmed = [m for m in pool.ips if m not in warming]
        ordered = _rotate(warming, turn) + _rotate(warmed, turn)
        default = self.policy.pools[self.policy.default_pool]
        if not warmed and not pool.dedicated and default is not pool:
            # A pool of warming IPs only overflows to the default pool's warmed IPs, unless
            # its tenant asked for IPs of its own (dedicated): then the mail waits.
            ordered += _rotate([m for m in default.ips if m not in ordered
                                and not self.warmup.is_warming(m, wall)], turn)
        return ordered

    def _lane(self, ip: str, site: Site, now: float) -> _Lane:
        lane = self._lanes.get((ip, site.name))
        if lane is None:
            key = (ip, site.name)
            lane = self._lanes[key] = _Lane(key, (self._ip_key(ip, now), key), site)
            self.buckets.configure(key, site.limits.messages_per_minute / 60.0, site.limits.burst, now)
            self.reputation.apply_learned(lane)
        return lane

    def lanes(self) -> list[_Lane]:
        """Every (IP, site) lane this worker has used."""
        return list(self._lanes.values())

    def lane_of(self, ip: str, site: str) -> _Lane | None:
        """The lane of (ip, site) if this worker has used it."""
        return self._lanes.get((ip, site))

    def source_ips(self) -> list[str]:
        """Every source address the pools may send from ("" = the kernel's choice)."""
        ips = {m.ip for pool in self.policy.pools.values() for m in pool.ips}
        if any(not pool.ips for pool in self.policy.pools.values()):
            ips.add("")
        return sorted(ips)

    def _ip_key(self, ip: str, now: float) -> str:
        key = self._ip_keys.get(ip)
        if key is None:
            key = self._ip_keys[ip] = sys.intern(ip)
            rate = self.policy.source_ip
            self.buckets.configure(key, rate.messages_per_minute / 60.0, rate.burst, now)
        return key

    def _refusal(self, lane: _Lane, member: PoolIP, now: float, wall: float) -> tuple[float, str] | None:
        """Why this lane cannot take a message now, and for how long; None: it can."""
        if lane.paused_until > wall:
            return lane.paused_until - wall, "paused"
        blocked = self.warmup.blocked_for(member, wall)
        if blocked > 0:
            return blocked, "warmup"
        if lane.in_flight >= self._connection_cap(lane):
            return CONNECTION_WAIT, "connections"
        cost = float(self.live_workers)
        if not self.buckets.try_acquire_all(lane.keys, cost, now):
            return self.buckets.wait_time_all(lane.keys, cost, now), "rate"
        return None

    def _hold(self, site: Site, waits: list[tuple[float, str, _Lane]], now: float) -> Hold:
        wait, reason, lane = min(waits, key=lambda w: w[0])
        # Held messages come back spread out, not all at once when the wait is over (each
        # would be claimed, refused and handed back again): behind the site's messages
        # already held, at twice the current rate, so that the token bucket, not this
        # schedule, is what sets the pace -- also after the rate has gone up again.
        held = self._held.setdefault(site.name, [])
        while held and held[0] <= now:
            heapq.heappop(held)
        spacing = self.live_workers / (self.buckets.rate(lane.key) * max(1, len(waits)))
        due = now + wait + len(held) * spacing * HOLD_PACE
        heapq.heappush(held, due)
        delay = min(MAX_HOLD, (due - now) * random.uniform(1.0, 1.1))
        metrics.count_throttle(site.name, lane.key[0], reason)
        return Hold(delay, reason, site.name)

    def _slow_down(self, lane: _Lane) -> str:
        now = self.clock()
        lane.successes = 0
        if now - lane.last_decrease < self.policy.adaptive.decrease_holdoff_seconds:
            return ""
        lane.last_decrease = now
        before = self.buckets.rate(lane.key)
        after = self.buckets.decrease(lane.key, now)
        lane.news.lowered = True
        ip, site = lane.key
        log.warning("throttled by %s: rate from %s lowered from %.1f to %.1f messages/min",
                    site, ip or "(default address)", before * 60, after * 60)
        metrics.count_throttle(site, ip, "reply")
        metrics.set_shaping_rate(site, ip, after * 60.0)
        return f"; sending rate toward {site} lowered to {after * 60:.1f}/min"

    def _pause_lane(self, lane: _Lane, seconds: float, why: str) -> str:
        """Stop sending on the lane for ``seconds`` (0: no pause); a note for the event."""
        if seconds <= 0:
            return ""
        until = time.time() + seconds
        if until <= lane.paused_until:
            return ""
        lane.paused_until, lane.pause_reason = until, why
        lane.news.paused = True
        ip, site = lane.key
        log.warning("%s paused toward %s for %.0f s (%s)", ip or "(default address)", site, seconds, why)
        metrics.count_throttle(site, ip, "paused")
        return _pause_note(lane, seconds, why)

    def _speed_up(self, lane: _Lane) -> None:
        before = self.buckets.rate(lane.key)
        after = self.buckets.increase(lane.key, self.clock())
        if after != before:
            lane.news.raised += (after - before) * 60.0
            ip, site = lane.key
            log.info("rate toward %s from %s raised to %.1f messages/min", site, ip or "(default address)", after * 60)
            metrics.set_shaping_rate(site, ip, after * 60.0)


def _pause_note(lane: _Lane, seconds: float, why: str) -> str:
    ip, site = lane.key
    return f"; {ip or 'the default address'} paused toward {site} for {seconds:.0f}s ({why})"


def _rotate(members: list[PoolIP], turn: int) -> list[PoolIP]:
    if len(members) < 2:
        return members
    start = turn % len(members)
    return members[start:] + members[:start]


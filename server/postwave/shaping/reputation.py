"""Stored reputation: what each (source IP, site) lane learned, shared by every worker.

A lane's adapted rate, its pause (after a block or a throttling reply) and its recent reply
counts live in the store (``Store.load_reputation`` / ``Store.merge_reputation``). A worker
loads them when it starts, before it claims anything, and every ``reputation_sync_seconds``
it merges what its lanes learned since the last sync (see reputation_merge.merge: a
slow-down or a pause always survives) and adopts what other workers learned. At shutdown
it syncs once more. So a restarted worker, or a second worker on another host, starts at
the learned rate and honours a pause instead of hammering a site that just pushed back.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any

from postwave import metrics
from postwave.mta.classify import Classification, Outcome
from postwave.store.base import LaneReputation, ReputationChange, Store

if TYPE_CHECKING:
    from postwave.shaping.shaper import Shaper, _Lane

__all__ = ["LaneNews", "Reputation"]

log = logging.getLogger(__name__)

_COUNTS = ("delivered", "deferred", "bounced", "throttled", "blocked")


@dataclasses.dataclass(slots=True)
class LaneNews:
    """What a lane learned since its last sync, and the stored version it last adopted
    (only newer rows are adopted)."""

    lowered: bool = False
    raised: float = 0.0  # messages/min added by success windows
    paused: bool = False
    delivered: int = 0
    deferred: int = 0
    bounced: int = 0
    throttled: int = 0
    blocked: int = 0
    seen_version: int = 0

    def count(self, verdict: Classification) -> None:
        """Count one reply by class."""
        if verdict.outcome is Outcome.DELIVERED:
            self.delivered += 1
        elif verdict.outcome is Outcome.DEFERRED:
            self.deferred += 1
        else:
            self.bounced += 1
        self.throttled += verdict.throttle
        self.blocked += verdict.policy and verdict.outcome is Outcome.BOUNCED

    @property
    def dirty(self) -> bool:
        """Anything to tell the store."""
        return self.lowered or bool(self.raised) or self.paused or any(getattr(self, c) for c in _COUNTS)

    def take(self) -> LaneNews:
        """A copy of the news; this one starts afresh (keeping the seen version)."""
        taken = dataclasses.replace(self)
        self.lowered = self.paused = False
        self.raised = 0.0
        for name in _COUNTS:
            setattr(self, name, 0)
        return taken

    def give_back(self, news: LaneNews) -> None:
        """Keep news a failed sync could not write, for the next one."""
        self.lowered |= news.lowered
        self.raised += news.raised
        self.paused |= news.paused
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(news, name))


class Reputation:
    """The store side of one worker's shaper."""

    def __init__(self, shaper: Shaper, store: Store) -> None:
        self.shaper = shaper
        self.store = store
        self._learned: dict[tuple[str, str], LaneReputation] = {}  # rows of lanes not used yet

    async def load(self, load: Any) -> int:
        """Adopt every stored lane of the policy's source IPs; how many there were."""
        rows = await load(self.store.load_reputation, self.shaper.source_ips(), time.time())
        self._take(rows)
        return len(rows)

    async def sync(self, load: Any) -> None:
        """Merge this worker's news into the store, then adopt what the others learned."""
        lanes = [lane for lane in self.shaper.lanes() if lane.news.dirty]
        taken = [(lane, lane.news.take()) for lane in lanes]
        if taken:
            changes = [self._change(lane, news) for lane, news in taken]
            try:
                merged = await load(self.store.merge_reputation, changes, time.time())
            except Exception:
                for lane, news in taken:
                    lane.news.give_back(news)
                raise
            self._take(merged)
        await self.load(load)

    def apply_learned(self, lane: _Lane) -> None:
        """A lane used for the first time starts from its stored state, if any."""
        row = self._learned.pop(lane.key, None)
        if row is not None:
            self._adopt(lane, row)

    def _change(self, lane: _Lane, news: LaneNews) -> ReputationChange:
        rate = self.shaper.buckets.rate(lane.key) * 60.0
        return ReputationChange(
            lane.key[0], lane.key[1], rate, news.lowered, news.raised,
            paused_until=lane.paused_until if news.paused else 0.0, pause_reason=lane.pause_reason,
            **{c: getattr(news, c) for c in _COUNTS},
        )

    def _take(self, rows: list[LaneReputation]) -> None:
        for row in rows:
            lane = self.shaper.lane_of(row.ip, row.site)
            if lane is None:
                self._learned[(row.ip, row.site)] = row
            else:
                self._adopt(lane, row)

    def _adopt(self, lane: _Lane, row: LaneReputation) -> None:
        """Take a stored row this lane has not seen yet (a lowering made meanwhile stands)."""
        if row.version <= lane.news.seen_version:
            return
        lane.news.seen_version = row.version
        buckets, now = self.shaper.buckets, self.shaper.clock()
        before = buckets.rate(lane.key)
        rate = row.rate_per_minute / 60.0
        if lane.news.lowered:
            rate = min(rate, before)
        after = buckets.set_rate(lane.key, rate, now)
        ip, site = lane.key
        if after != before:
            log.info("learned rate toward %s from %s: %.1f messages/min (stored reputation)", site,
                     ip or "(default address)", after * 60)
            metrics.set_shaping_rate(site, ip, after * 60.0)
        if row.paused_until > max(lane.paused_until, time.time()):
            lane.paused_until, lane.pause_reason = row.paused_until, row.pause_reason
            log.info("%s paused toward %s until %s (stored reputation: %s)", ip or "(default address)", site,
                     time.strftime("%H:%M:%S", time.gmtime(row.paused_until)), row.pause_reason)

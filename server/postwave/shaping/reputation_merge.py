"""How workers' news about a (source IP, site) lane is merged into its stored row.

Pure functions, shared by both stores (each runs :func:`merge` inside its own atomic
read-modify-write: a SQLite transaction, a CQL compare-and-set on ``version``).

The rules keep slow-downs and pauses, which protect the platform's reputation, and let a
rate climb back by what the workers' successes add:

* rate -- a worker that lowered its rate since its last sync writes the lower of its rate
  and the stored one; a worker that raised it adds what it raised to the stored rate (at
  most up to its own rate, which never exceeds the configured one), so a worker that never
  saw the 421s cannot undo another's slow-down, and every worker's successes count.
* pause -- the later of the stored and the reported end; an ended pause is cleared.
* reply counters -- added up within an hour's window, started afresh after it.
"""

from __future__ import annotations

from postwave.store.base import REPUTATION_TTL, LaneReputation, ReputationChange

__all__ = ["COUNTER_WINDOW", "merge"]

COUNTER_WINDOW = 3600.0  # the reply counters cover at most this long


def merge(stored: LaneReputation | None, change: ReputationChange, now: float) -> LaneReputation:
    """The lane's row after ``change``; ``stored`` None (or older than REPUTATION_TTL): none yet."""
    if stored is None or now - stored.updated > REPUTATION_TTL:
        stored = LaneReputation(change.ip, change.site, change.rate_per_minute, window_start=now)
        rate = change.rate_per_minute
    elif change.lowered:
        rate = min(stored.rate_per_minute, change.rate_per_minute)
    else:
        raised = stored.rate_per_minute + change.raised_per_minute
        rate = min(raised, max(stored.rate_per_minute, change.rate_per_minute))
    paused_until, reason = stored.paused_until, stored.pause_reason
    if change.paused_until > paused_until:
        paused_until, reason = change.paused_until, change.pause_reason
    if paused_until <= now:
        paused_until, reason = 0.0, ""
    window_start = stored.window_start
    kept = now - window_start < COUNTER_WINDOW
    if not kept:
        window_start = now
    return LaneReputation(
        change.ip, change.site, rate, paused_until, reason, window_start,
        delivered=change.delivered + (stored.delivered if kept else 0),
        deferred=change.deferred + (stored.deferred if kept else 0),
        bounced=change.bounced + (stored.bounced if kept else 0),
        throttled=change.throttled + (stored.throttled if kept else 0),
        blocked=change.blocked + (stored.blocked if kept else 0),
        updated=now, version=stored.version + 1,
    )

"""Partition keys and event ids of the CQL store: pure functions, one per key.

Every partition key below is chosen so that no partition grows without bound; the reasons
and the size bounds are in docs/storage.md.
"""

from __future__ import annotations

import os
import threading
import time
import zlib

STATE_SHARDS = 16  # messages_by_state: (state, shard) partitions per non-final state
SCHEDULE_SHARDS = 8  # scheduled: (minute bucket, shard) partitions per minute
SUPPRESSION_SHARDS = 16  # suppressions: (tenant, shard) partitions per tenant
SCHEDULE_BUCKET_SECONDS = 60
EVENT_BUCKET_SECONDS = 60
SECONDS_PER_DAY = 86400
EVENT_SEQUENCE = 1000  # event ids are microseconds * EVENT_SEQUENCE + a sequence number

# The states a message leaves again. Only these are indexed by state (final states would
# make partitions that grow for ever, and nothing scans them), and a message in any other
# state is final: no later state change applies to it.
OPEN_STATES = frozenset({"accepted", "scheduled", "deferred"})


def shard(text: str, shards: int) -> int:
    """A stable shard of a key (crc32, the same in every process and language)."""
    return zlib.crc32(text.encode()) % shards


def schedule_bucket(send_at: float) -> int:
    """The minute bucket of the ``scheduled`` table a send time falls in."""
    return int(send_at // SCHEDULE_BUCKET_SECONDS)


def event_partition(event_id: int) -> tuple[int, int]:
    """(day since the epoch, minute of that day) of an event id: its events_by_tenant partition."""
    seconds = event_id // EVENT_SEQUENCE // 1_000_000
    return seconds // SECONDS_PER_DAY, (seconds % SECONDS_PER_DAY) // EVENT_BUCKET_SECONDS


def event_id_at(seconds: float) -> int:
    """The smallest event id of a moment (the cursor that starts there)."""
    return int(seconds * 1_000_000) * EVENT_SEQUENCE


class EventIds:
    """Event ids: ``microseconds since the epoch * 1000 + sequence``, an int64 until 2262.

    Guarantees: ids from one process strictly increase, in the order events are written;
    they never go backwards when the clock does (the last id + 1 is used instead). Ids from
    different processes are ordered by their clocks; the sequence starts at a random offset
    per process, so two processes give the same id only by writing in the same microsecond
    with the same sequence number (and even then both events are stored: the row key is
    (id, message_id)). Limits: an event written by another process whose clock lags, or
    whose write lands late, can get an id below a cursor a reader has already passed;
    ``cql_events_settle_seconds`` holds recent events back from readers to cover that.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0
        self._offset = int.from_bytes(os.urandom(2), "big") % EVENT_SEQUENCE

    def next(self) -> int:
        """A new id, greater than every id this object gave before."""
        with self._lock:
            candidate = time.time_ns() // 1000 * EVENT_SEQUENCE + self._offset
            self._last = max(candidate, self._last + 1)
            return self._last

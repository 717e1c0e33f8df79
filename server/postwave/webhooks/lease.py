"""Exactly one active webhook dispatcher: the ``postwave webhooks`` role behind a lease.

Several dispatcher processes may run (Kubernetes replicas, a standby on another host); one
holds the lease and dispatches, the others wait for it. The lease is the scheduler's kind
(:mod:`postwave.pipeline.leader`):

- queue=nats: the key ``webhooks`` in the JetStream key-value bucket ``pw_webhook_lease``
  (its own bucket: entries expire after ``webhook_lease_seconds``, whatever the scheduler's
  lease time), renewed every third of that by compare-and-set. A holder killed with
  SIGKILL stops renewing; its key expires and a standby takes over within one lease time.
- queue=embedded (one host): an exclusive ``flock`` on ``<data_dir>/webhooks.lock``.

Hand-over keeps the at-least-once contract and adds nothing to it: the new holder starts
from each endpoint's durable cursor, so what it repeats is at most the batch the old one
had posted but not yet acknowledged in the store -- the same events with the same ids, which
receivers already drop by id. A holder that fails to renew (NATS unreachable, a pause
longer than the lease) stops dispatching at once, before another may have taken over for
longer than one renewal interval.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from postwave.config import Config
from postwave.pipeline.leader import FileLease, Lease, NatsKvLease, kv_bucket

log = logging.getLogger(__name__)

BUCKET = "pw_webhook_lease"
NAME = "webhooks"


class DispatcherKvLease(NatsKvLease):
    """The NATS lease in a bucket of its own (a bucket's TTL is set when it is made)."""

    async def _bucket(self) -> Any:
        if self._kv is None:
            self._kv = await kv_bucket(self._source, BUCKET, ttl=self.seconds, replicas=self.replicas,
                                       description="postwave lease of the active webhook dispatcher")
        return self._kv


def dispatcher_lease(config: Config, queue: Any) -> Lease:
    """The lease guarding webhook dispatch for this configuration."""
    if config.queue == "nats":
        return DispatcherKvLease(queue, NAME, config.webhook_lease_seconds, replicas=config.nats_replicas)
    os.makedirs(config.data_dir, exist_ok=True)
    return FileLease(os.path.join(config.data_dir, "webhooks.lock"), config.webhook_lease_seconds)


async def hold(lease: Lease, seconds: float, stop: asyncio.Event, lost: asyncio.Event) -> None:
    """Renew the lease every third of ``seconds`` until ``stop``; when a renewal fails, set
    ``lost`` (the dispatcher stops on it) and return."""
    started = time.monotonic()
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), seconds / 3)
        except TimeoutError:
            pass
        if not stop.is_set() and not await lease.renew():
            log.warning("lost the webhook dispatcher lease after %.0f s; standing by", time.monotonic() - started)
            lost.set()
            return

"""A lane's depth as a JetStream consumer's lag, the number KEDA's nats-jetstream trigger reads.

KEDA's ``nats-jetstream`` scaler asks the NATS monitoring endpoint (``/jsz?acc=...&consumers=
true``) for one durable consumer of one stream and scales on its ``num_pending +
num_ack_pending``. The lanes have no such consumer: tenant fairness gives every (lane, tenant)
its own consumer (``queue/nats.py``), and on a work-queue stream a lane-wide consumer cannot
exist beside them (NATS refuses overlapping filters). So each lane gets a gauge of its own:

- stream ``PW_<LANE>_DEPTH`` (limits retention, subject ``pw.depth.<lane>``, empty messages,
  memory storage -- it is derived, rebuilt by the next pass after a NATS restart, and four
  times cheaper to write than a file stream -- the lanes' replicas) holding one token per
  message in the lane;
- durable pull consumer ``pw-<lane>-depth`` on it (deliver all, explicit ack) that nobody
  pulls, so its ``num_pending`` is the number of tokens: the lane's depth.

The active scheduler reconciles the tokens to the lane stream's message count every pass
(:meth:`DepthGauge.run`): it publishes the missing tokens, or purges the surplus keeping the
newest N (the JetStream purge request ``{"keep": N}``). The count is capped (``cap``): past
``maxReplicaCount x lagThreshold`` the workers are at their most anyway, and the cap bounds
the gauge's size. One pass publishes at most :data:`MAX_STEP` tokens, so a sudden huge
backlog is mirrored over a few passes instead of one long one (the HPA's scale-up policy is
slower than that anyway). A NATS outage fails a pass, logged once; the next pass retries.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats.errors
import nats.js.errors
from nats.js import api

from postwave.errors import StoreUnavailableError
from postwave.queue.base import LANES
from postwave.queue.nats import NatsQueue, _describe, ensure_stream

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "pw.depth"
MAX_STEP = 50_000  # tokens published by one pass at most
CHUNK = 2_000  # tokens in flight before waiting for their acknowledgements
DUPLICATE_WINDOW = 120.0  # tokens carry no message id; the server's default window


def depth_stream(lane: str) -> str:
    """The lane's gauge stream: PW_TRANSACTIONAL_DEPTH or PW_BULK_DEPTH."""
    return f"PW_{lane.upper()}_DEPTH"


def depth_subject(lane: str) -> str:
    """The subject the lane's tokens are published on."""
    return f"{SUBJECT_PREFIX}.{lane}"


def depth_consumer(lane: str) -> str:
    """The durable consumer whose lag KEDA reads for the lane."""
    return f"pw-{lane}-depth"


class DepthGauge:
    """Keeps each lane's token count equal to its depth (see the module docstring)."""

    def __init__(self, queue: NatsQueue, *, cap: int, replicas: int = 1) -> None:
        self.queue = queue
        self.cap = cap
        self.replicas = replicas

    async def ensure(self, lane: str) -> None:
        """Create the lane's gauge stream and consumer when missing (idempotent; a stream or
        consumer made by NACK from the Kubernetes manifests is left as it is)."""
        js = await self.queue.jetstream()
        await self._ensure_stream(js, lane)
        await self._ensure_consumer(js, lane)

    async def lag(self, lane: str) -> int:
        """The consumer's num_pending + num_ack_pending, as KEDA reads it (made if missing)."""
        js = await self.queue.jetstream()
        try:
            info = await js.consumer_info(depth_stream(lane), depth_consumer(lane))
        except nats.js.errors.NotFoundError:
            await self.ensure(lane)
            info = await js.consumer_info(depth_stream(lane), depth_consumer(lane))
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def reconcile(self, lane: str, depth: int) -> int:
        """Bring the lane's tokens to ``min(depth, cap)`` (at most MAX_STEP more per call);
        returns the count KEDA reads afterwards."""
        target = min(max(0, depth), self.cap)
        try:
            current = await self.lag(lane)
            if current < target:
                await self._add(lane, min(target - current, MAX_STEP))
            elif current > target:
                js = await self.queue.jetstream()
                # keep=0 sends no "keep" at all, which purges everything: the right thing too
                await js.purge_stream(depth_stream(lane), keep=target)
            return await self.lag(lane) if current != target else current
        except StoreUnavailableError:
            raise  # not connected: already says so
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            raise StoreUnavailableError(f"queue unavailable: reconciling {depth_stream(lane)} failed "
                                        f"({_describe(exc)})") from exc

    async def reconcile_all(self) -> dict[str, int]:
        """One pass over every lane: lane -> tokens after it."""
        return {lane: await self.reconcile(lane, await self.queue.depth(lane)) for lane in LANES}

    async def run(self, interval: float) -> None:
        """Reconcile every ``interval`` seconds, for ever. A failed pass is logged once (and
        its recovery), never raised: the scheduler's other duties go on without NATS."""
        failing = False
        while True:
            try:
                counts = await self.reconcile_all()
            except Exception as exc:  # noqa: BLE001 - NATS away or slow: the next pass retries
                if not failing:
                    log.warning("KEDA depth gauge: reconciling failed (%s); retrying every %.0f s", exc, interval)
                failing = True
            else:
                if failing:
                    log.info("KEDA depth gauge: reconciled again (%s)",
                             ", ".join(f"{lane} {n}" for lane, n in counts.items()))
                failing = False
            await asyncio.sleep(interval)

    # internals

    async def _ensure_stream(self, js: Any, lane: str) -> None:
        config = api.StreamConfig(
            name=depth_stream(lane), subjects=[depth_subject(lane)], retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.MEMORY, discard=api.DiscardPolicy.OLD, num_replicas=self.replicas,
            duplicate_window=DUPLICATE_WINDOW,
            description=f"postwave {lane} lane depth gauge: one token per queued message (KEDA)",
        )
        await ensure_stream(js, config)

    async def _ensure_consumer(self, js: Any, lane: str) -> None:
        try:
            await js.consumer_info(depth_stream(lane), depth_consumer(lane))
        except nats.js.errors.NotFoundError:
            await js.add_consumer(depth_stream(lane), api.ConsumerConfig(
                durable_name=depth_consumer(lane), deliver_policy=api.DeliverPolicy.ALL,
                ack_policy=api.AckPolicy.EXPLICIT,
                description=f"postwave {lane} lane depth for KEDA: never pulled, its pending count is the depth",
            ))

    async def _add(self, lane: str, count: int) -> None:
        """Publish ``count`` empty tokens, waiting for every acknowledgement."""
        js = await self.queue.jetstream()
        subject = depth_subject(lane)
        for start in range(0, count, CHUNK):
            futures: list[asyncio.Future[Any]] = []
            try:
                for _ in range(min(CHUNK, count - start)):
                    futures.append(await js.publish_async(subject, b"", wait_stall=self.queue.request_timeout))
                await asyncio.wait_for(asyncio.gather(*futures), self.queue.request_timeout)
            except BaseException:
                # acknowledgements that will never come must not hold the client's window
                for future in futures:
                    future.cancel()
                raise

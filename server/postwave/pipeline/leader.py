"""Exactly one active scheduler: a lease that a standby takes over when its holder dies.

- queue=nats: a key in the JetStream key-value bucket ``pw_leases`` whose entries expire
  after the lease time. The holder renews with a compare-and-set on the key's revision
  every third of the lease; a standby's ``create`` succeeds only once the key is gone
  (expired or released), so two holders never overlap by more than a renewal's flight.
- queue=embedded (one host): an exclusive ``flock`` on ``<data_dir>/<name>.lock``, which the
  kernel releases when the holder dies.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import socket
from typing import IO, Any, Protocol

import nats.errors
import nats.js.errors

from postwave.config import Config

log = logging.getLogger(__name__)

BUCKET = "pw_leases"


class Lease(Protocol):
    """A named lease one process holds at a time."""

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this process holds the lease (True) or ``stop`` is set (False)."""

    async def renew(self) -> bool:
        """Keep holding it; False when it was lost (another process may hold it now)."""

    async def release(self) -> None:
        """Give it up so a standby takes over at once."""


def holder_id() -> str:
    """Who holds a lease: host and pid, for operators reading the key."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def kv_bucket(queue: Any, name: str, *, ttl: float, replicas: int, description: str) -> Any:
    """The JetStream key-value bucket ``name`` on the queue's connection, made if missing
    (entries expire after ``ttl`` seconds; one revision kept)."""
    js = await queue._js()
    try:
        return await js.key_value(name)
    except nats.js.errors.BucketNotFoundError:
        try:
            return await js.create_key_value(bucket=name, ttl=ttl, history=1, replicas=replicas,
                                             description=description)
        except nats.js.errors.BadRequestError:
            return await js.key_value(name)  # another process made it first


class NatsKvLease:
    """The lease as a key in a JetStream key-value bucket with a TTL."""

    def __init__(self, nc_source: Any, name: str, seconds: float, *, replicas: int = 1) -> None:
        self._source = nc_source  # the NatsQueue whose connection we share
        self.name = name
        self.seconds = seconds
        self.replicas = replicas
        self.holder = holder_id()
        self._revision = 0
        self._kv: Any = None

    async def _bucket(self) -> Any:
        if self._kv is None:
            self._kv = await kv_bucket(self._source, BUCKET, ttl=self.seconds, replicas=self.replicas,
                                       description="postwave leases (active scheduler)")
        return self._kv

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Poll for the key's absence every third of the lease."""
        while not stop.is_set():
            try:
                kv = await self._bucket()
                self._revision = await kv.create(self.name, self.holder.encode())
                return True
            except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.APIError):
                pass  # held by another process
            except Exception as exc:  # noqa: BLE001 - NATS down: keep waiting
                log.debug("lease %s: %s", self.name, exc)
            try:
                await asyncio.wait_for(stop.wait(), self.seconds / 3)
            except TimeoutError:
                pass
        return False

    async def renew(self) -> bool:
        """Compare-and-set on our revision: fails if the key expired and someone took it."""
        try:
            kv = await self._bucket()
            self._revision = await kv.update(self.name, self.holder.encode(), last=self._revision)
            return True
        except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.APIError):
            return False
        except Exception as exc:  # noqa: BLE001 - unreachable: we cannot know; stop acting
            log.warning("lease %s cannot be renewed (%s)", self.name, exc)
            return False

    async def release(self) -> None:
        """Delete the key if it is still ours."""
        try:
            kv = await self._bucket()
            await kv.delete(self.name, last=self._revision)
        except Exception:  # noqa: BLE001 - it expires anyway
            pass


class FileLease:
    """The lease as an exclusive flock (processes on one host)."""

    def __init__(self, path: str, seconds: float) -> None:
        self.path = path
        self.seconds = seconds
        self._file: IO[str] | None = None

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Try the lock every third of the lease."""
        while not stop.is_set():
            f = open(self.path, "a+")  # noqa: SIM115 - held open as long as the lease
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
            else:
                f.seek(0)
                f.truncate()
                f.write(holder_id() + "\n")
                f.flush()
                self._file = f
                return True
            try:
                await asyncio.wait_for(stop.wait(), self.seconds / 3)
            except TimeoutError:
                pass
        return False

    async def renew(self) -> bool:
        """A held flock cannot be lost."""
        return self._file is not None

    async def release(self) -> None:
        """Unlock."""
        if self._file is not None:
            self._file.close()
            self._file = None


def scheduler_lease(config: Config, queue: Any) -> Lease:
    """The lease guarding the scheduler role for this configuration."""
    if config.queue == "nats":
        return NatsKvLease(queue, "scheduler", config.scheduler_lease_seconds, replicas=config.nats_replicas)
    os.makedirs(config.data_dir, exist_ok=True)
    return FileLease(os.path.join(config.data_dir, "scheduler.lock"), config.scheduler_lease_seconds)


class NatsMembership:
    """Live workers, known from heartbeats: each worker refreshes a key in the key-value
    bucket ``pw_workers`` whose entries expire after three heartbeats; the count of keys is
    the number of live workers (each enforces rate / live workers of every shared limit)."""

    BUCKET = "pw_workers"

    def __init__(self, nc_source: Any, interval: float = 5.0, *, replicas: int = 1) -> None:
        self._source = nc_source
        self.interval = interval
        self.replicas = replicas
        self.key = "w-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in holder_id())
        self._kv: Any = None

    async def _bucket(self) -> Any:
        if self._kv is None:
            self._kv = await kv_bucket(self._source, self.BUCKET, ttl=3 * self.interval, replicas=self.replicas,
                                       description="postwave live workers (heartbeats)")
        return self._kv

    async def beat(self) -> int:
        """Refresh this worker's key; returns how many workers are alive (at least 1)."""
        kv = await self._bucket()
        await kv.put(self.key, b"alive")
        try:
            return max(1, len(await kv.keys()))
        except nats.js.errors.NoKeysError:
            return 1

    async def leave(self) -> None:
        """Remove this worker's key at a graceful stop (the others' shares grow at once)."""
        try:
            kv = await self._bucket()
            await kv.delete(self.key)
        except Exception:  # noqa: BLE001 - it expires anyway
            pass

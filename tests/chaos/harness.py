"""Chaos in distributed mode: a seeded schedule of process faults run against a role cluster
while a client sends, and the tally of what happened to every message.

* :class:`ChaosCluster` -- :class:`tests.distributed.cluster.Cluster` plus the ``postwave
  webhooks`` role, and a restart that waits until the restarted role serves again.
* :func:`plan_faults` -- the schedule: which process dies, at which point of the load
  (a fraction of the messages accepted so far) and for how long, from one seed.
* :class:`Chaos` -- a thread that carries the schedule out: ``kill -9``, a pause, a restart
  (what Kubernetes does to a crashed pod), or a NATS node killed and started again.
* :class:`Load` -- the tenant: the Python SDK's ``send_stream`` (a request refused as
  UNAVAILABLE, or left unanswered by a broken stream, is sent again with the same send_id),
  from several threads, some messages scheduled a few seconds ahead.
* :class:`Inbox`, :func:`webhook_tally` -- what the SMTP peer and the webhook receiver got.
"""

from __future__ import annotations

import collections
import dataclasses
import queue
import random
import re
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

from postwave.v1 import send_pb2
from postwave_client import Client, RetryPolicy

from tests.distributed.cluster import Cluster
from tests.platform import request
from tests.servers.nats import NatsCluster

WEBHOOKS_BANNER = "postwave webhooks "  # its start-up line (standing by for its lease, or dispatching)
# A role's start under load (imports, CQL connection, preparing its statements) took up to a
# minute on the loaded 2-core machine.
START_TIMEOUT = 180.0
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^@>\s]+)@", re.MULTILINE | re.IGNORECASE)
# The SDK's policy with room for a whole restart: UNAVAILABLE (and a stream a killed API broke)
# is retried with the same send_id, up to about two minutes.
CLIENT_RETRY = RetryPolicy(max_attempts=80, initial_backoff=0.2, max_backoff=2.0)


class ChaosCluster(Cluster):
    """A role cluster that also runs ``postwave webhooks`` (as ``webhooks-0``)."""

    def __init__(self, data_dir: Path, *, webhooks: bool = True, **kwargs: Any) -> None:
        super().__init__(data_dir, **kwargs)
        self.crash_loops: collections.Counter[str] = collections.Counter()
        self.role_settings: dict[str, dict[str, Any]] = {}  # role kind -> settings of its own
        self._starting_all = False
        if webhooks:
            self.roles.append("webhooks-0")

    def start(self, timeout: float = START_TIMEOUT) -> ChaosCluster:
        """Like :meth:`Cluster.start`, but the roles after the API start side by side (on a
        loaded machine each takes up to a minute to connect and prepare its statements)."""
        self.start_role("api")
        self._wait_healthy(timeout)
        others = [name for name in self.roles if name != "api"]
        self._starting_all = True
        try:
            for name in others:
                self.start_role(name)
        finally:
            self._starting_all = False
        for name in others:
            self._wait_started(name, self.procs[name], timeout)
        self.operator_key = (self.data_dir / "operator.key").read_text().strip()
        return self

    def start_role(self, name: str) -> None:
        own = self.role_settings.get(name.split("-")[0])
        if not own:
            super().start_role(name)
            return
        shared = self.settings
        self.settings = {**shared, **{k: str(v) for k, v in own.items()}}
        try:
            super().start_role(name)
        finally:
            self.settings = shared

    def _wait_started(self, name: str, proc: subprocess.Popen[bytes], timeout: float = START_TIMEOUT) -> None:
        if self._starting_all:
            return  # start() waits for every role once all are started
        if not name.startswith("webhooks"):
            super()._wait_started(name, proc, timeout)
            return
        deadline = time.monotonic() + timeout
        while WEBHOOKS_BANNER not in self.role_log(name).split("\n--- ")[-1]:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{name} did not start ({proc.poll()}):\n{self.role_log(name)[-3000:]}")
            time.sleep(0.1)

    def restart_role(self, name: str, timeout: float = START_TIMEOUT) -> None:
        """Start a killed role again and wait until it serves (the API: health SERVING). A role
        that exits while starting (a backend it needs is down too) is started again a second
        later, as Kubernetes restarts a crash-looping pod; ``crash_loops`` counts those."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.start_role(name)
                if name == "api":
                    self._wait_healthy(max(1.0, deadline - time.monotonic()))
                return
            except AssertionError:
                if self.procs[name].poll() is None or time.monotonic() > deadline:
                    raise  # still starting after the whole timeout
                self.procs.pop(name)
                self.crash_loops[name] += 1
                time.sleep(1.0)

    def log_problems(self) -> dict[str, int]:
        """Tracebacks per role log: crashes the faults caused beyond the kills themselves."""
        return {name: n for name in self.roles if (n := self.role_log(name).count("Traceback (most recent"))}


@dataclasses.dataclass(frozen=True)
class Fault:
    """One fault: ``target`` (a role name, or ``nats``) dies when ``at`` of the messages are
    accepted and comes back ``down`` seconds later."""

    at: float
    target: str
    down: float

    def describe(self) -> str:
        what = "kill -9 NATS node, restart" if self.target == "nats" else f"kill -9 {self.target}, restart"
        return f"{what} at {self.at:.0%} of the load, down {self.down:.1f} s"


def plan_faults(seed: int, *, rounds: int = 1, workers: int = 2, webhooks: bool = True) -> list[Fault]:
    """Each round kills the API, one worker (chosen at random), the scheduler and the webhooks
    role once, at random points of the load; one NATS node restart in the whole run. Sorted by
    when they happen; the same seed gives the same schedule."""
    rng = random.Random(seed)
    targets = ["nats"]
    for _ in range(rounds):
        targets += ["api", f"worker-{rng.randrange(workers)}", "scheduler-0"] + (["webhooks-0"] if webhooks else [])
    faults = [Fault(round(rng.uniform(0.05, 0.9), 3), t, round(rng.uniform(1.0, 4.0) if t == "nats" else
                                                               rng.uniform(0.3, 3.0), 1)) for t in targets]
    return sorted(faults, key=lambda f: f.at)


class Chaos:
    """Carries out a fault schedule while :class:`Load` sends. Each target has a thread of its
    own, so faults of different processes may overlap (the API down while a worker restarts);
    one target's faults come one after the other."""

    def __init__(self, cluster: ChaosCluster, nats: NatsCluster, faults: list[Fault], progress: Callable[[], int],
                 total: int) -> None:
        self.cluster = cluster
        self.nats = nats
        self.progress = progress
        self.total = total
        self.load_done = threading.Event()
        self.done: list[tuple[Fault, int, float, float]] = []  # (fault, accepted when struck, wall time, seconds down)
        self.errors: list[BaseException] = []
        by_target: dict[str, list[Fault]] = {}
        for fault in faults:
            by_target.setdefault(fault.target, []).append(fault)
        self._threads = [threading.Thread(target=self._run, args=(fs,), name=f"chaos-{t}", daemon=True)
                         for t, fs in by_target.items()]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self, timeout: float) -> bool:
        """Wait for every fault to be over; False if some thread is still at it."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)

    def _run(self, faults: list[Fault]) -> None:
        try:
            for fault in faults:
                while self.progress() < fault.at * self.total and not self.load_done.is_set():
                    time.sleep(0.05)
                struck, wall, started = self.progress(), time.time(), time.monotonic()
                self._strike(fault)
                self.done.append((fault, struck, wall, time.monotonic() - started))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.errors.append(exc)

    def _strike(self, fault: Fault) -> None:
        if fault.target == "nats":
            self.nats.stop_node(0, kill=True)
            time.sleep(fault.down)
            self.nats.start_node(0)
            self.nats.wait_healthy()
        else:
            self.cluster.kill_role(fault.target)
            time.sleep(fault.down)
            self.cluster.restart_role(fault.target)


class Load:
    """``total`` one-recipient messages over ``streams`` concurrent BatchSend streams, in chunks,
    through the Python SDK; ``scheduled_share`` of them with send_at 2-6 s ahead."""

    def __init__(self, target: str, key: str, total: int, *, seed: int, chunk: int = 50, streams: int = 4,
                 scheduled_share: float = 0.1) -> None:
        self.target, self.key, self.total, self.seed = target, key, total, seed
        self.chunk, self.streams, self.scheduled_share = chunk, streams, scheduled_share
        self.accepted: dict[int, str] = {}  # request index -> message id
        self.scheduled: set[int] = set()
        self.refused: dict[int, str] = {}  # request index -> final per-item error (not retryable)
        self.errors: list[str] = []  # chunks the SDK gave up on
        self._lock = threading.Lock()

    def run(self) -> None:
        """Send everything; returns when every chunk was answered or given up."""
        chunks: queue.Queue[int] = queue.Queue()
        for start in range(0, self.total, self.chunk):
            chunks.put(start)
        threads = [threading.Thread(target=self._stream, args=(chunks,), daemon=True) for _ in range(self.streams)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _stream(self, chunks: queue.Queue[int]) -> None:
        client = Client(self.target, self.key, retry=CLIENT_RETRY)
        try:
            while True:
                try:
                    start = chunks.get_nowait()
                except queue.Empty:
                    return
                indices = range(start, min(start + self.chunk, self.total))
                reqs = [self._request(i) for i in indices]
                try:
                    replies = client.send_stream(reqs)
                except Exception as exc:  # noqa: BLE001 - counted: the test fails on it
                    with self._lock:
                        self.errors.append(f"requests {indices.start}-{indices.stop - 1}: {exc!r}"[:400])
                    continue
                with self._lock:
                    for i, reply in zip(indices, replies):
                        if reply.code == 0:
                            self.accepted[i] = reply.messages[0].message_id
                        else:
                            self.refused[i] = f"{reply.code}: {reply.error}"
        finally:
            client.close()

    def _request(self, i: int) -> send_pb2.SendRequest:
        rng = random.Random(f"{self.seed}-{i}")
        req = request(to=[f"c{i}@ok.test"], send_id=f"chaos-{i}", subject=f"chaos {i}",
                      text=f"message {i} of the chaos run, seed {self.seed}")
        if rng.random() < self.scheduled_share:
            req.send_at.FromNanoseconds(int((time.time() + rng.uniform(2.0, 6.0)) * 1e9))
            with self._lock:
                self.scheduled.add(i)
        return req

    def progress(self) -> int:
        """Messages accepted so far."""
        return len(self.accepted)


class Inbox:
    """Message ids (from Message-ID) of what an SMTP peer accepted, with repeats, and when each
    delivery was first seen (a thread reads the peer every quarter second while it runs)."""

    def __init__(self, peer: Any) -> None:
        self.peer = peer
        self.counts: collections.Counter[str] = collections.Counter()
        self.seen_at: dict[str, list[float]] = collections.defaultdict(list)  # message id -> wall times
        self._read = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="inbox", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _watch(self) -> None:
        while not self._stop.wait(0.25):
            self.update()

    def update(self) -> collections.Counter[str]:
        """Read what arrived since the last call; returns every count so far."""
        with self._lock:
            new = self.peer.received[self._read:]
            self._read += len(new)
            now = time.time()
            for got in new:
                found = _MESSAGE_ID.search(got.data)
                mid = found.group(1).decode() if found else "?"
                self.counts[mid] += 1
                self.seen_at[mid].append(now)
            return collections.Counter(self.counts)


@dataclasses.dataclass
class WebhookTally:
    """What the webhook receiver got."""

    batches: int  # POSTs answered 2xx
    repeated_batches: int  # of which a webhook-id seen before (a batch sent again after a crash)
    events: int  # events in distinct batches
    repeated_events: int  # event ids seen in an earlier distinct batch
    delivered: collections.Counter[str]  # message id -> "delivered" events, distinct event ids


def webhook_tally(kept: list[dict[str, Any]]) -> WebhookTally:
    """Count a receiver's kept batches (``{"id": webhook-id, "data": [event, ...]}``)."""
    seen_batches: set[str] = set()
    seen_events: set[str] = set()
    delivered: collections.Counter[str] = collections.Counter()
    repeated_batches = events = repeated_events = 0
    for batch in list(kept):
        if batch["id"] in seen_batches:
            repeated_batches += 1
            continue
        seen_batches.add(batch["id"])
        for event in batch["data"]:
            events += 1
            if event["id"] in seen_events:
                repeated_events += 1
                continue
            seen_events.add(event["id"])
            if event["type"] == "delivered":
                delivered[event["message_id"]] += 1
    return WebhookTally(len(seen_batches) + repeated_batches, repeated_batches, events, repeated_events, delivered)


def attribute(repeats: dict[str, list[float]], faults: list[tuple[Fault, int, float, float]]
              ) -> collections.Counter[str]:
    """For each repeated delivery (each time after a message's first), the last fault that had
    struck before it: ``{"worker-0": 120, "none": 3}``. What struck is a suspect, not a proof."""
    blame: collections.Counter[str] = collections.Counter()
    for times in repeats.values():
        for t in times[1:]:
            before = [f.target for f, _, wall, _ in sorted(faults, key=lambda d: d[2]) if wall <= t]
            blame[before[-1] if before else "none"] += 1
    return blame


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.5) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; returns whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True

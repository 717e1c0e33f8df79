"""A crash of the whole platform in the middle of a 1,000-message batch loses nothing accepted."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Iterator

from tests.e2e.conftest import World
from tests.platform import bearer, request
from postwave.v1 import send_pb2

TOTAL = 1000


def _ids_received(peer: object) -> set[str]:
    found = set()
    for got in list(peer.received):  # type: ignore[attr-defined]
        header = email.message_from_bytes(got.data, policy=email.policy.default)["Message-ID"]
        found.add(str(header).strip("<>").split("@")[0])
    return found


def test_kill_mid_batch_then_restart_delivers_every_accepted_message(world: World) -> None:
    _, key = world.platform.tenant("acme")
    accepted: list[str] = []

    def requests() -> Iterator[send_pb2.SendRequest]:
        for i in range(TOTAL):
            yield request(to=[f"user{i}@ok.test"], send_id=f"crash-{i}")
            time.sleep(0.001)

    def stream() -> None:
        try:
            for resp in world.platform.send_stub().BatchSend(requests(), metadata=bearer(key), timeout=120):
                if resp.code == 0:
                    accepted.extend(m.message_id for m in resp.messages)
        except Exception:  # noqa: BLE001 - the crash cuts the stream; what was answered counts
            pass

    sender = threading.Thread(target=stream)
    sender.start()
    # Crash once the platform has answered part of the batch. gRPC reads the request iterator ahead
    # of the server, so how far the generator got says nothing about what was accepted.
    deadline = time.monotonic() + 60
    while len(accepted) < TOTAL // 5 and time.monotonic() < deadline and sender.is_alive():
        time.sleep(0.01)
    world.platform.crash()  # SIGKILL the API and all workers mid-stream and mid-delivery
    sender.join(30)
    answered = list(accepted)
    assert 0 < len(answered) < TOTAL, len(answered)

    world.platform.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not set(answered) <= _ids_received(world.ok):
        time.sleep(0.5)
    missing = set(answered) - _ids_received(world.ok)
    assert not missing, f"{len(missing)} accepted messages never delivered; e.g. {sorted(missing)[:3]}"
    # Sending the rest again (same send_ids) is idempotent for the part already accepted.
    stub = world.platform.send_stub()
    again = stub.Send(request(to=["user0@ok.test"], send_id="crash-0"), metadata=bearer(key), timeout=10)
    assert again.messages[0].message_id in answered
    status = world.platform.wait_state(key, answered[-1], {"delivered"})
    assert status.events[-1].type == "delivered"

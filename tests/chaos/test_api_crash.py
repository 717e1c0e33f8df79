"""The API killed after it stored a request but before the queue took it: the message must still
be delivered, without waiting for a scheduler to restart.

The window is narrow under normal load (between the store's commit and JetStream's publish
acknowledgement), so this test widens it on purpose: only the API's path to NATS is cut (a TCP
proxy), so the API stores the request and answers UNAVAILABLE ("stored; retry with the same
send_id"), then it is killed -9 before it could publish in the background. NATS, the workers
and the scheduler run all along; the client sends the request again with the same send_id,
as the SDKs do, and is told the stored message's id.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import pytest
from postwave.v1 import send_pb2
from postwave_client import Client

from tests.chaos.conftest import ChaosWorld
from tests.chaos.harness import CLIENT_RETRY, Inbox, wait_until
from tests.platform import bearer, request


@pytest.mark.timeout(300)
def test_message_stored_by_an_api_killed_before_publishing_is_delivered(
        make_chaos_world: Callable[..., ChaosWorld]) -> None:
    world = make_chaos_world(api_link=True, webhooks=False, workers=1)
    cluster, link = world.cluster, world.api_link
    assert link is not None
    _, key = cluster.tenant("crash")
    req = request(to=[f"r{i}@ok.test" for i in range(5)], send_id="stored-then-crashed")

    link.cut()  # the API alone loses NATS
    with pytest.raises(grpc.RpcError) as refused:
        cluster.send_stub().Send(req, metadata=bearer(key), timeout=30)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "stored" in (refused.value.details() or ""), refused.value.details()
    killed_at = time.time()
    cluster.kill_role("api")  # before NATS returns: its background republish dies with it
    link.resume()
    cluster.restart_role("api")

    with Client(f"127.0.0.1:{cluster.port}", key, retry=CLIENT_RETRY) as client:
        answer = client.send(req)
    ids = {m.message_id for m in answer.messages}
    assert len(ids) == 5
    statuses = [cluster.send_stub().GetStatus(send_pb2.GetStatusRequest(message_id=mid), metadata=bearer(key),
                                              timeout=10) for mid in ids]
    # The retry was answered from the first, stored acceptance (not accepted anew).
    assert all(s.events[0].type == "accepted" and s.events[0].time.seconds <= killed_at for s in statuses)

    with Inbox(world.peer) as inbox:
        delivered = wait_until(lambda: ids <= set(inbox.update()), 30)
    if not delivered:
        states = {mid: cluster.wait_state(key, mid, {"accepted", "delivered", "deferred"}).state for mid in ids}
        raise AssertionError(f"stored before the API crashed, never delivered in 30 s (no scheduler restart "
                             f"happened to sweep them): {states}")
    assert all(n == 1 for n in inbox.update().values())

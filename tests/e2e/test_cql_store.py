"""The platform with its store on a real Cassandra node (store=cql; the queue stays embedded).

The core end-to-end scenarios of test_delivery, test_api_semantics and test_crash run here
again unchanged: this module's ``world`` fixture, which they receive, starts the platform
on an empty keyspace. Then a Cassandra outage in the middle of sending.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
import pytest

from tests.contract.cassandra import CassandraNode, cassandra, cql_port
from tests.e2e import test_api_semantics, test_crash, test_delivery
from tests.e2e.conftest import World, start_world
from tests.platform import Platform, bearer, request

__all__ = ["cassandra"]  # the session's Cassandra node, a fixture

UNAVAILABLE_BOUND = 15.0  # seconds an RPC may take to say UNAVAILABLE while the cluster is down

# The same scenarios, on the CQL store.
test_delivered_message_has_headers_parts_and_attachments = (
    test_delivery.test_delivered_message_has_headers_parts_and_attachments)
test_bounce_suppresses_and_greylist_retries = test_delivery.test_bounce_suppresses_and_greylist_retries
test_stream_events_follows_and_resumes = test_delivery.test_stream_events_follows_and_resumes
test_same_send_id_same_body_returns_same_ids_and_delivers_once = (
    test_api_semantics.test_same_send_id_same_body_returns_same_ids_and_delivers_once)
test_scheduled_mail_waits_then_goes_and_cancel_stops_it = (
    test_api_semantics.test_scheduled_mail_waits_then_goes_and_cancel_stops_it)
test_stored_template_versions_render_and_send = test_api_semantics.test_stored_template_versions_render_and_send
test_rate_limit_and_daily_quota_answer_resource_exhausted = (
    test_api_semantics.test_rate_limit_and_daily_quota_answer_resource_exhausted)
test_kill_mid_batch_then_restart_delivers_every_accepted_message = (
    test_crash.test_kill_mid_batch_then_restart_delivers_every_accepted_message)


@pytest.fixture
def world(cassandra: CassandraNode, make_dns_server: Any, make_smtp_peer: Any,
          make_platform: Callable[..., Platform]) -> World:
    """The e2e world of tests/e2e/conftest.py, with the platform's store on an empty keyspace."""
    keyspace = cassandra.config().cql_keyspace
    return start_world(make_dns_server, make_smtp_peer, make_platform, store="cql", cql_port=cql_port(),
                       cql_keyspace=keyspace, cql_request_timeout=3, cql_connect_timeout=3)


class _Sender:
    """Sends one message every ``pause`` seconds in a thread; records what was accepted or refused."""

    def __init__(self, platform: Platform, key: str, pause: float = 0.05) -> None:
        self.stub = platform.send_stub()
        self.key = key
        self.pause = pause
        self.accepted: list[str] = []
        self.refused: list[tuple[grpc.StatusCode, float]] = []  # (code, seconds the RPC took)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> _Sender:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)

    def _loop(self) -> None:
        i = 0
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                reply = self.stub.Send(request(to=[f"outage{i}@ok.test"]), metadata=bearer(self.key), timeout=30)
                self.accepted.append(reply.messages[0].message_id)
            except grpc.RpcError as exc:
                self.refused.append((exc.code(), time.monotonic() - started))
            i += 1
            time.sleep(self.pause)


def test_cluster_outage_answers_unavailable_loses_nothing_and_resumes(world: World, cassandra: CassandraNode) -> None:
    _, key = world.platform.tenant("acme")
    sender = _Sender(world.platform, key).start()
    try:
        _wait_for(lambda: len(sender.accepted) >= 20, 30, "sending before the outage")
        cassandra.stop()
        _wait_for(lambda: len(sender.refused) >= 5, 60, "UNAVAILABLE answers during the outage")
        refused_during = len(sender.refused)
        accepted_before_restart = len(sender.accepted)
        cassandra.start()
        # No restart of postwave: the driver reconnects by itself.
        _wait_for(lambda: len(sender.accepted) >= accepted_before_restart + 20, 60, "sending after the restart")
    finally:
        sender.stop()
    codes = {code for code, _ in sender.refused}
    assert codes == {grpc.StatusCode.UNAVAILABLE}, codes
    assert max(took for _, took in sender.refused) < UNAVAILABLE_BOUND
    assert refused_during >= 5
    # Nothing accepted is lost: every message whose Send succeeded is delivered.
    _wait_for(lambda: set(sender.accepted) <= test_crash._ids_received(world.ok), 150,
              "delivery of every accepted message", world.platform)


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, platform: Platform | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    log = platform.log()[-4000:] if platform else ""
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{log}")

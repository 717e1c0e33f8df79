"""Embedded mode: the queue refuses a request the store already took.

The fault is real: a trigger in the platform's own SQLite file aborts every insert into the
queue table. The client hears UNAVAILABLE saying the messages are stored; once the fault is
gone they are queued and delivered without any retry, and a retry with the same send_id
answers the same message id (sent once).
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import grpc
import pytest

from tests.e2e.conftest import World
from tests.platform import bearer, request


def test_a_queue_that_refuses_a_stored_request_loses_nothing(world: World) -> None:
    _, key = world.platform.tenant("acme")
    stub = world.platform.send_stub()
    db = sqlite3.connect(Path(world.platform.data_dir) / "postwave.db", timeout=10)
    db.execute("CREATE TRIGGER refuse_queue BEFORE INSERT ON queue "
               "BEGIN SELECT RAISE(ABORT, 'injected queue fault'); END")
    db.commit()
    try:
        with pytest.raises(grpc.RpcError) as info:
            stub.Send(request(to=["ann@ok.test"], send_id="qf-1"), metadata=bearer(key), timeout=10)
        assert info.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "stored" in info.value.details() and "same send_id" in info.value.details()
        time.sleep(1.5)
        assert not world.ok.received  # not queued, so not sent
    finally:
        db.execute("DROP TRIGGER IF EXISTS refuse_queue")
        db.commit()
        db.close()
    (got,) = world.ok.wait_for(1, timeout=30)  # queued in the background once the fault is gone
    assert got.rcpt_tos == ["ann@ok.test"]
    again = stub.Send(request(to=["ann@ok.test"], send_id="qf-1"), metadata=bearer(key), timeout=10)
    status = world.platform.wait_state(key, again.messages[0].message_id, {"delivered"})
    assert [e.type for e in status.events] == ["accepted", "delivered"]
    assert len(world.ok.wait_for(1)) == 1  # once

"""Backends under contract: every test here runs against each implementation.

``store`` is parametrized over the Store implementations (the embedded SQLite store and
the CQL store on a real Cassandra node), ``queue`` over the Queue implementations. The
Cassandra node starts once per session (tests/contract/cassandra.py); each CQL test gets
an empty keyspace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from postwave.queue.base import Queue
from postwave.queue.embedded import EmbeddedQueue
from postwave.store.base import Store
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database

from tests.contract.cassandra import CassandraNode, cassandra
from tests.servers.nats import NatsCluster

__all__ = ["cassandra"]  # the session's Cassandra node, a fixture

STORES = ["embedded", "cql"]
QUEUES = ["embedded", "nats"]


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, empty store of one implementation."""
    if request.param == "cql":
        from postwave.store.cql import CqlStore

        node: CassandraNode = request.getfixturevalue("cassandra")
        cql = CqlStore(node.config())
        yield cql
        cql.close()
        return
    db = Database(str(tmp_path / "contract.db"), synchronous="NORMAL")
    yield EmbeddedStore(db)
    db.close()


@pytest.fixture(params=QUEUES)
async def queue(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Queue]:
    """A fresh, empty queue of one implementation (NATS: a JetStream node of its own)."""
    if request.param == "nats":
        from postwave.queue.nats import NatsQueue

        with NatsCluster(tmp_path / "nats") as cluster:
            nq = NatsQueue(servers=cluster.urls, request_timeout=2.0)
            yield nq
            await nq.close()
        return
    db = Database(str(tmp_path / "queue.db"), synchronous="NORMAL")
    yield EmbeddedQueue(db)
    db.close()

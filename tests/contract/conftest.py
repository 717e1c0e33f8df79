"""Backends under contract: every test here runs against each implementation.

``store`` is parametrized over the Store implementations (the embedded SQLite store and
the CQL store on a real Cassandra node), ``queue`` over the Queue implementations. The
Cassandra node starts once per session (tests/contract/cassandra.py); each CQL test gets
a fresh keyspace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from postwave.queue.embedded import EmbeddedQueue
from postwave.store.base import Store
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database

from tests.contract.cassandra import CassandraNode, cassandra

__all__ = ["cassandra"]  # the session's Cassandra node, a fixture

STORES = ["embedded", "cql"]
QUEUES = ["embedded"]


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
def queue(tmp_path: Path) -> Iterator[EmbeddedQueue]:
    """A fresh, empty queue of one implementation."""
    db = Database(str(tmp_path / "queue.db"), synchronous="NORMAL")
    yield EmbeddedQueue(db)
    db.close()

"""Fixtures shared by the integration tests against a real Cassandra node."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from postwave.store.cql import CqlStore

from tests.contract.cassandra import CassandraNode, cassandra

__all__ = ["cassandra"]  # the session's Cassandra node, a fixture


@pytest.fixture
def store(cassandra: CassandraNode) -> Iterator[CqlStore]:
    """A CQL store on an empty keyspace."""
    cql = CqlStore(cassandra.config())
    yield cql
    cql.close()

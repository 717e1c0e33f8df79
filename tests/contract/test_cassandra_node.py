"""The test node hands each test an empty keyspace, reusing earlier tests' keyspaces only
when they are as the store makes them, and never one a held fixture still uses."""

from __future__ import annotations

from postwave.store.base import Tenant
from postwave.store.cql import CqlStore

from tests.contract.cassandra import CassandraNode, _shape, cassandra

__all__ = ["cassandra"]


def _tenant(tenant_id: str) -> Tenant:
    return Tenant(tenant_id=tenant_id, name=f"name-{tenant_id}", rate_per_second=10.0, daily_quota=0,
                  created=1.0)


def test_an_earlier_tests_keyspace_comes_back_empty_with_its_schema(cassandra: CassandraNode) -> None:
    first = cassandra.config(owner="pool-first")
    store = CqlStore(first)
    store.create_tenant(_tenant("t-pool"))
    store.close()
    made = _shape(cassandra._system(), first.cql_keyspace)

    again = cassandra.config(owner="pool-second")
    assert again.cql_keyspace == first.cql_keyspace  # reused, not made anew
    assert _shape(cassandra._system(), again.cql_keyspace) == made
    rows = cassandra._system().execute(f"SELECT * FROM {again.cql_keyspace}.tenants", timeout=30)
    assert list(rows) == []
    reopened = CqlStore(again)
    try:
        assert reopened.get_tenant("t-pool") is None
        reopened.create_tenant(_tenant("t-pool"))  # the name claim (an LWT) works on the emptied table
        assert reopened.get_tenant("t-pool") is not None
    finally:
        reopened.close()


def test_a_keyspace_whose_schema_a_test_changed_is_dropped_not_reused(cassandra: CassandraNode) -> None:
    altered = cassandra.config(owner="pool-altering")
    CqlStore(altered).close()
    cassandra._system().execute(f"ALTER TABLE {altered.cql_keyspace}.webhook_endpoints DROP pending", timeout=60)

    taken = _take_every_free_keyspace(cassandra, "pool-next")
    assert altered.cql_keyspace not in taken
    assert altered.cql_keyspace not in cassandra.owners
    assert _shape(cassandra._system(), altered.cql_keyspace) == frozenset()


def test_a_held_keyspace_is_not_handed_out_until_released(cassandra: CassandraNode) -> None:
    owner = cassandra.hold("pool-module")
    held = cassandra.config(owner=owner)
    CqlStore(held).close()
    assert held.cql_keyspace not in _take_every_free_keyspace(cassandra, "pool-while-held")
    cassandra.release(owner)
    assert cassandra.config(owner="pool-after-release").cql_keyspace == held.cql_keyspace


def _take_every_free_keyspace(cassandra: CassandraNode, prefix: str) -> list[str]:
    """Ask as many tests would, each holding what it got, until every keyspace free at the
    start was looked at; returns the keyspaces handed out (then released again)."""
    owners = [cassandra.hold(f"{prefix}-{n}") for n in range(len(cassandra.owners) + 1)]
    taken = [cassandra.config(owner=owner).cql_keyspace for owner in owners]
    for owner in owners:
        cassandra.release(owner)
    return taken

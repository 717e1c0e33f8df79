"""Pure parts of the CQL store: event ids, partition keys, dialect options, CQL configuration."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from postwave import config
from postwave.errors import InvalidArgumentError
from postwave.store import cql_keys
from postwave.store.cql_dialect import Dialect, detect, replication_map
from postwave.store.cql_keys import (
    EventIds,
    event_id_at,
    event_partition,
    schedule_bucket,
    shard,
)


def test_event_ids_increase_even_when_the_clock_goes_back(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([5_000_000_000_000, 5_000_000_000_000, 4_000_000_000_000, 6_000_000_000_000])
    monkeypatch.setattr(cql_keys.time, "time_ns", lambda: next(clock))
    ids = EventIds()
    got = [ids.next() for _ in range(4)]
    assert got == sorted(set(got))
    assert got[2] == got[1] + 1  # the clock went back: the sequence carries on instead
    assert got[3] // cql_keys.EVENT_SEQUENCE == 6_000_000_000  # microseconds of the new time


def test_two_id_sources_in_one_microsecond_differ_by_their_offsets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cql_keys.time, "time_ns", lambda: 7_000_000_000_000)
    a, b = EventIds(), EventIds()
    a._offset, b._offset = 1, 2
    assert a.next() != b.next()


@given(st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False))
def test_an_id_falls_in_the_partition_of_its_moment(seconds: float) -> None:
    event_id = event_id_at(seconds)
    day, bucket = event_partition(event_id)
    start = day * cql_keys.SECONDS_PER_DAY + bucket * cql_keys.EVENT_BUCKET_SECONDS
    assert start <= event_id // cql_keys.EVENT_SEQUENCE / 1_000_000 < start + cql_keys.EVENT_BUCKET_SECONDS
    assert 0 <= bucket < cql_keys.SECONDS_PER_DAY // cql_keys.EVENT_BUCKET_SECONDS
    assert event_id < 2**63


def test_partitions_are_ordered_like_ids() -> None:
    ids = [event_id_at(t) for t in (86399.5, 86400.0, 86459.9, 86460.0)]
    assert [event_partition(i) for i in ids] == [(0, 1439), (1, 0), (1, 0), (1, 1)]


def test_shards_and_schedule_buckets_are_stable() -> None:
    assert shard("m-1", 16) == shard("m-1", 16) and 0 <= shard("m-1", 16) < 16
    assert shard("a@x.test", cql_keys.SUPPRESSION_SHARDS) == 12  # crc32: the same in every process
    assert schedule_bucket(119.9) == 1 and schedule_bucket(120.0) == 2


def test_tablets_are_disabled_only_on_a_scylla_that_has_them() -> None:
    assert detect("auto", frozenset({"local", "peers"})) == Dialect("cassandra")
    assert detect("auto", frozenset({"local", "scylla_local"})) == Dialect("scylla")
    assert detect("auto", frozenset({"scylla_local", "tablets"})) == Dialect("scylla", tablets=True)
    assert detect("cassandra", frozenset({"scylla_local", "tablets"})).keyspace_options() == ""
    assert Dialect("scylla").keyspace_options() == ""
    assert Dialect("scylla", tablets=True).keyspace_options() == " AND tablets = {'enabled': false}"
    assert Dialect("cassandra", tablets=True).keyspace_options() == ""


def test_replication_specs() -> None:
    assert replication_map("SimpleStrategy:1") == "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    assert replication_map("NetworkTopologyStrategy:dc1=3,eu-west=2") == (
        "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'eu-west': 2}")
    for bad in ("SimpleStrategy:", "Simple:1", "NetworkTopologyStrategy:dc1", "NetworkTopologyStrategy:x'=1"):
        with pytest.raises(InvalidArgumentError):
            replication_map(bad)


def test_cql_options_are_checked_at_load() -> None:
    good = config.load({"store": "cql", "cql_replication": "NetworkTopologyStrategy:dc1=3"}, {})
    assert good.store == "cql" and good.cql_consistency == "LOCAL_QUORUM"
    for name, value in (("store", "redis"), ("cql_dialect", "mysql"), ("cql_consistency", "SERIAL"),
                        ("cql_replication", "3"), ("cql_keyspace", "bad-name"), ("events_retention_days", "0"),
                        ("cql_request_timeout", "0")):
        with pytest.raises(InvalidArgumentError) as info:
            config.load({name: value}, {})
        assert info.value.field == name

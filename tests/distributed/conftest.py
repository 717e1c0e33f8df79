"""Fixtures of distributed mode: a real NATS JetStream node (or cluster) per test, the
session's Cassandra node with an empty keyspace per test, and role processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contract.cassandra import CassandraNode, cassandra, cql_port
from tests.distributed.cluster import Cluster
from tests.e2e.conftest import World, start_world
from tests.servers.nats import NatsCluster

__all__ = ["cassandra"]


@pytest.fixture
def nats_node(tmp_path: Path) -> Iterator[NatsCluster]:
    """One JetStream server of this test's own."""
    with NatsCluster(tmp_path / "nats", nodes=1) as node:
        yield node


@pytest.fixture
def make_cluster(tmp_path: Path, cassandra: CassandraNode) -> Iterator[Callable[..., Cluster]]:
    """Factory of started role clusters on the CQL store (an empty keyspace) and a NATS URL."""
    made: list[Cluster] = []

    def make(nats: NatsCluster, *, workers: int = 2, schedulers: int = 1, **settings: Any) -> Cluster:
        data = tmp_path / f"cluster{len(made)}"
        data.mkdir()
        keyspace = cassandra.config().cql_keyspace
        base = {"store": "cql", "cql_port": cql_port(), "cql_keyspace": keyspace, "cql_request_timeout": 3,
                "cql_connect_timeout": 3, "queue": "nats", "nats_url": nats.url, "nats_request_timeout": 2}
        cluster = Cluster(data, workers=workers, schedulers=schedulers, **{**base, **settings})
        made.append(cluster)
        return cluster.start()

    yield make
    for cluster in made:
        cluster.stop()
    # Every role stopped at once must exit by itself, and cleanly: a role that ignored SIGTERM
    # (a lost cancellation kept a scheduler running) is killed after the timeout and fails here.
    unclean = {name: code for cluster in made for name, code in cluster.exit_codes.items() if code != 0}
    assert not unclean, (f"roles did not stop cleanly on SIGTERM: {unclean}\n"
                         + "\n".join(cluster.log()[-3000:] for cluster in made))


@pytest.fixture
def world(nats_node: NatsCluster, make_dns_server: Any, make_smtp_peer: Any,
          make_cluster: Callable[..., Cluster]) -> World:
    """The e2e three-domain world, served by api + 2 workers + scheduler processes (NATS is
    set up first, so it is torn down last: the roles stop while it still answers)."""

    def make(**settings: Any) -> Cluster:
        return make_cluster(nats_node, **settings)

    return start_world(make_dns_server, make_smtp_peer, make, store="cql")

"""The benchmark world (e2e.World) cleans up after itself, even when its platform cannot start."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.servers.addresses import free_port

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

import e2e  # noqa: E402


def test_a_distributed_world_without_its_cassandra_node_stops_everything_it_started(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTWAVE_CQL_PORT", str(free_port()))  # nothing listens there
    with e2e.free_sink() as sink:
        world = e2e.World(workers=1, sink=sink, distributed=True)
        with pytest.raises(AssertionError, match="exited"):  # the roles cannot reach the node
            world.__enter__()
        # Dropping the keyspace failed (no node), and the steps after it ran all the same:
        # before, dnsmasq and the NATS server outlived the run.
        dns = world.dns._process
        assert dns is None or dns.poll() is not None
        assert world._nats is None and world.platform is None and world.keyspace == ""
        assert not Path(world._tmp.name).exists()
        assert sink.messages == 0

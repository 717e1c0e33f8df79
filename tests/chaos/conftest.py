"""Fixtures of the chaos tests: a NATS node of the test's own, the session's Cassandra node
(an empty keyspace), and a :class:`ChaosCluster` of role processes on both, served by real DNS,
a real SMTP peer and a real webhook receiver."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.harness import ChaosCluster
from tests.contract.cassandra import CassandraNode, cassandra, cql_port
from tests.events.conftest import ThreadedReceiver
from tests.integration.test_cql_store import _Proxy as Proxy
from tests.servers.nats import NatsCluster

__all__ = ["cassandra"]


@dataclasses.dataclass
class ChaosWorld:
    """Everything a chaos run acts on and looks at."""

    cluster: ChaosCluster
    nats: NatsCluster
    peer: Any  # the SMTP peer behind ok.test's MX
    receiver: ThreadedReceiver
    api_link: Proxy | None  # the API's own path to NATS, when it goes through a proxy


@pytest.fixture
def make_chaos_world(tmp_path: Path, cassandra: CassandraNode, make_dns_server: Any,
                     make_smtp_peer: Any) -> Iterator[Callable[..., ChaosWorld]]:
    """Factory: api + 2 workers + scheduler + webhooks on CQL and one NATS node; ok.test's MX is
    a real SMTP peer; a webhook receiver on 127.0.0.1. With ``api_link=True`` the API reaches
    NATS through a TCP proxy the test can cut (the other roles keep their connections);
    ``webhooks=False`` leaves the webhooks role out, ``workers`` is the number of workers; other
    keywords are settings of every role.
    Roles stop before NATS does."""
    with contextlib.ExitStack() as stack:

        def make(*, api_link: bool = False, webhooks: bool = True, workers: int = 2, **overrides: Any) -> ChaosWorld:
            peer = make_smtp_peer()
            dns = make_dns_server(mx={"ok.test": [(10, "mx.ok.test")]}, a={"mx.ok.test": peer.address})
            receiver = ThreadedReceiver()
            stack.callback(receiver.close)
            nats = stack.enter_context(NatsCluster(tmp_path / "nats", nodes=1))
            proxy = stack.enter_context(Proxy(nats.ports[0])) if api_link else None
            settings = {
                "store": "cql", "cql_port": cql_port(), "cql_keyspace": cassandra.config().cql_keyspace,
                "cql_request_timeout": 3, "cql_connect_timeout": 3, "queue": "nats", "nats_url": nats.url,
                "nats_request_timeout": 2, "webhook_allow_networks": "127.0.0.1/32", "webhook_poll_seconds": 0.2,
                "webhook_retry_base_seconds": 0.2, "webhook_retry_max_seconds": 2, "webhook_batch_size": 200,
                "webhook_lease_seconds": 2, "cql_events_settle_seconds": 5, **overrides,
            }
            (tmp_path / "cluster").mkdir()
            cluster = ChaosCluster(tmp_path / "cluster", workers=workers, webhooks=webhooks, dns_port=dns.port,
                                   **settings)
            if proxy is not None:
                cluster.role_settings["api"] = {"nats_url": f"nats://127.0.0.1:{proxy.port}"}
            stack.callback(cluster.stop)
            cluster.start()
            return ChaosWorld(cluster, nats, peer, receiver, proxy)

        yield make

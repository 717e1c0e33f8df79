"""A real Cassandra 5 node for the CQL tests, through scripts/cassandra.

One node serves the whole pytest session: started by the first test that needs it (or
already started by scripts/test.sh, which overlaps its start-up with the other tests), and
stopped at the end only by whoever started it. Each test gets a fresh keyspace.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postwave import config as config_mod
from postwave.config import Config

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "cassandra"
START_TIMEOUT = 240
# Set by scripts/test.sh when it owns the node and wipes it afterwards: no cleanup needed here.
DISPOSABLE = os.environ.get("POSTWAVE_CASSANDRA_DISPOSABLE") == "1"
OWN_CONNECTIONS = 2  # the checking connection's control and pool connections


def cql_port() -> int:
    """The node's CQL port (scripts/cassandra reads the same variable)."""
    return int(os.environ.get("POSTWAVE_CQL_PORT", "9042"))


def _script(*args: str, timeout: float = START_TIMEOUT + 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False)


class CassandraNode:
    """The session's node: start, wait, stop, and the keyspaces tests made on it."""

    def __init__(self) -> None:
        self.owned = False
        self.finished = False
        self.keyspaces: list[str] = []
        self._cluster: Any = None  # a driver session kept for dropping keyspaces
        self._session: Any = None

    def running(self) -> bool:
        """Whether the node's process is alive."""
        return _script("status").returncode == 0

    def ensure(self) -> None:
        """Start the node unless it runs, then wait until CQL answers."""
        if not self.running():
            result = _script("start")
            if result.returncode != 0:
                raise RuntimeError(f"scripts/cassandra start failed:\n{result.stderr}")
            self.owned = True
        self.wait_ready()

    def wait_ready(self, timeout: int = START_TIMEOUT) -> None:
        """Block until the node answers CQL."""
        result = _script("wait-ready", str(timeout))
        if result.returncode != 0:
            raise RuntimeError(f"Cassandra did not become ready:\n{result.stderr}")

    def stop(self) -> None:
        """Stop the node (its data stays; start() brings it back)."""
        result = _script("stop", timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"scripts/cassandra stop failed:\n{result.stderr}")

    def start(self) -> None:
        """Start the node again after stop() and wait for it."""
        result = _script("start")
        if result.returncode != 0:
            raise RuntimeError(f"scripts/cassandra start failed:\n{result.stderr}")
        self.wait_ready()

    def config(self, **overrides: Any) -> Config:
        """A store=cql configuration on a fresh keyspace of this node.

        The keyspaces of earlier tests are dropped first (tests run one after the other; the
        last two are kept for a test that asks twice): every table costs the node heap, and a
        whole run's keyspaces would not fit in a test node's."""
        self._drop_older_keyspaces(keep=2)
        keyspace = f"pwtest_{secrets.token_hex(6)}"
        self.keyspaces.append(keyspace)
        return _config(keyspace, **overrides)

    def _drop_older_keyspaces(self, keep: int) -> None:
        old, self.keyspaces = self.keyspaces[:-keep] if keep else self.keyspaces, self.keyspaces[-keep:]
        if not old:
            return
        try:
            if self._session is None:
                from postwave.store.cql_session import connect

                self._cluster, self._session = connect(_config("system", cql_request_timeout=60.0))
            for keyspace in old:
                self._session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
        except Exception:  # noqa: BLE001 - the node may be down (outage tests): drop them later
            self.keyspaces = old + self.keyspaces
            self._close_session()

    def _close_session(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
        self._cluster = self._session = None

    def finish(self) -> None:
        """End of session: stop a node we started and drop its data, or drop our keyspaces."""
        if self.finished:
            return
        self.finished = True
        self._close_session()
        if self.owned and not self._others_connected():
            self.stop()
            _script("wipe", timeout=60)
        elif not DISPOSABLE and self.keyspaces and self.running():
            self._drop_keyspaces()

    def _others_connected(self) -> bool:
        """Whether other processes use the node (it may have been down for a moment when this
        session started it, e.g. during the outage test): then it keeps running."""
        from postwave.store.cql_session import connect

        try:
            cluster, session = connect(_config("system"))
        except Exception:  # noqa: BLE001 - an unreachable node has nobody connected
            return False
        try:
            rows = list(session.execute("SELECT address FROM system_views.clients", timeout=30))
        finally:
            cluster.shutdown()
        return len(rows) > OWN_CONNECTIONS

    def _drop_keyspaces(self) -> None:
        from postwave.store.cql_session import connect

        cluster, session = connect(_config("system"))
        try:
            for keyspace in self.keyspaces:
                session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
        finally:
            cluster.shutdown()


def _config(keyspace: str, **overrides: Any) -> Config:
    values = {"store": "cql", "cql_contact_points": "127.0.0.1", "cql_port": cql_port(),
              "cql_keyspace": keyspace, "cql_request_timeout": 5.0, **overrides}
    return config_mod.load(values, environ={})


NODE = CassandraNode()


@pytest.fixture(scope="session")
def cassandra() -> Iterator[CassandraNode]:
    """The session's Cassandra node, started on first use (import this fixture where needed)."""
    NODE.ensure()
    yield NODE
    NODE.finish()

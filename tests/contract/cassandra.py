"""A real Cassandra 5 node for the CQL tests, through scripts/cassandra.

One node serves the whole pytest session: started by the first test that needs it (or
already started by scripts/test.sh, which overlaps its start-up with the other tests), and
stopped at the end only by whoever started it. Each test gets an empty keyspace (see
CassandraNode.config).
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
        self.owners: dict[str, str] = {}  # keyspace: the test (or held fixture) it was made for
        self.held: set[str] = set()
        self._reference: frozenset[tuple[str, ...]] | None = None  # see _emptied
        self._cluster: Any = None  # a driver session kept for emptying and dropping keyspaces
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

    def config(self, *, owner: str | None = None, **overrides: Any) -> Config:
        """A store=cql configuration on an empty keyspace of this node.

        The keyspace belongs to ``owner``, by default the running test. Once another test
        asks, the keyspaces of earlier tests are emptied and handed out again instead of
        dropped and made anew: a keyspace's ~40 tables cost the node about 3 s and 5 CPU
        seconds to create and 4 s and 7 CPU seconds to drop, against half a second to empty.
        A fixture that outlives a test passes an owner of its own, marked with :meth:`hold`,
        and calls :meth:`release` when it ends.
        """
        owner = owner or _running_test()
        keyspace = self._reused(owner) or f"pwtest_{secrets.token_hex(6)}"
        self.owners[keyspace] = owner
        return _config(keyspace, **overrides)

    def hold(self, owner: str) -> str:
        """Mark ``owner`` (a module's or a session's fixture) as outliving tests; returns it."""
        self.held.add(owner)
        return owner

    def release(self, owner: str) -> None:
        """The keyspaces of a held ``owner`` may be handed to later tests."""
        self.held.discard(owner)

    def _reused(self, owner: str) -> str | None:
        """An earlier test's keyspace, emptied; None when there is none or the node is down."""
        for keyspace, was in list(self.owners.items()):
            if was == owner or was in self.held:
                continue
            try:
                if self._emptied(keyspace):
                    return keyspace
                self._system().execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
            except Exception:  # noqa: BLE001 - the node may be down (outage tests): a fresh name
                self._close_session()
                return None
            del self.owners[keyspace]
        return None

    def _emptied(self, keyspace: str) -> bool:
        """Empty ``keyspace`` as if it were new; False (left as it is) if its schema is not
        what the store's own start-up makes, e.g. a test altered a table."""
        session = self._system()
        shape = _shape(session, keyspace)
        if not shape:
            return True  # never created (a test asked for a configuration it did not open)
        if self._reference is None:
            self._reference = self._made_by_the_store()
        if shape != self._reference:
            return False
        futures = [session.execute_async(f"TRUNCATE {keyspace}.{table}", timeout=60)
                   for table in sorted({table for table, *_ in shape}) if table != "schema_migrations"]
        for future in futures:
            future.result()
        return True

    def _made_by_the_store(self) -> frozenset[tuple[str, ...]]:
        """The schema a CQL store's start-up makes, from a keyspace made for it (which then
        waits, empty, for a test)."""
        from postwave.store.cql import CqlStore

        keyspace = f"pwtest_{secrets.token_hex(6)}"
        CqlStore(_config(keyspace)).close()
        self.owners[keyspace] = ""
        shape = _shape(self._system(), keyspace)
        # the store's start-up writes the scheduler's watermark: empty, as a test would find it
        self._system().execute(f"TRUNCATE {keyspace}.scheduler_state", timeout=60)
        return shape

    def _system(self) -> Any:
        """The node's driver session for this class's own statements (opened on first use)."""
        if self._session is None:
            from postwave.store.cql_session import connect

            self._cluster, self._session = connect(_config("system", cql_request_timeout=60.0))
        return self._session

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
        elif not DISPOSABLE and self.owners and self.running():
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
            for keyspace in self.owners:
                session.execute(f"DROP KEYSPACE IF EXISTS {keyspace}", timeout=60)
        finally:
            cluster.shutdown()


def _running_test() -> str:
    """The running test's id (pytest sets it in the environment), without its phase."""
    return os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" (", 1)[0]


def _shape(session: Any, keyspace: str) -> frozenset[tuple[str, ...]]:
    """A keyspace's tables, columns, their types and the tables' default TTLs, and the
    migrations recorded in it (empty if the keyspace does not exist)."""
    columns = session.execute("SELECT table_name, column_name, type FROM system_schema.columns"
                              " WHERE keyspace_name = %s", (keyspace,), timeout=60)
    shape = {(row["table_name"], row["column_name"], row["type"]) for row in columns}
    tables = session.execute("SELECT table_name, default_time_to_live FROM system_schema.tables"
                             " WHERE keyspace_name = %s", (keyspace,), timeout=60)
    shape |= {(row["table_name"], "ttl", str(row["default_time_to_live"])) for row in tables}
    if any(table == "schema_migrations" for table, *_ in shape):
        versions = session.execute(f"SELECT version FROM {keyspace}.schema_migrations", timeout=60)
        shape |= {("schema_migrations", "version", str(row["version"])) for row in versions}
    return frozenset(shape)


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

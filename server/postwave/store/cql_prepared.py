"""Statements of a part of the CQL store, prepared on first use.

Each part (deliverability, shaping, tracking, ...) keeps its statements in a table of
``name: (CQL with {ks} for the keyspace, idempotent)``; the driver may retry or speculate
only statements marked idempotent (never a counter update or a lightweight transaction).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from cassandra.cluster import Session
from cassandra.query import PreparedStatement

from postwave.store.cql_session import unavailable


class PreparedCache:
    """``self[name]``: the named statement, prepared once per process."""

    def __init__(self, session: Session, keyspace: str, statements: Mapping[str, tuple[str, bool]]) -> None:
        self._session = session
        self._keyspace = keyspace
        self._statements = statements
        self._prepared: dict[str, PreparedStatement] = {}
        self._lock = threading.Lock()

    def prepare_all(self) -> None:
        """Prepare every statement now, so that no request pays for it."""
        for name in self._statements:
            self[name]

    def __getitem__(self, name: str) -> PreparedStatement:
        found = self._prepared.get(name)
        if found is None:
            with self._lock, unavailable("preparing a statement"):
                text, idempotent = self._statements[name]
                found = self._session.prepare(text.replace("{ks}", self._keyspace))
                found.is_idempotent = idempotent
                self._prepared[name] = found
        return found

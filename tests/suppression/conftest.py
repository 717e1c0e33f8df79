"""Suppression tests: the policy over every Store implementation, the API on a live platform.

``store`` is the contract suite's fixture (embedded SQLite and CQL on the session's Cassandra
node); ``live`` and ``http`` are the REST suite's live platform (one per module) and client.
"""

from __future__ import annotations

from tests.contract.cassandra import cassandra
from tests.contract.conftest import store
from tests.rest.conftest import http, live, module_live

__all__ = ["cassandra", "http", "live", "module_live", "store"]

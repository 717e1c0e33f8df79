"""The one place where ScyllaDB and Apache Cassandra differ for postwave.

Production runs on ScyllaDB; tests run on Cassandra 5 (no registry ships ScyllaDB). The
schema uses only CQL both accept, except what this module adds:

- ScyllaDB keyspaces with tablets (the default from ScyllaDB 6.0 on) do not support
  lightweight transactions, and postwave's keyspace holds LWT tables (idempotency keys,
  tenant names, template versions, scheduled-message state). So a ScyllaDB keyspace is
  created with ``tablets = {'enabled': false}``. Cassandra rejects that option, and older
  ScyllaDB releases, which have no tablets, do not know it either: it is sent only to a
  ScyllaDB that has tablets.

The dialect is configured (``cql_dialect``) or, with ``auto``, read from the server's own
system tables once at start-up.
"""

from __future__ import annotations

import dataclasses

from postwave.errors import InvalidArgumentError


@dataclasses.dataclass(frozen=True, slots=True)
class Dialect:
    """Which server the schema is written for."""

    name: str  # "scylla" or "cassandra"
    tablets: bool = False  # the server supports tablets (ScyllaDB >= 6.0)

    def keyspace_options(self) -> str:
        """Extra ``AND ...`` clauses of CREATE KEYSPACE."""
        if self.name == "scylla" and self.tablets:
            # LWT (IF NOT EXISTS, IF col = ?) is not supported on tablet keyspaces.
            return " AND tablets = {'enabled': false}"
        return ""


def detect(configured: str, system_tables: frozenset[str]) -> Dialect:
    """The dialect named by configuration, or recognised from the ``system`` keyspace's tables.

    ScyllaDB alone has ``system.scylla_local``; ``system.tablets`` exists where tablets do.
    """
    if configured not in ("auto", "scylla", "cassandra"):
        raise InvalidArgumentError("cql_dialect", "must be auto, scylla or cassandra")
    is_scylla = "scylla_local" in system_tables
    name = ("scylla" if is_scylla else "cassandra") if configured == "auto" else configured
    return Dialect(name, tablets=name == "scylla" and "tablets" in system_tables)


def replication_map(spec: str) -> str:
    """A CQL replication map from ``SimpleStrategy:1`` or ``NetworkTopologyStrategy:dc1=3,dc2=3``."""
    strategy, _, rest = spec.partition(":")
    if strategy == "SimpleStrategy" and rest.isdigit():
        return f"{{'class': 'SimpleStrategy', 'replication_factor': {int(rest)}}}"
    if strategy == "NetworkTopologyStrategy" and rest:
        pairs = [p.split("=", 1) for p in rest.split(",")]
        if all(len(p) == 2 and p[1].isdigit() and p[0].replace("-", "").replace("_", "").replace(".", "").isalnum()
               for p in pairs):
            dcs = ", ".join(f"'{dc}': {int(rf)}" for dc, rf in pairs)
            return f"{{'class': 'NetworkTopologyStrategy', {dcs}}}"
    raise InvalidArgumentError(
        "cql_replication", "must read SimpleStrategy:<RF> or NetworkTopologyStrategy:<dc>=<RF>[,<dc>=<RF>...]"
    )

"""Connecting to a CQL cluster, and running statements with bounded time and clean errors.

- Load balancing: token-aware over DC-aware round robin, so each statement goes straight
  to a replica of its partition in the local data center.
- Consistency: ``cql_consistency`` (LOCAL_QUORUM by default) for reads and writes,
  LOCAL_SERIAL for the Paxos phase of lightweight transactions.
- Every request has a deadline (``cql_request_timeout``); a node that went away is tried
  again every 0.5-5 s, so service comes back by itself when the cluster does.
- Any failure to reach the cluster becomes :class:`StoreUnavailableError`, which the API
  answers as UNAVAILABLE. Errors in a statement itself (a bug) are not disguised.
- Operations that have an asyncio face are written once, as plans (:data:`Plan`): generators
  that yield the statements they need next (:class:`Batch`, :class:`Page`) and receive the
  rows. :func:`run_plan` drives one with blocking calls; ``cql_async.run_plan_async`` drives
  the same plan on an event loop with ``execute_async``.
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import threading
from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from cassandra import (
    ConsistencyLevel,
    OperationTimedOut,
    RequestExecutionException,
    WriteTimeout,
    WriteType,
)
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import (
    EXEC_PROFILE_DEFAULT,
    Cluster,
    ExecutionProfile,
    NoHostAvailable,
    ResponseFuture,
    Session,
)
from cassandra.connection import ConnectionException
from cassandra.io import libevreactor
from cassandra.io.libevreactor import LibevConnection
from cassandra.policies import (
    ConstantSpeculativeExecutionPolicy,
    DCAwareRoundRobinPolicy,
    ExponentialReconnectionPolicy,
    TokenAwarePolicy,
)
from cassandra.protocol import (
    IsBootstrappingErrorMessage,
    OverloadedErrorMessage,
    ServerError,
)
from cassandra.query import (
    BatchStatement,
    BatchType,
    BoundStatement,
    PreparedStatement,
    dict_factory,
)

from postwave.config import Config
from postwave.errors import StoreUnavailableError

log = logging.getLogger(__name__)

# Failures of the cluster, not of the statement: the request may succeed later.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    NoHostAvailable, OperationTimedOut, RequestExecutionException, ConnectionException,
    OverloadedErrorMessage, IsBootstrappingErrorMessage, ServerError,
)
WINDOW = 512  # requests in flight from one call; the rest wait for a free slot
BATCH_ROWS = 50  # rows per single-partition batch (well under batch_size_fail_threshold)
# A batch across partitions (colocated): at most 10 partitions (Cassandra's
# unlogged_batch_across_partitions_warn_threshold) and about 4 KiB (its
# batch_size_warn_threshold is 5 KiB), counting each value's length and VALUE_OVERHEAD
# bytes for its cell (measured against the sizes the node reports for these tables).
PACK_PARTITIONS = 10
PACK_BYTES = 4096
VALUE_OVERHEAD = 20

Call = tuple[PreparedStatement | BoundStatement | BatchStatement, Sequence[Any] | None]
Row = dict[str, Any]
T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Batch:
    """A plan step: run these statements concurrently; the plan receives every row of each, in order."""

    what: str
    calls: Sequence[Call]


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """A plan step: one page of a statement's rows; the plan receives (rows, state of the next page or None)."""

    what: str
    statement: PreparedStatement
    params: Sequence[Any]
    fetch_size: int
    paging_state: bytes | None = None


# A store operation written once for both faces: yields steps, receives their results,
# returns the operation's result. A failed step is thrown into the plan at its yield.
Plan = Generator[Batch | Page, Any, T]


class UncertainWriteError(StoreUnavailableError):
    """A lightweight transaction timed out: it may or may not have been applied."""


@contextmanager
def unavailable(what: str) -> Iterator[None]:
    """Turn a cluster failure inside the block into StoreUnavailableError."""
    try:
        yield
    except UNAVAILABLE_ERRORS as exc:
        raise StoreUnavailableError(f"CQL store unavailable while {what}: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    if isinstance(exc, NoHostAvailable):
        return "no node could be reached"
    return f"{type(exc).__name__}: {exc}"[:300]


def connect(config: Config) -> tuple[Cluster, Session]:
    """A cluster object and a session (no keyspace set: statements name it)."""
    consistency = ConsistencyLevel.name_to_value[config.cql_consistency.upper()]
    balancing = TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=config.cql_local_dc or None))
    profile = ExecutionProfile(
        load_balancing_policy=balancing,
        consistency_level=consistency,
        serial_consistency_level=ConsistencyLevel.LOCAL_SERIAL,
        request_timeout=config.cql_request_timeout,
        row_factory=dict_factory,
        # Only statements marked idempotent are ever sent twice.
        speculative_execution_policy=ConstantSpeculativeExecutionPolicy(delay=config.cql_request_timeout / 4,
                                                                         max_attempts=1),
    )
    auth = (PlainTextAuthProvider(config.cql_username, config.cql_password) if config.cql_username else None)
    cluster = Cluster(
        contact_points=[p.strip() for p in config.cql_contact_points.split(",") if p.strip()],
        port=config.cql_port,
        protocol_version=4,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        auth_provider=auth,
        reconnection_policy=ExponentialReconnectionPolicy(base_delay=0.5, max_delay=5.0),
        connect_timeout=config.cql_connect_timeout,
        control_connection_timeout=config.cql_connect_timeout,
        idle_heartbeat_interval=5,
        idle_heartbeat_timeout=config.cql_request_timeout,
        schema_metadata_enabled=True,
        # libev (compiled into the wheel): about 1.7x less client CPU per statement than the
        # asyncio reactor, measured here. See release_event_loop for its one wart.
        connection_class=LibevConnection,
        compression=config.cql_compression,
    )
    try:
        with unavailable(f"connecting to {config.cql_contact_points}:{config.cql_port}"):
            session = cluster.connect()
    except BaseException:
        cluster.shutdown()
        raise
    return cluster, session


def release_event_loop() -> None:
    """Let the driver's libev thread end once its connections are closed.

    scylla-driver 3.29 leaves the loop's timer armed for the deadline of the last request
    timeout, so the thread (and with it every process exit, which joins it) waits up to
    cql_request_timeout after the last request. Stopping that timer from the loop's own
    thread ends it at once; with connections still open, the loop re-arms it for any
    pending request before it sleeps again.
    """
    loop = getattr(libevreactor, "_global_loop", None)
    thread = getattr(loop, "_thread", None)
    timer = getattr(loop, "_loop_timer", None)
    if timer is None or thread is None or not thread.is_alive():
        return
    stopped = threading.Event()

    def stop() -> None:
        timer.stop()
        stopped.set()

    LibevConnection.create_timer(0, stop)
    stopped.wait(1.0)


class Runner:
    """Runs prepared statements on a session: one at a time or many concurrently."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def one(self, what: str, statement: PreparedStatement, params: Sequence[Any] = (), *,
            serial: bool = False) -> dict[str, Any] | None:
        """The first row of a statement, or None; ``serial`` reads at LOCAL_SERIAL, which also
        completes any lightweight transaction still in progress on the row."""
        bound = statement.bind(params)
        if serial:
            bound.consistency_level = ConsistencyLevel.LOCAL_SERIAL
        with unavailable(what):
            return self.session.execute(bound).one()  # type: ignore[no-any-return]

    def rows(self, what: str, statement: PreparedStatement, params: Sequence[Any] = (),
             fetch_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every row, fetched page by page as the caller iterates."""
        with unavailable(what):
            bound = statement.bind(params)
            if fetch_size:
                bound.fetch_size = fetch_size
            result = self.session.execute(bound)
            yield from result

    def applied(self, what: str, statement: PreparedStatement, params: Sequence[Any]) -> tuple[bool, dict[str, Any]]:
        """Run a lightweight transaction: (applied, the row it found when not applied).

        Raises UncertainWriteError when it timed out (under contention, say): it may still
        have been applied.
        """
        try:
            with unavailable(what):
                row = self.session.execute(statement, params).one()
        except StoreUnavailableError as exc:
            cause = exc.__cause__
            if isinstance(cause, WriteTimeout) and cause.write_type == WriteType.CAS:
                raise UncertainWriteError(exc.message) from cause
            raise
        return bool(row["[applied]"]), row

    def all(self, what: str, calls: Iterable[Call]) -> list[list[dict[str, Any]]]:
        """Run many statements concurrently (WINDOW at a time); every row of each, in order.

        Every statement is waited for, even after one failed, so that none is still running
        when this returns; then the first failure is raised.
        """
        pending = calls if isinstance(calls, list) else list(calls)
        results: list[list[Row]] = []
        failure: BaseException | None = None
        with unavailable(what):
            for start in range(0, len(pending), WINDOW):
                gather = _Waiter(min(WINDOW, len(pending) - start))
                for index, (statement, params) in enumerate(pending[start:start + WINDOW]):
                    gather.watch(index, self.session.execute_async(statement, params))
                gather.done.wait()
                results.extend(gather.rows)
                failure = failure or gather.first_error()
            if failure is not None:
                raise failure
        return results

    def page(self, step: Page) -> tuple[list[Row], bytes | None]:
        """One page of rows and the paging state of the next (None: it was the last)."""
        bound = step.statement.bind(step.params)
        bound.fetch_size = step.fetch_size
        with unavailable(step.what):
            result = self.session.execute(bound, paging_state=step.paging_state)
            return list(result.current_rows), result.paging_state

    def batches(self, statement: PreparedStatement, rows_by_partition: dict[Any, list[Sequence[Any]]]) -> list[Call]:
        """Unlogged single-partition batches (see :func:`batches`)."""
        return batches(statement, rows_by_partition)


def advance(plan: Plan[T], result: Any, error: Exception | None) -> tuple[bool, Any]:
    """Hand a plan its last step's result, or throw the step's error in at its ``yield``:
    (True, the plan's return value) once it has finished, else (False, its next step)."""
    try:
        return False, (plan.throw(error) if error is not None else plan.send(result))
    except StopIteration as done:
        return True, done.value


def run_plan(runner: Runner, plan: Plan[T]) -> T:
    """Drive a plan with blocking calls; its return value."""
    finished, value = advance(plan, None, None)
    while not finished:
        result: Any = None
        error: Exception | None = None
        try:
            result = runner.all(value.what, value.calls) if isinstance(value, Batch) else runner.page(value)
        except Exception as exc:  # noqa: BLE001 - handed to the plan, which re-raises what it does not handle
            error = exc
        finished, value = advance(plan, result, error)
    return value  # type: ignore[no-any-return]


def in_reads(session: Session, keyspace: str, statement: PreparedStatement, keys: Sequence[str],
             size: int, *, fetch_size: int | None = None) -> list[Call]:
    """Reads of the text partition keys ``keys`` with ``statement`` (``... IN ?``), at most
    ``size`` keys each (and ``fetch_size`` rows a page, if given).

    On a cluster of several nodes the keys are grouped by their first replica, and each read
    is routed to that replica, which then holds every partition it asks for (the driver finds
    no routing key in an IN marker by itself).
    """
    metadata = session.cluster.metadata
    if len(metadata.all_hosts()) < 2:
        groups = [list(keys)]
    else:
        owners: dict[Any, list[str]] = {}
        for key in keys:
            replicas = metadata.get_replicas(keyspace, key.encode())
            owners.setdefault(replicas[0] if replicas else None, []).append(key)
        groups = list(owners.values())
    calls: list[Call] = []
    for group in groups:
        for start in range(0, len(group), size):
            chunk = group[start:start + size]
            if len(groups) == 1 and fetch_size is None:
                calls.append((statement, (chunk,)))
                continue
            bound = _RoutedStatement(statement, chunk[0].encode() if len(groups) > 1 else None).bind((chunk,))
            if fetch_size is not None:
                bound.fetch_size = fetch_size
            calls.append((bound, None))
    return calls


class _RoutedStatement(BoundStatement):
    """A bound statement sent to the replicas of a routing key given to it (None: anywhere)."""

    routing_key = None  # a plain attribute instead of the property computing it from the values

    def __init__(self, statement: PreparedStatement, routing_key: bytes | None) -> None:
        super().__init__(statement)
        self.routing_key = routing_key


def batches(statement: PreparedStatement, rows_by_partition: dict[Any, list[Sequence[Any]]]) -> list[Call]:
    """Unlogged single-partition batches: rows of one partition travel together."""
    calls: list[Call] = []
    for rows in rows_by_partition.values():
        calls.extend(_joined_batches([(statement, params) for params in rows]))
    return calls


def _joined_batches(statements: Sequence[tuple[PreparedStatement, Sequence[Any]]]) -> list[Call]:
    """Statements on one partition key as unlogged batches of at most BATCH_ROWS (one alone: as it is)."""
    calls: list[Call] = []
    for start in range(0, len(statements), BATCH_ROWS):
        chunk = statements[start:start + BATCH_ROWS]
        if len(chunk) == 1:
            calls.append(chunk[0])
            continue
        batch = BatchStatement(batch_type=BatchType.UNLOGGED)
        for statement, params in chunk:
            batch.add(statement, params)
        batch.is_idempotent = all(statement.is_idempotent for statement, _ in chunk)
        calls.append((batch, None))
    return calls


def colocated(session: Session, keyspace: str | None) -> bool:
    """Whether every node of the cluster holds every partition of ``keyspace`` (one node, or
    as many replicas as nodes). There a write reaches the same nodes whichever node
    coordinates it, so rows of many partitions can share one batch: one request for the
    client and the coordinator instead of one each, and no extra hop."""
    metadata = session.cluster.metadata
    hosts = metadata.all_hosts()
    if len(hosts) < 2:
        return True
    return keyspace is not None and len(metadata.get_replicas(keyspace, b"\0")) >= len(hosts)


def _packed(units: Sequence[Sequence[tuple[PreparedStatement, Sequence[Any]]]]) -> list[Call]:
    """Units (the statements of one partition) packed into unlogged batches of at most
    PACK_PARTITIONS units and about PACK_BYTES of values, so that a batch stays under the
    node's warning thresholds for batches across partitions and for batch size."""
    calls: list[Call] = []
    pack: list[tuple[PreparedStatement, Sequence[Any]]] = []
    partitions = size = 0
    for unit in units:
        unit_size = sum(_value_size(params) for _, params in unit)
        if len(unit) > BATCH_ROWS or unit_size > PACK_BYTES:
            calls.extend(_joined_batches(unit))
            continue
        if partitions == PACK_PARTITIONS or len(pack) + len(unit) > BATCH_ROWS or size + unit_size > PACK_BYTES:
            calls.extend(_joined_batches(pack))
            pack, partitions, size = [], 0, 0
        pack.extend(unit)
        partitions += 1
        size += unit_size
    if pack:
        calls.extend(_joined_batches(pack))
    return calls


def _value_size(params: Sequence[Any]) -> int:
    return sum(VALUE_OVERHEAD + (len(v) if isinstance(v, (str, bytes)) else 8) for v in params)


class CallList:
    """Statements to run together: single ones, and rows grouped per partition into batches."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.single: list[Call] = []
        self._grouped: dict[PreparedStatement, dict[Any, list[Sequence[Any]]]] = {}
        self._joined: dict[str, list[tuple[PreparedStatement, Sequence[Any]]]] = {}

    def add(self, statement: PreparedStatement, params: Sequence[Any]) -> None:
        """One statement on its own."""
        self.single.append((statement, params))

    def group(self, statement: PreparedStatement, partition: Any, params: Sequence[Any]) -> None:
        """A row that may share a batch with other rows of the same partition."""
        self._grouped.setdefault(statement, {}).setdefault(partition, []).append(params)

    def join(self, key: str, statement: PreparedStatement, params: Sequence[Any]) -> None:
        """A statement on the partition ``key`` of a table whose partition key is that one text
        column (messages, attempts, events_by_message: all by message id). The statements of
        one key travel in one unlogged batch, which the node applies as one mutation: for the
        client and the node about the cost of one statement."""
        self._joined.setdefault(key, []).append((statement, params))

    def extend(self, calls: Iterable[Call]) -> None:
        """Statements built elsewhere."""
        self.single.extend(calls)

    def calls(self) -> list[Call]:
        """Everything added, grouped rows as batches: one partition's rows per batch, or, where
        every node holds every partition (:func:`colocated`), several partitions' per batch."""
        calls = list(self.single)
        units = [[(statement, params) for params in rows]
                 for statement, by_partition in self._grouped.items() for rows in by_partition.values()]
        units.extend(self._joined.values())
        if len(units) > 1 and colocated(self.runner.session, units[0][0][0].keyspace):
            calls.extend(_packed(units))
        else:
            for unit in units:
                calls.extend(_joined_batches(unit))
        return calls

    def step(self, what: str) -> Batch:
        """Everything added, as one plan step."""
        return Batch(what, self.calls())

    def run(self, what: str) -> list[list[dict[str, Any]]]:
        """Run everything concurrently."""
        calls = self.calls()
        return self.runner.all(what, calls) if calls else []


class Gather(abc.ABC):
    """Many driver requests, reported once, when the last of them ends (:meth:`finished`).

    One report per window of statements rather than one wake-up of the waiting thread per
    statement: each such wake-up costs about as much as the statement's own client work.
    """

    def __init__(self, count: int) -> None:
        self.rows: list[list[Row]] = [[] for _ in range(count)]
        self.errors: list[BaseException | None] = [None] * count
        self._left = count
        self._lock = threading.Lock()

    def watch(self, index: int, response: ResponseFuture) -> None:
        """Collect every page of one request (the driver keeps its callbacks for each page)."""

        def on_page(page: list[Row] | None) -> None:  # None: a write (a "void" result)
            if page:
                self.rows[index].extend(page)
            if response.has_more_pages:
                try:
                    response.start_fetching_next_page()
                except Exception as exc:  # noqa: BLE001 - the driver ignores callback exceptions: report it
                    self._finish(index, exc)
                return
            self._finish(index, None)

        def on_error(exc: BaseException) -> None:
            self._finish(index, exc)

        response.add_callbacks(on_page, on_error)

    def first_error(self) -> BaseException | None:
        """The first failed request's error, in request order."""
        return next((e for e in self.errors if e is not None), None)

    def _finish(self, index: int, error: BaseException | None) -> None:
        with self._lock:
            self.errors[index] = error
            self._left -= 1
            last = self._left == 0
        if last:
            self.finished()

    @abc.abstractmethod
    def finished(self) -> None:
        """Called once, on the driver's thread, when every request has ended. Each user
        implements it: the blocking runner's ``_Waiter`` wakes its thread, cql_async's
        ``_Gather`` resolves an asyncio future."""


class _Waiter(Gather):
    """A Gather a blocking thread waits for (``done``)."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.done = threading.Event()
        if not count:
            self.done.set()

    def finished(self) -> None:
        self.done.set()

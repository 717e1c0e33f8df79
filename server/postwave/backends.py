"""Choose the Store and Queue implementations once, from configuration.

Stages receive the chosen objects through their constructors; nothing else imports a
backend module.
"""

from __future__ import annotations

from postwave import metrics
from postwave.config import Config, streams_events
from postwave.queue.base import EventSink, Queue
from postwave.queue.embedded import EmbeddedQueue
from postwave.store.base import Store
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database


def open_backends(config: Config, *, role: str = "postwave") -> tuple[Store, Queue]:
    """The store and queue this configuration names.

    ``store=embedded`` and ``queue=embedded``: both on the SQLite file in data_dir (one
    host). ``store=cql``: the store on the CQL cluster. ``queue=nats``: the lanes on NATS
    JetStream (it connects on first use, from inside the caller's event loop). Mixed forms
    work too: the embedded queue keeps its SQLite file in data_dir.
    """
    db = open_database(config, role=role) if config.store == "embedded" or config.queue == "embedded" else None
    try:
        queue = open_queue(config, db, role=role)
        if config.store == "cql":
            from postwave.store.cql import CqlStore  # the driver is imported only when used

            store: Store = CqlStore(config)
        else:
            assert db is not None
            store = EmbeddedStore(db)
    except BaseException:
        if db is not None:
            db.close()
        raise
    return store, queue


def open_queue(config: Config, db: Database | None = None, *, role: str = "postwave") -> Queue:
    """The queue alone (the scheduler and the metrics of a role need no store of their own)."""
    if config.queue == "nats":
        from postwave.queue.nats import NatsQueue  # nats-py is imported only when used

        return NatsQueue(servers=[u.strip() for u in config.nats_url.split(",") if u.strip()],
                         replicas=config.nats_replicas, request_timeout=config.nats_request_timeout,
                         name=f"postwave-{role}")
    return EmbeddedQueue(db or open_database(config, role=role))


def open_database(config: Config, *, role: str = "postwave") -> Database:
    """The embedded SQLite file. Delivery workers (role ``worker``) commit without an fsync
    and sync within sqlite_worker_sync_seconds (docs/reliability.md, Power cuts); every other
    role commits with sqlite_synchronous. Every process reports its waits for the file's write
    lock and its holds of it (postwave_store_write_lock_*_seconds)."""
    observe = metrics.observe_write_lock
    if role == "worker" and config.sqlite_synchronous.upper() == "FULL" and config.sqlite_worker_sync_seconds > 0:
        return Database(config.db_path, synchronous="NORMAL", sync_within=config.sqlite_worker_sync_seconds,
                        on_write_lock=observe)
    return Database(config.db_path, synchronous=config.sqlite_synchronous, on_write_lock=observe)


def open_event_sink(config: Config, queue: Queue) -> EventSink | None:
    """Where a worker publishes its outcomes' events: the events stream (queue=nats,
    store=cql, events_stream on), else None (the store writes them with the outcome)."""
    if not streams_events(config):
        return None
    from postwave.queue.nats import NatsQueue
    from postwave.queue.nats_events import EventPublisher

    assert isinstance(queue, NatsQueue)
    return EventPublisher(queue)


def shared_database(store: Store, queue: Queue) -> Database | None:
    """The SQLite file a store and a queue share (the embedded pair), else None: writes to
    both can then go in one transaction (one write lock, one fsync)."""
    db = getattr(store, "db", None)
    return db if isinstance(db, Database) and db is getattr(queue, "db", None) else None

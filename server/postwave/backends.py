"""Choose the Store and Queue implementations once, from configuration.

Stages receive the chosen objects through their constructors; nothing else imports a
backend module.
"""

from __future__ import annotations

from postwave.config import Config
from postwave.queue.base import Queue
from postwave.queue.embedded import EmbeddedQueue
from postwave.store.base import Store
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database


def open_backends(config: Config) -> tuple[Store, Queue]:
    """The store and queue this configuration names.

    ``store=embedded``: both on the SQLite file in data_dir. ``store=cql``: the store on the
    CQL cluster, the queue still on the SQLite file in data_dir (until the NATS queue lands).
    """
    db = Database(config.db_path, synchronous=config.sqlite_synchronous)
    if config.store == "cql":
        from postwave.store.cql import CqlStore  # the driver is imported only when used

        try:
            return CqlStore(config), EmbeddedQueue(db)
        except BaseException:
            db.close()
            raise
    return EmbeddedStore(db), EmbeddedQueue(db)

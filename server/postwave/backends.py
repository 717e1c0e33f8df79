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
    """The store and queue this configuration names (today: the embedded SQLite pair)."""
    db = Database(config.db_path, synchronous=config.sqlite_synchronous)
    return EmbeddedStore(db), EmbeddedQueue(db)

"""Backends under contract: every test here runs against each implementation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from postwave.queue.embedded import EmbeddedQueue
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database

BACKENDS = ["embedded"]


@pytest.fixture(params=BACKENDS)
def backends(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[EmbeddedStore, EmbeddedQueue]]:
    """A fresh (store, queue) pair of one backend."""
    db = Database(str(tmp_path / "contract.db"), synchronous="NORMAL")
    yield EmbeddedStore(db), EmbeddedQueue(db)
    db.close()

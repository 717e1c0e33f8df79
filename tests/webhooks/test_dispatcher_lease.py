"""Exactly one active dispatcher: two real ``postwave webhooks`` processes share one store and
a NATS JetStream node (or one data directory); one dispatches, the other stands by; after a
SIGKILL of the active one the standby takes over when the lease expires, and a real HTTP
receiver gets every event -- repeats only of what was in flight at the kill."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from postwave.store.base import WebhookEndpoint
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database
from postwave.webhooks import signing

from tests.events.conftest import ThreadedReceiver, receiver
from tests.events.test_events_e2e import Role, _wait, roles
from tests.servers.nats import NatsCluster
from tests.webhooks.conftest import write_events

__all__ = ["receiver", "roles"]

BATCH = 5
ACTIVE = "postwave webhooks active"
STANDING_BY = "postwave webhooks standing by"


def _delivered_ids(r: ThreadedReceiver) -> list[str]:
    return [str(e["id"]) for batch in r.kept for e in batch["data"]]


@pytest.mark.parametrize("queue", ["nats", "embedded"])
def test_one_dispatcher_at_a_time_and_fail_over_after_a_kill(
        queue: str, tmp_path: Path, receiver: ThreadedReceiver, roles: list[Role]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = Database(str(data / "postwave.db"), synchronous="NORMAL")
    store = EmbeddedStore(db)
    secret = signing.new_secret()
    receiver.secrets = [secret]
    store.create_webhook(WebhookEndpoint("wh_lease", "t_one", receiver.url, (), secret, "", 0.0, "active", 0, 0.0,
                                         time.time() - 5))
    settings = {"data_dir": str(data), "queue": queue, "webhook_lease_seconds": "2", "webhook_batch_size": str(BATCH),
                "webhook_poll_seconds": "0.1", "webhook_allow_networks": "127.0.0.1/32", "admin_listen": "",
                "log_level": "INFO"}
    nats = NatsCluster(tmp_path / "nats") if queue == "nats" else None
    try:
        if nats is not None:
            nats.__enter__()
            settings["nats_url"] = nats.url
        for name in ("a", "b"):
            roles.append(Role("webhooks", settings, tmp_path / f"webhooks-{name}.log"))
        _wait(lambda: all(STANDING_BY in d.output() for d in roles), "both dispatchers to start")
        _wait(lambda: any(ACTIVE in d.output() for d in roles), "an active dispatcher")

        # Both run: one dispatches, and nothing arrives twice.
        first = [str(e.id) for e in write_events(store, "t_one", 12)]
        _wait(lambda: set(first) <= set(_delivered_ids(receiver)), "the first events")
        assert _delivered_ids(receiver) == first  # in order, each once: a second dispatcher would repeat them
        active = [d for d in roles if ACTIVE in d.output()]
        assert len(active) == 1, [d.output() for d in roles]
        standby = next(d for d in roles if d is not active[0])

        # The active one dies mid-stream (SIGKILL: no release); the standby takes over on expiry.
        second = [str(e.id) for e in write_events(store, "t_one", 40)[12:]]
        _wait(lambda: len(_delivered_ids(receiver)) > 12, "the kill to come mid-stream")
        active[0].kill()
        _wait(lambda: ACTIVE in standby.output(), "the standby to take over")
        _wait(lambda: set(second) <= set(_delivered_ids(receiver)), "every event after the fail-over")
        third = [str(e.id) for e in write_events(store, "t_one", 7)[52:]]
        _wait(lambda: set(third) <= set(_delivered_ids(receiver)), "events written after the fail-over")
    finally:
        for d in roles:
            d.stop()
        if nats is not None:
            nats.__exit__(None, None, None)
        db.close()

    delivered = _delivered_ids(receiver)
    assert list(dict.fromkeys(delivered)) == first + second + third  # everything, in event-id order
    assert receiver.forged == 0
    # At least once, and no more than that: repeats only of what the killed one had in flight
    # (posted, cursor not yet written) -- part of one batch, sent again by its successor.
    repeated = {i for i in delivered if delivered.count(i) > 1}
    assert repeated <= set(second)
    assert any(repeated <= {str(e["id"]) for e in batch["data"]} for batch in receiver.kept)

"""Statistics from the event log, on the embedded store: groupings, human and machine apart, rates."""

from __future__ import annotations

import json
import time

import pytest
from postwave.api.events import _page_size, _page_token
from postwave.errors import InvalidArgumentError
from postwave.store.base import AcceptedRequest, EventRecord, NewMessage
from postwave.store.embedded import EmbeddedStore
from postwave.tracking import stats
from postwave.v1 import send_pb2

from tests.tracking.conftest import store

__all__ = ["store"]

DAY = 86400.0


def _message(store: EmbeddedStore, mid: str, recipient: str, lane: str, tags: list[str]) -> None:
    payload = send_pb2.SendRequest(tags=tags).SerializeToString()
    now = time.time()
    store.accept([AcceptedRequest("r" + mid, "t1", "", "", b"h", payload, lane, now, now, now + 60,
                                  (NewMessage(mid, 0, recipient, "accepted"),), b"")], [], "d")


def _event(mid: str, recipient: str, kind: str, at: float, machine: bool | None = None) -> EventRecord:
    detail = json.dumps({"machine": machine, "reason": "prefetch" if machine else ""}) if machine is not None else ""
    return EventRecord("t1", mid, kind, at, detail, recipient)


def test_counts_per_grouping_with_human_and_machine_apart(store: EmbeddedStore) -> None:
    now = time.time()
    _message(store, "a", "ann@gmail.test", "bulk", ["promo", "spring"])
    _message(store, "b", "bob@corp.test", "transactional", ["receipt"])
    yesterday, today = now - DAY, now
    store.record_engagement([
        _event("a", "ann@gmail.test", "accepted", yesterday), _event("b", "bob@corp.test", "accepted", yesterday),
        _event("a", "ann@gmail.test", "delivered", yesterday), _event("b", "bob@corp.test", "bounced", yesterday),
        _event("a", "ann@gmail.test", "opened", today, machine=True),
        _event("a", "ann@gmail.test", "opened", today, machine=False),
        _event("a", "ann@gmail.test", "opened", today, machine=False),
        _event("a", "ann@gmail.test", "clicked", today, machine=False),
        _event("a", "ann@gmail.test", "complained", today),
        _event("a", "ann@gmail.test", "delivered", now - 40 * DAY),  # outside the period
    ], [])
    start, end = now - 7 * DAY, now + 1
    by_day, total = stats.collect(store, "t1", start, end, stats.DAY)
    assert sorted(by_day) == [stats.day_of(yesterday), stats.day_of(today)]  # not the day 40 days ago
    assert (by_day[stats.day_of(yesterday)].sent, by_day[stats.day_of(today)].opened_machine) == (2, 1)
    assert (total.sent, total.delivered, total.bounced, total.complained) == (2, 1, 1, 1)
    assert (total.opened_human, total.opened_machine, total.clicked_human, total.clicked_machine) == (2, 1, 1, 0)
    rates = stats.rates(total)
    assert (rates["delivery_rate"], rates["bounce_rate"], rates["open_rate"], rates["click_rate"]) == (0.5, 0.5, 1.0, 1.0)
    assert rates["complaint_rate"] == 1.0 and len(total.opened_by) == 1  # unique human opens

    by_tag, _ = stats.collect(store, "t1", start, end, stats.TAG)
    assert sorted(by_tag) == ["promo", "receipt", "spring"]  # a message with two tags counts under both
    assert by_tag["promo"].opened_human == by_tag["spring"].opened_human == 2 and by_tag["receipt"].bounced == 1
    by_stream, _ = stats.collect(store, "t1", start, end, stats.STREAM)
    assert (by_stream["bulk"].delivered, by_stream["transactional"].bounced) == (1, 1)
    by_domain, _ = stats.collect(store, "t1", start, end, stats.DOMAIN)
    assert (by_domain["gmail.test"].sent, by_domain["corp.test"].sent, by_domain["gmail.test"].clicked_human) == (1, 1, 1)
    nothing, empty = stats.collect(store, "t2", start, end, stats.DAY)
    assert nothing == {} and empty.sent == 0 and stats.rates(empty)["open_rate"] == 0.0


def test_paging_arguments_are_checked() -> None:
    assert (_page_size(0), _page_size(5), _page_token(""), _page_token("42")) == (100, 5, 0, 42)
    for bad in (-1, 1001):
        with pytest.raises(InvalidArgumentError, match="page_size"):
            _page_size(bad)
    for token in ("abc", "-1", "1" * 20):
        with pytest.raises(InvalidArgumentError, match="page_token"):
            _page_token(token)

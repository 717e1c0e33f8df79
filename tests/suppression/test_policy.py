"""The suppression policy over each Store: soft bounces suppress temporarily, nothing automatic
ever weakens a suppression, and addresses are keyed as acceptance looks them up."""

from __future__ import annotations

import time

import pytest
from postwave.errors import InvalidArgumentError
from postwave.suppression.policy import SourceEvent, SuppressionPolicy, suppression_key


def _policy(store) -> SuppressionPolicy:  # type: ignore[no-untyped-def]
    return SuppressionPolicy(store, soft_bounce_limit=3, soft_bounce_window=600.0, soft_bounce_suppress=3600.0)


def test_third_soft_bounce_in_the_window_suppresses_for_a_while(store) -> None:  # type: ignore[no-untyped-def]
    policy = _policy(store)
    now = time.time()
    assert not policy.record_soft_bounce("t1", "Full@X.test", 101, now - 900)  # outside the window by the third
    assert not policy.record_soft_bounce("t1", "full@x.test", 102, now - 300)
    assert not policy.record_soft_bounce("t1", "full@x.test", 103, now - 200)
    assert store.get_suppression("t1", "full@x.test", now) is None
    assert policy.record_soft_bounce("t1", "full@x.test", 104, now, message_id="m4")
    entry = store.get_suppression("t1", "full@x.test", now)
    assert (entry.source, entry.source_event_id, entry.message_id) == ("soft_bounces", "104", "m4")
    assert entry.reason == "3 soft bounces within 0.166667 h"
    assert entry.expires == pytest.approx(now + 3600, abs=1)
    assert store.suppressed("t1", ["full@x.test"], now) == {"full@x.test": entry.reason}
    assert store.get_suppression("t1", "full@x.test", now + 3601) is None  # lifts by itself
    assert store.get_suppression("t2", "full@x.test", now) is None  # per tenant
    # The count started again: one more soft bounce does not suppress anew.
    assert store.count_soft_bounce("t1", "full@x.test", "105", now + 1, 600) == 1


def test_automatic_suppression_never_weakens_one_in_force(store) -> None:  # type: ignore[no-untyped-def]
    policy = _policy(store)
    now = time.time()
    hard = policy.suppress("t1", "gone@x.test", "bounce: 5.1.1", SourceEvent("bounced", "7", "m7"), None)
    for event_id in (1, 2, 3):
        assert policy.record_soft_bounce("t1", "gone@x.test", event_id, now) is (event_id == 3)
    kept = store.get_suppression("t1", "gone@x.test", now)
    assert (kept.expires, kept.source, kept.reason) == (None, "bounced", "bounce: 5.1.1") and kept == hard
    # A temporary entry is extended, never shortened, and a permanent one replaces it.
    policy.suppress("t1", "t@x.test", "first", SourceEvent("soft_bounces"), now + 500)
    policy.suppress("t1", "t@x.test", "shorter", SourceEvent("soft_bounces"), now + 100)
    assert store.get_suppression("t1", "t@x.test", now).reason == "first"
    policy.suppress("t1", "t@x.test", "complaint", SourceEvent("complained", "9", "m9"), None)
    entry = store.get_suppression("t1", "t@x.test", now)
    assert (entry.reason, entry.expires, entry.source_event_id) == ("complaint", None, "9")


def test_keys_and_reasons_are_checked() -> None:
    assert suppression_key("Ann Lee <Ann@Example.COM>") == "ann@example.com"
    hashed = "sha256:" + "ab" * 32
    assert suppression_key(hashed) == hashed
    with pytest.raises(InvalidArgumentError) as bad:
        suppression_key("not an address", field="suppressions[2].address")
    assert bad.value.field == "suppressions[2].address"
    with pytest.raises(InvalidArgumentError):
        suppression_key("a@x.test, b@x.test")

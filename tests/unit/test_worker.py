"""The worker's pure parts."""

from __future__ import annotations


def test_worker_interleaves_a_claim_by_tenant() -> None:
    from postwave.pipeline.worker import interleave
    from postwave.queue.base import Lease

    claim = [Lease(f"b{i}", "big", "bulk", 1) for i in range(4)] + [Lease(f"s{i}", "small", "bulk", 1) for i in range(2)]
    assert [le.message_id for le in interleave(claim)] == ["b0", "s0", "b1", "s1", "b2", "b3"]
    assert interleave(claim[:3]) == claim[:3]

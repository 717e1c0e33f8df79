"""The core end-to-end scenarios in distributed mode: api, two workers and a scheduler as
separate processes, on the CQL store and the NATS JetStream queue."""

from __future__ import annotations

from tests.e2e import test_api_semantics, test_delivery

test_delivered_message_has_headers_parts_and_attachments = (
    test_delivery.test_delivered_message_has_headers_parts_and_attachments)
test_bounce_suppresses_and_greylist_retries = test_delivery.test_bounce_suppresses_and_greylist_retries
test_same_send_id_same_body_returns_same_ids_and_delivers_once = (
    test_api_semantics.test_same_send_id_same_body_returns_same_ids_and_delivers_once)
test_scheduled_mail_waits_then_goes_and_cancel_stops_it = (
    test_api_semantics.test_scheduled_mail_waits_then_goes_and_cancel_stops_it)
test_a_suppression_added_while_a_message_waits_stops_it_at_delivery = (
    test_api_semantics.test_a_suppression_added_while_a_message_waits_stops_it_at_delivery)


def test_workers_share_limits_by_heartbeat_and_stop_gracefully(world) -> None:  # type: ignore[no-untyped-def]
    import time

    from tests.distributed.cluster import Cluster

    cluster = world.platform
    assert isinstance(cluster, Cluster)

    def seen(name: str, text: str, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in cluster.role_log(name):
                return True
            time.sleep(0.2)
        return False

    assert seen("worker-0", "2 live workers share the rate limits")
    assert seen("worker-1", "2 live workers share the rate limits")
    assert cluster.stop_role("worker-1") == 0  # SIGTERM: drains, leaves the membership, exits 0
    assert "worker stopped" in cluster.role_log("worker-1")
    assert seen("worker-0", "1 live workers share the rate limits")

"""postwave quickstart: send with an idempotency key, stream a batch, read a status, tail events.

Configuration (environment):
  POSTWAVE_SERVER     host:port of the gRPC API (default 127.0.0.1:50051)
  POSTWAVE_API_KEY    an API key with scopes mail.send, mail.read and events.read
  EXAMPLE_TO_DOMAIN   domain of the recipients (default example.net)
  EXAMPLE_FROM        sender (default "Quickstart <quickstart@example.com>")
  EXAMPLE_TAG         marks subjects and recipients (default python)
  EXAMPLE_BATCH       how many messages the batch streams (default 100)

Prints one JSON summary line and exits 0 when every step checked out.
"""

from __future__ import annotations

import json
import os
import sys

import grpc
from postwave_client import Client, idempotency_key, message, send_pb2


def main() -> int:
    server = os.environ.get("POSTWAVE_SERVER", "127.0.0.1:50051")
    api_key = os.environ["POSTWAVE_API_KEY"]
    domain = os.environ.get("EXAMPLE_TO_DOMAIN", "example.net")
    sender = os.environ.get("EXAMPLE_FROM", "Quickstart <quickstart@example.com>")
    tag = os.environ.get("EXAMPLE_TAG", "python")
    batch_size = int(os.environ.get("EXAMPLE_BATCH", "100"))

    with Client(server, api_key) as client:
        # 1. One message with an idempotency key; sending it again returns the same answer.
        welcome = message(sender=sender, to=[f"{tag}-welcome@{domain}"], subject=f"[{tag}] welcome",
                          text="Hello from the postwave quickstart.")
        key = idempotency_key("quickstart", tag, "welcome")
        first = client.send(welcome, idempotency_key=key)
        again = client.send(welcome, idempotency_key=key)
        welcome_id = first.messages[0].message_id
        same = [m.message_id for m in first.messages] == [m.message_id for m in again.messages]

        # 2. A batch over one BatchSend stream: one answer per request, in order.
        batch = [
            message(sender=sender, to=[f"{tag}-bulk-{i}@{domain}"], subject=f"[{tag}] bulk {i}",
                    text=f"Message {i} of the batch.", stream=send_pb2.STREAM_BULK,
                    batch_id=f"quickstart-{tag}")
            for i in range(batch_size)
        ]
        replies = client.send_stream(batch)
        accepted = [r for r in replies if r.code == 0]
        batch_ids = [r.messages[0].message_id for r in accepted]

        # 3. The welcome message's status, once it has been delivered.
        status = client.wait_for_state(welcome_id, timeout=60)

        # 4. Tail the events until every message of this run has been delivered.
        wanted = {welcome_id, *batch_ids}
        delivered: set[str] = set()
        cursor = 0
        try:
            for event in client.events(types=["delivered"], timeout=90):
                cursor = event.id
                if event.message_id in wanted:
                    delivered.add(event.message_id)
                if delivered == wanted:
                    break
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise

    summary = {
        "language": "python",
        "send_id": first.send_id,
        "welcome_message_id": welcome_id,
        "replayed_same_ids": same,
        "batch_accepted": len(accepted),
        "batch_message_ids": batch_ids,
        "status": status.state,
        "attempts": len(status.attempts),
        "delivered_events": len(delivered),
        "last_cursor": cursor,
        "key_check": idempotency_key("order-42", "receipt"),
    }
    print(json.dumps(summary))
    ok = same and len(accepted) == batch_size and status.state == "delivered" and delivered == wanted
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

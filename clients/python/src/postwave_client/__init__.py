"""postwave-client: the Python client of postwave's gRPC API.

    from postwave_client import Client, idempotency_key, message

    with Client("127.0.0.1:50051", api_key) as client:
        reply = client.send(message(sender="shop@example.com", to=["ann@example.net"],
                                    subject="Receipt", text="Thanks"),
                            idempotency_key=idempotency_key("order", "42", "receipt"))

The generated messages and stubs are in ``postwave_client.v1`` (``send_pb2``, ...).
"""

from postwave_client.client import FINAL_STATES, Client, message
from postwave_client.idempotency import idempotency_key, new_idempotency_key
from postwave_client.retry import NO_RETRY, RetryPolicy, retry_info_delay
from postwave_client.v1 import admin_pb2, events_pb2, send_pb2

__all__ = [
    "FINAL_STATES", "NO_RETRY", "Client", "RetryPolicy", "admin_pb2", "events_pb2", "idempotency_key",
    "message", "new_idempotency_key", "retry_info_delay", "send_pb2",
]
__version__ = "0.1.0"

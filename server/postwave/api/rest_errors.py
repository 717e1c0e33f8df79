"""Errors of the REST gateway: google.rpc codes to HTTP statuses, and the JSON error body.

The gateway never decides an error's code itself: a postwave error is turned into a
``google.rpc.Status`` by ``api/status.py`` (exactly as for gRPC), and this module only
chooses the HTTP status for that code, following the mapping documented in
``google/rpc/code.proto``. The body is the JSON form of the same Status::

    {"code": 3, "message": "from: is required",
     "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                  "field_violations": [{"field": "from", "description": "is required"}]}]}
"""

from __future__ import annotations

import json
import math
from typing import Any

from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2

HTTP_STATUS = {
    code_pb2.OK: 200,
    code_pb2.CANCELLED: 499,
    code_pb2.UNKNOWN: 500,
    code_pb2.INVALID_ARGUMENT: 400,
    code_pb2.DEADLINE_EXCEEDED: 504,
    code_pb2.NOT_FOUND: 404,
    code_pb2.ALREADY_EXISTS: 409,
    code_pb2.PERMISSION_DENIED: 403,
    code_pb2.UNAUTHENTICATED: 401,
    code_pb2.RESOURCE_EXHAUSTED: 429,
    code_pb2.FAILED_PRECONDITION: 400,
    code_pb2.ABORTED: 409,
    code_pb2.OUT_OF_RANGE: 400,
    code_pb2.UNIMPLEMENTED: 501,
    code_pb2.INTERNAL: 500,
    code_pb2.UNAVAILABLE: 503,
    code_pb2.DATA_LOSS: 500,
}


def http_status(code: int) -> int:
    """The HTTP status of a google.rpc code (500 for a code outside the enum)."""
    return HTTP_STATUS.get(code, 500)


def status(code: int, message: str) -> status_pb2.Status:
    """A Status without details, for errors of the HTTP layer itself (no route, wrong verb)."""
    return status_pb2.Status(code=code, message=message)


def body(error: status_pb2.Status) -> dict[str, Any]:
    """The JSON error body: ``code``, ``message`` and ``details`` (each with its ``@type``)."""
    encoded: dict[str, Any] = json_format.MessageToDict(
        error, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return encoded


def encode(error: status_pb2.Status) -> bytes:
    """The error body as bytes."""
    return json.dumps(body(error), ensure_ascii=False).encode()


def headers(error: status_pb2.Status) -> dict[str, str]:
    """Headers that go with an error: Retry-After from RetryInfo, WWW-Authenticate for 401."""
    out = {}
    for detail in error.details:
        if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            info = error_details_pb2.RetryInfo()
            detail.Unpack(info)
            seconds = info.retry_delay.seconds + info.retry_delay.nanos / 1e9
            out["Retry-After"] = str(max(1, math.ceil(seconds)))
    if error.code == code_pb2.UNAUTHENTICATED:
        out["WWW-Authenticate"] = 'Bearer realm="postwave"'
    return out

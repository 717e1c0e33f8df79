"""The one place that maps postwave errors to gRPC status codes with google.rpc details."""

from __future__ import annotations

import logging

import grpc
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from postwave.errors import (
    AlreadyExistsError,
    AuthenticationError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    PostwaveError,
    RateLimitedError,
    StoreUnavailableError,
)

log = logging.getLogger(__name__)

_CODES: tuple[tuple[type[PostwaveError], int], ...] = (
    (InvalidArgumentError, code_pb2.INVALID_ARGUMENT),
    (AuthenticationError, code_pb2.UNAUTHENTICATED),
    (PermissionDeniedError, code_pb2.PERMISSION_DENIED),
    (NotFoundError, code_pb2.NOT_FOUND),
    (AlreadyExistsError, code_pb2.ALREADY_EXISTS),
    (RateLimitedError, code_pb2.RESOURCE_EXHAUSTED),
    (StoreUnavailableError, code_pb2.UNAVAILABLE),
    (FailedPreconditionError, code_pb2.FAILED_PRECONDITION),
)


def code_of(error: PostwaveError) -> int:
    """The google.rpc code for an error (INTERNAL for any unmapped PostwaveError)."""
    for cls, code in _CODES:
        if isinstance(error, cls):
            return code
    return code_pb2.INTERNAL


def to_status(error: PostwaveError) -> status_pb2.Status:
    """A google.rpc.Status with BadRequest or RetryInfo details where they apply."""
    status = status_pb2.Status(code=code_of(error), message=error.message)
    if isinstance(error, InvalidArgumentError):
        detail = error_details_pb2.BadRequest(
            field_violations=[error_details_pb2.BadRequest.FieldViolation(
                field=error.field, description=error.description)]
        )
        status.details.add().Pack(detail)
    if isinstance(error, FailedPreconditionError):
        status.details.add().Pack(error_details_pb2.PreconditionFailure(violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type="SENDING_DOMAIN", subject=error.field, description=error.message)]))
    if isinstance(error, RateLimitedError):
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(max(1, int(error.retry_after * 1000)))
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    return status


async def abort(context: grpc.aio.ServicerContext, error: PostwaveError) -> None:
    """End the RPC with the status of ``error`` (raises, as context.abort does)."""
    await context.abort_with_status(rpc_status.to_status(to_status(error)))

"""Plumbing shared by every servicer: safe request decoding, auth and error mapping.

Handlers are registered from the service descriptors with a deserializer that never
throws: a request that is not valid protobuf (for instance a string field with invalid
UTF-8) arrives as :class:`Undecodable` and is answered INVALID_ARGUMENT, instead of the
opaque INTERNAL status gRPC gives a deserializer exception.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import descriptor, message, message_factory

from postwave.api.auth import Authenticator
from postwave.api.status import abort
from postwave.errors import InvalidArgumentError, PostwaveError


@dataclasses.dataclass(frozen=True, slots=True)
class Undecodable:
    """A request body protobuf could not parse."""

    reason: str


def _safe_deserializer(cls: type[message.Message]) -> Callable[[bytes], Any]:
    def decode(data: bytes) -> Any:
        try:
            return cls.FromString(data)
        except message.DecodeError as exc:
            return Undecodable(str(exc) or "malformed protobuf")

    return decode


def check_decoded(request: Any) -> None:
    """Raise INVALID_ARGUMENT for a request that failed to decode."""
    if isinstance(request, Undecodable):
        raise InvalidArgumentError(
            "request", f"not a valid protobuf message ({request.reason}); string fields must be valid UTF-8"
        )


_FACTORIES = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def register(server: grpc.aio.Server, servicer: object, service: descriptor.ServiceDescriptor) -> None:
    """Add every method of ``service`` implemented by ``servicer`` to the server."""
    handlers = {}
    for method in service.methods:
        request_cls = message_factory.GetMessageClass(method.input_type)
        response_cls = message_factory.GetMessageClass(method.output_type)
        factory = _FACTORIES[(method.client_streaming, method.server_streaming)]
        handlers[method.name] = factory(
            getattr(servicer, method.name),
            request_deserializer=_safe_deserializer(request_cls),
            response_serializer=response_cls.SerializeToString,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))


class Servicer:
    """Base of the servicers: holds the authenticator used by :func:`rpc`."""

    def __init__(self, auth: Authenticator) -> None:
        self.auth = auth


def rpc(scope: str, *, streaming_request: bool = False) -> Callable[[Any], Any]:
    """Authenticate with ``scope``, then call the method with the principal; map errors.

    Works for unary and server-streaming (async generator) methods alike.
    """

    def wrap(fn: Any) -> Any:
        if inspect.isasyncgenfunction(fn):
            @functools.wraps(fn)
            async def stream(self: Servicer, request: Any, context: grpc.aio.ServicerContext) -> Any:
                try:
                    if not streaming_request:
                        check_decoded(request)
                    principal = await self.auth.authenticate(context, scope)
                    async for item in fn(self, principal, request, context):
                        yield item
                except PostwaveError as exc:
                    await abort(context, exc)
            stream.postwave_scope = scope  # type: ignore[attr-defined]  # read by the REST gateway
            return stream

        @functools.wraps(fn)
        async def unary(self: Servicer, request: Any, context: grpc.aio.ServicerContext) -> Any:
            try:
                if not streaming_request:
                    check_decoded(request)
                principal = await self.auth.authenticate(context, scope)
                return await fn(self, principal, request, context)
            except PostwaveError as exc:
                await abort(context, exc)
        unary.postwave_scope = scope  # type: ignore[attr-defined]
        return unary

    return wrap

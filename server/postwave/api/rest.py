"""The REST/JSON gateway of the API process (aiohttp), driven by the ``google.api.http`` annotations.

Every annotated RPC is reachable as JSON over HTTP. A request is decoded into the RPC's
protobuf request (path variables, query string or JSON body, as the annotation says) and
handed to the *same servicer method* the gRPC server calls, with a small context object in
place of gRPC's. Authentication, scopes, validation and the error → status mapping are
therefore shared with gRPC: an error answers with the HTTP status of its google.rpc code
and the JSON form of the very ``google.rpc.Status`` a gRPC client would receive.

Server-streaming RPCs (``GET /v1/events``) answer ``application/x-ndjson``: one JSON object
per line, ``{"result": <message>}``, or a final ``{"error": <status>}`` if the stream fails
after it started. The OpenAPI 3 description is at ``GET /v1/openapi.json``.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from collections.abc import Mapping
from typing import Any, NoReturn

import grpc
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from google.protobuf import descriptor, message
from google.rpc import code_pb2, status_pb2

from postwave.api import openapi, rest_errors
from postwave.api.rest_json import parse_body, query_to_json, to_json, to_message
from postwave.api.rest_routes import Route, resolve, routes_of
from postwave.api.status import to_status
from postwave.errors import InvalidArgumentError, PostwaveError

log = logging.getLogger(__name__)

OPENAPI_PATH = "/v1/openapi.json"
# As gRPC's limit (api/server.py): a 25 MB message grows by a third in base64, and must still
# reach validation to get its precise error.
MAX_BODY_BYTES = 64 * 1024 * 1024
IDEMPOTENCY_HEADER = "Idempotency-Key"
_JSON = "application/json"
_NDJSON = "application/x-ndjson"
_NO_STORE = {"Cache-Control": "no-store"}


class _MalformedRequests(logging.Filter):
    """aiohttp logs an unparsable request (a NUL in a header, a broken request line) with a
    traceback at ERROR; it is the client's fault and already answered 400, so keep one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args, record.exc_info = f"malformed HTTP request refused: {error.message}", (), None
        return True


logging.getLogger("aiohttp.server").addFilter(_MalformedRequests())


class RpcAborted(Exception):
    """A servicer ended the call with a status (what ``context.abort`` raises in gRPC)."""

    def __init__(self, status: status_pb2.Status) -> None:
        super().__init__(status.message)
        self.status = status


class HttpContext:
    """The part of ``grpc.aio.ServicerContext`` the servicers use, over one HTTP request."""

    def __init__(self, request: web.Request) -> None:
        self._request = request
        auth = request.headers.get("Authorization")
        self._metadata = (("authorization", auth),) if auth is not None else ()

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        """The request's metadata: only ``authorization`` is passed on."""
        return self._metadata

    async def abort_with_status(self, status: grpc.Status) -> NoReturn:
        """End the call with a status built by api/status.py (details included)."""
        raise RpcAborted(_decode_status(status))

    async def abort(self, code: grpc.StatusCode, details: str = "", trailing_metadata: Any = ()) -> NoReturn:
        """End the call with a bare code and message."""
        raise RpcAborted(status_pb2.Status(code=code.value[0], message=details))

    def peer(self) -> str:
        """The client's address, in gRPC's notation."""
        return f"ipv4:{self._request.remote}"

    def time_remaining(self) -> float | None:
        """HTTP requests carry no deadline."""
        return None

    def cancelled(self) -> bool:
        """Whether the client went away."""
        transport = self._request.transport
        return transport is None or transport.is_closing()

    def set_trailing_metadata(self, metadata: Any) -> None:
        """Trailers have no HTTP/1.1 counterpart here; ignored."""


def _decode_status(status: grpc.Status) -> status_pb2.Status:
    for key, value in status.trailing_metadata or ():
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            return status_pb2.Status.FromString(value)
    return status_pb2.Status(code=status.code.value[0], message=status.details or "")


class RestGateway:
    """An aiohttp application serving the annotated RPCs of ``services`` through ``servicers``."""

    def __init__(
        self,
        servicers: Mapping[str, object],
        services: tuple[descriptor.ServiceDescriptor, ...],
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.servicers = servicers
        self.max_body_bytes = max_body_bytes
        self.routes = routes_of(services)
        self.openapi = json.dumps(openapi.document(self.routes), indent=1).encode()
        self.app = web.Application(client_max_size=max_body_bytes)
        # One catch-all route ([\s\S], not ".": a path may hold an encoded newline): routing
        # is ours, so every answer, 404 and 405 included, is a JSON Status.
        self.app.router.add_route("*", r"/{path:[\s\S]*}", self.handle)
        self._runner: web.AppRunner | None = None

    async def start(self, listen: str) -> int:
        """Listen on ``host:port``; returns the bound port (useful with port 0)."""
        host, port = _split_listen(listen)
        # handler_cancellation: a client that goes away cancels its handler, which ends a
        # followed event stream instead of leaving it polling for nobody.
        self._runner = web.AppRunner(self.app, handler_cancellation=True, access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port, reuse_address=True).start()
        except OSError as exc:
            await self.stop()
            raise OSError(exc.errno, f"cannot listen on {listen} (http_listen): {exc.strerror}") from exc
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Stop listening; requests in flight get a few seconds to finish."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Every request: route, decode, call the servicer, encode."""
        path = request.rel_url.raw_path
        if path == OPENAPI_PATH:
            if request.method != "GET":
                return self._not_allowed(request.method, path, ("GET",))
            return web.Response(body=self.openapi, content_type=_JSON)
        found = resolve(self.routes, request.method, path)
        if found.route is None:
            if found.allowed:
                return self._not_allowed(request.method, path, found.allowed)
            return _error(rest_errors.status(code_pb2.NOT_FOUND, f"no API route {path}; the routes are in {OPENAPI_PATH}"))
        try:
            return await self._call(request, found.route, found.variables)
        except PostwaveError as exc:
            return _error(to_status(exc))
        except RpcAborted as exc:
            return _error(exc.status)
        except web.HTTPRequestEntityTooLarge:
            message = f"the request body is over {self.max_body_bytes} bytes"
            return _error(rest_errors.status(code_pb2.RESOURCE_EXHAUSTED, message), http=413)
        except Exception:  # a bug: answered like gRPC answers one, without leaking details
            log.exception("%s %s failed", request.method, path)
            return _error(rest_errors.status(code_pb2.INTERNAL, "internal error"))

    def _not_allowed(self, method: str, path: str, allowed: tuple[str, ...]) -> web.Response:
        error = rest_errors.status(code_pb2.UNIMPLEMENTED, f"{method} is not allowed on {path}; use {', '.join(allowed)}")
        return _error(error, http=405, extra={"Allow": ", ".join(allowed)})

    async def _call(self, request: web.Request, route: Route, variables: dict[str, str]) -> web.StreamResponse:
        rpc_request = await decode_request(request, route, variables)
        servicer = self.servicers[route.service.full_name]
        handler = getattr(servicer, route.method.name)
        context = HttpContext(request)
        if route.streaming:
            return await _stream(request, servicer, handler, rpc_request, context)
        reply = await handler(rpc_request, context)
        return web.Response(body=_dumps(to_json(reply)), content_type=_JSON, headers=_NO_STORE)


async def _stream(
    request: web.Request, servicer: Any, handler: Any, rpc_request: message.Message, context: HttpContext
) -> web.StreamResponse:
    # Authenticate before the first byte, so a bad key is a plain 401 and not a 200 whose
    # stream fails; the servicer checks again (from its cache) with the same scope.
    await servicer.auth.authenticate(context, handler.postwave_scope)
    response = web.StreamResponse(headers={"Content-Type": _NDJSON, **_NO_STORE})
    await response.prepare(request)
    stream = handler(rpc_request, context)
    try:
        async for item in stream:
            await response.write(_dumps({"result": to_json(item)}) + b"\n")
    except RpcAborted as exc:
        await response.write(_dumps({"error": rest_errors.body(exc.status)}) + b"\n")
    except ConnectionResetError:
        return response
    except Exception:
        log.exception("stream %s failed", handler.__name__)
        await response.write(_dumps({"error": rest_errors.body(rest_errors.status(code_pb2.INTERNAL, "internal error"))}) + b"\n")
    finally:
        await stream.aclose()
    await response.write_eof()
    return response


async def decode_request(request: web.Request, route: Route, variables: dict[str, str]) -> message.Message:
    """The RPC's request message from the path variables, the body or the query string."""
    desc = route.method.input_type
    raw = await request.read()
    if route.body:
        if request.query:
            raise InvalidArgumentError(next(iter(request.query)), "query parameters are not accepted here; send the field in the JSON body")
        _check_content_type(request, raw)
        value = parse_body(raw)
        if route.body != "*":
            value = {route.body: value}
        if not isinstance(value, dict):
            raise InvalidArgumentError("body", "must be a JSON object")
    else:
        if raw.strip():
            raise InvalidArgumentError("body", f"{route.http_method} {route.template} takes no body")
        query = {key: request.query.getall(key) for key in request.query}
        value = query_to_json(query, desc, set(variables))
    for name, raw_value in variables.items():
        _bind(value, name, _unquote(name, raw_value))
    if desc.full_name == "postwave.v1.SendRequest" and IDEMPOTENCY_HEADER in request.headers:
        _bind(value, "send_id", request.headers[IDEMPOTENCY_HEADER], source=f"the {IDEMPOTENCY_HEADER} header")
    return to_message(value, desc)


def _check_content_type(request: web.Request, raw: bytes) -> None:
    declared = request.headers.get("Content-Type")
    if declared is None or not raw:
        return
    media = declared.split(";", 1)[0].strip().lower()
    if media != _JSON and not media.endswith("+json"):
        raise InvalidArgumentError("Content-Type", f"must be {_JSON}, not {media!r}")


def _unquote(name: str, raw: str) -> str:
    try:
        return urllib.parse.unquote(raw, errors="strict")
    except UnicodeDecodeError:
        raise InvalidArgumentError(name, "the path segment is not percent-encoded UTF-8") from None


def _bind(value: dict[str, Any], path: str, text: str, *, source: str = "the request path") -> None:
    """Set a (possibly nested) field to a value from the path or a header; a different value
    already in the body is an error rather than silently replaced."""
    *parents, leaf = path.split(".")
    target = value
    for part in parents:
        child = target.setdefault(part, {})
        if not isinstance(child, dict):
            raise InvalidArgumentError(path, f"conflicts with {source}")
        target = child
    given = target.get(leaf)
    if given is not None and given != text:
        raise InvalidArgumentError(path, f"{given!r} in the body differs from {text!r} in {source}")
    target[leaf] = text


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _error(error: status_pb2.Status, *, http: int | None = None, extra: Mapping[str, str] | None = None) -> web.Response:
    headers = {**rest_errors.headers(error), **_NO_STORE, **(extra or {})}
    return web.Response(
        status=http or rest_errors.http_status(error.code), body=rest_errors.encode(error),
        content_type=_JSON, headers=headers,
    )


def _split_listen(listen: str) -> tuple[str, int]:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit():
        raise InvalidArgumentError("http_listen", f"{listen!r} is not host:port")
    return host.strip("[]") or "127.0.0.1", int(port)


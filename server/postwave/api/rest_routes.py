"""HTTP routes of the REST gateway, read from the ``google.api.http`` annotations of the protos.

A route is one HTTP binding of an RPC: verb, path template, and which request fields come from
the path, the body or the query string. The grammar of path templates is the one of
``google/api/http.proto``::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    Verb     = ":" LITERAL ;

Everything here is a pure function of descriptors and strings.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator

from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor

_VERBS = ("get", "put", "post", "delete", "patch")
_LITERAL = re.compile(r"^[A-Za-z0-9._~!$&'()+,;=@%-]+$")


class TemplateError(ValueError):
    """A path template that does not follow the grammar of google/api/http.proto."""


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """One HTTP binding of an RPC."""

    http_method: str  # upper case: GET, POST, ...
    template: str  # as written in the proto, e.g. /v1/status/{message_id}
    pattern: re.Pattern[str]
    variables: tuple[str, ...]  # field paths bound from the path, in order
    body: str  # "" (no body), "*" (the whole request) or a top-level field name
    method: descriptor.MethodDescriptor

    @property
    def service(self) -> descriptor.ServiceDescriptor:
        """The service of the RPC."""
        return self.method.containing_service

    @property
    def streaming(self) -> bool:
        """Whether the RPC streams its responses (served as newline-delimited JSON)."""
        return bool(self.method.server_streaming)

    @property
    def operation_id(self) -> str:
        """A stable name of the operation, ``Service_Method``."""
        return f"{self.service.name}_{self.method.name}"

    @property
    def openapi_path(self) -> str:
        """The template in OpenAPI form: ``{var=**}`` becomes ``{var}``."""
        return re.sub(r"\{([^}=]+)(=[^}]*)?\}", r"{\1}", self.template)

    def match(self, path: str) -> dict[str, str] | None:
        """The raw (still percent-encoded) value of each variable, or None if the path differs."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {name: found.group(f"v{i}") for i, name in enumerate(self.variables)}


def routes_of(services: Iterable[descriptor.ServiceDescriptor]) -> list[Route]:
    """Every HTTP binding (including additional_bindings) of every unary or server-streaming RPC.

    Client-streaming RPCs (``BatchSend``) have no JSON form; an annotation on one is an error.
    """
    routes = []
    for service in services:
        for method in service.methods:
            options = method.GetOptions()
            if not options.HasExtension(annotations_pb2.http):
                continue
            if method.client_streaming:
                raise TemplateError(f"{method.full_name}: a client-streaming RPC cannot have an HTTP binding")
            rule = options.Extensions[annotations_pb2.http]
            for binding in (rule, *rule.additional_bindings):
                routes.append(_route(method, binding))
    return routes


def _route(method: descriptor.MethodDescriptor, rule: http_pb2.HttpRule) -> Route:
    kind = rule.WhichOneof("pattern")
    if kind in _VERBS:
        verb, template = kind.upper(), getattr(rule, kind)
    elif kind == "custom":
        verb, template = rule.custom.kind.upper(), rule.custom.path
    else:
        raise TemplateError(f"{method.full_name}: HTTP rule without a pattern")
    pattern, variables = compile_template(template)
    for path in variables:
        _field_path(method.input_type, path)
    if rule.body not in ("", "*"):
        _field_path(method.input_type, rule.body)
    return Route(verb, template, pattern, variables, rule.body, method)


def _field_path(message: descriptor.Descriptor, path: str) -> descriptor.FieldDescriptor:
    field = None
    for name in path.split("."):
        if message is None or name not in message.fields_by_name:
            raise TemplateError(f"{path!r} is not a field of the request")
        field = message.fields_by_name[name]
        message = field.message_type
    assert field is not None
    return field


def compile_template(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """A regular expression matching raw request paths, and the variables it captures."""
    if not template.startswith("/"):
        raise TemplateError(f"{template!r}: a template starts with '/'")
    body, verb = _split_verb(template[1:])
    parts: list[str] = []
    variables: list[str] = []
    for token in _segments(body):
        if token.startswith("{"):
            name, _, inner = token[1:-1].partition("=")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", name):
                raise TemplateError(f"{template!r}: bad variable {name!r}")
            sub = "/".join(_segment_regex(s, template) for s in (inner or "*").split("/"))
            parts.append(f"(?P<v{len(variables)}>{sub})")
            variables.append(name)
        else:
            parts.append(_segment_regex(token, template))
    regex = "/" + "/".join(parts) + (":" + re.escape(verb) if verb else "")
    return re.compile(regex), tuple(variables)


def _split_verb(body: str) -> tuple[str, str]:
    depth = 0
    last_colon = -1
    for i, c in enumerate(body):
        depth += c == "{"
        depth -= c == "}"
        if c == ":" and depth == 0:
            last_colon = i
    if last_colon < 0 or "/" in body[last_colon:]:
        return body, ""
    return body[:last_colon], body[last_colon + 1:]


def _segments(body: str) -> Iterator[str]:
    depth, start = 0, 0
    for i, c in enumerate(body + "/"):
        depth += c == "{"
        depth -= c == "}"
        if c == "/" and depth == 0:
            yield body[start:i]
            start = i + 1


def _segment_regex(segment: str, template: str) -> str:
    if segment == "*":
        return "[^/]+"
    if segment == "**":
        return ".+"
    if not _LITERAL.fullmatch(segment):
        raise TemplateError(f"{template!r}: bad segment {segment!r}")
    return re.escape(segment)


@dataclasses.dataclass(frozen=True, slots=True)
class Resolution:
    """The result of looking a request up: a route and its variables, or why there is none."""

    route: Route | None
    variables: dict[str, str]
    allowed: tuple[str, ...]  # verbs the path accepts, when the verb did not match


def resolve(routes: Iterable[Route], http_method: str, path: str) -> Resolution:
    """The route for a verb and a raw path; ``allowed`` lists other verbs if only they match."""
    allowed = []
    for route in routes:
        variables = route.match(path)
        if variables is None:
            continue
        if route.http_method == http_method:
            return Resolution(route, variables, ())
        allowed.append(route.http_method)
    return Resolution(None, {}, tuple(dict.fromkeys(allowed)))

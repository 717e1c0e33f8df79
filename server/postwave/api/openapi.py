"""The OpenAPI 3.0 description of the REST gateway, generated from the proto descriptors.

One operation per HTTP binding (``rest_routes.Route``); one schema per protobuf message, in
the proto3 JSON mapping the gateway speaks: proto field names, 64-bit integers as decimal
strings, bytes as base64, enums by name, Timestamps as RFC 3339 strings. Request schemas
forbid additional properties because the gateway refuses unknown fields.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor
from google.protobuf.descriptor import FieldDescriptor

from postwave.api.rest_routes import Route

STATUS_SCHEMA = "google.rpc.Status"

_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
    FieldDescriptor.TYPE_DOUBLE: {"type": "number", "format": "double"},
    FieldDescriptor.TYPE_FLOAT: {"type": "number", "format": "float"},
    FieldDescriptor.TYPE_INT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SINT32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    FieldDescriptor.TYPE_UINT32: {"type": "integer", "minimum": 0, "maximum": 4294967295},
    FieldDescriptor.TYPE_FIXED32: {"type": "integer", "minimum": 0, "maximum": 4294967295},
}
_INT64 = {
    FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64,
    FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64,
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
}
_ERRORS = {
    "400": "INVALID_ARGUMENT: bad JSON, a wrong type, an unknown or missing field (details: google.rpc.BadRequest)",
    "401": "UNAUTHENTICATED: no API key, or an unknown or revoked one",
    "403": "PERMISSION_DENIED: the key lacks the scope this call needs",
    "404": "NOT_FOUND: no such object for this tenant, or no such route",
    "409": "ALREADY_EXISTS: an idempotency key (send_id) reused with a different body",
    "413": "the request body is larger than the gateway accepts",
    "429": "RESOURCE_EXHAUSTED: rate or daily quota used up (details: google.rpc.RetryInfo; header Retry-After)",
    "503": "UNAVAILABLE: a backend is down; nothing was accepted, retry with back-off",
}
_DESCRIPTION = """\
The REST/JSON form of postwave's gRPC API (package postwave.v1), generated from the protos'
google.api.http annotations. Bodies use the proto3 JSON mapping: fields by their proto names
(lowerCamelCase names are accepted too), 64-bit integers as decimal strings, bytes as base64,
enums by name, timestamps in RFC 3339. Unknown fields are refused.

Authenticate with `Authorization: Bearer <API key>`. Errors answer the HTTP status of their
google.rpc code with the JSON form of google.rpc.Status: `{code, message, details}`.
`GET /v1/events` streams newline-delimited JSON (`{"result": Event}` per line).
"""


def document(routes: list[Route]) -> dict[str, Any]:
    """The OpenAPI document of a list of routes."""
    schemas: dict[str, Any] = {STATUS_SCHEMA: _status_schema()}
    paths: dict[str, Any] = {}
    for route in routes:
        paths.setdefault(route.openapi_path, {})[route.http_method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.0.3",
        "info": {"title": "postwave API", "version": "v1", "description": _DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "An API key: pw_<key id>_<secret>"},
            },
            "responses": {
                code: {"description": text, "content": {"application/json": {"schema": _ref(STATUS_SCHEMA)}}}
                for code, text in _ERRORS.items()
            },
        },
        "security": [{"bearerAuth": []}],
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _operation(route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    method = route.method
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _field_schema(_field(method.input_type, name), schemas)}
        for name in route.variables
    ]
    if not route.body:
        parameters += _query_parameters(method.input_type, set(route.variables), schemas)
    if method.input_type.full_name == "postwave.v1.SendRequest":
        parameters.append({
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "Sets send_id: a repeat within 24 h returns the first answer",
            "schema": {"type": "string", "maxLength": 128},
        })
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": [route.service.name],
        "summary": f"{route.service.full_name}.{method.name}",
        "parameters": parameters,
        "responses": {"200": _success(route, schemas)},
    }
    operation["responses"].update({code: {"$ref": f"#/components/responses/{code}"} for code in _ERRORS})
    if route.body:
        body_schema = (
            _message_schema(method.input_type, schemas, exclude=set(route.variables)) if route.body == "*"
            else _field_schema(_field(method.input_type, route.body), schemas)
        )
        operation["requestBody"] = {"required": False, "content": {"application/json": {"schema": body_schema}}}
    return operation


def _success(route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    output = _message_schema(route.method.output_type, schemas)
    if not route.streaming:
        return {"description": route.method.output_type.name, "content": {"application/json": {"schema": output}}}
    line = {
        "type": "object",
        "properties": {"result": output, "error": _ref(STATUS_SCHEMA)},
        "additionalProperties": False,
    }
    return {
        "description": f"A stream of {route.method.output_type.name}, one JSON object per line",
        "content": {"application/x-ndjson": {"schema": line}},
    }


def _query_parameters(
    message: descriptor.Descriptor, bound: set[str], schemas: dict[str, Any], prefix: str = "", depth: int = 0
) -> list[dict[str, Any]]:
    out = []
    for field in message.fields:
        name = prefix + field.name
        if name in bound:
            continue
        nested = field.message_type
        if nested is not None and nested.full_name not in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
            if not _is_map(field) and not field.is_repeated and depth < 3:
                out += _query_parameters(nested, bound, schemas, name + ".", depth + 1)
            continue
        param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": _field_schema(field, schemas)}
        if field.is_repeated:
            param.update(style="form", explode=True)
        out.append(param)
    return out


def _field(message: descriptor.Descriptor, path: str) -> FieldDescriptor:
    field = None
    for name in path.split("."):
        field = message.fields_by_name[name]
        message = field.message_type
    assert field is not None
    return field


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and bool(field.message_type.GetOptions().map_entry)


def _field_schema(field: FieldDescriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    if _is_map(field):
        value = field.message_type.fields_by_name["value"]
        return {"type": "object", "additionalProperties": _single_schema(value, schemas)}
    single = _single_schema(field, schemas)
    if field.is_repeated:
        return {"type": "array", "items": single}
    return single


def _single_schema(field: FieldDescriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    if field.message_type is not None:
        return _message_schema(field.message_type, schemas)
    if field.enum_type is not None:
        return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
    if field.type in _INT64:
        unsigned = field.type in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64)
        return {"type": "string", "format": "uint64" if unsigned else "int64",
                "pattern": "^[0-9]{1,20}$" if unsigned else "^-?[0-9]{1,19}$"}
    return dict(_SCALARS[field.type])


def _message_schema(
    message: descriptor.Descriptor, schemas: dict[str, Any], exclude: set[str] | None = None
) -> dict[str, Any]:
    if message.full_name in _WELL_KNOWN:
        return dict(_WELL_KNOWN[message.full_name])
    if exclude:  # a request body without the fields bound from the path: inline, not shared
        return _object(message, schemas, exclude)
    if message.full_name not in schemas:
        schemas[message.full_name] = {}  # placeholder: recursive messages refer to themselves
        schemas[message.full_name] = _object(message, schemas, set())
    return _ref(message.full_name)


def _object(message: descriptor.Descriptor, schemas: dict[str, Any], exclude: set[str]) -> dict[str, Any]:
    properties = {f.name: _field_schema(f, schemas) for f in message.fields if f.name not in exclude}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _status_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "google.rpc.Status: the error of a call, exactly as gRPC reports it",
        "properties": {
            "code": {"type": "integer", "format": "int32", "description": "google.rpc.Code"},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {"type": "object", "properties": {"@type": {"type": "string"}}, "additionalProperties": True},
            },
        },
        "required": ["code", "message", "details"],
    }

"""JSON bodies of the REST gateway: strict parsing into protobuf messages, and back.

The proto3 JSON mapping is implemented by ``google.protobuf.json_format``; this module puts
a strict checker in front of it so that every bad body is answered like any other invalid
request: INVALID_ARGUMENT naming the offending field (``personalizations[0].to[1]``, in the
same notation as the server's own validation) with a message a person can act on, instead of
the converter's Python-flavoured text. Unknown fields, duplicate keys, a field given under
both its names, and non-standard JSON (NaN literals) are refused.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf import (
    descriptor,
    duration_pb2,
    json_format,
    message,
    message_factory,
    timestamp_pb2,
)
from google.protobuf.descriptor import FieldDescriptor

from postwave.errors import InvalidArgumentError

_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_FLOATS = (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE)
_INTEGER_TEXT = re.compile(r"^-?[0-9]+$")
_NUMBER_TEXT = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$|^[A-Za-z0-9_-]*={0,2}$")
_FLOAT32_MAX = 3.4028234663852886e38
MAX_DEPTH = 64  # nesting of objects and arrays in a body (Struct values included)


def parse_body(raw: bytes) -> Any:
    """The JSON value of a request body; INVALID_ARGUMENT on anything but one strict JSON text."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidArgumentError("body", f"is not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        return {}
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise InvalidArgumentError("body", f"is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise InvalidArgumentError("body", f"is nested more than {MAX_DEPTH} levels deep") from None
    except InvalidArgumentError:  # a duplicate key or a NaN, found by the hooks
        raise
    except ValueError as exc:  # e.g. an integer literal of more than 4300 digits
        raise InvalidArgumentError("body", f"is not acceptable JSON: {exc}") from None
    _check_depth(value, "body")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InvalidArgumentError(key, "appears twice in one JSON object")
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise InvalidArgumentError("body", f"is not valid JSON: {name} is not a JSON value (send it as a string)")


def _check_depth(value: Any, path: str) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidArgumentError(path, f"is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def to_message(value: Any, desc: descriptor.Descriptor) -> message.Message:
    """A request message from a parsed JSON value; INVALID_ARGUMENT names the bad field."""
    _check_message(value, desc, "")
    result = message_factory.GetMessageClass(desc)()
    try:
        json_format.ParseDict(value, result, ignore_unknown_fields=False, max_recursion_depth=MAX_DEPTH + 36)
    except json_format.ParseError as exc:  # the checker above should have caught it first
        text = str(exc)
        where = re.search(r" at (\w+)\.([\w.\[\]]+)\.?$", text)
        raise InvalidArgumentError(where.group(2) if where else "body", text) from None
    return result


def to_json(msg: message.Message) -> dict[str, Any]:
    """The proto3 JSON form of a message, with proto field names and every field present."""
    encoded: dict[str, Any] = json_format.MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    return encoded


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _fields_by_key(desc: descriptor.Descriptor) -> dict[str, FieldDescriptor]:
    keys: dict[str, FieldDescriptor] = {}
    for field in desc.fields:
        keys[field.name] = field
        keys[field.json_name] = field
    return keys


def _check_message(value: Any, desc: descriptor.Descriptor, path: str) -> None:
    special = _WELL_KNOWN.get(desc.full_name)
    if special is not None:
        special(value, path or "body")
        return
    if not isinstance(value, dict):
        raise InvalidArgumentError(path or "body", f"must be a JSON object, not {_kind(value)}")
    keys = _fields_by_key(desc)
    seen: dict[str, str] = {}
    oneofs: dict[str, str] = {}
    for key, item in value.items():
        field = keys.get(key)
        if field is None:
            raise InvalidArgumentError(_join(path, key), f"unknown field of {desc.name}")
        fpath = _join(path, field.name)
        if field.name in seen:
            raise InvalidArgumentError(fpath, f"given twice (as {seen[field.name]!r} and {key!r})")
        seen[field.name] = key
        if item is None and not _holds_null(field):
            continue  # null means "not set"
        oneof = field.containing_oneof
        if oneof is not None:
            if oneof.name in oneofs:
                raise InvalidArgumentError(fpath, f"only one of {oneofs[oneof.name]} and {field.name} may be set")
            oneofs[oneof.name] = field.name
        _check_field(field, item, fpath)


def _holds_null(field: FieldDescriptor) -> bool:
    """Whether null is a value of the field (google.protobuf.Value) rather than "not set"."""
    return field.message_type is not None and field.message_type.full_name == "google.protobuf.Value"


def _check_field(field: FieldDescriptor, value: Any, path: str) -> None:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        if not isinstance(value, dict):
            raise InvalidArgumentError(path, f"must be a JSON object (a map), not {_kind(value)}")
        key_field = field.message_type.fields_by_name["key"]
        value_field = field.message_type.fields_by_name["value"]
        for key, item in value.items():
            _check_map_key(key_field, key, f"{path}.{key}")
            if item is None and not _holds_null(value_field):
                raise InvalidArgumentError(f"{path}.{key}", "a map value cannot be null")
            _check_single(value_field, item, f"{path}.{key}")
        return
    if field.is_repeated:
        if not isinstance(value, list):
            raise InvalidArgumentError(path, f"must be a JSON array, not {_kind(value)}")
        for i, item in enumerate(value):
            if item is None:
                raise InvalidArgumentError(f"{path}[{i}]", "an array element cannot be null")
            _check_single(field, item, f"{path}[{i}]")
        return
    _check_single(field, value, path)


def _check_map_key(field: FieldDescriptor, key: str, path: str) -> None:
    if field.type == FieldDescriptor.TYPE_BOOL:
        if key not in ("true", "false"):
            raise InvalidArgumentError(path, "map key must be true or false")
    elif field.type in _INT_RANGES:
        _check_int(field, key, path)


def _check_single(field: FieldDescriptor, value: Any, path: str) -> None:
    kind = field.type
    if field.message_type is not None:
        _check_message(value, field.message_type, path)
    elif field.enum_type is not None:
        _check_enum(field.enum_type, value, path)
    elif kind == FieldDescriptor.TYPE_STRING:
        if not isinstance(value, str):
            raise InvalidArgumentError(path, f"must be a string, not {_kind(value)}")
    elif kind == FieldDescriptor.TYPE_BOOL:
        if not isinstance(value, bool):
            raise InvalidArgumentError(path, f"must be true or false, not {_kind(value)}")
    elif kind == FieldDescriptor.TYPE_BYTES:
        _check_bytes(value, path)
    elif kind in _FLOATS:
        _check_float(kind, value, path)
    else:
        _check_int(field, value, path)


def _check_int(field: FieldDescriptor, value: Any, path: str) -> None:
    low, high = _INT_RANGES[field.type]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidArgumentError(path, f"must be an integer (a number or a decimal string), not {_kind(value)}")
    if isinstance(value, str):
        if not _INTEGER_TEXT.match(value):
            raise InvalidArgumentError(path, f"must be an integer, not the string {value[:40]!r}")
        if len(value) > 21:  # longer than any 64-bit integer (and than int() parses cheaply)
            raise InvalidArgumentError(path, f"must lie between {low} and {high}")
        number = int(value)
    elif isinstance(value, float):
        if not value.is_integer():
            raise InvalidArgumentError(path, f"must be an integer, not {value!r}")
        number = int(value)
    else:
        number = value
    if not low <= number <= high:
        raise InvalidArgumentError(path, f"must lie between {low} and {high}")


def _check_float(kind: int, value: Any, path: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidArgumentError(path, f"must be a number, not {_kind(value)}")
    if isinstance(value, str):
        if value in ("NaN", "Infinity", "-Infinity"):
            return
        if not _NUMBER_TEXT.match(value):
            raise InvalidArgumentError(path, f"must be a number, not the string {value[:40]!r}")
    number = _as_float(value, path)
    if math.isinf(number) or kind == FieldDescriptor.TYPE_FLOAT and abs(number) > _FLOAT32_MAX:
        raise InvalidArgumentError(path, "is out of range for its number type")


def _as_float(value: int | float | str, path: str) -> float:
    try:
        return float(value)
    except OverflowError:
        raise InvalidArgumentError(path, "is out of range for its number type") from None


def _check_bytes(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise InvalidArgumentError(path, f"must be a base64 string, not {_kind(value)}")
    if not _BASE64.match(value):
        raise InvalidArgumentError(path, "must be base64 (standard or URL-safe alphabet)")
    try:
        base64.urlsafe_b64decode(value.replace("+", "-").replace("/", "_").rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        raise InvalidArgumentError(path, "must be base64 (its length is not valid)") from None


def _check_enum(enum: descriptor.EnumDescriptor, value: Any, path: str) -> None:
    if isinstance(value, str):
        numeric = _INTEGER_TEXT.match(value) and len(value) <= 11 and -(2**31) <= int(value) < 2**31
        if value not in enum.values_by_name and not numeric:
            names = ", ".join(enum.values_by_name)
            raise InvalidArgumentError(path, f"must be one of {names}, not {value[:40]!r}")
    elif isinstance(value, int) and not isinstance(value, bool):
        if not -(2**31) <= value < 2**31:
            raise InvalidArgumentError(path, "enum number out of range")
    else:
        raise InvalidArgumentError(path, f"must be the name of a {enum.name} value, not {_kind(value)}")


def _check_timestamp(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise InvalidArgumentError(path, f"must be an RFC 3339 timestamp string, not {_kind(value)}")
    try:
        timestamp_pb2.Timestamp().FromJsonString(value)
    except ValueError:
        raise InvalidArgumentError(
            path, f"must be an RFC 3339 timestamp such as 2030-01-02T15:04:05Z, not {value[:40]!r}"
        ) from None


def _check_duration(value: Any, path: str) -> None:
    if not isinstance(value, str):
        raise InvalidArgumentError(path, f"must be a duration string such as \"1.5s\", not {_kind(value)}")
    try:
        duration_pb2.Duration().FromJsonString(value)
    except ValueError:
        raise InvalidArgumentError(path, f"must be a duration such as \"1.5s\", not {value[:40]!r}") from None


def _check_struct(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise InvalidArgumentError(path, f"must be a JSON object, not {_kind(value)}")
    _check_any_value(value, path)


def _check_list(value: Any, path: str) -> None:
    if not isinstance(value, list):
        raise InvalidArgumentError(path, f"must be a JSON array, not {_kind(value)}")
    _check_any_value(value, path)


def _check_any_value(value: Any, path: str) -> None:
    """google.protobuf.Value holds any JSON value, but its numbers are doubles."""
    stack = [(value, path)]
    while stack:  # depth is bounded by parse_body
        item, where = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, f"{where}.{k}") for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, (int, float)) and not isinstance(item, bool) and math.isinf(_as_float(item, where)):
            raise InvalidArgumentError(where, "is out of range for a JSON number")


def _check_empty(value: Any, path: str) -> None:
    if value != {}:
        raise InvalidArgumentError(path, "must be an empty JSON object")


_WELL_KNOWN: Mapping[str, Callable[[Any, str], None]] = {
    "google.protobuf.Timestamp": _check_timestamp,
    "google.protobuf.Duration": _check_duration,
    "google.protobuf.Struct": _check_struct,
    "google.protobuf.ListValue": _check_list,
    "google.protobuf.Value": _check_any_value,
    "google.protobuf.Empty": _check_empty,
}


def query_to_json(query: Mapping[str, list[str]], desc: descriptor.Descriptor, bound: set[str]) -> dict[str, Any]:
    """The request fields given in a query string (``a.b=1&tags=x&tags=y``), as JSON values.

    Only scalar fields (singular or repeated) and singular messages on the way to them may be
    set; fields bound from the path may not be repeated in the query.
    """
    out: dict[str, Any] = {}
    for name, values in query.items():
        if name in bound:
            raise InvalidArgumentError(name, "is set by the request path")
        field, parent = _query_field(desc, name, out)
        leaf = name.rsplit(".", 1)[-1]
        repeated = field.is_repeated
        if not repeated and len(values) > 1:
            raise InvalidArgumentError(name, "given more than once in the query string")
        converted = [_query_value(field, v) for v in values]
        parent[leaf] = converted if repeated else converted[0]
    return out


def _query_field(desc: descriptor.Descriptor, name: str, out: dict[str, Any]) -> tuple[FieldDescriptor, dict[str, Any]]:
    parts = name.split(".")
    parent = out
    for i, part in enumerate(parts):
        field = _fields_by_key(desc).get(part)
        if field is None:
            raise InvalidArgumentError(name, f"unknown query parameter (no field {part!r} in {desc.name})")
        if i == len(parts) - 1:
            is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
            if is_map or field.message_type is not None and field.message_type.full_name not in (
                "google.protobuf.Timestamp", "google.protobuf.Duration"
            ):
                raise InvalidArgumentError(name, "cannot be set in the query string (a message or map)")
            return field, parent
        if field.message_type is None or field.is_repeated:
            raise InvalidArgumentError(name, f"{part!r} is not a singular message field")
        child = parent.setdefault(part, {})
        if not isinstance(child, dict):
            raise InvalidArgumentError(name, "conflicts with another query parameter")
        parent, desc = child, field.message_type
    raise AssertionError("unreachable")


def _query_value(field: FieldDescriptor, text: str) -> Any:
    if field.type == FieldDescriptor.TYPE_BOOL:
        lowered = text.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise InvalidArgumentError(field.name, f"must be true or false, not {text[:40]!r}")
    return text

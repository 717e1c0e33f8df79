from google.api import annotations_pb2 as _annotations_pb2
from postwave_client.v1 import send_pb2 as _send_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class StreamEventsRequest(_message.Message):
    __slots__ = ("types", "message_id", "cursor", "no_follow")
    TYPES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    NO_FOLLOW_FIELD_NUMBER: _ClassVar[int]
    types: _containers.RepeatedScalarFieldContainer[str]
    message_id: str
    cursor: int
    no_follow: bool
    def __init__(self, types: _Optional[_Iterable[str]] = ..., message_id: _Optional[str] = ..., cursor: _Optional[int] = ..., no_follow: _Optional[bool] = ...) -> None: ...

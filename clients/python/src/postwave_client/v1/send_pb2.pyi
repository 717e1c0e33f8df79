import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Stream(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STREAM_UNSPECIFIED: _ClassVar[Stream]
    STREAM_TRANSACTIONAL: _ClassVar[Stream]
    STREAM_BULK: _ClassVar[Stream]

class TrackingConsent(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TRACKING_CONSENT_UNSPECIFIED: _ClassVar[TrackingConsent]
    TRACKING_CONSENT_GRANTED: _ClassVar[TrackingConsent]
    TRACKING_CONSENT_DENIED: _ClassVar[TrackingConsent]
STREAM_UNSPECIFIED: Stream
STREAM_TRANSACTIONAL: Stream
STREAM_BULK: Stream
TRACKING_CONSENT_UNSPECIFIED: TrackingConsent
TRACKING_CONSENT_GRANTED: TrackingConsent
TRACKING_CONSENT_DENIED: TrackingConsent

class Attachment(_message.Message):
    __slots__ = ("filename", "content_type", "content", "content_id")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_ID_FIELD_NUMBER: _ClassVar[int]
    filename: str
    content_type: str
    content: bytes
    content_id: str
    def __init__(self, filename: _Optional[str] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ..., content_id: _Optional[str] = ...) -> None: ...

class Personalization(_message.Message):
    __slots__ = ("to", "cc", "bcc", "substitutions", "subject", "headers", "custom_args", "tracking_consent")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class CustomArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TO_FIELD_NUMBER: _ClassVar[int]
    CC_FIELD_NUMBER: _ClassVar[int]
    BCC_FIELD_NUMBER: _ClassVar[int]
    SUBSTITUTIONS_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_ARGS_FIELD_NUMBER: _ClassVar[int]
    TRACKING_CONSENT_FIELD_NUMBER: _ClassVar[int]
    to: _containers.RepeatedScalarFieldContainer[str]
    cc: _containers.RepeatedScalarFieldContainer[str]
    bcc: _containers.RepeatedScalarFieldContainer[str]
    substitutions: _struct_pb2.Struct
    subject: str
    headers: _containers.ScalarMap[str, str]
    custom_args: _containers.ScalarMap[str, str]
    tracking_consent: TrackingConsent
    def __init__(self, to: _Optional[_Iterable[str]] = ..., cc: _Optional[_Iterable[str]] = ..., bcc: _Optional[_Iterable[str]] = ..., substitutions: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., subject: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., custom_args: _Optional[_Mapping[str, str]] = ..., tracking_consent: _Optional[_Union[TrackingConsent, str]] = ...) -> None: ...

class SendRequest(_message.Message):
    __slots__ = ("send_id", "batch_id", "reply_to", "subject", "text", "html", "template_id", "template_version", "personalizations", "headers", "attachments", "tags", "metadata", "send_at", "stream", "sandbox", "unsubscribe_group", "tracking_consent")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    REPLY_TO_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PERSONALIZATIONS_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    ATTACHMENTS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SEND_AT_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBE_GROUP_FIELD_NUMBER: _ClassVar[int]
    TRACKING_CONSENT_FIELD_NUMBER: _ClassVar[int]
    send_id: str
    batch_id: str
    reply_to: str
    subject: str
    text: str
    html: str
    template_id: str
    template_version: int
    personalizations: _containers.RepeatedCompositeFieldContainer[Personalization]
    headers: _containers.ScalarMap[str, str]
    attachments: _containers.RepeatedCompositeFieldContainer[Attachment]
    tags: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    send_at: _timestamp_pb2.Timestamp
    stream: Stream
    sandbox: bool
    unsubscribe_group: str
    tracking_consent: TrackingConsent
    def __init__(self, send_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., reply_to: _Optional[str] = ..., subject: _Optional[str] = ..., text: _Optional[str] = ..., html: _Optional[str] = ..., template_id: _Optional[str] = ..., template_version: _Optional[int] = ..., personalizations: _Optional[_Iterable[_Union[Personalization, _Mapping]]] = ..., headers: _Optional[_Mapping[str, str]] = ..., attachments: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ..., tags: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., send_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stream: _Optional[_Union[Stream, str]] = ..., sandbox: _Optional[bool] = ..., unsubscribe_group: _Optional[str] = ..., tracking_consent: _Optional[_Union[TrackingConsent, str]] = ..., **kwargs) -> None: ...

class MessageRef(_message.Message):
    __slots__ = ("message_id", "recipient", "state", "detail")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    recipient: str
    state: str
    detail: str
    def __init__(self, message_id: _Optional[str] = ..., recipient: _Optional[str] = ..., state: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class SendResponse(_message.Message):
    __slots__ = ("send_id", "messages", "code", "error", "field")
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    send_id: str
    messages: _containers.RepeatedCompositeFieldContainer[MessageRef]
    code: int
    error: str
    field: str
    def __init__(self, send_id: _Optional[str] = ..., messages: _Optional[_Iterable[_Union[MessageRef, _Mapping]]] = ..., code: _Optional[int] = ..., error: _Optional[str] = ..., field: _Optional[str] = ...) -> None: ...

class SendBatchRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[SendRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[SendRequest, _Mapping]]] = ...) -> None: ...

class SendBatchResponse(_message.Message):
    __slots__ = ("responses",)
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    responses: _containers.RepeatedCompositeFieldContainer[SendResponse]
    def __init__(self, responses: _Optional[_Iterable[_Union[SendResponse, _Mapping]]] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ("message_id",)
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    def __init__(self, message_id: _Optional[str] = ...) -> None: ...

class DeliveryAttempt(_message.Message):
    __slots__ = ("time", "mx_host", "smtp_code", "smtp_reply", "outcome")
    TIME_FIELD_NUMBER: _ClassVar[int]
    MX_HOST_FIELD_NUMBER: _ClassVar[int]
    SMTP_CODE_FIELD_NUMBER: _ClassVar[int]
    SMTP_REPLY_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    mx_host: str
    smtp_code: int
    smtp_reply: str
    outcome: str
    def __init__(self, time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., mx_host: _Optional[str] = ..., smtp_code: _Optional[int] = ..., smtp_reply: _Optional[str] = ..., outcome: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("id", "message_id", "type", "time", "detail", "recipient", "send_id", "batch_id", "custom_args", "machine", "machine_reason")
    class CustomArgsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_ARGS_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    MACHINE_REASON_FIELD_NUMBER: _ClassVar[int]
    id: int
    message_id: str
    type: str
    time: _timestamp_pb2.Timestamp
    detail: str
    recipient: str
    send_id: str
    batch_id: str
    custom_args: _containers.ScalarMap[str, str]
    machine: bool
    machine_reason: str
    def __init__(self, id: _Optional[int] = ..., message_id: _Optional[str] = ..., type: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., detail: _Optional[str] = ..., recipient: _Optional[str] = ..., send_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., custom_args: _Optional[_Mapping[str, str]] = ..., machine: _Optional[bool] = ..., machine_reason: _Optional[str] = ...) -> None: ...

class MessageStatus(_message.Message):
    __slots__ = ("message_id", "state", "recipient", "send_id", "batch_id", "stream", "created", "updated", "attempt_count", "attempts", "events")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    UPDATED_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_COUNT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    state: str
    recipient: str
    send_id: str
    batch_id: str
    stream: str
    created: _timestamp_pb2.Timestamp
    updated: _timestamp_pb2.Timestamp
    attempt_count: int
    attempts: _containers.RepeatedCompositeFieldContainer[DeliveryAttempt]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    def __init__(self, message_id: _Optional[str] = ..., state: _Optional[str] = ..., recipient: _Optional[str] = ..., send_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., stream: _Optional[str] = ..., created: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempt_count: _Optional[int] = ..., attempts: _Optional[_Iterable[_Union[DeliveryAttempt, _Mapping]]] = ..., events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class CancelScheduledRequest(_message.Message):
    __slots__ = ("send_id", "batch_id")
    SEND_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    send_id: str
    batch_id: str
    def __init__(self, send_id: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class CancelScheduledResponse(_message.Message):
    __slots__ = ("cancelled", "message_ids")
    CANCELLED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    cancelled: int
    message_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, cancelled: _Optional[int] = ..., message_ids: _Optional[_Iterable[str]] = ...) -> None: ...

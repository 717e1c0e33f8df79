import datetime

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from postwave.v1 import send_pb2 as _send_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StatsGrouping(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATS_GROUPING_UNSPECIFIED: _ClassVar[StatsGrouping]
    STATS_GROUPING_DAY: _ClassVar[StatsGrouping]
    STATS_GROUPING_TAG: _ClassVar[StatsGrouping]
    STATS_GROUPING_STREAM: _ClassVar[StatsGrouping]
    STATS_GROUPING_DOMAIN: _ClassVar[StatsGrouping]
STATS_GROUPING_UNSPECIFIED: StatsGrouping
STATS_GROUPING_DAY: StatsGrouping
STATS_GROUPING_TAG: StatsGrouping
STATS_GROUPING_STREAM: StatsGrouping
STATS_GROUPING_DOMAIN: StatsGrouping

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

class ListEventsRequest(_message.Message):
    __slots__ = ("types", "message_id", "recipient", "start_time", "end_time", "page_size", "page_token")
    TYPES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    types: _containers.RepeatedScalarFieldContainer[str]
    message_id: str
    recipient: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    page_size: int
    page_token: str
    def __init__(self, types: _Optional[_Iterable[str]] = ..., message_id: _Optional[str] = ..., recipient: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_send_pb2.Event]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[_send_pb2.Event, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ("start_time", "end_time", "group_by")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    group_by: StatsGrouping
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[_Union[StatsGrouping, str]] = ...) -> None: ...

class StatsRow(_message.Message):
    __slots__ = ("key", "sent", "delivered", "bounced", "complained", "opened_human", "opened_machine", "clicked_human", "clicked_machine", "unique_opened_human", "unique_clicked_human", "unsubscribed", "delivery_rate", "bounce_rate", "complaint_rate", "open_rate", "click_rate")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SENT_FIELD_NUMBER: _ClassVar[int]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    BOUNCED_FIELD_NUMBER: _ClassVar[int]
    COMPLAINED_FIELD_NUMBER: _ClassVar[int]
    OPENED_HUMAN_FIELD_NUMBER: _ClassVar[int]
    OPENED_MACHINE_FIELD_NUMBER: _ClassVar[int]
    CLICKED_HUMAN_FIELD_NUMBER: _ClassVar[int]
    CLICKED_MACHINE_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_OPENED_HUMAN_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_CLICKED_HUMAN_FIELD_NUMBER: _ClassVar[int]
    UNSUBSCRIBED_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_RATE_FIELD_NUMBER: _ClassVar[int]
    BOUNCE_RATE_FIELD_NUMBER: _ClassVar[int]
    COMPLAINT_RATE_FIELD_NUMBER: _ClassVar[int]
    OPEN_RATE_FIELD_NUMBER: _ClassVar[int]
    CLICK_RATE_FIELD_NUMBER: _ClassVar[int]
    key: str
    sent: int
    delivered: int
    bounced: int
    complained: int
    opened_human: int
    opened_machine: int
    clicked_human: int
    clicked_machine: int
    unique_opened_human: int
    unique_clicked_human: int
    unsubscribed: int
    delivery_rate: float
    bounce_rate: float
    complaint_rate: float
    open_rate: float
    click_rate: float
    def __init__(self, key: _Optional[str] = ..., sent: _Optional[int] = ..., delivered: _Optional[int] = ..., bounced: _Optional[int] = ..., complained: _Optional[int] = ..., opened_human: _Optional[int] = ..., opened_machine: _Optional[int] = ..., clicked_human: _Optional[int] = ..., clicked_machine: _Optional[int] = ..., unique_opened_human: _Optional[int] = ..., unique_clicked_human: _Optional[int] = ..., unsubscribed: _Optional[int] = ..., delivery_rate: _Optional[float] = ..., bounce_rate: _Optional[float] = ..., complaint_rate: _Optional[float] = ..., open_rate: _Optional[float] = ..., click_rate: _Optional[float] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("rows", "total")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[StatsRow]
    total: StatsRow
    def __init__(self, rows: _Optional[_Iterable[_Union[StatsRow, _Mapping]]] = ..., total: _Optional[_Union[StatsRow, _Mapping]] = ...) -> None: ...

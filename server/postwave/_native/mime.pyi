from collections.abc import Mapping, Sequence
from datetime import datetime

from postwave.render.mime import Attachment as Attachment
from postwave.render.mime import new_message_id as new_message_id
from postwave.render.mime import validate_headers as validate_headers

__all__ = ["Attachment", "build_message", "new_message_id", "smtp_data", "validate_headers"]

def build_message(
    *,
    from_addr: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    reply_to: str | None = None,
    subject: str,
    text: str | None,
    html: str | None,
    headers: Mapping[str, str] = {},
    attachments: Sequence[Attachment] = (),
    message_id: str,
    date: datetime | None = None,
    list_unsubscribe: str | None = None,
    list_unsubscribe_post: bool = False,
) -> bytes: ...

def smtp_data(message: bytes) -> bytes: ...

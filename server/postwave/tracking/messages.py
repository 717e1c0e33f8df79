"""The tracker's view of a sent message: its record, request, and tracked links.

A click token names a link by body and index, and carries its URL's hash; the link
itself comes from the message, rendered again exactly as it was sent (same request,
same pinned template version, same personalization). Rendering costs a little per
click, so views are cached.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections import OrderedDict
from typing import Any


from postwave.errors import PostwaveError
from postwave.pipeline import compose
from postwave.render.templates import TemplateEngine
from postwave.store.base import EventRecord, MessageRecord, Store
from postwave.tracking.linkwrap import html_links, text_links
from postwave.v1 import send_pb2

CACHE_SIZE = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class MessageView:
    """A message as the tracker needs it."""

    record: MessageRecord
    request: send_pb2.SendRequest
    links: dict[str, list[str]]  # body ("c" html, "t" text) -> tracked URLs by index

    @property
    def link_count(self) -> int:
        """Tracked links over both bodies."""
        return sum(len(urls) for urls in self.links.values())

    def event(self, kind: str, now: float, detail: dict[str, Any]) -> EventRecord:
        """An event of this message (with the personalization's custom_args)."""
        m = self.record
        custom = dict(self.request.personalizations[m.index].custom_args) if m.index < len(
            self.request.personalizations) else {}
        return EventRecord(m.tenant_id, m.message_id, kind, now, json.dumps(detail, sort_keys=True), m.recipient,
                           m.send_id, m.batch_id, json.dumps(custom) if custom else "")


class MessageViews:
    """Loads and caches :class:`MessageView` objects; blocking store calls run in threads."""

    def __init__(self, store: Store, engine: TemplateEngine) -> None:
        self.store = store
        self.engine = engine
        self._cache: OrderedDict[str, MessageView] = OrderedDict()

    async def get(self, message_id: str, *, need_links: bool) -> MessageView | None:
        """The view of a message, or None if it is gone (or cannot be rendered any more)."""
        view = self._cache.get(message_id)
        if view is not None and (view.links or not need_links):
            return view
        record = await asyncio.to_thread(self.store.get_message, message_id)
        if record is None:
            return None
        payload = await asyncio.to_thread(self.store.get_payload, record.request_id)
        if payload is None:
            return None
        request = send_pb2.SendRequest.FromString(payload)
        links = await self._links(record, request) if need_links else {}
        if need_links and links is None:
            return None
        view = MessageView(record, request, links or {})
        self._cache[message_id] = view
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return view

    async def _links(self, record: MessageRecord, request: send_pb2.SendRequest) -> dict[str, list[str]] | None:
        template = None
        if request.template_id:
            template = await asyncio.to_thread(self.store.get_template, record.tenant_id, request.template_id,
                                               request.template_version)
            if template is None:
                return None
        p = request.personalizations[record.index]
        context = compose.substitutions(p)
        try:
            rendered = compose.render(self.engine, request, template, record.index, context)
        except PostwaveError:
            return None
        return {"c": html_links(rendered.html) if rendered.html else [],
                "t": text_links(rendered.text) if rendered.text else []}

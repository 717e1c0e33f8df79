"""Composition of one message: template or inline content, personalization, MIME.

The acceptance stage calls :func:`render` for every personalization so that template
errors are answered at once, with the field; the worker calls :func:`compose` again at
delivery time to build the bytes it sends.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from postwave.render.mime import Attachment, build_message
from postwave.render.templates import TemplateEngine
from postwave.store.base import TemplateRecord
from postwave.v1 import send_pb2


@dataclasses.dataclass(frozen=True, slots=True)
class Rendered:
    """The personalized subject and bodies of one personalization."""

    subject: str
    text: str
    html: str


def _render_one(engine: TemplateEngine, source: str, context: dict[str, Any], field: str, html: bool) -> str:
    # Plain content without template syntax needs no Jinja pass at all.
    if "{" not in source:
        return source
    return engine.render(source, context, field=field, autoescape=html)


def render(
    engine: TemplateEngine, req: send_pb2.SendRequest, template: TemplateRecord | None,
    index: int, context: dict[str, Any],
) -> Rendered:
    """Personalize the content for personalization ``index``; TemplateError names the field."""
    p = req.personalizations[index]
    if template is not None:
        sources = (p.subject or template.subject, template.text, template.html)
        fields = ("template_id", "template_id", "template_id")
    else:
        sources = (p.subject or req.subject, req.text, req.html)
        fields = (f"personalizations[{index}].subject" if p.subject else "subject", "text", "html")
    subject = _render_one(engine, sources[0], context, fields[0], False)
    if "\r" in subject or "\n" in subject:
        subject = " ".join(subject.split())
    return Rendered(
        subject=subject,
        text=_render_one(engine, sources[1], context, fields[1], False),
        html=_render_one(engine, sources[2], context, fields[2], True),
    )


def compose(
    rendered: Rendered, req: send_pb2.SendRequest, index: int, *, message_id: str,
    list_unsubscribe: str | None,
) -> bytes:
    """The MIME bytes of one message."""
    p = req.personalizations[index]
    headers = dict(req.headers)
    headers.update(p.headers)
    return build_message(
        from_addr=getattr(req, "from"),
        to=list(p.to),
        cc=list(p.cc),
        reply_to=req.reply_to or None,
        subject=rendered.subject,
        text=rendered.text or None,
        html=rendered.html or None,
        headers=headers,
        attachments=[
            Attachment(a.filename, a.content_type or "application/octet-stream", a.content, a.content_id or None)
            for a in req.attachments
        ],
        message_id=message_id,
        list_unsubscribe=list_unsubscribe,
        # One-click unsubscribe (RFC 8058) is only defined for https URLs.
        list_unsubscribe_post=bool(list_unsubscribe and list_unsubscribe.startswith("https://")),
    )

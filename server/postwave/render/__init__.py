"""Rendering of outgoing messages: tenant templates, addresses and MIME assembly.

* :mod:`postwave.render.templates` -- :class:`~postwave.render.templates.TemplateEngine`,
  Jinja2 in a sandbox with per-render resource limits.
* :mod:`postwave.render.addresses` -- strict ``parse_address``, ``normalize_address``,
  ``domain_of``.
* :mod:`postwave.render.mime` -- ``build_message`` (RFC 5322 + MIME bytes),
  ``Attachment``, ``new_message_id``.

The package imports nothing itself, so that importing one of its modules (the MIME
builder in a worker, say) does not pay for the others (Jinja2).
"""

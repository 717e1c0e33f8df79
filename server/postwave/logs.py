"""Logging set-up shared by every process: text or JSON lines, secrets scrubbed.

``log_format=text`` writes ``time level role logger: message``; ``log_format=json`` writes
one JSON object per line with ``ts``, ``level``, ``role``, ``logger``, ``msg`` and, where
known, ``message_id``, ``tenant`` and ``trace_id`` (the OpenTelemetry trace of the message,
the same id with tracing on or off -- see ``postwave.tracing``).

Those fields come from ``extra={"message_id": ..., "tenant": ...}`` on the call, or from a
:func:`context` block around the work on one message.

Every line passes through the scrubber, whatever logger wrote it: API keys keep their
public id and lose their secret, PEM private keys (DKIM), ``Authorization`` values and every
value given to :func:`register_secret` (tracking and webhook secrets, the CQL password)
become ``<redacted>``. Message bodies are never logged by postwave; tests check both.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

FIELDS = ("message_id", "tenant", "trace_id")
REDACTED = "<redacted>"

_context: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("postwave_log_context", default=None)

_PATTERNS = (
    # pw_<16 hex key id>_<secret>: the id stays (it names the key), the secret goes.
    (re.compile(r"\b(pw_[0-9a-f]{16}_)[A-Za-z0-9_\-]+"), r"\1" + REDACTED),
    (re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.S),
     "<redacted private key>"),
    (re.compile(r"(?i)\b(authorization[\"']?\s*[:=,]\s*[\"']?(?:bearer|basic)?\s*)[^\s\"',)]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}"), r"\1" + REDACTED),
)
_secrets: set[str] = set()
_secrets_re: re.Pattern[str] | None = None
_lock = threading.Lock()


def register_secret(value: str) -> None:
    """Never let ``value`` appear in a log line (values shorter than 6 characters are ignored)."""
    global _secrets_re
    if not value or len(value) < 6:
        return
    with _lock:
        _secrets.add(value)
        alternatives = sorted(_secrets, key=len, reverse=True)
        _secrets_re = re.compile("|".join(re.escape(s) for s in alternatives))


def register_config_secrets(config: Any) -> None:
    """Register the secrets among the configuration options."""
    for name in ("tracking_secret", "cql_password"):
        register_secret(str(getattr(config, name, "") or ""))


def scrub(text: str) -> str:
    """``text`` with API key secrets, private keys, credentials and registered secrets removed."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    if _secrets_re is not None:
        text = _secrets_re.sub(REDACTED, text)
    return text


@contextlib.contextmanager
def context(**fields: str) -> Iterator[None]:
    """Add ``message_id``/``tenant``/``trace_id`` to every line logged inside the block."""
    current = _context.get() or {}
    token = _context.set({**current, **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def fields_of(record: logging.LogRecord) -> dict[str, str]:
    """The message_id, tenant and trace_id of a record (extra=, then the context block)."""
    found = dict(_context.get() or {})
    for name in FIELDS:
        value = getattr(record, name, None)
        if value:
            found[name] = str(value)
    if "trace_id" not in found:
        from postwave import tracing

        trace = tracing.current_trace_id() if tracing.ENABLED else ""
        if trace:
            found["trace_id"] = trace
        elif "message_id" in found:
            found["trace_id"] = tracing.trace_hex(found["message_id"])
    return found


class TextFormatter(logging.Formatter):
    """``time level role logger: message [message_id=... tenant=...]``, scrubbed."""

    def __init__(self, role: str) -> None:
        super().__init__(f"%(asctime)s %(levelname)s {role} %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The scrubbed line."""
        line = super().format(record)
        found = fields_of(record)
        if found:
            line += " [" + " ".join(f"{k}={found[k]}" for k in FIELDS if k in found) + "]"
        return scrub(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, scrubbed."""

    def __init__(self, role: str) -> None:
        super().__init__()
        self.role = role

    def format(self, record: logging.LogRecord) -> str:
        """The scrubbed JSON line."""
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "role": self.role,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
            **fields_of(record),
        }
        if record.exc_info:
            entry["exc"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = scrub(record.exc_text)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str, *, role: str, fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    """Log to stderr in ``fmt`` (text or json), scrubbing ``secrets`` and the known patterns."""
    for value in secrets:
        register_secret(value)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(role) if fmt == "json" else TextFormatter(role))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in BODY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))


# Libraries that log SMTP DATA lines (message bodies) at DEBUG: the feedback receiver's
# aiosmtpd. They are held at INFO whatever log_level says.
BODY_LOGGERS = ("mail.log",)


def setup_from_config(config: Any, *, role: str) -> None:
    """:func:`setup_logging` with ``log_level``/``log_format`` and the config's secrets."""
    register_config_secrets(config)
    setup_logging(config.log_level, role=role, fmt=config.log_format)

"""Configuration as a schema.

Every option has a type, a default, a description and a ``POSTWAVE_<NAME>`` environment
variable. ``postwave serve --help`` and ``docs/configuration.md`` are generated from
:data:`OPTIONS`; a test checks that the document is current.

Precedence: command-line flag > environment variable > default.
"""

from __future__ import annotations

import dataclasses
import os
import socket
from collections.abc import Mapping
from typing import Any

from postwave.errors import InvalidArgumentError


@dataclasses.dataclass(frozen=True, slots=True)
class Option:
    """One configuration key."""

    name: str
    type: type
    default: Any
    description: str

    @property
    def env(self) -> str:
        """The environment variable that sets this option."""
        return "POSTWAVE_" + self.name.upper()

    @property
    def flag(self) -> str:
        """The command-line flag that sets this option."""
        return "--" + self.name.replace("_", "-")


OPTIONS: tuple[Option, ...] = (
    Option("data_dir", str, "./var", "Directory of the embedded SQLite database (postwave.db)."),
    Option("listen", str, "127.0.0.1:50051", "host:port of the gRPC API."),
    Option("workers", int, 2, "Worker (delivery) processes to fork; use the number of cores."),
    Option("worker_concurrency", int, 256, "Concurrent deliveries in flight per worker process."),
    Option("dns_nameservers", str, "", "Comma-separated resolver addresses for MX lookups; empty = /etc/resolv.conf."),
    Option("dns_port", int, 53, "UDP/TCP port of the resolvers in dns_nameservers."),
    Option("smtp_port", int, 25, "Port of receiving mail servers."),
    Option("route_all_to", str, "", "Development only: deliver every message to this host:port instead of the MX."),
    Option("helo_name", str, socket.getfqdn(), "Name sent in EHLO and used in Message-ID."),
    Option("source_address", str, "", "Local IP address to send from; empty = the kernel's choice."),
    Option("smtp_starttls", bool, True, "Use STARTTLS when the receiving server offers it."),
    Option("smtp_connect_timeout", float, 10.0, "Seconds to wait for a TCP connect and greeting."),
    Option("smtp_command_timeout", float, 60.0, "Seconds to wait for any SMTP reply."),
    Option("max_connections_per_host", int, 16, "Open SMTP connections per receiving address, per worker."),
    Option("retry_base_seconds", float, 60.0, "First retry delay after a 4xx; doubles each attempt, with jitter."),
    Option("retry_max_seconds", float, 3600.0, "Upper bound of one retry delay."),
    Option("message_expiry_seconds", float, 72 * 3600.0, "A message still deferred this long after acceptance fails."),
    Option("lease_seconds", float, 300.0, "How long a worker owns a claimed message before another may take it."),
    Option("sqlite_synchronous", str, "FULL", "SQLite synchronous mode: FULL (fsync every commit) or NORMAL (WAL; may lose the last commits on power loss, not on a crash)."),
    Option("accept_batch_max", int, 512, "Most send requests written in one group commit."),
    Option("scheduler_interval", float, 0.5, "Seconds between scheduler passes (releasing due send_at mail, sweeping)."),
    Option("max_schedule_ahead_hours", float, 72.0, "Furthest a send_at may lie in the future."),
    Option("max_recipients", int, 1000, "Most recipients (to+cc+bcc over all personalizations) per request."),
    Option("max_message_bytes", int, 25 * 1024 * 1024, "Largest request body (content plus attachments)."),
    Option("tracking_base_url", str, "http://127.0.0.1:8080", "Public base URL of the tracking service (unsubscribe links)."),
    Option("log_level", str, "INFO", "Logging level: DEBUG, INFO, WARNING or ERROR."),
)

_BY_NAME = {o.name: o for o in OPTIONS}


def _coerce(option: Option, value: Any) -> Any:
    if isinstance(value, option.type):
        return value
    text = str(value).strip()
    try:
        if option.type is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        return option.type(text)
    except ValueError:
        raise InvalidArgumentError(
            option.name,
            f"{text!r} is not a valid {option.type.__name__} (set {option.flag} or {option.env})",
        ) from None


@dataclasses.dataclass(frozen=True)
class Config:
    """Resolved configuration; read its options as attributes."""

    values: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def db_path(self) -> str:
        """The embedded database file."""
        return os.path.join(self.values["data_dir"], "postwave.db")

    def replace(self, **changes: Any) -> Config:
        """A copy with some options changed (validated like any other source)."""
        return load(overrides={**self.values, **changes}, environ={})


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Resolve every option from overrides (flags), the environment, then defaults."""
    env = os.environ if environ is None else environ
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = set(given) - set(_BY_NAME)
    if unknown:
        raise InvalidArgumentError(sorted(unknown)[0], "unknown configuration option")
    values: dict[str, Any] = {}
    for option in OPTIONS:
        if option.name in given:
            values[option.name] = _coerce(option, given[option.name])
        elif option.env in env:
            values[option.name] = _coerce(option, env[option.env])
        else:
            values[option.name] = option.default
    _check(values)
    return Config(values)


def _check(values: Mapping[str, Any]) -> None:
    if values["sqlite_synchronous"].upper() not in ("FULL", "NORMAL"):
        raise InvalidArgumentError("sqlite_synchronous", "must be FULL or NORMAL")
    for name in ("workers", "worker_concurrency", "accept_batch_max", "max_recipients"):
        if values[name] < 1:
            raise InvalidArgumentError(name, "must be at least 1")
    if values["route_all_to"] and ":" not in values["route_all_to"]:
        raise InvalidArgumentError("route_all_to", "must be host:port, e.g. 127.0.0.1:2525")


def markdown() -> str:
    """The configuration reference, as written to docs/configuration.md."""
    lines = [
        "# Configuration",
        "",
        "Generated from `server/postwave/config.py` by `postwave config-docs`; do not edit by hand.",
        "Each option is set by a flag of `postwave serve`, else by its environment variable, else its default.",
        "",
        "| option | flag | environment | type | default | description |",
        "|---|---|---|---|---|---|",
    ]
    for o in OPTIONS:
        default = "(host name)" if o.name == "helo_name" else repr(o.default)
        lines.append(
            f"| {o.name} | `{o.flag}` | `{o.env}` | {o.type.__name__} | `{default}` | {o.description} |"
        )
    return "\n".join(lines) + "\n"

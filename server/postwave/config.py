"""Configuration as a schema.

Every option has a type, a default, a description and a ``POSTWAVE_<NAME>`` environment
variable. ``postwave serve --help`` and ``docs/configuration.md`` are generated from
:data:`OPTIONS`; a test checks that the document is current.

Precedence: command-line flag > environment variable > default.
"""

from __future__ import annotations

import dataclasses
import os
import re
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
    Option("http_listen", str, "127.0.0.1:8081", "host:port of the REST/JSON gateway (OpenAPI document at /v1/openapi.json); empty = no gateway."),
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
    Option("store", str, "embedded", "Store backend: embedded (the SQLite file in data_dir) or cql (ScyllaDB or any CQL cluster; the queue stays embedded in data_dir)."),
    Option("cql_contact_points", str, "127.0.0.1", "store=cql: comma-separated addresses of the CQL nodes to connect to first."),
    Option("cql_port", int, 9042, "store=cql: the CQL native protocol port."),
    Option("cql_keyspace", str, "postwave", "store=cql: keyspace of postwave's tables; created, with its schema, at start-up."),
    Option("cql_replication", str, "SimpleStrategy:1", "store=cql: replication of a new keyspace: SimpleStrategy:<RF> (one node, tests) or NetworkTopologyStrategy:<dc>=<RF>[,<dc>=<RF>...] (production)."),
    Option("cql_local_dc", str, "", "store=cql: data center preferred by the DC-aware load balancing; empty = the contact points' data center."),
    Option("cql_consistency", str, "LOCAL_QUORUM", "store=cql: consistency of reads and writes; lightweight transactions use LOCAL_SERIAL."),
    Option("cql_request_timeout", float, 5.0, "store=cql: seconds before a CQL request fails; the API then answers UNAVAILABLE."),
    Option("cql_connect_timeout", float, 5.0, "store=cql: seconds to wait for a connection to a node."),
    Option("cql_username", str, "", "store=cql: user name when the cluster requires authentication; empty = none."),
    Option("cql_password", str, "", "store=cql: password of cql_username."),
    Option("cql_dialect", str, "auto", "store=cql: auto, scylla or cassandra: which server the schema is written for (ScyllaDB gets tablets disabled so LWT works); auto asks the server."),
    Option("cql_events_settle_seconds", float, 0.0, "store=cql: the event stream holds back events younger than this, so one whose write lands late (other processes, clock skew) is not skipped by a resuming cursor; 0 = none."),
    Option("events_retention_days", int, 30, "store=cql: days events are kept (table TTL; finished messages and their payloads too, at least as long as a message can live)."),
    Option("accept_batch_max", int, 512, "Most send requests written in one group commit."),
    Option("scheduler_interval", float, 0.5, "Seconds between scheduler passes (releasing due send_at mail, sweeping)."),
    Option("max_schedule_ahead_hours", float, 72.0, "Furthest a send_at may lie in the future."),
    Option("max_recipients", int, 1000, "Most recipients (to+cc+bcc over all personalizations) per request."),
    Option("max_message_bytes", int, 25 * 1024 * 1024, "Largest request body (content plus attachments)."),
    Option("tracking_base_url", str, "http://127.0.0.1:8080", "Public base URL of the tracking service (unsubscribe links)."),
    Option("track_clicks", bool, False, "Rewrite the http(s) links of every message to signed click-tracking URLs under tracking_base_url/c/ (links with a data-pw-notrack attribute are kept)."),
    Option("track_opens", bool, False, "Add an open-tracking pixel (tracking_base_url/o/...) to every html body."),
    Option("tracking_secret", str, "", "HMAC-SHA256 key of the click and open tokens; required by track_clicks and track_opens. Keep it secret and stable: changing it breaks the links of mail already sent."),
    Option("dkim_domain", str, "", "DKIM signing domain (d=); empty = messages are not DKIM-signed."),
    Option("dkim_selector", str, "", "DKIM selector(s) (s=), comma-separated, one per key in dkim_private_key_path."),
    Option("dkim_private_key_path", str, "", "PEM private key file(s), comma-separated. The key type sets the algorithm: RSA (rsa-sha256; 2048 bits recommended, 1024 at least) or Ed25519 (ed25519-sha256, RFC 8463); one key of each signs every message twice (dual signing)."),
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
    _check_cql(values)
    if values["http_listen"] and not re.fullmatch(r".+:[0-9]{1,5}", values["http_listen"]):
        raise InvalidArgumentError("http_listen", "must be host:port, e.g. 127.0.0.1:8081 (empty = no gateway)")
    if values["route_all_to"] and ":" not in values["route_all_to"]:
        raise InvalidArgumentError("route_all_to", "must be host:port, e.g. 127.0.0.1:2525")
    _check_signing(values)


_CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE")
_REPLICATION = re.compile(r"SimpleStrategy:[1-9][0-9]*|NetworkTopologyStrategy:[\w.-]+=[0-9]+(,[\w.-]+=[0-9]+)*")


def _check_cql(values: Mapping[str, Any]) -> None:
    if values["store"] not in ("embedded", "cql"):
        raise InvalidArgumentError("store", "must be embedded or cql")
    if values["cql_dialect"] not in ("auto", "scylla", "cassandra"):
        raise InvalidArgumentError("cql_dialect", "must be auto, scylla or cassandra")
    if values["cql_consistency"].upper() not in _CONSISTENCY_LEVELS:
        raise InvalidArgumentError("cql_consistency", f"must be one of {', '.join(_CONSISTENCY_LEVELS)}")
    if not _REPLICATION.fullmatch(values["cql_replication"]):
        raise InvalidArgumentError(
            "cql_replication", "must read SimpleStrategy:<RF> or NetworkTopologyStrategy:<dc>=<RF>[,<dc>=<RF>...]"
        )
    if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]{0,47}", values["cql_keyspace"]):
        raise InvalidArgumentError("cql_keyspace", "must be a letter then up to 47 letters, digits or _")
    if values["events_retention_days"] < 1:
        raise InvalidArgumentError("events_retention_days", "must be at least 1")
    for name in ("cql_request_timeout", "cql_connect_timeout"):
        if values[name] <= 0:
            raise InvalidArgumentError(name, "must be more than 0")


def _check_signing(values: Mapping[str, Any]) -> None:
    if (values["track_clicks"] or values["track_opens"]) and not values["tracking_secret"]:
        raise InvalidArgumentError("tracking_secret", "is required when track_clicks or track_opens is on")
    paths = [p for p in values["dkim_private_key_path"].split(",") if p.strip()]
    selectors = [s for s in values["dkim_selector"].split(",") if s.strip()]
    if paths and not values["dkim_domain"]:
        raise InvalidArgumentError("dkim_domain", "is required when dkim_private_key_path is set")
    if len(paths) != len(selectors) or (values["dkim_domain"] and not paths):
        raise InvalidArgumentError("dkim_selector", "give one selector per key in dkim_private_key_path")


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

"""Configuration as a schema.

Every option has a type, a default, a description and a ``POSTWAVE_<NAME>`` environment
variable. ``postwave serve --help`` and ``docs/configuration.md`` are generated from
:data:`OPTIONS`; a test checks that the document is current.

Precedence: command-line flag > environment variable > default.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import socket
from collections.abc import Mapping
from typing import Any

from postwave import cpu as cpu_slices
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
    Option("worker_commit_on_loop", bool, True, "The embedded store: a worker writes a flush's results (and settles their queue items) on its event loop when the database's write lock is free at once, instead of on a thread. On a thread each statement waits for the loop, busy signing and composing, to give Python's GIL back, so the write lock is held longer, and the API's group commits wait for it. The loop pauses meanwhile (a millisecond or a few; with sqlite_worker_sync_seconds = 0 the commit's fsync too). When another process holds the lock, the write waits for it on a thread as before, so the loop never waits for a lock. false = always on a thread. Measured in the README (Performance)."),
    Option("worker_niceness", int, 10, "How much lower the CPU priority of a worker process is than the API's (a nice increment, 0-19): acceptance answers first while deliveries take the CPU the API leaves. 0 = the same priority. Applies to the workers `serve` forks (in distributed mode each role gets its CPU from the orchestrator's requests and limits)."),
    Option("api_cpu_slice_us", int, 100, "Linux: the CPU time slice, in microseconds, the API process's threads ask the kernel for (sched_setattr; honoured by the EEVDF scheduler from Linux 6.12, ignored before). A short slice lets the API, which runs a fraction of a millisecond per request, take a core from a worker in the middle of a long computation as soon as a request arrives, instead of waiting up to the default slice (about 1-3 ms); its share of the CPU does not grow. 100-100000, or 0 = the kernel's default. Other roles, and the workers `serve` forks, run with the default. Measured in the README (Performance)."),
    Option("event_loop", str, "uvloop", "The event loop of every process: uvloop (libuv, the default; faster: see the README) or asyncio (the standard library's)."),
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
    Option("sqlite_worker_sync_seconds", float, 1.0, "The embedded file, with sqlite_synchronous=FULL: delivery workers commit their progress (claims, outcomes, retries) without an fsync, and a thread fsyncs the file at most this many seconds later; any acceptance commit, being FULL, makes them durable at once (the WAL is one file, written in order). Acceptance is unaffected: accepted mail is durable when the API answers. A power cut (not a crash) can lose the last this-many seconds of delivery progress: those messages are delivered again, never lost. The fsync each worker commit saved held SQLite's write lock that acceptance waits for (README, Performance). 0 = every worker commit fsyncs (no repeat after a power cut)."),
    Option("store", str, "embedded", "Store backend: embedded (the SQLite file in data_dir) or cql (ScyllaDB or any CQL cluster). A URL sets the connection too: --store cql://host1[,host2][:port][/keyspace]."),
    Option("cql_contact_points", str, "127.0.0.1", "store=cql: comma-separated addresses of the CQL nodes to connect to first."),
    Option("cql_port", int, 9042, "store=cql: the CQL native protocol port."),
    Option("cql_keyspace", str, "postwave", "store=cql: keyspace of postwave's tables; created, with its schema, at start-up."),
    Option("cql_replication", str, "SimpleStrategy:1", "store=cql: replication of a new keyspace: SimpleStrategy:<RF> (one node, tests) or NetworkTopologyStrategy:<dc>=<RF>[,<dc>=<RF>...] (production)."),
    Option("cql_local_dc", str, "", "store=cql: data center preferred by the DC-aware load balancing; empty = the contact points' data center."),
    Option("cql_consistency", str, "LOCAL_QUORUM", "store=cql: consistency of reads and writes; lightweight transactions use LOCAL_SERIAL."),
    Option("cql_request_timeout", float, 5.0, "store=cql: seconds before a CQL request fails; the API then answers UNAVAILABLE."),
    Option("cql_connect_timeout", float, 5.0, "store=cql: seconds to wait for a connection to a node."),
    Option("cql_compression", bool, False, "store=cql: LZ4-compress the CQL protocol's frames. Off by default: payloads are stored compressed already, and on a local network compressing every frame costs client and node more CPU than it saves (docs/storage.md); turn it on across slow links."),
    Option("cql_username", str, "", "store=cql: user name when the cluster requires authentication; empty = none."),
    Option("cql_password", str, "", "store=cql: password of cql_username."),
    Option("cql_dialect", str, "auto", "store=cql: auto, scylla or cassandra: which server the schema is written for (ScyllaDB gets tablets disabled so LWT works); auto asks the server."),
    Option("cql_events_settle_seconds", float, 0.0, "store=cql: the event stream holds back events younger than this, so one whose write lands late (other processes, clock skew) is not skipped by a resuming cursor; 0 = none."),
    Option("events_retention_days", int, 30, "store=cql: days events are kept (table TTL; finished messages and their payloads too, at least as long as a message can live)."),
    Option("accept_batch_max", int, 512, "Most send requests written in one group commit."),
    Option("accept_linger_ms", float, 2.0, "The embedded store (and store=cql with store_async=false): milliseconds a small group commit (fewer than 4 requests, none running) waits for more requests, within this long after a commit that had company (more than one request, or more waiting before its answers), and only while requests arrive more often than once in this time (the mean gap over the last 32 requests). Fewer, fuller commits cost less CPU per request (a commit has a fixed cost: write lock, WAL write and fsync, thread hand-offs); each request may wait this long more. One client sending one request at a time never waits. 0 = off. Measured in the README (Performance)."),
    Option("accept_commit_on_loop", bool, True, "The embedded store: a group commit runs on the API's event loop when the database's write lock is free at once, instead of on a thread: its statements and fsync (about a millisecond) cost less than handing them to a thread and back, and the thread's statements no longer wait for the loop to give up Python's GIL. The loop pauses meanwhile (new requests wait in the socket buffers, as they would wait for the commit). When another process holds the lock (a worker writing its results), the commit waits for it on a thread as before, so the loop never waits for a lock. false = always on a thread. Measured in the README (Performance)."),
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
    # --- distributed mode: queue, roles (owner: lead) ---
    Option("queue", str, "embedded", "Queue backend: embedded (rows of the SQLite file in data_dir) or nats (NATS JetStream at nats_url). A URL sets both: --queue nats://host:4222[,host2:4222]."),
    Option("nats_url", str, "nats://127.0.0.1:4222", "queue=nats: comma-separated NATS server URLs (any node of the cluster; the client learns the others)."),
    Option("events_stream", bool, True, "queue=nats and store=cql: workers publish their delivery events to the JetStream stream PW_EVENTS (events.<tenant>.<type>); the active scheduler's store writer writes them to the store in stream order, a durable consumer applies the suppressions bounces cause, and event readers stop at the writer's watermark. false: workers write their events to the store directly."),
    Option("nats_replicas", int, 1, "queue=nats: replicas of a newly created lane stream (3 in production, so a node can fail; 1 for one node)."),
    Option("nats_request_timeout", float, 5.0, "queue=nats: seconds to wait for JetStream (a publish acknowledgement, a claim); the API then answers UNAVAILABLE."),
    Option("max_deliveries", int, 1000, "Deliveries of one queue item (every claim counts: retries, shaping hand-backs, crashed workers) after which the worker marks the message failed with an event instead of trying again: a safety net against a message that crashes its worker every time; message_expiry_seconds is the normal limit."),
    Option("scheduler_lease_seconds", float, 10.0, "Distributed mode: the active scheduler renews its lease every third of this; a standby takes over this long after the active one dies."),
    Option("nats_depth_gauge_cap", int, 1_000_000, "queue=nats: the active scheduler mirrors each lane's depth, every 5 s, as up to this many tokens in stream PW_<LANE>_DEPTH, whose never-pulled consumer pw-<lane>-depth is what KEDA's nats-jetstream trigger reads as lag (docs/distributed.md, \"Autoscaling gauge\"). Keep it at least maxReplicaCount x lagThreshold of the worker ScaledObject (beyond that the workers are at their most anyway); 0 turns the gauge off."),
    # --- deliverability: sending domains and feedback loops (owner: deliverability helper) ---
    Option("master_key", str, "", "Base64 32-byte key that encrypts the DKIM private keys of sending domains (AES-256-GCM) and signs VERP return paths. Empty = the key in <data_dir>/master.key, created on first use (embedded store only: with store=cql every process must be given the same key, and an empty value is an error when a domain key is needed). Generate one with `postwave domains master-key`."),
    Option("require_verified_domain", bool, False, "Refuse mail whose From domain is not a verified sending domain of the tenant, for every tenant. Off: the rule applies only to tenants that have registered at least one sending domain."),
    Option("bounce_subdomain", str, "pw-bounces", "Label of a sending domain's return-path (bounce) domain: mail from example.com gets MAIL FROM <token>@<bounce_subdomain>.example.com."),
    Option("feedback_mx_host", str, "", "Host name the return-path domain's MX record points to (where `postwave feedback` listens on port 25); empty = helo_name."),
    Option("spf_include", str, "", "Domain whose SPF record lists postwave's sending IPs, published as include:<it> in the sending domain's SPF records; empty = spf.<helo_name>."),
    Option("tracking_subdomain", str, "links", "Label of a sending domain's tracking host, a CNAME to the host of tracking_base_url."),
    Option("dkim_rotation_grace_days", float, 7.0, "Days a rotated-out DKIM selector stays published and verified (mail signed with it may still be in transit) before it is retired."),
    Option("domain_recheck_seconds", float, 3600.0, "Seconds between periodic DNS re-checks of verified sending domains (drifted records mark the domain drifted)."),
    Option("feedback_listen", str, "127.0.0.1:2525", "host:port of the feedback SMTP receiver (`postwave feedback`) for DSN bounces and ARF complaints."),
    # --- observability (owner: observability helper) ---
    Option("admin_listen", str, "127.0.0.1:9464", "host:port of the admin HTTP endpoint (/metrics, /healthz, /readyz); empty = off. Forked workers of `postwave serve` listen on port+1, port+2, ..."),
    Option("metrics_max_sites", int, 200, "Destination sites that get their own metric series; later ones are counted under site=\"other\"."),
    Option("metrics_max_ips", int, 64, "Source IPs that get their own metric series; later ones are counted under ip=\"other\"."),
    Option("metrics_max_tenants", int, 500, "Tenants that get their own series in the per-tenant delivery, bounce and complaint counters; later ones share tenant=\"other\"."),
    Option("log_format", str, "text", "Log line format: text (human) or json (one object per line, with message_id, tenant and trace_id fields)."),
    Option("otlp_endpoint", str, "", "OpenTelemetry: OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; empty = tracing off (no overhead)."),
    Option("trace_sample_ratio", float, 1.0, "OpenTelemetry: share of messages traced (0..1) when otlp_endpoint is set."),
    # --- storage: async group commit, suppression policy (owner: storage helper) ---
    Option("store_async", bool, True, "Run the API's group commit on the store's own asyncio face where it has one (store=cql: the driver's execute_async, several commits in flight); false = on worker threads, one commit at a time, as with the embedded store."),
    Option("accept_commits_in_flight", int, 1, "Group commits the API keeps in flight at once with store_async on a store with an asyncio face (store=cql): their look-ups and send_id claims overlap, their writes go one at a time so event ids land in order. Raise it when the cluster is remote and the API has CPU to spare (round trips dominate); on a CPU-bound host fewer, fuller commits go faster (docs/storage.md)."),
    Option("soft_bounce_limit", int, 3, "Soft bounces of one address (per tenant) within soft_bounce_window_hours that suppress it temporarily."),
    Option("soft_bounce_window_hours", float, 72.0, "Window in which soft bounces of an address are counted."),
    Option("soft_bounce_suppress_hours", float, 24.0, "How long the temporary suppression after soft_bounce_limit soft bounces lasts (it expires by itself)."),
    # --- tracking: tracker, consent, webhooks (owner: tracking helper) ---
    Option("tracker_listen", str, "127.0.0.1:8080", "host:port of the click/open/unsubscribe HTTP service (`postwave tracker`)."),
    Option("tracking_key_id", str, "1", "Id of tracking_secret in the tracking key ring (1-16 letters or digits); tokens name the key that signed them, so keys rotate without breaking mail already sent."),
    Option("tracking_previous_keys", str, "", "Retired tracking keys still accepted by the tracker, as id:secret pairs, comma-separated (keep one as long as mail signed with it may be clicked)."),
    Option("tracking_requires_consent", bool, True, "Track opens and clicks of a message only when its request (or the recipient's personalization) grants tracking_consent; off: track_clicks/track_opens alone decide."),
    Option("tracking_bots_file", str, "", "JSON file of machine traffic signatures: {\"user_agents\": {\"reason\": \"regex\", ...}, \"networks\": {\"reason\": [\"cidr\", ...]}}; empty = the built-in list (mail privacy proxies, link scanners)."),
    Option("tracking_prefetch_seconds", float, 10.0, "An open or click this soon after the message was delivered is counted as machine (reason prefetch): scanners fetch at delivery, people later."),
    Option("webhook_batch_size", int, 100, "Most events in one webhook request."),
    Option("webhook_timeout_seconds", float, 10.0, "Seconds a tenant's endpoint has to answer one webhook request."),
    Option("webhook_retry_base_seconds", float, 5.0, "First webhook retry delay; doubles per failed attempt, with full jitter."),
    Option("webhook_retry_max_seconds", float, 1800.0, "Upper bound of one webhook retry delay."),
    Option("webhook_retry_window_seconds", float, 86400.0, "An endpoint failing this long is disabled (event webhook.disabled); its undelivered events wait for a redrive."),
    Option("webhook_poll_seconds", float, 0.5, "Seconds between looks for new events when an endpoint is caught up."),
    Option("webhook_allow_networks", str, "", "Comma-separated CIDRs webhook URLs may resolve to even though they are loopback, private or link-local (tests, on-premise receivers); everything else in those ranges is refused."),
    Option("webhook_lease_seconds", float, 10.0, "Several `postwave webhooks` processes may run; one holds this lease and dispatches, renewing it every third of this; a standby takes over within this long after the active one dies (queue=nats: a JetStream key-value lease; embedded: a lock file in data_dir)."),
    Option("tracking_domain_scheme", str, "https", "Scheme of the links that use a tenant's own tracking host (<tracking_subdomain>.<sending domain>, once its CNAME is verified): https in production, where the tracker's TLS terminates; http only for tests and plain-HTTP on-premise setups."),
    # --- API authentication: failed-key throttling per peer (owner: security helper) ---
    Option("auth_failure_burst", int, 20, "Failed authentications (missing, malformed, unknown or revoked API keys) one client address may make in a burst before the API refuses all its calls with RESOURCE_EXHAUSTED (HTTP 429, Retry-After); 0 = no throttling."),
    Option("auth_failure_rate", float, 0.5, "Failed authentications per second a client address earns back after a burst (token bucket refill)."),
    Option("auth_failure_max_peers", int, 10000, "Client addresses whose failures are remembered at once; beyond it the least recently failing address is forgotten, so memory stays bounded under a spray of addresses."),
    # --- shaping: sites, adaptive rates, IP pools, warm-up (owner: shaping helper) ---
    Option("shaping_config", str, "", "TOML file of traffic shaping: destination sites and their per-IP limits, AIMD parameters, IP pools and their routing by tenant/stream, the IP warm-up schedule. Its keys are laid over the shipped defaults (server/postwave/shaping/default.toml, see docs/shaping.md); empty = the defaults alone. Checked at start-up."),
    # --- reputation: stored lane state; tenant circuit breakers (owner: reputation helper) ---
    Option("reputation_sync_seconds", float, 5.0, "Seconds between a worker's merges of what its (source IP, site) lanes learned (adapted rates, pauses, reply counts) into the store, and its adoption of what the other workers learned; also written at shutdown and read at start-up (docs/shaping.md)."),
    Option("breaker_enabled", bool, True, "Tenant circuit breakers: slow down, then pause, a tenant whose bounce or complaint rate crosses the thresholds below (docs/shaping.md)."),
    Option("breaker_window_minutes", float, 60.0, "Sliding window (minutes, at most 1440) over which a tenant's per-stream bounce and complaint rates are measured."),
    Option("breaker_min_samples", int, 200, "Deliveries plus SMTP bounces a stream needs within the window before its bounce rate can trip the breaker."),
    Option("breaker_min_complaint_samples", int, 1000, "Deliveries a stream needs within the window before its complaint rate can trip the breaker."),
    Option("breaker_bounce_rates", str, "0.05,0.08,0.10", "Bounce rates (fractions: bounces / (deliveries + SMTP bounces), SMTP-time and asynchronous hard bounces) at which the breaker slows the tenant, pauses its bulk stream, pauses all its sending: three comma-separated, non-decreasing values."),
    Option("breaker_complaint_rates", str, "0.001,0.003,0.005", "Complaint rates (complaints / deliveries) at which the breaker slows the tenant, pauses its bulk stream, pauses all its sending."),
    Option("breaker_slow_rate_per_minute", float, 60.0, "A slowed tenant's sending rate (messages per minute over all workers; its transactional mail keeps this rate while its bulk stream is paused)."),
    Option("breaker_hold_seconds", float, 300.0, "A paused tenant's message goes back to the queue for this long before it is looked at again (nothing is lost; after a resume it leaves within this time). Keep hold x max_deliveries above message_expiry_seconds."),
    Option("breaker_refresh_seconds", float, 2.0, "Seconds between a worker's writes of counted outcomes (then evaluating the tenants concerned) and its re-reads of tenants' breaker states."),
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
    given = _expand_urls(given, env)
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


def _expand_urls(given: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """``store=cql://h1,h2:9042/keyspace`` and ``queue=nats://h1:4222,h2:4222`` set the
    backend and its connection options in one value (flag or environment variable)."""
    out = dict(given)
    store = str(out.get("store", env.get("POSTWAVE_STORE", "")))
    if store.startswith("cql://"):
        match = re.fullmatch(r"cql://([^/:]+(?:,[^/:]+)*)(?::([0-9]{1,5}))?(?:/(\w+))?/?", store)
        if not match:
            raise InvalidArgumentError("store", "a CQL URL reads cql://host1[,host2...][:port][/keyspace]")
        out["store"] = "cql"
        out["cql_contact_points"] = match.group(1)
        if match.group(2):
            out["cql_port"] = match.group(2)
        if match.group(3):
            out["cql_keyspace"] = match.group(3)
    queue = str(out.get("queue", env.get("POSTWAVE_QUEUE", "")))
    if queue.startswith("nats://"):
        hosts = queue[len("nats://"):].split(",")
        out["queue"] = "nats"
        out["nats_url"] = ",".join(h if h.startswith("nats://") else f"nats://{h}" for h in hosts)
    return out


def _check(values: Mapping[str, Any]) -> None:
    if values["sqlite_synchronous"].upper() not in ("FULL", "NORMAL"):
        raise InvalidArgumentError("sqlite_synchronous", "must be FULL or NORMAL")
    if not 0 <= values["sqlite_worker_sync_seconds"] < math.inf:
        raise InvalidArgumentError("sqlite_worker_sync_seconds",
                                   "must be 0 (workers fsync every commit) or more seconds")
    for name in ("workers", "worker_concurrency", "accept_batch_max", "max_recipients"):
        if values[name] < 1:
            raise InvalidArgumentError(name, "must be at least 1")
    if values["event_loop"] not in ("uvloop", "asyncio"):
        raise InvalidArgumentError("event_loop", "must be uvloop or asyncio")
    if values["api_cpu_slice_us"] and not cpu_slices.SLICE_MIN_US <= values["api_cpu_slice_us"] <= cpu_slices.SLICE_MAX_US:
        raise InvalidArgumentError("api_cpu_slice_us", f"must be 0 (the kernel's default) or from {cpu_slices.SLICE_MIN_US} "
                                   f"to {cpu_slices.SLICE_MAX_US} microseconds (the range the kernel takes)")
    if not 0 <= values["worker_niceness"] <= 19:
        raise InvalidArgumentError("worker_niceness", "must be from 0 (the API's priority) to 19 (the lowest)")
    _check_cql(values)
    _check_queue(values)
    if values["http_listen"] and not re.fullmatch(r".+:[0-9]{1,5}", values["http_listen"]):
        raise InvalidArgumentError("http_listen", "must be host:port, e.g. 127.0.0.1:8081 (empty = no gateway)")
    if values["route_all_to"] and ":" not in values["route_all_to"]:
        raise InvalidArgumentError("route_all_to", "must be host:port, e.g. 127.0.0.1:2525")
    _check_signing(values)
    _check_deliverability(values)
    _check_observability(values)
    _check_storage(values)
    _check_tracking(values)
    _check_shaping(values)
    _check_breakers(values)
    _check_auth(values)


def _check_auth(values: Mapping[str, Any]) -> None:
    # --- API authentication (owner: security helper) ---
    if values["auth_failure_burst"] < 0:
        raise InvalidArgumentError("auth_failure_burst", "must be >= 0 (0 = no throttling)")
    if values["auth_failure_rate"] <= 0:
        raise InvalidArgumentError("auth_failure_rate", "must be more than 0")
    if values["auth_failure_max_peers"] < 1:
        raise InvalidArgumentError("auth_failure_max_peers", "must be at least 1")


def _check_storage(values: Mapping[str, Any]) -> None:
    for name in ("accept_commits_in_flight", "soft_bounce_limit"):
        if values[name] < 1:
            raise InvalidArgumentError(name, "must be at least 1")
    for name in ("soft_bounce_window_hours", "soft_bounce_suppress_hours"):
        if values[name] <= 0:
            raise InvalidArgumentError(name, "must be more than 0")


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


def _check_queue(values: Mapping[str, Any]) -> None:
    if values["queue"] not in ("embedded", "nats"):
        raise InvalidArgumentError("queue", "must be embedded or nats (or a nats://host:port URL)")
    for url in values["nats_url"].split(","):
        if not re.fullmatch(r"(nats|tls)://[^\s/,]+:[0-9]{1,5}", url.strip()):
            raise InvalidArgumentError("nats_url", f"{url.strip()!r} is not nats://host:port (comma-separate several)")
    if values["nats_replicas"] not in (1, 3, 5):
        raise InvalidArgumentError("nats_replicas", "must be 1, 3 or 5 (JetStream replicas)")
    for name in ("nats_request_timeout", "scheduler_lease_seconds"):
        if values[name] <= 0:
            raise InvalidArgumentError(name, "must be more than 0")
    if values["max_deliveries"] < 1:
        raise InvalidArgumentError("max_deliveries", "must be at least 1")
    if values["nats_depth_gauge_cap"] < 0:
        raise InvalidArgumentError("nats_depth_gauge_cap", "must be 0 (no gauge) or more")


def _check_signing(values: Mapping[str, Any]) -> None:
    if (values["track_clicks"] or values["track_opens"]) and not values["tracking_secret"]:
        raise InvalidArgumentError("tracking_secret", "is required when track_clicks or track_opens is on")
    paths = [p for p in values["dkim_private_key_path"].split(",") if p.strip()]
    selectors = [s for s in values["dkim_selector"].split(",") if s.strip()]
    if paths and not values["dkim_domain"]:
        raise InvalidArgumentError("dkim_domain", "is required when dkim_private_key_path is set")
    if len(paths) != len(selectors) or (values["dkim_domain"] and not paths):
        raise InvalidArgumentError("dkim_selector", "give one selector per key in dkim_private_key_path")


def _check_observability(values: Mapping[str, Any]) -> None:
    # --- observability (owner: observability helper) ---
    if values["admin_listen"] and not re.fullmatch(r".+:[0-9]{1,5}", values["admin_listen"]):
        raise InvalidArgumentError("admin_listen", "must be host:port, e.g. 127.0.0.1:9464 (empty = off)")
    for name in ("metrics_max_sites", "metrics_max_ips", "metrics_max_tenants"):
        if values[name] < 1:
            raise InvalidArgumentError(name, "must be at least 1")
    if values["log_format"] not in ("text", "json"):
        raise InvalidArgumentError("log_format", "must be text or json")
    if not 0.0 <= values["trace_sample_ratio"] <= 1.0:
        raise InvalidArgumentError("trace_sample_ratio", "must be between 0 and 1")


def _check_deliverability(values: Mapping[str, Any]) -> None:
    # --- deliverability (owner: deliverability helper) ---
    if not re.fullmatch(r".+:[0-9]{1,5}", values["feedback_listen"]):
        raise InvalidArgumentError("feedback_listen", "must be host:port, e.g. 127.0.0.1:2525")
    for name in ("bounce_subdomain", "tracking_subdomain"):
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", values[name]):
            raise InvalidArgumentError(name, "must be one DNS label (lower-case letters, digits, hyphens)")
    if values["dkim_rotation_grace_days"] < 0 or values["domain_recheck_seconds"] <= 0:
        raise InvalidArgumentError("dkim_rotation_grace_days", "grace must be >= 0 and the re-check interval > 0")


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
    lines += [
        "",
        "## gRPC",
        "",
        "postwave sets `GRPC_EXPERIMENTS=-event_engine_listener` unless the environment already sets",
        "`GRPC_EXPERIMENTS`: the API then serves through gRPC's own poller instead of its EventEngine",
        "listener, which costs fewer thread hand-offs per request (README, Performance). Set",
        "`GRPC_EXPERIMENTS` to another value (even an empty one) to choose otherwise.",
    ]
    return "\n".join(lines) + "\n"


def _check_tracking(values: Mapping[str, Any]) -> None:
    # --- tracking (owner: tracking helper) ---
    if not re.fullmatch(r".+:[0-9]{1,5}", values["tracker_listen"]):
        raise InvalidArgumentError("tracker_listen", "must be host:port, e.g. 127.0.0.1:8080")
    if not re.fullmatch(r"[A-Za-z0-9]{1,16}", values["tracking_key_id"]):
        raise InvalidArgumentError("tracking_key_id", "must be 1-16 ASCII letters or digits")
    for pair in filter(None, (p.strip() for p in values["tracking_previous_keys"].split(","))):
        if not re.fullmatch(r"[A-Za-z0-9]{1,16}:.+", pair):
            raise InvalidArgumentError("tracking_previous_keys", "must be id:secret pairs, comma-separated")
    if values["webhook_batch_size"] < 1:
        raise InvalidArgumentError("webhook_batch_size", "must be at least 1")
    if values["tracking_domain_scheme"] not in ("https", "http"):
        raise InvalidArgumentError("tracking_domain_scheme", "must be https or http")
    for cidr in filter(None, (c.strip() for c in values["webhook_allow_networks"].split(","))):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise InvalidArgumentError("webhook_allow_networks", f"{cidr!r} is not a CIDR network") from None
    for name in ("webhook_timeout_seconds", "webhook_retry_base_seconds", "webhook_retry_max_seconds",
                 "webhook_poll_seconds", "webhook_retry_window_seconds", "webhook_lease_seconds"):
        if values[name] <= 0:
            raise InvalidArgumentError(name, "must be more than 0")


def _check_breakers(values: Mapping[str, Any]) -> None:
    # --- reputation and breakers (owner: reputation helper) ---
    for name in ("reputation_sync_seconds", "breaker_slow_rate_per_minute", "breaker_hold_seconds",
                 "breaker_refresh_seconds"):
        if values[name] <= 0:
            raise InvalidArgumentError(name, "must be more than 0")
    if not 0 < values["breaker_window_minutes"] <= 1440:
        raise InvalidArgumentError("breaker_window_minutes", "must be more than 0 and at most 1440 (a day)")
    for name in ("breaker_min_samples", "breaker_min_complaint_samples"):
        if values[name] < 1:
            raise InvalidArgumentError(name, "must be at least 1")
    from postwave.breakers.policy import BreakerPolicy

    BreakerPolicy.from_config(Config(values))  # parses the rate lists


def _check_shaping(values: Mapping[str, Any]) -> None:
    # --- shaping (owner: shaping helper) ---
    if values["shaping_config"]:
        from postwave.shaping.policy import load_policy  # reads and checks the file

        load_policy(values["shaping_config"], default_ip=values["source_address"])


def streams_events(config: Config) -> bool:
    """Whether delivery events go through the events stream (queue=nats, store=cql and the
    ``events_stream`` option on): workers publish them; the active scheduler stores them,
    applies the suppressions and counts the circuit breakers' outcomes."""
    return bool(config.queue == "nats" and config.store == "cql" and config.events_stream)

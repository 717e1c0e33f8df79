"""The shaping policy: sites, adaptive rates, warm-up and IP pools, read from a TOML file.

The package ships ``default.toml`` (the documented defaults); the ``shaping_config`` option
names an operator's file whose keys are laid over it table by table, so a file that only
adds a pool or changes Yahoo's rate keeps every other default. Everything is checked when
the file is read: a typo is a start-up error naming the file and the key, never a silent
fallback to a default.
"""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import tomllib
from collections.abc import Mapping
from importlib import resources
from typing import Any

from postwave.errors import InvalidArgumentError

__all__ = ["Adaptive", "IpRate", "Limits", "Pool", "PoolIP", "ShapingPolicy", "SiteRule", "Warmup", "load_policy"]

DEFAULT_FILE = "default.toml"
STREAMS = ("transactional", "bulk")


@dataclasses.dataclass(frozen=True, slots=True)
class Limits:
    """Per source IP limits toward one destination site."""

    max_connections: int
    messages_per_minute: float
    burst: float


@dataclasses.dataclass(frozen=True, slots=True)
class IpRate:
    """A source IP's total rate over every site."""

    messages_per_minute: float
    burst: float


@dataclasses.dataclass(frozen=True, slots=True)
class SiteRule:
    """A named site: the MX host domains that belong to it and its limits."""

    name: str
    mx: tuple[str, ...]
    limits: Limits


@dataclasses.dataclass(frozen=True, slots=True)
class Adaptive:
    """AIMD parameters (see default.toml)."""

    decrease_factor: float
    increase_fraction: float
    success_window: int
    min_fraction: float
    decrease_holdoff_seconds: float
    throttle_pause_seconds: float = 0.0  # pause the (IP, site) lane this long after a throttling reply
    block_pause_seconds: float = 0.0  # ... and this long after a block (5xx policy refusal before DATA)


@dataclasses.dataclass(frozen=True, slots=True)
class Warmup:
    """Warm-up caps: ``schedule`` is ((day, daily cap), ...) by ascending day."""

    schedule: tuple[tuple[int, int], ...]
    hourly_fraction: float

    def caps(self, day: int) -> tuple[int, int] | None:
        """(daily, hourly) caps on warm-up day ``day`` (1 = first); None once warmed."""
        if not self.schedule or day > self.schedule[-1][0]:
            return None
        daily = self.schedule[0][1]
        for first, cap in self.schedule:
            if first <= day:
                daily = cap
        return daily, max(1, int(daily * self.hourly_fraction))


@dataclasses.dataclass(frozen=True, slots=True)
class PoolIP:
    """One source address of a pool; ``warmup``: it follows the warm-up schedule."""

    ip: str
    warmup: bool = False
    start: float | None = None  # UTC epoch of warm-up day 1; None: its first use


@dataclasses.dataclass(frozen=True, slots=True)
class Pool:
    """A named set of source IPs; an empty pool sends from the default address."""

    name: str
    ips: tuple[PoolIP, ...]
    dedicated: bool


@dataclasses.dataclass(frozen=True, slots=True)
class ShapingPolicy:
    """The whole shaping configuration, validated."""

    defaults: Limits
    source_ip: IpRate
    adaptive: Adaptive
    sites: tuple[SiteRule, ...]
    warmup: Warmup
    pools: Mapping[str, Pool]
    default_pool: str
    tenant_pools: Mapping[str, str]
    stream_pools: Mapping[str, str]

    def pool_for(self, tenant_id: str, stream: str) -> Pool:
        """The pool of a message: by tenant, else by stream, else the default pool."""
        name = self.tenant_pools.get(tenant_id) or self.stream_pools.get(stream) or self.default_pool
        return self.pools[name]


def load_policy(path: str = "", *, default_ip: str = "") -> ShapingPolicy:
    """Read the shipped defaults, lay the file at ``path`` (if any) over them, validate.

    ``default_ip`` (the ``source_address`` option) fills a pool that lists no IPs.

    Raises:
        InvalidArgumentError: the file cannot be read or parsed, or a key is unknown or bad;
            ``field`` names the file and the key.
    """
    base = tomllib.loads(resources.files("postwave.shaping").joinpath(DEFAULT_FILE).read_text("utf-8"))
    source = DEFAULT_FILE
    if path:
        source = path
        try:
            with open(path, "rb") as handle:
                base = _merge(base, tomllib.load(handle))
        except OSError as exc:
            raise InvalidArgumentError("shaping_config", f"cannot read {path}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise InvalidArgumentError("shaping_config", f"{path} is not valid TOML: {exc}") from None
    return _Reader(source).policy(base, default_ip)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict) and key not in ("tenants", "streams"):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Reader:
    """Validates the merged tables; every error names the file and the dotted key."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> InvalidArgumentError:
        return InvalidArgumentError(f"shaping_config {self.source}: {key}", message)

    def table(self, data: Any, key: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(key, "must be a table")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}", f"unknown key (expected one of {', '.join(allowed)})")
        return data

    def number(self, data: Mapping[str, Any], key: str, where: str, *, low: float, high: float = float("inf"),
               integer: bool = False) -> Any:
        value = data.get(key)
        kinds = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            kind = "an integer" if integer else "a number"
            raise self.fail(f"{where}.{key}", f"must be {kind} in [{low:g}, {high:g}], not {value!r}")
        return value

    def limits(self, data: Mapping[str, Any], where: str, fallback: Limits | None) -> Limits:
        merged = {**(dataclasses.asdict(fallback) if fallback else {}), **data}
        return Limits(
            int(self.number(merged, "max_connections", where, low=1, high=10_000, integer=True)),
            float(self.number(merged, "messages_per_minute", where, low=0.001)),
            float(self.number(merged, "burst", where, low=1)),
        )

    def policy(self, data: Mapping[str, Any], default_ip: str) -> ShapingPolicy:
        self.table(data, "(top level)", ("defaults", "source_ip", "adaptive", "sites", "warmup", "pools", "routing"))
        defaults = self.limits(self.table(data["defaults"], "defaults", tuple(Limits.__slots__)), "defaults", None)
        pools = {name: self.pool(name, entry, default_ip)
                 for name, entry in self.table(data["pools"], "pools", tuple(data["pools"])).items()}
        routing = self.table(data["routing"], "routing", ("default_pool", "tenants", "streams"))
        return ShapingPolicy(
            defaults=defaults, source_ip=self.ip_rate(data["source_ip"]), adaptive=self.adaptive(data["adaptive"]),
            sites=tuple(self.site(name, entry, defaults)
                        for name, entry in self.table(data["sites"], "sites", tuple(data["sites"])).items()),
            warmup=self.warmup(data["warmup"]), pools=pools,
            default_pool=self.pool_name(routing.get("default_pool"), "routing.default_pool", pools),
            tenant_pools=self.mapping(routing.get("tenants", {}), "routing.tenants", pools, None),
            stream_pools=self.mapping(routing.get("streams", {}), "routing.streams", pools, STREAMS),
        )

    def ip_rate(self, data: Any) -> IpRate:
        self.table(data, "source_ip", tuple(IpRate.__slots__))
        return IpRate(float(self.number(data, "messages_per_minute", "source_ip", low=0.001)),
                      float(self.number(data, "burst", "source_ip", low=1)))

    def adaptive(self, data: Any) -> Adaptive:
        where = "adaptive"
        self.table(data, where, tuple(Adaptive.__slots__))
        return Adaptive(
            decrease_factor=float(self.number(data, "decrease_factor", where, low=0.01, high=0.99)),
            increase_fraction=float(self.number(data, "increase_fraction", where, low=0.001, high=1)),
            success_window=int(self.number(data, "success_window", where, low=1, integer=True)),
            min_fraction=float(self.number(data, "min_fraction", where, low=0.001, high=1)),
            decrease_holdoff_seconds=float(self.number(data, "decrease_holdoff_seconds", where, low=0)),
            throttle_pause_seconds=float(self.number(data, "throttle_pause_seconds", where, low=0, high=86400)),
            block_pause_seconds=float(self.number(data, "block_pause_seconds", where, low=0, high=86400)),
        )

    def site(self, name: str, data: Any, defaults: Limits) -> SiteRule:
        where = f"sites.{name}"
        self.table(data, where, ("mx", *Limits.__slots__))
        mx = data.get("mx")
        if not isinstance(mx, list) or not mx or not all(isinstance(d, str) and d.strip(".") for d in mx):
            raise self.fail(f"{where}.mx", "must be a non-empty list of MX host domains")
        limits = {k: v for k, v in data.items() if k != "mx"}
        return SiteRule(name, tuple(d.lower().strip(".") for d in mx), self.limits(limits, where, defaults))

    def warmup(self, data: Any) -> Warmup:
        self.table(data, "warmup", ("schedule", "hourly_fraction"))
        schedule = data.get("schedule")
        if not isinstance(schedule, list) or not all(
            isinstance(step, list) and len(step) == 2 and all(isinstance(v, int) and v >= 1 for v in step)
            for step in schedule
        ):
            raise self.fail("warmup.schedule", "must be a list of [day, messages per day] pairs of positive integers")
        days = [day for day, _ in schedule]
        if days != sorted(set(days)):
            raise self.fail("warmup.schedule", "days must be given in ascending order, each once")
        fraction = float(self.number(data, "hourly_fraction", "warmup", low=0.001, high=1))
        return Warmup(tuple((day, cap) for day, cap in schedule), fraction)

    def pool(self, name: str, data: Any, default_ip: str) -> Pool:
        where = f"pools.{name}"
        self.table(data, where, ("ips", "dedicated"))
        ips = data.get("ips", [])
        if not isinstance(ips, list):
            raise self.fail(f"{where}.ips", "must be a list")
        members = tuple(self.pool_ip(entry, f"{where}.ips[{i}]") for i, entry in enumerate(ips))
        if not members and default_ip:
            members = (PoolIP(default_ip),)
        if len({m.ip for m in members}) != len(members):
            raise self.fail(f"{where}.ips", "lists an address twice")
        dedicated = data.get("dedicated", False)
        if not isinstance(dedicated, bool):
            raise self.fail(f"{where}.dedicated", "must be true or false")
        return Pool(name, members, dedicated)

    def pool_ip(self, entry: Any, where: str) -> PoolIP:
        if isinstance(entry, str):
            return PoolIP(self.address(entry, where))
        data = self.table(entry, where, ("ip", "warmup", "start"))
        ip = self.address(data.get("ip"), f"{where}.ip")
        warmup = data.get("warmup", False)
        if not isinstance(warmup, bool):
            raise self.fail(f"{where}.warmup", "must be true or false")
        start = data.get("start")
        if start is None:
            return PoolIP(ip, warmup)
        if not isinstance(start, (str, datetime.date)):
            raise self.fail(f"{where}.start", "must be a date, YYYY-MM-DD")
        try:
            day = start if isinstance(start, datetime.date) else datetime.date.fromisoformat(start)
        except ValueError:
            raise self.fail(f"{where}.start", f"must be a date, YYYY-MM-DD, not {start!r}") from None
        moment = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.timezone.utc)
        return PoolIP(ip, warmup, moment.timestamp())

    def address(self, value: Any, where: str) -> str:
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise self.fail(where, f"not an IP address: {value!r}") from None

    def pool_name(self, name: Any, where: str, pools: Mapping[str, Pool]) -> str:
        if name not in pools:
            raise self.fail(where, f"no pool named {name!r} (pools: {', '.join(sorted(pools))})")
        return str(name)

    def mapping(self, data: Any, where: str, pools: Mapping[str, Pool], keys: tuple[str, ...] | None) -> dict[str, str]:
        table = self.table(data, where, keys if keys is not None else tuple(data) if isinstance(data, Mapping) else ())
        return {str(k): self.pool_name(v, f"{where}.{k}", pools) for k, v in table.items()}

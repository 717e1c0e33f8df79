"""Authentication of every RPC: `authorization: Bearer <key>` metadata, checked against the store.

A key is looked up by its id and its secret compared by hash in constant time (see
:mod:`postwave.api.keys`). Failed authentications are throttled per client address
(:class:`FailureThrottle`): a client guessing keys gets RESOURCE_EXHAUSTED with a retry
delay -- before its key is even looked at -- while every other address is served as usual.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import time
from collections.abc import Callable

import grpc

from postwave.api import keys
from postwave.config import Config
from postwave.errors import AuthenticationError, PermissionDeniedError, RateLimitedError
from postwave.lookups import Lookups
from postwave.store.base import ApiKeyRecord, Store

log = logging.getLogger(__name__)

CACHE_SECONDS = 2.0
# Key records cached at once: a spray of made-up key ids must not grow memory without bound.
CACHE_MAX_KEYS = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a tenant, through one key with some scopes."""

    tenant_id: str
    key_id: str
    scopes: tuple[str, ...]
    operator: bool


class FailureThrottle:
    """A token bucket of failed authentications per client address.

    Each address starts with ``burst`` tokens; a failure takes one, and tokens come back at
    ``rate`` per second. An address without a token is refused outright until one is
    back. Only failures cost (a valid key never does), so a busy legitimate client is never
    slowed. At most ``max_peers`` addresses are remembered: the least recently failing one
    is forgotten first (it gets a full bucket again, which only favours the innocent).
    """

    def __init__(self, *, burst: int, rate: float, max_peers: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = float(burst)
        self.rate = rate
        self.max_peers = max_peers
        self.clock = clock
        self._buckets: collections.OrderedDict[str, tuple[float, float]] = collections.OrderedDict()

    @classmethod
    def from_config(cls, config: Config) -> FailureThrottle | None:
        """The throttle of ``auth_failure_*``; None when ``auth_failure_burst`` is 0."""
        if not config.auth_failure_burst:
            return None
        return cls(burst=config.auth_failure_burst, rate=config.auth_failure_rate,
                   max_peers=config.auth_failure_max_peers)

    def __len__(self) -> int:
        return len(self._buckets)

    def _tokens(self, peer: str, now: float) -> float:
        tokens, stamp = self._buckets.get(peer, (self.burst, now))
        return min(self.burst, tokens + max(0.0, now - stamp) * self.rate)

    def check(self, peer: str) -> None:
        """Raise RateLimitedError while ``peer`` has no failure left to spend."""
        if not self.burst or peer not in self._buckets:
            return
        now = self.clock()
        tokens = self._tokens(peer, now)
        if tokens < 1.0:
            raise RateLimitedError(
                f"too many failed authentications from {peer}; retry later with a valid API key",
                retry_after=(1.0 - tokens) / self.rate,
            )

    def failed(self, peer: str) -> None:
        """Charge one failure to ``peer``."""
        if not self.burst:
            return
        now = self.clock()
        tokens = self._tokens(peer, now) - 1.0
        self._buckets[peer] = (tokens, now)
        self._buckets.move_to_end(peer)
        while len(self._buckets) > self.max_peers:
            self._buckets.popitem(last=False)
        if tokens < 1.0:  # the address just ran out (refused calls are not charged: logged once)
            log.warning("authentication failures from %s are throttled (burst %d, %.3g/s)",
                        peer, self.burst, self.rate)


def peer_address(peer: str) -> str:
    """The client's address without its port: ``ipv4:10.0.0.7:5123`` -> ``10.0.0.7``,
    ``ipv6:[::1]:5123`` -> ``::1`` (gRPC's notation; the REST gateway writes the same)."""
    scheme, _, rest = peer.partition(":")
    if not rest:
        return peer
    if rest.startswith("["):
        return rest[1:].partition("]")[0]
    if scheme == "ipv4":
        return rest.partition(":")[0]
    return rest


class Authenticator:
    """Resolves bearer keys to principals, caching records briefly.

    The cache makes the hot path free of store reads; a revocation through this process
    clears its entry at once, and one made elsewhere (another API process, the CLI) takes
    effect within ``CACHE_SECONDS``.
    """

    def __init__(self, store: Store, *, throttle: FailureThrottle | None = None) -> None:
        self.store = store
        self.throttle = throttle
        self._cache: Lookups[str, tuple[ApiKeyRecord | None, bool]] = Lookups(CACHE_SECONDS, CACHE_MAX_KEYS)

    def forget(self, key_id: str) -> None:
        """Drop a cached key (after revoking it)."""
        self._cache.forget(key_id)

    async def authenticate(self, context: grpc.aio.ServicerContext, scope: str) -> Principal:
        """The caller's principal; raises AuthenticationError, PermissionDeniedError, or
        RateLimitedError for an address that failed too often."""
        if self.throttle is None:
            return await self._authenticate(context, scope)
        peer = peer_address(context.peer() or "")
        self.throttle.check(peer)
        try:
            return await self._authenticate(context, scope)
        except AuthenticationError:
            self.throttle.failed(peer)
            raise

    async def _authenticate(self, context: grpc.aio.ServicerContext, scope: str) -> Principal:
        presented = _bearer(context)
        parts = keys.split_key(presented)
        if parts is None:
            raise AuthenticationError("malformed API key: expected 'authorization: Bearer pw_<id>_<secret>'")
        key_id, secret = parts
        record, operator = await self._record(key_id)
        if record is None or not keys.matches(record, secret):
            raise AuthenticationError("unknown API key")
        if record.revoked:
            raise AuthenticationError(f"API key {key_id} was revoked")
        if scope not in record.scopes:
            raise PermissionDeniedError(f"API key {key_id} lacks the scope {scope!r} this call needs")
        return Principal(record.tenant_id, key_id, record.scopes, operator)

    async def _record(self, key_id: str) -> tuple[ApiKeyRecord | None, bool]:
        return await self._cache.get(key_id, lambda: asyncio.to_thread(self._load, key_id))

    def _load(self, key_id: str) -> tuple[ApiKeyRecord | None, bool]:
        record = self.store.get_key(key_id)
        if record is None:
            return None, False
        tenant = self.store.get_tenant(record.tenant_id)
        return record, bool(tenant and tenant.operator)


def _bearer(context: grpc.aio.ServicerContext) -> str:
    for name, value in context.invocation_metadata() or ():
        if name == "authorization":
            text = value if isinstance(value, str) else value.decode()
            scheme, _, token = text.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError("authorization metadata must read 'Bearer <API key>'")
            return token.strip()
    raise AuthenticationError("missing API key: send metadata 'authorization: Bearer <API key>'")

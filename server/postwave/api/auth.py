"""Authentication of every RPC: `authorization: Bearer <key>` metadata, checked against the store."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import grpc

from postwave.api import keys
from postwave.errors import AuthenticationError, PermissionDeniedError
from postwave.store.base import ApiKeyRecord, Store

CACHE_SECONDS = 2.0


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a tenant, through one key with some scopes."""

    tenant_id: str
    key_id: str
    scopes: tuple[str, ...]
    operator: bool


class Authenticator:
    """Resolves bearer keys to principals, caching records briefly.

    The cache makes the hot path free of store reads; a revocation through this process
    clears its entry at once, and one made elsewhere (another API process, the CLI) takes
    effect within ``CACHE_SECONDS``.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, tuple[float, ApiKeyRecord | None, bool]] = {}

    def forget(self, key_id: str) -> None:
        """Drop a cached key (after revoking it)."""
        self._cache.pop(key_id, None)

    async def authenticate(self, context: grpc.aio.ServicerContext, scope: str) -> Principal:
        """The caller's principal; raises AuthenticationError or PermissionDeniedError."""
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
        now = time.monotonic()
        hit = self._cache.get(key_id)
        if hit and hit[0] > now:
            return hit[1], hit[2]
        record, operator = await asyncio.to_thread(self._load, key_id)
        self._cache[key_id] = (now + CACHE_SECONDS, record, operator)
        return record, operator

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

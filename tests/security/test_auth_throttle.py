"""Repeated authentication failures from one address are throttled; other addresses are not.

Over a real platform: gRPC from 127.0.0.1 guesses keys until refused with RESOURCE_EXHAUSTED
and RetryInfo -- then even a valid key from 127.0.0.1 is refused, before any lookup -- while
the REST gateway, called from 127.0.0.2, serves a valid key as usual.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from postwave.api import auth, keys
from postwave.api.auth import Authenticator, FailureThrottle, peer_address
from postwave.errors import AuthenticationError, RateLimitedError
from postwave.store.base import Tenant
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database
from postwave.v1 import admin_pb2
from tests.platform import Platform, bearer

BURST = 5


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[Platform]:
    """A platform that throttles after BURST failures and earns one back every 100 s."""
    data = tmp_path / "strict"
    data.mkdir()
    platform = Platform(data, auth_failure_burst=BURST, auth_failure_rate=0.01)
    try:
        yield platform.start()
    finally:
        platform.stop()


def _http(platform: Platform, key: str, source: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", platform.http_port, timeout=20, source_address=(source, 0))
    try:
        conn.request("GET", "/v1/templates", headers={"Authorization": f"Bearer {key}"})
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, json.loads(reply.read())
    finally:
        conn.close()


def _list_keys(platform: Platform, key: str) -> grpc.RpcError | None:
    try:
        platform.admin_stub().ListApiKeys(admin_pb2.ListApiKeysRequest(), metadata=bearer(key), timeout=10)
    except grpc.RpcError as exc:
        return exc
    return None


def test_guessing_keys_from_one_address_is_throttled_and_others_are_served(strict: Platform) -> None:
    _, key = strict.tenant("legit")  # made before any failure, with the operator key
    guess = lambda: f"pw_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"  # noqa: E731
    codes = [_list_keys(strict, guess()) for _ in range(BURST)]
    assert [c.code() if c else None for c in codes] == [grpc.StatusCode.UNAUTHENTICATED] * BURST

    refused = [_list_keys(strict, k) for k in (guess(), key)]  # the valid key too: refused before lookup
    for error in refused:
        assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
        status = rpc_status.from_call(error)
        info = error_details_pb2.RetryInfo()
        assert status is not None and status.details[0].Unpack(info)
        assert info.retry_delay.seconds >= 1 and "failed authentications" in error.details()

    # The gateway shares the throttle: 127.0.0.1 gets 429 with Retry-After, ...
    status_code, headers, body = _http(strict, key, "127.0.0.1")
    assert status_code == 429 and int(headers["retry-after"]) >= 1 and body["code"] == 8
    assert body["details"][0]["@type"].endswith("google.rpc.RetryInfo")
    # ... while another address is served, and has a bucket of its own.
    status_code, _, body = _http(strict, key, "127.0.0.2")
    assert status_code == 200 and "templates" in body or body == {}
    assert _http(strict, guess(), "127.0.0.2")[0] == 401
    assert _http(strict, key, "127.0.0.2")[0] == 200
    assert strict.log().count("authentication failures from 127.0.0.1 are throttled") == 1
    assert keys.split_key(key)[1] not in strict.log()  # the secret (it may itself hold a "_")


def test_the_throttle_refills_and_forgets_old_addresses_first() -> None:
    now = [1000.0]
    throttle = FailureThrottle(burst=3, rate=0.5, max_peers=100, clock=lambda: now[0])
    for _ in range(3):
        throttle.check("10.0.0.1")
        throttle.failed("10.0.0.1")
    with pytest.raises(RateLimitedError) as info:
        throttle.check("10.0.0.1")
    assert info.value.retry_after == pytest.approx(2.0)
    throttle.check("10.0.0.2")  # another address is not affected
    now[0] += 2.0  # one failure earned back
    throttle.check("10.0.0.1")
    throttle.failed("10.0.0.1")
    with pytest.raises(RateLimitedError):
        throttle.check("10.0.0.1")
    # A spray of addresses keeps at most max_peers, dropping the least recently failing.
    for i in range(5000):
        throttle.failed(f"10.1.{i // 256}.{i % 256}")
    assert len(throttle) == 100
    throttle.check("10.0.0.1")  # forgotten: a full bucket again
    assert FailureThrottle(burst=0, rate=1.0, max_peers=1).check("x") is None


@pytest.mark.parametrize("peer,address", [
    ("ipv4:127.0.0.1:51234", "127.0.0.1"), ("ipv6:[::1]:51234", "::1"), ("ipv4:10.0.0.9", "10.0.0.9"),
    ("unix:/run/postwave.sock", "/run/postwave.sock"), ("", ""),
])
def test_peer_address_drops_the_port(peer: str, address: str) -> None:
    assert peer_address(peer) == address


class _Call:
    """The metadata and peer of one call, as a servicer context exposes them."""

    def __init__(self, key: str, peer: str = "ipv4:127.0.0.1:40000") -> None:
        self._metadata = (("authorization", f"Bearer {key}"),)
        self._peer = peer

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def peer(self) -> str:
        return self._peer


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    """A real embedded store with one tenant and one key."""
    s = EmbeddedStore(Database(str(tmp_path / "p.db"), synchronous="NORMAL"))
    s.create_tenant(Tenant("t_a", "a", 0, 0, time.time()))
    yield s
    s.close()


async def test_unknown_key_ids_do_not_grow_the_cache_without_bound(store: EmbeddedStore,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "CACHE_MAX_KEYS", 50)
    authenticator = Authenticator(store)
    for _ in range(300):
        with pytest.raises(AuthenticationError):
            await authenticator.authenticate(_Call(f"pw_{secrets.token_hex(8)}_x"), "mail.send")  # type: ignore[arg-type]
    assert len(authenticator._cache) == 50


async def test_keys_are_found_by_id_and_compared_by_hash_in_constant_time(
        store: EmbeddedStore, monkeypatch: pytest.MonkeyPatch) -> None:
    record, key = keys.new_key("t_a", "k", ["mail.send"])
    store.create_key(record)
    key_id, secret = keys.split_key(key)  # type: ignore[misc]
    looked_up: list[str] = []
    compared: list[tuple[bytes, bytes]] = []
    real_get, real_compare = store.get_key, keys.hmac.compare_digest

    def get_key(wanted: str) -> Any:
        looked_up.append(wanted)
        return real_get(wanted)

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(store, "get_key", get_key)
    monkeypatch.setattr(keys.hmac, "compare_digest", compare_digest)
    authenticator = Authenticator(store)
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")  # right prefix, wrong last character
    with pytest.raises(AuthenticationError):
        await authenticator.authenticate(_Call(f"pw_{key_id}_{wrong}"), "mail.send")  # type: ignore[arg-type]
    principal = await authenticator.authenticate(_Call(key), "mail.send")  # type: ignore[arg-type]
    assert principal.key_id == key_id
    # One lookup, by id (the second call hit the cache); both secrets compared as sha256
    # digests by hmac.compare_digest, never as the presented text.
    assert looked_up == [key_id]
    assert compared == [(record.secret_hash, hashlib.sha256(wrong.encode()).digest()),
                        (record.secret_hash, hashlib.sha256(secret.encode()).digest())]
    assert secret.encode() not in record.secret_hash and len(record.secret_hash) == 32

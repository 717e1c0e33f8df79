"""Sending domains against a real DNS server: correct, missing and wrong records; drift;
key rotation; keys encrypted at rest."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from postwave import config as config_mod
from postwave.domains import keys, masterkey
from postwave.domains.masterkey import MasterKey
from postwave.domains.service import DomainService, DomainView, transition_selectors
from postwave.domains.verify import RecordCheck
from postwave.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    MasterKeyError,
    NotFoundError,
)
from postwave.store.embedded import EmbeddedStore
from postwave.store.sqlite import Database

from tests.domains.conftest import FEEDBACK_MX, TRACKING_TARGET, ZoneServer, zone


@dataclasses.dataclass
class Env:
    service: DomainService
    store: EmbeddedStore
    data_dir: Path

    def point_at(self, dns: ZoneServer) -> None:
        config = self.service.config.replace(dns_nameservers="127.0.0.1", dns_port=dns.port)
        self.service = DomainService(self.store, config)


@pytest.fixture
def env(tmp_path: Path) -> Any:
    config = config_mod.load({
        "data_dir": str(tmp_path), "helo_name": "mta.postwave.test", "feedback_mx_host": FEEDBACK_MX,
        "tracking_base_url": f"https://{TRACKING_TARGET}", "dns_nameservers": "127.0.0.1", "dns_port": "9",
    }, environ={})
    store = EmbeddedStore(Database(config.db_path, synchronous="NORMAL"))
    yield Env(DomainService(store, config), store, tmp_path)
    store.close()


def _by_purpose(view: DomainView) -> dict[str, list[dict[str, object]]]:
    found: dict[str, list[dict[str, object]]] = {}
    for record in view.records:
        found.setdefault(record.purpose, []).append({**view.check_of(record), "required": record.required})
    return found


async def test_add_returns_every_record_and_keeps_keys_encrypted(env: Env) -> None:
    view = await env.service.add("t1", "Acme.TEST.")
    assert view.domain.domain == "acme.test" and view.domain.state == "pending"
    names = {(r.purpose, r.name, r.type, r.required) for r in view.records}
    rsa, ed = sorted(view.selectors, key=lambda s: s.algorithm, reverse=True)
    assert (rsa.algorithm, ed.algorithm) == ("rsa-sha256", "ed25519-sha256")
    assert names == {
        ("dkim", f"{rsa.selector}._domainkey.acme.test", "TXT", True),
        ("dkim", f"{ed.selector}._domainkey.acme.test", "TXT", True),
        ("return_path_mx", "pw-bounces.acme.test", "MX", True),
        ("return_path_spf", "pw-bounces.acme.test", "TXT", True),
        ("spf", "acme.test", "TXT", False),
        ("dmarc", "_dmarc.acme.test", "TXT", False),
        ("tracking", "links.acme.test", "CNAME", False),
    }
    values = {r.purpose: r.value for r in view.records if r.purpose != "dkim"}
    assert values["return_path_mx"] == f"10 {FEEDBACK_MX}"
    assert values["return_path_spf"] == "v=spf1 include:spf.mta.postwave.test -all"
    assert values["dmarc"].startswith("v=DMARC1; p=none")
    assert values["tracking"] == TRACKING_TARGET

    stored = env.store.list_selectors("acme.test")
    box = masterkey.load(env.service.config)
    for record in stored:
        signing = keys.signing_key(record, box)  # decrypts with the master key in data_dir
        der = signing.private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption())
        assert der not in record.private_key and der[:64] not in record.private_key
        with pytest.raises(MasterKeyError, match="differs"):
            keys.signing_key(record, MasterKey(b"\x01" * 32))
        # Bound to its own row: the same ciphertext under another selector name fails.
        with pytest.raises(MasterKeyError):
            keys.signing_key(dataclasses.replace(record, selector="other"), box)
    assert (env.data_dir / "master.key").stat().st_mode & 0o077 == 0


async def test_bad_names_duplicates_and_other_tenants(env: Env) -> None:
    for bad in ("", "localhost", "-x.test", "a..test", "x.123", "a" * 64 + ".test", "exa mple.test"):
        with pytest.raises(InvalidArgumentError, match="domain"):
            await env.service.add("t1", bad)
    with pytest.raises(InvalidArgumentError, match="algorithms"):
        await env.service.add("t1", "acme.test", ["dsa"])
    await env.service.add("t1", "acme.test", ["ed25519"])
    assert [s.algorithm for s in env.store.list_selectors("acme.test")] == ["ed25519-sha256"]
    with pytest.raises(Exception, match="already registered"):
        await env.service.add("t2", "acme.test")
    with pytest.raises(NotFoundError):
        await env.service.verify("t2", "acme.test")
    assert [v.domain.domain for v in await env.service.list_domains("t1")] == ["acme.test"]
    assert await env.service.list_domains("t2") == []


async def test_verified_when_every_record_is_published(env: Env, make_zone: Callable[..., ZoneServer]) -> None:
    view = await env.service.add("t1", "acme.test")
    env.point_at(make_zone(**zone(view)))
    verified = await env.service.verify("t1", "acme.test")
    assert verified.domain.state == "verified" and verified.domain.verified > 0
    assert {r.purpose: env_status(verified, r) for r in verified.records} == {
        "dkim": "ok", "return_path_mx": "ok", "return_path_spf": "ok", "spf": "ok", "dmarc": "ok", "tracking": "ok"}
    assert {s.state for s in verified.selectors} == {"active"}
    assert verified.dmarc_ok


def env_status(view: DomainView, record: Any) -> str:
    return str(view.check_of(record).get("status"))


async def test_missing_records_are_reported_one_by_one(env: Env, make_zone: Callable[..., ZoneServer]) -> None:
    view = await env.service.add("t1", "acme.test")
    # Only the return-path MX is there; everything else missing.
    partial = zone(view, skip=("dkim", "return_path_spf", "spf", "dmarc", "tracking"))
    env.point_at(make_zone(**partial))
    checked = await env.service.verify("t1", "acme.test")
    assert checked.domain.state == "pending"
    report = _by_purpose(checked)
    assert [c["status"] for c in report["dkim"]] == ["missing", "missing"]
    assert all("no TXT record at" in str(c["problem"]) for c in report["dkim"])
    assert report["return_path_mx"][0]["status"] == "ok"
    for purpose in ("return_path_spf", "spf", "dmarc", "tracking"):
        assert report[purpose][0]["status"] == "missing", purpose
    assert {s.state for s in checked.selectors} == {"pending"}


async def test_wrong_records_say_what_differs(env: Env, make_zone: Callable[..., ZoneServer]) -> None:
    view = await env.service.add("t1", "acme.test")
    other = await env.service.add("t9", "other.test")
    rsa_name = next(r.name for r in view.records if r.purpose == "dkim" and "k=rsa" in r.value)
    other_rsa = next(r.value for r in other.records if r.purpose == "dkim" and "k=rsa" in r.value)
    wrong = {
        "dkim": {"txt": {rsa_name: [other_rsa]}},  # another domain's key; the ed25519 record is absent
        "return_path_mx": {"mx": {"pw-bounces.acme.test": [(10, "mx.elsewhere.test")]}},
        "return_path_spf": {"txt": {"pw-bounces.acme.test": ["v=spf1 include:_spf.elsewhere.test -all"]}},
        "spf": {"txt": {"acme.test": ["v=spf1 include:spf.mta.postwave.test ~all", "v=spf1 mx -all"]}},
        "dmarc": {"txt": {"_dmarc.acme.test": ["v=DMARC1; rua=mailto:x@acme.test"]}},
        "tracking": {"cname": {"links.acme.test": "track.elsewhere.test"}},
    }
    env.point_at(make_zone(**zone(view, replace=wrong)))
    checked = await env.service.verify("t1", "acme.test")
    assert checked.domain.state == "pending"
    report = _by_purpose(checked)
    dkim = sorted(report["dkim"], key=lambda c: str(c["status"]))
    assert [c["status"] for c in dkim] == ["missing", "wrong"]
    assert "differs from selector" in str(dkim[1]["problem"])
    assert report["return_path_mx"][0]["status"] == "wrong"
    assert "mx.elsewhere.test" in str(report["return_path_mx"][0]["problem"])
    assert report["return_path_mx"][0]["found"] == ["10 mx.elsewhere.test"]
    assert "lacks include:spf.mta.postwave.test" in str(report["return_path_spf"][0]["problem"])
    assert "2 SPF records" in str(report["spf"][0]["problem"])
    assert "no valid p=" in str(report["dmarc"][0]["problem"])
    assert "track.elsewhere.test" in str(report["tracking"][0]["problem"])


async def test_drift_is_marked_by_the_periodic_recheck_and_cleared(
    env: Env, make_zone: Callable[..., ZoneServer]
) -> None:
    view = await env.service.add("t1", "acme.test")
    dns = make_zone(**zone(view))
    env.point_at(dns)
    assert (await env.service.verify("t1", "acme.test")).domain.state == "verified"
    assert await env.service.recheck() == []  # checked just now: not due
    dns.restart(**zone(view, skip=("return_path_mx",)))
    later = time.time() + env.service.config.domain_recheck_seconds + 1
    (drifted,) = await env.service.recheck(now=later)
    assert drifted.domain.state == "drifted"
    assert _by_purpose(drifted)["return_path_mx"][0]["status"] == "missing"
    dns.restart(**zone(view))
    (back,) = await env.service.recheck(now=time.time() + 2 * env.service.config.domain_recheck_seconds)
    assert back.domain.state == "verified"


async def test_dns_outage_changes_no_state(env: Env, make_zone: Callable[..., ZoneServer]) -> None:
    view = await env.service.add("t1", "acme.test")
    dns = make_zone(**zone(view))
    env.point_at(dns)
    await env.service.verify("t1", "acme.test")
    dns.stop()
    checked = await env.service.verify("t1", "acme.test")
    assert checked.domain.state == "verified"
    assert {env_status(checked, r) for r in checked.records} == {"error"}


async def test_rotation_publishes_before_activating_and_retires_after_grace(
    env: Env, make_zone: Callable[..., ZoneServer]
) -> None:
    first = await env.service.add("t1", "acme.test")
    dns = make_zone(**zone(first))
    env.point_at(dns)
    with pytest.raises(FailedPreconditionError, match="verify it before rotating"):
        await env.service.rotate("t1", "acme.test")
    await env.service.verify("t1", "acme.test")
    old = {s.selector for s in env.store.list_selectors("acme.test")}

    rotated = await env.service.rotate("t1", "acme.test")
    new = {s.selector for s in rotated.selectors} - old
    assert len(new) == 2 and {s.state for s in rotated.selectors if s.selector in new} == {"pending"}
    with pytest.raises(FailedPreconditionError, match="in progress"):
        await env.service.rotate("t1", "acme.test")
    # Not yet published: the old selectors keep signing; the domain stays verified.
    unpublished = await env.service.verify("t1", "acme.test")
    states = {s.selector: s.state for s in unpublished.selectors}
    assert unpublished.domain.state == "verified"
    assert {states[s] for s in old} == {"active"} and {states[s] for s in new} == {"pending"}

    dns.restart(**zone(unpublished))  # now every selector's record is published
    published = await env.service.verify("t1", "acme.test")
    states = {s.selector: s.state for s in published.selectors}
    assert {states[s] for s in new} == {"active"} and {states[s] for s in old} == {"retiring"}
    retiring = [s for s in published.selectors if s.selector in old]
    grace = env.service.config.dkim_rotation_grace_days * 86400
    assert all(abs(s.retire_after - (s.changed + grace)) < 1 for s in retiring)
    assert {r.selector: r.required for r in published.records if r.purpose == "dkim"} == {
        **{s: True for s in new}, **{s: False for s in old}}

    # After the grace period a check retires them (pure step, so no waiting for days).
    checks = [RecordCheck(r, "ok") for r in published.records]
    after = transition_selectors(list(published.selectors), checks, now=time.time() + grace + 1, grace=grace)
    assert {s.selector: s.state for s in after if s.selector in old} == {s: "retired" for s in old}


def test_master_key_rules(tmp_path: Path) -> None:
    cql = config_mod.load({"data_dir": str(tmp_path), "store": "cql"}, environ={})
    with pytest.raises(MasterKeyError, match="with store=cql every process must be given the same key"):
        masterkey.load(cql)
    assert not (tmp_path / "master.key").exists()
    for bad, message in (("not base64!", "not base64"), ("c2hvcnQ=", "must be 32 bytes")):
        with pytest.raises(MasterKeyError, match=message):
            masterkey.load(cql.replace(master_key=bad))
    given = masterkey.new_master_key()
    box = masterkey.load(cql.replace(master_key=given))
    assert box.decrypt(box.encrypt(b"secret", context="a/b"), context="a/b") == b"secret"
    embedded = config_mod.load({"data_dir": str(tmp_path)}, environ={})
    first = masterkey.load(embedded)
    assert (tmp_path / "master.key").exists()
    sealed = first.encrypt(b"x", context="c")
    assert masterkey._load.__wrapped__(embedded.master_key, embedded.data_dir, "embedded").decrypt(
        sealed, context="c") == b"x"  # read back from the file by a fresh load

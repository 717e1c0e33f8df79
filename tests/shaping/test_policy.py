"""The shaping file (pure parsing and classification): defaults, overrides, errors, sites."""

from __future__ import annotations

from pathlib import Path

import pytest

from postwave import config as config_module
from postwave.errors import InvalidArgumentError
from postwave.mta.mx import Target
from postwave.shaping.policy import load_policy
from postwave.shaping.sites import SiteMap


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "shaping.toml"
    path.write_text(text)
    return str(path)


def _targets(*hosts: str) -> list[Target]:
    return [Target(host, "127.0.1.9", 25) for host in hosts]


def test_the_shipped_defaults_group_the_big_providers_and_ramp_warmup_over_30_days() -> None:
    policy = load_policy()
    sites = SiteMap(policy)
    assert sites.site_for(_targets("gmail-smtp-in.l.google.com")).name == "google"
    assert sites.site_for(_targets("aspmx.l.google.com", "alt1.aspmx.l.google.com")).name == "google"
    assert sites.site_for(_targets("example-com.mail.protection.outlook.com")).name == "microsoft"
    assert sites.site_for(_targets("mta7.am0.yahoodns.net")).name == "yahoo"
    assert sites.site_for(_targets("mx01.mail.icloud.com")).name == "apple"
    other = sites.site_for(_targets("mx1.example.net"))
    assert other.name == "example.net" and other.limits == policy.defaults
    assert sites.site_for(_targets("mx2.example.net")) is other  # one site per MX domain
    assert sites.site_for(_targets("mx.example.co.uk")).name == "example.co.uk"
    assert sites.site_for(_targets("127.0.0.1")).name == "127.0.0.1"  # a route given as an address
    assert policy.warmup.caps(1) == (50, 5)
    assert policy.warmup.caps(30) == (500000, 50000) and policy.warmup.caps(31) is None
    assert policy.pool_for("any-tenant", "bulk").name == "default" and policy.pools["default"].ips == ()


def test_a_file_overrides_only_what_it_names_and_routes_tenants_and_streams(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, """
[sites.yahoo]
messages_per_minute = 30
[warmup]
schedule = [[1, 10], [3, 40]]
[pools.bulk]
ips = ["127.0.0.20", { ip = "127.0.0.21", warmup = true, start = "2026-11-01" }]
[routing]
streams = { bulk = "bulk" }
tenants = { t-vip = "default" }
"""), default_ip="127.0.0.9")
    yahoo = next(s for s in policy.sites if s.name == "yahoo")
    assert yahoo.limits.messages_per_minute == 30 and yahoo.limits.max_connections == 5  # kept default
    assert yahoo.mx == ("yahoodns.net", "yahoo.com", "aol.com")
    assert [s.name for s in policy.sites] == ["google", "microsoft", "yahoo", "apple"]
    assert policy.warmup.caps(2) == (10, 1) and policy.warmup.caps(3) == (40, 4) and policy.warmup.caps(4) is None
    assert policy.pool_for("t-1", "bulk").name == "bulk" and policy.pool_for("t-vip", "bulk").name == "default"
    assert policy.pool_for("t-1", "transactional").ips[0].ip == "127.0.0.9"  # the source_address option
    member = policy.pools["bulk"].ips[1]
    assert member.warmup and member.start == 1793491200.0  # 2026-11-01T00:00:00Z


@pytest.mark.parametrize(("text", "field", "words"), [
    ("[defaults]\nmessages_per_minute = 0\n", "defaults.messages_per_minute", "must be a number"),
    ("[defaults]\nmax_conections = 3\n", "defaults.max_conections", "unknown key"),
    ("[sites.acme]\nmessages_per_minute = 5\n", "sites.acme.mx", "non-empty list"),
    ("[warmup]\nschedule = [[2, 10], [1, 5]]\n", "warmup.schedule", "ascending"),
    ("[pools.x]\nips = [\"300.1.1.1\"]\n", "pools.x.ips[0]", "not an IP address"),
    ("[pools.x]\nips = [{ ip = \"127.0.0.5\", start = \"yesterday\" }]\n", "pools.x.ips[0].start", "YYYY-MM-DD"),
    ("[routing]\ntenants = { t1 = \"nope\" }\n", "routing.tenants.t1", "no pool named 'nope'"),
    ("[routing]\nstreams = { marketing = \"default\" }\n", "routing.streams.marketing", "unknown key"),
    ("[adaptive]\ndecrease_factor = 1.5\n", "adaptive.decrease_factor", "in [0.01, 0.99]"),
    ("[defaults\n", "shaping_config", "not valid TOML"),
])
def test_a_bad_file_is_refused_naming_the_file_and_the_key(tmp_path: Path, text: str, field: str, words: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InvalidArgumentError) as raised:
        load_policy(path)
    assert raised.value.field.endswith(field) and words in raised.value.description
    if field != "shaping_config":
        assert path in raised.value.field


def test_the_configuration_checks_the_file_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError) as raised:
        config_module.load({"shaping_config": str(tmp_path / "missing.toml")}, environ={})
    assert raised.value.field == "shaping_config" and "cannot read" in raised.value.description
    good = _write(tmp_path, "[defaults]\nburst = 3\n")
    assert config_module.load({"shaping_config": good}, environ={}).shaping_config == good

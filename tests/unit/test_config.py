"""The configuration schema: precedence, coercion, errors, and the generated reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from postwave import config
from postwave.cli import build_parser
from postwave.errors import InvalidArgumentError

ROOT = Path(__file__).resolve().parents[2]


def test_flag_beats_environment_beats_default() -> None:
    env = {"POSTWAVE_WORKERS": "3", "POSTWAVE_SMTP_STARTTLS": "no"}
    assert config.load({}, env).workers == 3
    assert config.load({"workers": "5"}, env).workers == 5
    assert config.load({}, {}).workers == 2
    assert config.load({}, env).smtp_starttls is False


def test_bad_values_name_the_option_and_how_to_set_it() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        config.load({}, {"POSTWAVE_WORKERS": "many"})
    assert info.value.field == "workers" and "POSTWAVE_WORKERS" in info.value.message
    with pytest.raises(InvalidArgumentError):
        config.load({"route_all_to": "nohostport"}, {})
    with pytest.raises(InvalidArgumentError):
        config.load({"sqlite_synchronous": "OFF"}, {})
    with pytest.raises(InvalidArgumentError):
        config.load({"no_such_option": 1}, {})


@pytest.mark.parametrize("value", ["-1", "20"])
def test_worker_niceness_is_a_nice_increment(value: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        config.load({"worker_niceness": value}, {})
    assert info.value.field == "worker_niceness" and "0" in info.value.message and "19" in info.value.message
    assert config.load({}, {}).worker_niceness == 10
    assert config.load({"worker_niceness": "0"}, {}).worker_niceness == 0


def test_reference_document_is_current() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text() == config.markdown(), \
        "docs/configuration.md is stale: run 'make docs'"


def test_every_option_has_a_serve_flag_with_help() -> None:
    serve = build_parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    text = serve.format_help()
    for option in config.OPTIONS:
        assert option.flag in text and option.env in text

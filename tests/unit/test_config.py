"""The configuration schema: precedence, coercion, errors, and the generated reference."""

from __future__ import annotations

import os
import subprocess
import sys
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


@pytest.mark.parametrize("value", ["-1", "99", "100001"])
def test_api_cpu_slice_is_within_the_kernels_range(value: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        config.load({"api_cpu_slice_us": value}, {})
    assert info.value.field == "api_cpu_slice_us" and "100" in info.value.message and "100000" in info.value.message
    assert config.load({}, {}).api_cpu_slice_us == 100
    assert [config.load({"api_cpu_slice_us": v}, {}).api_cpu_slice_us for v in ("0", "100", "100000")] == [0, 100, 100000]


def test_reference_document_is_current() -> None:
    assert (ROOT / "docs" / "configuration.md").read_text() == config.markdown(), \
        "docs/configuration.md is stale: run 'make docs'"


def test_every_option_has_a_serve_flag_with_help() -> None:
    serve = build_parser()._subparsers._group_actions[0].choices["serve"]  # type: ignore[union-attr]
    text = serve.format_help()
    for option in config.OPTIONS:
        assert option.flag in text and option.env in text


GRPC_PROBE = """
import os, sys
import postwave
import grpc
grpc.aio.server()  # the experiments are read and checked by here
print(os.environ.get("GRPC_EXPERIMENTS"))
"""


def _grpc_probe(env: dict[str, str]) -> tuple[str, str]:
    done = subprocess.run([sys.executable, "-c", GRPC_PROBE], env=env, capture_output=True, text=True,
                          timeout=60, cwd=ROOT / "server", check=True)
    return done.stdout.strip(), done.stderr


def test_the_grpc_listener_experiment_is_off_unless_the_operator_chose() -> None:
    base = {k: v for k, v in os.environ.items() if k != "GRPC_EXPERIMENTS"}
    chosen, stderr = _grpc_probe(base)
    assert chosen == "-event_engine_listener"
    # A gRPC release that drops the experiment says so; then this default has to go.
    assert "Unknown experiment" not in stderr, stderr
    assert _grpc_probe({**base, "GRPC_EXPERIMENTS": ""})[0] == ""
    assert _grpc_probe({**base, "GRPC_EXPERIMENTS": "-event_engine_client"})[0] == "-event_engine_client"

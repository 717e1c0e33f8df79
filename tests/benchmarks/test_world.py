"""The benchmark world (e2e.World) cleans up after itself, even when its platform cannot start."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.servers.addresses import free_port

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

import e2e  # noqa: E402


def test_a_distributed_world_without_its_cassandra_node_stops_everything_it_started(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTWAVE_CQL_PORT", str(free_port()))  # nothing listens there
    with e2e.free_sink() as sink:
        world = e2e.World(workers=1, sink=sink, distributed=True)
        with pytest.raises(AssertionError, match="exited"):  # the roles cannot reach the node
            world.__enter__()
        # Dropping the keyspace failed (no node), and the steps after it ran all the same:
        # before, dnsmasq and the NATS server outlived the run.
        dns = world.dns._process
        assert dns is None or dns.poll() is not None
        assert world._nats is None and world.platform is None and world.keyspace == ""
        assert not Path(world._tmp.name).exists()
        assert sink.messages == 0


def test_the_platform_runs_under_the_interpreter_given(tmp_path: Path) -> None:
    # A link to this interpreter stands for another one (a PGO build, say): the platform's
    # processes must be started by that path, and the messages still go through.
    other = tmp_path / "python-under-test"
    other.symlink_to(sys.executable)
    with e2e.free_sink() as sink, e2e.World(workers=1, sink=sink, python=str(other)) as world:
        assert world.platform is not None and world.platform.proc is not None
        argv = Path(f"/proc/{world.platform.proc.pid}/cmdline").read_bytes().split(b"\0")
        assert argv[:3] == [str(other).encode(), b"-m", b"postwave.cli"]
        point = e2e.run_point(world, messages=20)
    assert point["delivered"] == 20


def test_python_is_refused_with_distributed_mode_and_checked_before_a_run(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="embedded mode only"):
        e2e.World(python=sys.executable, distributed=True)
    with pytest.raises(SystemExit):
        e2e.main(["--python", "/nonexistent/python", "--messages", "1"])
    assert "--python /nonexistent/python: No such file or directory" in capsys.readouterr().err

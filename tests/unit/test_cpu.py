"""postwave.cpu against the running kernel: each case runs in a child interpreter, so the
test runner's own threads keep their slice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SERVER = Path(__file__).resolve().parents[2] / "server"


def _child(code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SERVER), os.environ.get("PYTHONPATH", "")]))}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return json.loads(done.stdout)


def test_a_process_slice_reaches_every_thread_and_those_started_after() -> None:
    got = _child("""
        import json, os, threading
        from postwave import cpu
        default = cpu.slice_ns()
        ready, stop = threading.Barrier(2), threading.Event()
        before = threading.Thread(target=lambda: (ready.wait(), stop.wait()))
        before.start(); ready.wait()
        os.nice(3)
        count = cpu.set_process_slice(250_000)
        late = []
        after = threading.Thread(target=lambda: late.append(cpu.slice_ns()))
        after.start(); after.join()
        set_before = cpu.slice_ns(before.native_id)
        cpu.set_process_slice(0)
        out = {"default": default, "count": count, "before": set_before, "after": late[0],
               "nice": os.getpriority(os.PRIO_PROCESS, 0), "reset": cpu.slice_ns(), "reset_before": cpu.slice_ns(before.native_id)}
        stop.set(); before.join()
        print(json.dumps(out))
    """)
    assert got["count"] >= 2
    assert got["before"] == got["after"] == 250_000  # a thread already running, and a new one
    assert got["nice"] == 3  # the nice value set before is kept
    assert got["reset"] == got["reset_before"] == got["default"] != 250_000


def test_the_kernel_clamps_a_slice_to_its_range() -> None:
    got = _child("""
        import json
        from postwave import cpu
        cpu.set_slice(1_000)
        low = cpu.slice_ns()
        cpu.set_slice(10**9)
        print(json.dumps({"low": low, "high": cpu.slice_ns()}))
    """)
    assert got == {"low": 100_000, "high": 100_000_000}


def test_a_thread_that_is_gone_is_an_error_naming_the_cause() -> None:
    got = _child("""
        import json
        from postwave import cpu
        try:
            cpu.set_slice(100_000, tid=2**22 + 12345)
        except cpu.SliceUnsupported as exc:
            print(json.dumps({"errno": exc.errno, "text": str(exc), "oserror": isinstance(exc, OSError)}))
    """)
    assert got["errno"] == 3 and "No such process" in got["text"] and got["oserror"]

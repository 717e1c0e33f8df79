"""machine: what a benchmark run records of the processor it ran on.

The /proc/cpuinfo texts here are written for the test (two processors, so the parser must stop at
the first); the calibrations run for real on this machine.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

import machine  # noqa: E402

CPUINFO = """processor\t: 0
vendor_id\t: ExampleVendor
model name\t: Example Processor 9000
cpu MHz\t\t: 2399.998
flags\t\t: fpu sse2 avx2 adx bmi2 avx512f avx512ifma hypervisor

processor\t: 1
vendor_id\t: ExampleVendor
model name\t: A Second Model
cpu MHz\t\t: 1200.000
flags\t\t: fpu sha_ni
"""


def test_cpuinfo_reads_the_first_processor_and_keeps_the_flags_that_matter() -> None:
    info = machine.cpuinfo(CPUINFO)
    assert info == {"model": "Example Processor 9000", "mhz": 2400,
                    "flags": ["avx512ifma", "avx2", "adx", "bmi2", "hypervisor"]}


def test_cpuinfo_without_a_clock_or_model() -> None:
    # some architectures (and containers) print neither
    assert machine.cpuinfo("processor\t: 0\nflags\t\t: sha_ni\n") == {"model": "unknown", "mhz": None,
                                                                       "flags": ["sha_ni"]}


def test_describe_calibrates_this_machine_and_the_line_says_what_dkim_costs() -> None:
    described = machine.describe()
    assert described["cpus"] >= 1 and described["kernel"]
    assert described["rsa2048_signatures_per_s"] > 0 and described["python_loop_ns"] > 0
    text = machine.line(described)
    cores = 1000 / described["rsa2048_signatures_per_s"]
    assert machine.rsa_cores_at(described, 1000) == cores
    assert f"DKIM alone takes {cores:.2f} of the {described['cpus']} cores" in text
    assert text.startswith(f"Machine: {described['model']} (")
    assert described["python_path"] == sys.executable and described["python_version"] == platform.python_version()
    assert isinstance(described["python_libpython_shared"], bool)
    assert f"under the platform's Python, {platform.python_version()} at {sys.executable} (" in text


def test_describe_measures_another_interpreter_by_running_it(tmp_path: Path) -> None:
    # a link to this interpreter stands for another one: the description must come from a
    # process started under that path, not from this process
    other = tmp_path / "python-under-test"
    other.symlink_to(sys.executable)
    described = machine.describe(str(other))
    assert described["python_path"] == str(other) and described["python_loop_ns"] > 0
    with pytest.raises(RuntimeError, match="could not describe itself"):
        machine.interpreter(str(tmp_path / "missing-python"))


def test_libpython_shared_reads_the_memory_map() -> None:
    assert machine.libpython_shared("7f00-7f01 r-xp 0 08:01 1 /usr/lib/libpython3.11.so.1.0\n")
    assert not machine.libpython_shared("5600-5601 r-xp 0 08:01 1 /usr/bin/python3.11\n")


def test_line_names_the_missing_flags_when_none_is_present() -> None:
    described = {"model": "m", "mhz": None, "flags": [], "cpus": 2, "kernel": "k",
                 "rsa2048_signatures_per_s": 500.0, "python_loop_ns": 50.0}
    text = machine.line(described, target=250)
    assert text.endswith("a Python loop step takes 50 ns.")  # a run recorded before the interpreter was
    built = machine.line({**described, "python_path": "/opt/py", "python_version": "3.11.9",
                          "python_libpython_shared": False})
    assert built.endswith("takes 50 ns under the platform's Python, 3.11.9 at /opt/py (libpython linked in).")
    assert "(2 CPUs; flags none of avx512ifma, avx2" in text
    assert "at 250 msgs/s DKIM alone takes 0.50 of the 2 cores" in text

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


STAT_BEFORE = "cpu  100 10 50 800 5 0 3 2 0 0\ncpu0 50 5 25 400 2 0 1 1 0 0\nintr 12345\n"
STAT_AFTER = "cpu  160 10 70 900 5 0 3 12 0 0\ncpu0 80 5 35 450 2 0 1 6 0 0\nintr 12400\n"


def test_cpu_ticks_reads_the_all_cpus_line_and_steal_is_its_share_of_the_time_between() -> None:
    before, after = machine.cpu_ticks(STAT_BEFORE), machine.cpu_ticks(STAT_AFTER)
    assert before == (2, 970) and after == (12, 1160)
    assert machine.steal_percent(before, after) == round(100 * 10 / 190, 2)
    assert machine.steal_percent(after, after) is None
    assert machine.cpu_ticks("intr 1\n") == (0, 0)


def test_cpu_ticks_of_this_machine_advance() -> None:
    import time

    before = machine.cpu_ticks()
    time.sleep(0.05)
    after = machine.cpu_ticks()
    assert after[1] > before[1] > 0 and after[0] >= before[0]
    steal = machine.steal_percent(before, after)
    assert steal is not None and 0.0 <= steal <= 100.0


def test_during_states_the_steal_and_both_calibrations() -> None:
    meta = {"machine": {"rsa2048_signatures_per_s": 1000.0}, "steal_percent": 3.25,
            "rsa2048_signatures_per_s_end": 800.0}
    text = machine.during(meta)
    assert "took 3.2 % of the CPUs' time" in text and "1,000 RSA-2048 signatures/s at the start and 800 at the end (-20%)" in text
    assert "nothing measurable" in machine.during({**meta, "steal_percent": None})
    assert machine.during({"machine": meta["machine"]}) == ""

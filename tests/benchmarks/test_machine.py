"""machine: what a benchmark run records of the processor it ran on.

The /proc/cpuinfo texts here are written for the test (two processors, so the parser must stop at
the first); the calibrations run for real on this machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

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


def test_line_names_the_missing_flags_when_none_is_present() -> None:
    described = {"model": "m", "mhz": None, "flags": [], "cpus": 2, "kernel": "k",
                 "rsa2048_signatures_per_s": 500.0, "python_loop_ns": 50.0}
    text = machine.line(described, target=250)
    assert "(2 CPUs; flags none of avx512ifma, avx2" in text
    assert "at 250 msgs/s DKIM alone takes 0.50 of the 2 cores" in text

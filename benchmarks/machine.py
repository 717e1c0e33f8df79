"""What a run was measured on: the processor, and how fast it does what a message costs most.

Figures from two machines differ by more than most changes to the code do: the same commit
delivered 1,213 msgs/s on one 2-core machine and 390 on another (see the README).
So every run records the processor and two calibrations, each timed in CPU time on one core:

- ``rsa2048_signatures_per_s``: RSA-2048 PKCS#1 v1.5 signatures over a SHA-256 digest, made the way
  the platform DKIM-signs (``cryptography``, OpenSSL). Every message costs one; at a rate R the
  signatures alone take R / this of the machine's cores (``rsa_cores_at``).
- ``python_loop_ns``: one step of a plain Python ``for`` loop, for the interpreter's own speed.
  How the interpreter was compiled matters: on one machine this loop took 66 ns under pyenv's
  build (no profile-guided or link-time optimization, a shared libpython) and 47 ns under
  Debian's python3.11 (built with both). sysconfig does not say reliably which build is running
  (Debian's describes its shared library), so the loop is measured and the record says only
  whether libpython is shared (``python_libpython_shared``, from /proc/self/maps).

A virtual machine's figures also move while a run goes on: on the slower machine the RSA
calibration gave 573 signatures/s at one moment and 1,000 an hour later. So a run also records
what the hypervisor took (``steal_percent``: the share of the CPUs' time stolen between two
readings of /proc/stat, ``cpu_ticks``) and calibrates RSA again at its end.

    python3 benchmarks/machine.py [PYTHON]   # prints the description as JSON (about a second);
                                             # PYTHON: describe that interpreter instead of this one
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# The processor features that change what a message costs: AVX-512 IFMA speeds OpenSSL's RSA
# about twofold; SHA extensions the body hash; ADX/BMI2 the big-number code without IFMA.
FLAGS = ("avx512ifma", "avx2", "adx", "bmi2", "sha_ni", "hypervisor")


def cpuinfo(text: str) -> dict[str, Any]:
    """The model, clock and relevant flags of the first processor in a /proc/cpuinfo text."""
    first: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if first:
                break
            continue
        key, _, value = line.partition(":")
        first.setdefault(key.strip(), value.strip())
    flags = set(first.get("flags", "").split())
    mhz = first.get("cpu MHz")
    return {"model": first.get("model name", "unknown"), "mhz": round(float(mhz)) if mhz else None,
            "flags": [flag for flag in FLAGS if flag in flags]}


def _per_second(step: Callable[[], Any], seconds: float) -> float:
    """How many times ``step`` runs in a second of this process's CPU time (the best of three)."""
    best = 0.0
    for _ in range(3):
        started, count = time.process_time(), 0
        while (spent := time.process_time() - started) < seconds / 3:
            step()
            count += 1
        best = max(best, count / spent)
    return best


def rsa_signatures_per_s(seconds: float = 0.6) -> float:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    digest = hashlib.sha256(b"calibration").digest()
    prehashed = utils.Prehashed(hashes.SHA256())
    return _per_second(lambda: key.sign(digest, padding.PKCS1v15(), prehashed), seconds)


def python_loop_ns(steps: int = 200_000) -> float:
    def loop() -> None:
        total = 0
        for i in range(steps):
            total += i

    return 1e9 / (_per_second(loop, 0.3) * steps)


def libpython_shared(maps: str) -> bool:
    """Whether the interpreter runs from a shared libpython (a /proc/PID/maps text): calls into
    it go through the PLT, which costs an interpreter built that way (pyenv's default) some speed."""
    return any("/libpython" in line for line in maps.splitlines())


def this_interpreter() -> dict[str, Any]:
    """The running interpreter: where, which version, how built, how fast."""
    return {"python_path": sys.executable, "python_version": platform.python_version(),
            "python_loop_ns": round(python_loop_ns(), 1),
            "python_libpython_shared": libpython_shared(_maps())}


def _maps() -> str:
    try:
        return Path("/proc/self/maps").read_text()
    except OSError:
        return ""


def interpreter(python: str) -> dict[str, Any]:
    """``this_interpreter()`` as ``python`` reports it (this file run under it)."""
    try:
        done = subprocess.run([python, str(Path(__file__).resolve()), "--interpreter"], capture_output=True,
                              text=True, timeout=60)
    except OSError as exc:
        raise RuntimeError(f"{python} could not describe itself: {exc}") from exc
    if done.returncode:
        raise RuntimeError(f"{python} could not describe itself: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


def describe(python: str | None = None) -> dict[str, Any]:
    """The machine a run is on, and the interpreter the platform runs under (``python``, by
    default this one): about a second of CPU."""
    try:
        info = cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        info = {"model": platform.processor() or "unknown", "mhz": None, "flags": []}
    return {**info, "cpus": os.cpu_count(), "kernel": platform.release(),
            "rsa2048_signatures_per_s": round(rsa_signatures_per_s(), 1),
            **(interpreter(python) if python else this_interpreter())}


def cpu_ticks(stat: str | None = None) -> tuple[int, int]:
    """(stolen, all) clock ticks of every CPU so far, from a /proc/stat text (this machine's
    when none is given; (0, 0) where there is none)."""
    if stat is None:
        try:
            stat = Path("/proc/stat").read_text()
        except OSError:
            return 0, 0
    for row in stat.splitlines():
        if row.startswith("cpu "):
            # user nice system idle iowait irq softirq steal (guest time is already in user and nice)
            ticks = [int(value) for value in row.split()[1:9]]
            return (ticks[7] if len(ticks) > 7 else 0), sum(ticks)
    return 0, 0


def steal_percent(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    """The share of the CPUs' time the hypervisor took between two ``cpu_ticks`` readings
    (None if no time passed or nothing was read)."""
    total = after[1] - before[1]
    return round(100 * (after[0] - before[0]) / total, 2) if total > 0 else None


def rsa_cores_at(machine: dict[str, Any], rate: float) -> float:
    """The cores the DKIM signatures alone take at ``rate`` messages/s."""
    return rate / machine["rsa2048_signatures_per_s"]


def line(machine: dict[str, Any], target: float = 1000.0) -> str:
    """One sentence for a summary."""
    clock = f", {machine['mhz']:,} MHz" if machine.get("mhz") else ""
    flags = ", ".join(machine["flags"]) or "none of " + ", ".join(FLAGS)
    return (f"Machine: {machine['model']} ({machine['cpus']} CPUs{clock}; flags {flags}; kernel {machine['kernel']}). "
            f"One core makes {machine['rsa2048_signatures_per_s']:,.0f} RSA-2048 signatures/s, so at {target:,.0f} "
            f"msgs/s DKIM alone takes {rsa_cores_at(machine, target):.2f} of the {machine['cpus']} cores; "
            f"a Python loop step takes {machine['python_loop_ns']:.0f} ns{_built(machine)}.")


def during(meta: dict[str, Any]) -> str:
    """What the machine did during a run, for a summary (runs before 2026-12-01 lack it)."""
    if "steal_percent" not in meta:
        return ""
    steal = "nothing measurable" if meta["steal_percent"] is None else f"{meta['steal_percent']:.1f} %"
    start, end = meta["machine"]["rsa2048_signatures_per_s"], meta["rsa2048_signatures_per_s_end"]
    return (f"During the run the hypervisor took {steal} of the CPUs' time (steal), and one core made "
            f"{start:,.0f} RSA-2048 signatures/s at the start and {end:,.0f} at the end ({end / start - 1:+.0%}).")


def _built(machine: dict[str, Any]) -> str:
    """Which interpreter the platform ran under, for the line (runs before 2026-12-01 lack it)."""
    if "python_path" not in machine:
        return ""
    linked = "a shared libpython" if machine["python_libpython_shared"] else "libpython linked in"
    return f" under the platform's Python, {machine['python_version']} at {machine['python_path']} ({linked})"


if __name__ == "__main__":
    if sys.argv[1:] == ["--interpreter"]:
        print(json.dumps(this_interpreter()))
        sys.exit(0)
    described = describe(sys.argv[1] if sys.argv[1:] else None)
    print(line(described))
    print(json.dumps(described, indent=2))

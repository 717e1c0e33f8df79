"""What a run was measured on: the processor, and how fast it does what a message costs most.

Figures from two machines differ by more than most changes to the code do: the same commit
delivered 1,213 msgs/s on one 2-core machine and under half of that on another (see the README).
So every run records the processor and two calibrations, each timed in CPU time on one core:

- ``rsa2048_signatures_per_s``: RSA-2048 PKCS#1 v1.5 signatures over a SHA-256 digest, made the way
  the platform DKIM-signs (``cryptography``, OpenSSL). Every message costs one; at a rate R the
  signatures alone take R / this of the machine's cores (``rsa_cores_at``).
- ``python_loop_ns``: one step of a plain Python ``for`` loop, for the interpreter's own speed.

    python3 benchmarks/machine.py     # prints the description as JSON (about a second)
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

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


def _per_second(step, seconds: float) -> float:
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


def describe() -> dict[str, Any]:
    """The machine a run is on (about a second of CPU)."""
    try:
        info = cpuinfo(Path("/proc/cpuinfo").read_text())
    except OSError:
        info = {"model": platform.processor() or "unknown", "mhz": None, "flags": []}
    return {**info, "cpus": os.cpu_count(), "kernel": platform.release(),
            "rsa2048_signatures_per_s": round(rsa_signatures_per_s(), 1),
            "python_loop_ns": round(python_loop_ns(), 1)}


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
            f"a Python loop step takes {machine['python_loop_ns']:.0f} ns.")


if __name__ == "__main__":
    described = describe()
    print(line(described))
    print(json.dumps(described, indent=2))

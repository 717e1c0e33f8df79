"""Timing of API key verification: does it depend on how much of a guessed secret is right?

    PYTHONPATH=server python3 benchmarks/bench_auth.py [--rounds 200000]

A key is ``pw_<id>_<secret>``: the id finds the record, then the sha256 of the presented
secret is compared with the stored digest by ``hmac.compare_digest``. Hashing first means a
guess that shares a long prefix with the real secret shares nothing with its digest, and the
comparison does not stop at the first differing byte anyway. This prints the minimum time
per verification for three guesses -- right secret, right prefix with a wrong last
character, wrong first character -- and their ratios, measured in one run (ratios near 1.0
are the point). For contrast it does the same with a plain ``==`` on the secret text, the
comparison this design avoids. Nothing here is asserted: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable

from postwave.api import keys


def _min_times(checks: dict[str, Callable[[], object]], rounds: int, repeat: int = 15) -> dict[str, float]:
    """Minimum seconds per call of each check; the checks take turns, so load that comes
    and goes during the run falls on all of them alike."""
    best = dict.fromkeys(checks, float("inf"))
    for _ in range(repeat):
        for name, check in checks.items():
            best[name] = min(best[name], timeit.timeit(check, number=rounds) / rounds)
    return best


def measure(rounds: int) -> dict[str, float]:
    """Seconds per verification of each guess, and the ratios that matter."""
    record, key = keys.new_key("t_bench", "bench", ["mail.send"])
    secret = key.rpartition("_")[2]
    right_prefix = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    wrong_prefix = ("A" if secret[0] != "A" else "B") + secret[1:]
    out = _min_times({
        "hashed:right": lambda: keys.matches(record, secret),
        "hashed:right_prefix": lambda: keys.matches(record, right_prefix),
        "hashed:wrong_prefix": lambda: keys.matches(record, wrong_prefix),
        # The avoided design, for contrast: the secret text compared with ==.
        "plain:right_prefix": lambda: secret == right_prefix,
        "plain:wrong_prefix": lambda: secret == wrong_prefix,
    }, rounds)
    out["ratio:hashed right_prefix/wrong_prefix"] = out["hashed:right_prefix"] / out["hashed:wrong_prefix"]
    out["ratio:hashed right/wrong_prefix"] = out["hashed:right"] / out["hashed:wrong_prefix"]
    out["ratio:plain right_prefix/wrong_prefix"] = out["plain:right_prefix"] / out["plain:wrong_prefix"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200_000, help="verifications per timing")
    args = parser.parse_args()
    results = measure(args.rounds)
    for name, value in results.items():
        shown = f"{value:.3f}" if name.startswith("ratio") else f"{value * 1e9:.0f} ns"
        print(f"{name:45} {shown}")
    print(json.dumps({k: round(v, 12) for k, v in results.items()}))


if __name__ == "__main__":
    main()

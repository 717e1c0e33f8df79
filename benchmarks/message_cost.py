"""What one message costs a worker in CPU, stage by stage, without the queue, SMTP or the rest.

Runs in this process the steps a worker takes for each message of the end-to-end benchmark
(benchmarks/message.py: ~20 KB, five links, personalized, click and open tracking on):

- render: the subject, text and HTML personalized for the recipient (``compose.render``);
- compose: links wrapped, the open pixel added, MIME assembled (``compose.compose``);
- sign: DKIM rsa-sha256 with a 2048-bit key (``native.dkim.sign``): body hash, header hash and
  the RSA signature;
- of it, rsa: the RSA signature alone, timed apart on the same key and digest size.

It reports CPU microseconds per message for each stage (the best of ``--rounds`` rounds: other
processes only ever add to a figure), and how many messages a second one core would sign and
compose at that cost:

    python3 benchmarks/message_cost.py [--messages 2000] [--rounds 3] [--json]

The end-to-end figures move with everything else on the two cores; these do not, so they show
what a change to the worker's per-message work saves, and what a machine's processor and
interpreter cost (run it under another interpreter with PYTHONPATH=server).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

import e2e  # noqa: E402
from postwave import native  # noqa: E402
from postwave.pipeline import compose  # noqa: E402
from postwave.render.dkim import _PREHASHED, DkimKey  # noqa: E402
from postwave.render.templates import TemplateEngine  # noqa: E402

STAGES = ("render", "compose", "sign")


def measure(messages: int, rounds: int) -> dict[str, Any]:
    """The best of ``rounds`` rounds of ``messages`` messages, per stage."""
    engine = TemplateEngine()
    req = e2e.build_request(0, messages)  # the end-to-end run's request, one recipient per message
    secret = e2e.TRACKING_SECRET.encode()
    key = DkimKey("postwave.test", "bench", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    contexts = [compose.substitutions(req.personalizations[i]) for i in range(messages)]
    rendered: list[Any] = [None] * messages
    composed: list[bytes] = [b""] * messages
    signed: list[bytes] = [b""] * messages

    def render(i: int) -> None:
        rendered[i] = compose.render(engine, req, None, i, contexts[i])

    def assemble(i: int) -> None:
        tracking = compose.Tracking("https://t.postwave.test", secret, f"{i:027d}", True, True)
        composed[i] = compose.compose(rendered[i], req, i, message_id=f"{i:027d}@postwave.test",
                                      list_unsubscribe=None, tracking=tracking)

    def sign(i: int) -> None:
        signed[i] = native.dkim.sign(composed[i], [key])

    digest = hashlib.sha256(b"header").digest()

    def rsa_only(_: int) -> None:
        key.private_key.sign(digest, padding.PKCS1v15(), _PREHASHED)

    # The stages of one message run one after another, so a burst from the machine's other
    # tenants falls on all of them alike rather than on whichever stage was being timed.
    steps = (render, assemble, sign, rsa_only)
    best = {name: float("inf") for name in (*STAGES, "rsa")}
    clock = time.process_time_ns
    for _ in range(rounds):
        spent = [0, 0, 0, 0]
        for i in range(messages):
            before = clock()
            for k, step in enumerate(steps):
                step(i)
                now = clock()
                spent[k] += now - before
                before = now
        for name, ns in zip((*STAGES, "rsa"), spent):
            best[name] = min(best[name], ns / 1e3 / messages)
    total = sum(best[name] for name in STAGES)
    return {"messages": messages, "rounds": rounds, "cpu_us_per_message": {**best, "total": total},
            "messages_per_core_s": 1e6 / total, "rsa_share": best["rsa"] / total,
            "bytes": sum(map(len, signed)) / messages,
            "signed": signed[0].startswith(b"DKIM-Signature:"),
            "python": {"path": sys.executable, "version": sys.version.split()[0]}}


def show(result: dict[str, Any]) -> str:
    us = result["cpu_us_per_message"]
    lines = [f"{result['messages']} messages of {result['bytes']:,.0f} bytes signed, best of {result['rounds']} "
             f"rounds, Python {result['python']['version']} at {result['python']['path']}",
             "stage      CPU us/message"]
    lines += [f"{name:<10} {us[name]:>14.1f}" for name in STAGES]
    lines.append(f"{'total':<10} {us['total']:>14.1f}")
    lines.append(f"of sign, the RSA signature: {us['rsa']:.1f} us ({result['rsa_share']:.0%} of the total); "
                 f"one core renders, composes and signs {result['messages_per_core_s']:,.0f} messages/s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000, help="messages per round (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each figure is its best round (default 3)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON too")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.rounds < 1:
        parser.error("--messages and --rounds must be at least 1")
    result = measure(args.messages, args.rounds)
    print(show(result))
    if args.json:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

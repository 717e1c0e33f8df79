"""The SMTP client's own cost: CPU per delivered message against Postfix's smtp-sink.

One process delivers the same ~18 KB message over 8 concurrent connections, three ways,
alternated for ``--rounds`` rounds:

* ``pipelined`` -- postwave's DeliveryPool; smtp-sink offers PIPELINING, so MAIL, RCPT and
  DATA go in one write and the message in a second (``mta/wire.py``);
* ``one-at-a-time`` -- the same pool against an smtp-sink started with ``-p`` (no
  PIPELINING): four round trips a message on the same reader;
* ``aiosmtplib`` -- the client library alone, ``SMTP.sendmail`` on 8 open connections (it
  does not pipeline): the alternative the pool is measured against.

It prints CPU microseconds per message (the process's CPU time, which the shared machine
disturbs less than wall time) and messages/s, the median of the rounds, and the ratios.
Run as root (smtp-sink binds port 25 of a loopback address); only loopback is used.

    python3 benchmarks/bench_smtp.py [--messages 4000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiosmtplib  # noqa: E402

from postwave.mta.client import DeliveryPool  # noqa: E402
from postwave.mta.mx import Target  # noqa: E402
from tests.servers.addresses import next_peer_address  # noqa: E402
from tests.servers.sink import SMTPSink  # noqa: E402

CONNECTIONS = 8
MESSAGE = (b"From: Bench <bench@bench.test>\r\nTo: <rcpt@bench.test>\r\nSubject: the SMTP client's cost\r\n\r\n"
           + b"A line of text of the usual length, repeated to make a message of some size.\r\n" * 240)

Send = Callable[[int], Awaitable[None]]


async def _measure(send: Send, messages: int) -> tuple[float, float]:
    """(CPU us per message, messages/s) of ``messages`` sends, CONNECTIONS at a time."""
    gate = asyncio.Semaphore(CONNECTIONS)

    async def one(i: int) -> None:
        async with gate:
            await send(i)

    await asyncio.gather(*(one(i) for i in range(CONNECTIONS * 10)))  # connections open, caches warm
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(messages)))
    return (time.process_time() - cpu) / messages * 1e6, messages / (time.perf_counter() - wall)


async def _pool(address: str, messages: int) -> tuple[float, float]:
    pool = DeliveryPool(helo_name="bench.test", connect_timeout=5.0, command_timeout=30.0)
    targets = [Target("mx.bench.test", address, 25)]

    async def send(i: int) -> None:
        reply = await pool.deliver(targets, "bench@bench.test", f"r{i}@bench.test", MESSAGE)
        assert reply.code == 250, reply

    try:
        return await _measure(send, messages)
    finally:
        await pool.close()


async def _library(address: str, messages: int) -> tuple[float, float]:
    idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
    for _ in range(CONNECTIONS):
        client = aiosmtplib.SMTP(hostname=address, port=25, local_hostname="bench.test", start_tls=False)
        await client.connect()
        await client.ehlo()
        idle.put_nowait(client)

    async def send(i: int) -> None:
        client = await idle.get()
        try:
            errors, _ = await client.sendmail("bench@bench.test", [f"r{i}@bench.test"], MESSAGE)
            assert not errors, errors
        finally:
            idle.put_nowait(client)

    try:
        return await _measure(send, messages)
    finally:
        while not idle.empty():
            await idle.get_nowait().quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=4000, help="messages per way and round (default 4000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each running every way once (default 3)")
    args = parser.parse_args()
    ways: dict[str, list[tuple[float, float]]] = {"pipelined": [], "one-at-a-time": [], "aiosmtplib": []}
    with SMTPSink(next_peer_address(25), backlog=256) as offers, \
            SMTPSink(next_peer_address(25), backlog=256, extra_args=("-p",)) as plain:
        for round_ in range(1, args.rounds + 1):
            ways["pipelined"].append(asyncio.run(_pool(offers.address, args.messages)))
            ways["one-at-a-time"].append(asyncio.run(_pool(plain.address, args.messages)))
            ways["aiosmtplib"].append(asyncio.run(_library(plain.address, args.messages)))
            print(f"round {round_}/{args.rounds}: " + ", ".join(
                f"{name} {runs[-1][0]:.0f} us" for name, runs in ways.items()), flush=True)
    cpu = {name: statistics.median(r[0] for r in runs) for name, runs in ways.items()}
    rate = {name: statistics.median(r[1] for r in runs) for name, runs in ways.items()}
    print(f"\n{'way':<15}{'CPU us/msg':>12}{'msgs/s':>10}")
    for name in ways:
        print(f"{name:<15}{cpu[name]:>12.0f}{rate[name]:>10.0f}")
    print(f"\npipelined uses {cpu['one-at-a-time'] / cpu['pipelined']:.2f}x less CPU than one-at-a-time "
          f"and {cpu['aiosmtplib'] / cpu['pipelined']:.2f}x less than aiosmtplib's sendmail")


if __name__ == "__main__":
    main()

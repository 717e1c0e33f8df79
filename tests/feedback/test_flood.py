"""10,000 complaints in a burst: every one processed, none lost, the receiver still answers.

Figures (wall time, reports/s, the probe's NOOP round trips during the burst) are printed
(run with ``-s``), never asserted: the machine is shared.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time

import aiosmtplib

from tests.feedback import samples
from tests.feedback.conftest import RETURN_PATH_DOMAIN, FeedbackWorld

REPORTS = 10_000
CONNECTIONS = 16
FBL = "fbl@" + RETURN_PATH_DOMAIN


async def _sender(port: int, raws: list[bytes], replies: list[str]) -> None:
    # sendmail raises on any refusal (4xx/5xx), so a reply here means 250.
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60, start_tls=False) as client:
        for raw in raws:
            _, reply = await client.sendmail("", [FBL], raw)
            replies.append(reply)


async def _probe(port: int, done: asyncio.Event, rtts: list[float]) -> None:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60, start_tls=False) as client:
        while not done.is_set():
            started = time.perf_counter()
            code, _ = await client.noop()
            assert code == 250
            rtts.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)


async def _burst(port: int, raws: list[bytes]) -> tuple[list[str], list[float], float]:
    replies: list[str] = []
    rtts: list[float] = []
    done = asyncio.Event()
    probe = asyncio.create_task(_probe(port, done, rtts))
    started = time.perf_counter()
    await asyncio.gather(*(_sender(port, raws[i::CONNECTIONS], replies) for i in range(CONNECTIONS)))
    elapsed = time.perf_counter() - started
    done.set()
    await probe
    return replies, rtts, elapsed


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (and its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ten_thousand_complaints_in_a_burst(feedback: FeedbackWorld) -> None:
    sent = feedback.sent(REPORTS, prefix="flood")
    raws = [samples.arf(to="fbl@acme.test", mail_from=s.return_path, returned="none") for s in sent]
    cpu_before = _cpu_seconds(feedback.proc.pid)
    replies, rtts, elapsed = asyncio.run(_burst(feedback.port, raws))
    cpu = _cpu_seconds(feedback.proc.pid) - cpu_before

    assert len(replies) == REPORTS and all("OK complaint of message" in r for r in replies)
    complained: set[str] = set()
    cursor = 0
    while True:
        page = feedback.store.list_events(feedback.tenant_id, cursor, ["complained"], "", 5000)
        if not page:
            break
        complained.update(e.message_id for e in page)
        cursor = page[-1].id
    assert complained == {s.message_id for s in sent}
    suppressed = feedback.store.suppressed(feedback.tenant_id, [s.recipient for s in sent], time.time())
    assert len(suppressed) == REPORTS
    assert len(rtts) >= 2, "the probe connection got answers during the burst"
    assert feedback.proc.poll() is None
    print(f"\nfeedback flood: {REPORTS} ARF reports over {CONNECTIONS} connections in {elapsed:.1f} s "
          f"({REPORTS / elapsed:.0f}/s); probe NOOP round trip during the burst: median "
          f"{statistics.median(rtts) * 1000:.1f} ms, max {max(rtts) * 1000:.1f} ms over {len(rtts)} probes; "
          f"receiver CPU {cpu:.1f} s ({cpu / REPORTS * 1e6:.0f} us per report)")

"""Disk full under the embedded store: the data directory is a small tmpfs filled to the last
byte while the platform runs.

Expected: new sends are refused with UNAVAILABLE and a message that says the disk is full;
nothing accepted before is lost (each is delivered once space returns; a message whose SMTP
transaction completed while its outcome could not be written may be sent again -- counted,
at-least-once); sending resumes once space is freed, without a restart.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from tests.platform import Platform, bearer, request
from tests.reliability.conftest import message_ids, start_on_free_address
from tests.servers.dns import DNSServer
from tests.servers.smtp import SMTPPeer

TMPFS_SIZE = "24m"
HELD = ["451 4.7.1 Try again later"] * 10_000
BEFORE = 40  # accepted before the disk fills
BIG_TEXT = "Quarterly statement line with enough text to fill pages quickly.\n" * 3000  # ~200 KB


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of TMPFS_SIZE mounted under the test's directory (unmounted at teardown)."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(path: Path) -> int:
    """Write a file until the filesystem refuses another byte; return its size."""
    written = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (1 << 20, 4096, 1):
            block = b"\0" * size
            while True:
                try:
                    written += os.write(fd, block)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return written


def test_disk_full_refuses_new_sends_loses_nothing_and_resumes(tmp_path: Path, small_disk: Path) -> None:
    peer = start_on_free_address(lambda a: SMTPPeer(a, script={"RCPT": list(HELD)}))
    dns = DNSServer(mx={"full.test": [(10, "mx.full.test")]}, a={"mx.full.test": peer.address})
    dns.start()
    platform = Platform(small_disk / "data", dns_port=dns.port, lease_seconds=2)
    (small_disk / "data").mkdir()
    platform.log_path = tmp_path / "serve.log"  # the log must not be what fills up
    try:
        platform.start()
        _, key = platform.tenant("acme")
        stub = platform.send_stub()
        accepted = [stub.Send(request(to=[f"u{i}@full.test"]), metadata=bearer(key), timeout=10).messages[0].message_id
                    for i in range(BEFORE)]
        for mid in accepted[:3]:
            platform.wait_state(key, mid, {"deferred"})  # being retried: the receiver says 451

        filler = small_disk / "filler"
        filled = fill(filler)
        peer.script("RCPT", [])  # the receiver takes mail again; results cannot be written meanwhile
        refusal = None
        for i in range(300):  # the WAL may still have room for a few: send until the store says full
            try:
                resp = stub.Send(request(to=[f"late{i}@full.test"], text=BIG_TEXT), metadata=bearer(key), timeout=30)
            except grpc.RpcError as exc:
                refusal = exc
                break
            accepted.append(resp.messages[0].message_id)
        assert refusal is not None, "the store never refused a send on a full disk"
        assert refusal.code() == grpc.StatusCode.UNAVAILABLE, (refusal.code(), refusal.details())
        assert "full" in refusal.details().lower(), refusal.details()
        refused_more = 0
        for i in range(3):  # and it keeps refusing while the disk stays full
            try:
                stub.Send(request(to=[f"more{i}@full.test"]), metadata=bearer(key), timeout=30)
            except grpc.RpcError as exc:
                refused_more += exc.code() == grpc.StatusCode.UNAVAILABLE
        assert refused_more == 3
        time.sleep(2)  # deliveries go on meanwhile; their outcomes cannot be written

        filler.unlink()  # space returns
        after = stub.Send(request(to=["after@full.test"]), metadata=bearer(key), timeout=30).messages[0].message_id
        for mid in [*accepted, after]:
            status = platform.wait_state(key, mid, {"delivered", "bounced", "failed"}, timeout=90)
            assert status.state == "delivered", (mid, [(e.type, e.detail) for e in status.events])
        copies = Counter(message_ids(peer.received))
        lost = [mid for mid in [*accepted, after] if copies[mid] == 0]
        assert not lost
        duplicates = sum(n - 1 for n in copies.values() if n > 1)
        assert platform.proc is not None and platform.proc.poll() is None  # never restarted
        print(f"\ndisk full: filler {filled / 2**20:.1f} MiB; accepted {len(accepted)} before the refusal "
              f"({len(accepted) - BEFORE} while filling), refused: {refusal.details()!r}; "
              f"after space returned all {len(accepted) + 1} delivered, lost 0, duplicates {duplicates}")
    finally:
        platform.stop()
        dns.stop()
        peer.stop()

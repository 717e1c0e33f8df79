"""A classic MTA for comparison: a private Postfix instance relaying to the sink, OpenDKIM signing.

Both come from Debian's packages (``postfix``, ``opendkim``). Everything lives in a
temporary directory: Postfix's configuration, queue and log; OpenDKIM's configuration and
key. Postfix's smtpd listens on ``127.0.0.1:10025`` (not port 25, not the system's
instance), hands every message to OpenDKIM over a milter socket on 127.0.0.1, and relays it
to the sink given (smtp-sink, the same one postwave delivers to). Nothing listens beyond
loopback; both daemons are stopped and the directory removed on exit.

    python3 benchmarks/postfix_relay.py --messages 2000    # a stand-alone run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks"), str(ROOT / "server")]

import procstat  # noqa: E402

LISTEN = "127.0.0.1"  # Postfix accepts only an address of a local interface: lo's own
PORT = 10025

# One line per service, chroot off (the queue lives in a temporary directory), only what a
# relay needs.
_MASTER_CF = """\
{listen}:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

_MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {dir}/spool
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.postwave.test
mydomain = postwave.test
myorigin = postwave.test
inet_interfaces = {listen}
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains = bench.test
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [{sink}]:{sink_port}
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtpd_milters = inet:127.0.0.1:{milter_port}
non_smtpd_milters = $smtpd_milters
milter_default_action = tempfail
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
biff = no
smtpd_banner = $myhostname ESMTP
smtpd_peername_lookup = no
# As many parallel connections to the sink as postwave's two workers open (2 x 16).
default_destination_concurrency_limit = 32
default_process_limit = 100
"""

_OPENDKIM_CONF = """\
Syslog no
Background no
Mode s
Domain postwave.test
Selector bench
KeyFile {dir}/dkim.pem
Socket inet:{milter_port}@127.0.0.1
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
InternalHosts 127.0.0.0/8
PidFile {dir}/opendkim.pid
RequireSafeKeys false
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostfixRelay:
    """A private Postfix (smtpd on 127.0.0.1:10025) + OpenDKIM milter, relaying to ``sink``."""

    def __init__(self, sink: str, sink_port: int = 25, *, key_pem: bytes) -> None:
        self.sink, self.sink_port, self.key_pem = sink, sink_port, key_pem
        self.dir = Path(tempfile.mkdtemp(prefix="postwave-postfix-"))
        self.milter_port = _free_port()
        self._opendkim: subprocess.Popen[bytes] | None = None
        self._started = False

    @property
    def config_dir(self) -> str:
        """Postfix's configuration directory (``postfix -c``)."""
        return str(self.dir / "etc")

    def __enter__(self) -> PostfixRelay:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Write the configuration, start OpenDKIM, then Postfix; wait for both."""
        values = {"dir": self.dir, "listen": LISTEN, "port": PORT, "sink": self.sink, "sink_port": self.sink_port,
                  "milter_port": self.milter_port}
        (self.dir / "etc").mkdir()
        (self.dir / "spool").mkdir()
        (self.dir / "data").mkdir()
        shutil.chown(self.dir / "data", "postfix", "postfix")
        self.dir.chmod(0o755)  # Postfix's daemons (user postfix) reach the queue through it
        (self.dir / "etc" / "main.cf").write_text(_MAIN_CF.format(**values))
        (self.dir / "etc" / "master.cf").write_text(_MASTER_CF.format(**values))
        (self.dir / "opendkim.conf").write_text(_OPENDKIM_CONF.format(**values))
        key = self.dir / "dkim.pem"
        key.write_bytes(self.key_pem)
        key.chmod(0o600)
        with open(self.dir / "opendkim.log", "wb") as out:  # the child keeps its own descriptor
            self._opendkim = subprocess.Popen(
                ["/usr/sbin/opendkim", "-f", "-x", str(self.dir / "opendkim.conf")],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        _wait_port("127.0.0.1", self.milter_port, lambda: self._opendkim.poll() is None, self.dir / "opendkim.log")
        code, output = self._postfix("start")
        if code != 0:
            raise RuntimeError(f"postfix did not start: {output}")
        self._started = True
        _wait_port(LISTEN, PORT, lambda: True, self.dir / "maillog")

    def _postfix(self, command: str) -> tuple[int, str]:
        """Run ``postfix -c DIR command`` on a pseudo-terminal: only then does it print its errors."""
        import pty

        leader, follower = pty.openpty()
        try:
            done = subprocess.run(["postfix", "-c", self.config_dir, command], stdin=subprocess.DEVNULL,
                                  stdout=follower, stderr=follower, env={**os.environ, "MAIL_CONFIG": self.config_dir})
            os.close(follower)
            follower = -1
            chunks = []
            while True:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # EIO: the other end is closed and drained
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            if follower >= 0:
                os.close(follower)
            os.close(leader)
        return done.returncode, b"".join(chunks).decode(errors="replace")

    def stop(self) -> None:
        """Stop Postfix and OpenDKIM, remove the directory."""
        if self._started:
            self._postfix("stop")
            self._started = False
            deadline = time.monotonic() + 10
            while procstat.with_environ("MAIL_CONFIG", self.config_dir) and time.monotonic() < deadline:
                time.sleep(0.1)
        if self._opendkim is not None:
            self._opendkim.terminate()
            try:
                self._opendkim.wait(10)
            except subprocess.TimeoutExpired:
                self._opendkim.kill()
                self._opendkim.wait()
            self._opendkim = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def processes(self) -> list[int]:
        """Postfix's daemons of this instance and OpenDKIM."""
        found = procstat.with_environ("MAIL_CONFIG", self.config_dir)
        if self._opendkim is not None and self._opendkim.poll() is None:
            found.append(self._opendkim.pid)
        return found

    def delays(self) -> list[float]:
        """Per delivered message, Postfix's own arrival-to-relayed delay (``delay=`` in its log), in ms."""
        log = self.dir / "maillog"
        text = log.read_text(errors="replace") if log.exists() else ""
        return [float(d) * 1000 for d in re.findall(r"delay=([0-9.]+), delays=\S+, dsn=2[^,]*, status=sent", text)]

    def log_tail(self, lines: int = 30) -> str:
        """The end of Postfix's and OpenDKIM's logs (for error messages)."""
        parts = []
        for name in ("maillog", "opendkim.log"):
            path = self.dir / name
            if path.exists():
                parts.append("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(parts)


def _wait_port(host: str, port: int, alive: Any, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            break
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    text = log.read_text(errors="replace") if log.exists() else ""
    raise RuntimeError(f"nothing listens on {host}:{port}:\n{text[-3000:]}")


async def _send_all(data: bytes, total: int, concurrency: int, latencies: list[float]) -> None:
    import aiosmtplib

    counter = iter(range(total))

    async def connection() -> None:
        client = aiosmtplib.SMTP(hostname=LISTEN, port=PORT, start_tls=False, timeout=120)
        await client.connect()
        try:
            for i in counter:
                began = time.perf_counter()
                await client.sendmail("sender@postwave.test", [f"user{i}@bench.test"], data)
                latencies.append((time.perf_counter() - began) * 1000)
        finally:
            await client.quit()

    await asyncio.gather(*(connection() for _ in range(concurrency)))


def run(relay: PostfixRelay, data: bytes, total: int, *, concurrency: int = 32,
        timeout: float = 600.0) -> dict[str, Any]:
    """Offer ``total`` copies of ``data`` as fast as Postfix takes them; figures like postwave's."""
    meter = procstat.CpuMeter(relay.processes)
    before = len(relay.delays())
    meter.start()
    began = time.perf_counter()
    latencies: list[float] = []
    asyncio.run(_send_all(data, total, concurrency, latencies))
    accepted_secs = time.perf_counter() - began
    deadline = time.monotonic() + timeout
    # Postfix logs "status=sent" when the sink answered 250: the count of deliveries.
    while len(relay.delays()) - before < total and time.monotonic() < deadline:
        time.sleep(0.05)
    span = time.perf_counter() - began
    cpu, rss = meter.stop()
    delays = relay.delays()[before:]
    delivered = len(delays)
    if delivered < total:
        raise RuntimeError(f"postfix relayed {delivered} of {total} in {timeout} s:\n{relay.log_tail()}")
    return {
        "system": "postfix+opendkim", "messages": total, "concurrency": concurrency,
        "accepted_per_s": total / accepted_secs, "delivered_per_s": delivered / span,
        "delivered_per_hour": delivered / span * 3600,
        "acceptance_ms": percentiles(latencies), "accept_to_250_ms": percentiles(delays),
        "cpu_seconds_per_1000": cpu / delivered * 1000, "peak_pss_mb": rss / 2**20,
    }


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50/p95/p99 (None without data)."""
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0], "p99": values[0]}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": q[49], "p95": q[94], "p99": q[98]}


def main() -> None:
    """A stand-alone run against a fresh smtp-sink."""
    from e2e import dkim_key, free_sink, rendered_message

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    pem = dkim_key()
    with free_sink() as sink, PostfixRelay(sink.address, key_pem=pem) as relay:
        print(run(relay, rendered_message(), args.messages, concurrency=args.concurrency))


if __name__ == "__main__":
    main()

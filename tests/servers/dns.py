"""A real DNS server for tests: dnsmasq, configured from Python.

    with DNSServer(mx={"ok.test": [(10, "mx.ok.test")]}, a={"mx.ok.test": "127.0.1.5"}) as dns:
        resolver = MXResolver(nameservers=[dns.address], port=dns.port)

dnsmasq answers only from its configuration (no upstream, no /etc/hosts). Names under the
top-level domains that appear in the configuration (always ``.test``) are its own: an
unknown name there is NXDOMAIN, as from a real authoritative server; anything else is
REFUSED (a resolver sees "no nameserver could answer"). A known name without records of
the asked type is NOERROR with no answer. An MX host of ``"."`` publishes a null MX
(RFC 7505). Every record has the TTL given as ``ttl`` (dnsmasq's default would be 0).
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

import dns.exception
import dns.resolver

from tests.servers.addresses import free_port

__all__ = ["DNSMASQ", "DNSServer"]

DNSMASQ = "/usr/sbin/dnsmasq"

_START_ATTEMPTS = 5  # a free port can be taken between our check and dnsmasq's bind
_READY_TIMEOUT = 10.0
_TXT_CHUNK = 255  # a TXT character-string holds at most 255 bytes


class DNSServer:
    """dnsmasq serving MX, A and TXT records on ``address:port`` (UDP and TCP).

    Args:
        mx: domain -> [(preference, host)]; host ``"."`` makes a null MX.
        a: host -> IPv4 address, or a list of them.
        txt: name -> text (split into 255-byte strings as needed), or a list of texts.
        ttl: the TTL of every record, in seconds.
        address: the loopback address to listen on.
    """

    def __init__(
        self,
        *,
        mx: Mapping[str, Sequence[tuple[int, str]]] | None = None,
        a: Mapping[str, str | Sequence[str]] | None = None,
        txt: Mapping[str, str | Sequence[str]] | None = None,
        ttl: int = 300,
        address: str = "127.0.0.1",
    ) -> None:
        if not address.startswith("127."):
            raise ValueError(f"the test DNS server listens on loopback only, not {address}")
        self.address = address
        self.port = 0
        self._config = _config(mx or {}, a or {}, txt or {}, ttl)
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._log: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"DNSServer({self.address}:{self.port})"

    def __enter__(self) -> DNSServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start dnsmasq on a free port; returns once it answers queries.

        Raises:
            RuntimeError: dnsmasq would not start (its log is in the message).
        """
        if self._process is not None:
            raise RuntimeError(f"{self!r} already started")
        self._folder = tempfile.TemporaryDirectory(prefix="postwave-dns-")
        conf = Path(self._folder.name, "dnsmasq.conf")
        conf.write_text(self._config)
        failure = ""
        for _ in range(_START_ATTEMPTS):
            self.port = free_port(self.address, udp=True)
            failure = self._launch(conf)
            if not failure:
                return
        self.stop()
        raise RuntimeError(f"dnsmasq did not start: {failure}")

    def stop(self) -> None:
        """Stop dnsmasq (terminate, then kill) and remove its files."""
        self._end_process()
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def _launch(self, conf: Path) -> str:
        """Start dnsmasq once; return "" when it answers, else what went wrong."""
        assert self._folder is not None
        self._log = Path(self._folder.name, "dnsmasq.log").open("w+b")
        self._process = subprocess.Popen(
            [
                DNSMASQ,
                "--no-daemon",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                f"--listen-address={self.address}",
                f"--port={self.port}",
                f"--conf-file={conf}",
                "--user=root",  # as root it would otherwise switch to "nobody"
                "--pid-file",  # no pid file: we hold the process
            ],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        if self._wait_ready():
            return ""
        log = self._read_log()
        self._end_process()
        return log

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + _READY_TIMEOUT
        while not self._accepts_tcp():
            assert self._process is not None
            if self._process.poll() is not None or time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        # dnsmasq opens its UDP and TCP sockets together; one real query proves it serves.
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [self.address]
        resolver.port = self.port
        resolver.lifetime = max(deadline - time.monotonic(), 1.0)
        try:
            resolver.resolve("ready.postwave.test", "A")
        except dns.resolver.NXDOMAIN:
            return True  # an answer, from our server
        except dns.exception.DNSException:
            return False
        return True

    def _accepts_tcp(self) -> bool:
        try:
            with socket.create_connection((self.address, self.port), timeout=1):
                return True
        except OSError:
            return False

    def _read_log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace").strip()

    def _end_process(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None


def _config(
    mx: Mapping[str, Sequence[tuple[int, str]]],
    a: Mapping[str, str | Sequence[str]],
    txt: Mapping[str, str | Sequence[str]],
    ttl: int,
) -> str:
    lines = [f"local-ttl={ttl}"]
    names = [*mx, *a, *txt]
    top_levels = sorted({"test", *(_name(n).rsplit(".", 1)[-1] for n in names)})
    lines += [f"local=/{tld}/" for tld in top_levels]
    for domain, hosts in mx.items():
        lines += [f"mx-host={_name(domain)},{_name(host) or '.'},{pref}" for pref, host in hosts]
    for host, addresses in a.items():
        lines += [f"host-record={_name(host)},{ip}" for ip in _listed(addresses)]
    for name, texts in txt.items():
        lines += [f"txt-record={_name(name)},{_txt_strings(text)}" for text in _listed(texts)]
    return "\n".join(lines) + "\n"


def _name(name: str) -> str:
    return name.strip().rstrip(".").lower()


def _listed(values: str | Sequence[str]) -> list[str]:
    return [values] if isinstance(values, str) else list(values)


def _txt_strings(text: str) -> str:
    if any(c in text for c in '"\\\n\r'):
        raise ValueError(f"TXT with quotes, backslashes or newlines is unsupported: {text!r}")
    chunks = [text[i : i + _TXT_CHUNK] for i in range(0, len(text), _TXT_CHUNK)] or [""]
    return ",".join(f'"{chunk}"' for chunk in chunks)


"""Postfix's smtp-sink: a fast C SMTP server that accepts and discards mail (benchmarks).

Counting: smtp-sink runs with ``-c``, which makes it print running counters
(``sess=N quit=N mesg=N``, carriage-return separated) to stdout whenever a session ends,
a QUIT arrives, or a message's final "." is received. stdout goes to a file, and
:attr:`SMTPSink.messages` reads the last ``mesg=`` value from it: the number of messages
accepted so far, at no cost to the sink (no per-message files, unlike ``-d``).
"""

from __future__ import annotations

import os
import pwd
import re
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = ["SMTP_SINK", "SMTPSink"]

SMTP_SINK = "/usr/sbin/smtp-sink"

_COUNTERS = re.compile(rb"sess=(\d+) quit=(\d+) mesg=(\d+)")
_READY_TIMEOUT = 10.0


class SMTPSink:
    """smtp-sink listening on ``address:port``.

    Args:
        address: the loopback address to listen on.
        port: the TCP port.
        backlog: the listen backlog (raise it for many concurrent connections).
        extra_args: more smtp-sink options, e.g. ``("-r", "RCPT")`` to soft-reject RCPT
            or ``("-w", "1")`` to wait a second before answering DATA (see smtp-sink(1)).
    """

    def __init__(
        self,
        address: str,
        port: int = 25,
        *,
        backlog: int = 256,
        extra_args: Sequence[str] = (),
    ) -> None:
        if not address.startswith("127."):
            raise ValueError(f"the test sink listens on loopback only, not {address}")
        self.address = address
        self.port = port
        self.backlog = backlog
        self.extra_args = tuple(extra_args)
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._out: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"SMTPSink({self.address}:{self.port})"

    def __enter__(self) -> SMTPSink:
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
        """Start smtp-sink; returns once it sends a greeting.

        Raises:
            RuntimeError: it exited or did not greet in time (its output in the message).
        """
        if self._process is not None:
            raise RuntimeError(f"{self!r} already started")
        self._folder = tempfile.TemporaryDirectory(prefix="postwave-sink-")
        self._out = Path(self._folder.name, "counters").open("w+b")
        self._process = subprocess.Popen(
            [SMTP_SINK, "-c", *_user_args(), *self.extra_args,
             f"{self.address}:{self.port}", str(self.backlog)],
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        if not self._wait_ready():
            output = self._output().decode(errors="replace")
            self.stop()
            raise RuntimeError(f"smtp-sink did not start on {self.address}:{self.port}: {output}")

    def stop(self) -> None:
        """Stop smtp-sink (terminate, then kill) and remove its files."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._out is not None:
            self._out.close()
            self._out = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    @property
    def pid(self) -> int | None:
        """The smtp-sink process, while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def messages(self) -> int:
        """Messages accepted so far (the sink's own ``mesg`` counter)."""
        found = _COUNTERS.findall(self._output())
        return int(found[-1][2]) if found else 0

    def wait_for(self, count: int, timeout: float = 30) -> int:
        """Block until at least ``count`` messages were accepted; return the count.

        Raises:
            AssertionError: fewer arrived within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while (seen := self.messages) < count:
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self!r} accepted {seen} of {count} in {timeout} s")
            time.sleep(0.01)
        return seen

    def _output(self) -> bytes:
        """The end of the counters file: the last entries (the whole file grows by an entry
        per message, and benchmarks poll this while tens of thousands arrive)."""
        if self._folder is None:
            return b""
        with open(Path(self._folder.name, "counters"), "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 512))
            return f.read()

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.address, self.port), timeout=1) as probe:
                    if probe.recv(3) == b"220":
                        probe.sendall(b"QUIT\r\n")
                        return True
            except OSError:
                time.sleep(0.02)
        return False


def _user_args() -> list[str]:
    # smtp-sink insists on dropping root privileges after binding (-u is required as root).
    if os.geteuid() != 0:
        return []
    for user in ("postfix", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["-u", user]
    raise RuntimeError("smtp-sink needs an unprivileged user (postfix or nobody) to run as")

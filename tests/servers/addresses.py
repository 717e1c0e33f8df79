"""Loopback addresses and ports for test servers.

Every simulated mail server gets its own address in 127.0.1.0/24 and the real SMTP port,
as on the internet (Linux routes all of 127.0.0.0/8 to loopback, no setup needed). An
address is handed out only after a trial bind shows it free, so test runs in parallel
processes on one machine skip each other's servers instead of failing.
"""

from __future__ import annotations

import itertools
import socket
import threading

__all__ = ["free_port", "is_free", "next_peer_address"]

_PEER_NETWORK = "127.0.1."
_PEER_HOSTS = range(2, 255)  # .1 is left for whoever wants a fixed "primary" address
_cursor = itertools.cycle(_PEER_HOSTS)
_lock = threading.Lock()


def next_peer_address(port: int = 25) -> str:
    """Return the next address in 127.0.1.0/24 where ``port`` is free for TCP.

    Raises:
        RuntimeError: every address in the block is taken on that port.
    """
    with _lock:
        for _ in _PEER_HOSTS:
            address = f"{_PEER_NETWORK}{next(_cursor)}"
            if is_free(address, port):
                return address
    raise RuntimeError(f"no free address in {_PEER_NETWORK}0/24 for port {port}")


def is_free(address: str, port: int, *, udp: bool = False) -> bool:
    """Whether a TCP (and, with ``udp``, also a UDP) socket can bind ``address:port``."""
    kinds = [socket.SOCK_STREAM, socket.SOCK_DGRAM] if udp else [socket.SOCK_STREAM]
    for kind in kinds:
        with socket.socket(socket.AF_INET, kind) as sock:
            # Servers here bind with SO_REUSEADDR, so TIME_WAIT leftovers do not count.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, port))
            except OSError:
                return False
    return True


def free_port(address: str = "127.0.0.1", *, udp: bool = False) -> int:
    """Return a port that is currently free on ``address`` (for TCP, and UDP if asked)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((address, 0))
            port: int = sock.getsockname()[1]
        if not udp or is_free(address, port, udp=True):
            return port
    raise RuntimeError(f"no free port on {address}")

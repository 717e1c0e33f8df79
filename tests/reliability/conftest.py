"""Reliability fixtures: servers started for a whole module, and reading a message's history.

The fault matrix runs one platform against many scripted receivers at once (one mail domain
per fault), so every case shares one start-up and the slow ones overlap.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from tests.servers.fixtures import _start

__all__ = ["RETRY_IN", "dead_addresses", "message_ids", "start_on_free_address"]

S = TypeVar("S")

RETRY_IN = re.compile(r"; retry in (\d+\.\d)s$")


def start_on_free_address(build: Callable[[str], S]) -> S:
    """Build a server on the next free 127.0.1.x:25 and start it (the next address if another
    run takes this one between the check and the bind)."""
    return _start(build, None, 25)  # type: ignore[type-var]


def dead_addresses(count: int, network: str = "127.0.77.") -> list[str]:
    """``count`` loopback addresses where nothing listens on port 25 (checked: refused)."""
    found: list[str] = []
    for host in range(1, 255):
        address = f"{network}{host}"
        with socket.socket() as sock:
            sock.settimeout(1)
            try:
                sock.connect((address, 25))
            except ConnectionRefusedError:
                found.append(address)
            except OSError:
                continue
        if len(found) == count:
            return found
    raise RuntimeError(f"fewer than {count} silent addresses in {network}0/24")


def message_ids(received: Iterable[Any]) -> list[str]:
    """The postwave message ids of received messages (from their Message-ID headers), repeats kept."""
    ids = []
    for got in received:
        header = email.message_from_bytes(got.data, policy=email.policy.default)["Message-ID"]
        ids.append(str(header).strip().strip("<>").split("@")[0])
    return ids

"""A DNS server that changes its answer between queries: the DNS-rebinding attacker.

dnsmasq (tests/servers/dns.py) answers the same records to every query, which is what a
mail domain does; a rebinding attack needs the opposite -- an allowed address on the first
query, an internal one on the next, with TTL 0 so nothing caches the first. This server
answers A queries for its names from a script (the last entry repeats) and counts the
queries, over real UDP on loopback.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping, Sequence

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


class RebindingDNS:
    """Answers ``script[name][i]`` (a list of IPv4 addresses) to the i-th A query for ``name``."""

    def __init__(self, script: Mapping[str, Sequence[Sequence[str]]], address: str = "127.0.0.1") -> None:
        self.script = {name.rstrip(".").lower() + ".": [list(a) for a in answers] for name, answers in script.items()}
        self.queries: dict[str, int] = dict.fromkeys(self.script, 0)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((address, 0))
        self._sock.settimeout(0.1)  # recvfrom wakes up to see the stop flag
        self._stop = threading.Event()
        self.address, self.port = self._sock.getsockname()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="rebinding-dns", daemon=True)

    def __enter__(self) -> RebindingDNS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            try:
                query = dns.message.from_wire(data)
            except Exception:  # noqa: BLE001 - not DNS: ignore, as a server would
                continue
            self._sock.sendto(self._answer(query).to_wire(), peer)

    def _answer(self, query: dns.message.Message) -> dns.message.Message:
        reply = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().lower()
        if name not in self.script:
            reply.set_rcode(dns.rcode.NXDOMAIN)
            return reply
        if question.rdtype != dns.rdatatype.A:
            return reply  # NOERROR, no answer (no AAAA)
        with self._lock:
            answers = self.script[name]
            addresses = answers[min(self.queries[name], len(answers) - 1)]
            self.queries[name] += 1
        reply.answer.append(dns.rrset.from_text_list(question.name, 0, dns.rdataclass.IN, dns.rdatatype.A,
                                                     addresses))
        return reply

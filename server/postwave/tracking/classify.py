"""Machine or human: each open and click gets a verdict and a reason code.

Both are stored; statistics count them apart. The rules, first match wins:

* ``head_request`` -- a HEAD request: link checkers look, people's browsers GET;
* ``ua:<name>`` -- a user agent of a known mail privacy proxy or link scanner;
* ``network:<name>`` -- an address in a known proxy or scanner range;
* ``prefetch`` -- within ``tracking_prefetch_seconds`` of delivery: scanners fetch at
  delivery time, people open later;
* ``all_links`` -- every tracked link of the message (two or more) clicked within one
  second: a scanner following each link, not a reader choosing one.

Signatures come from a JSON file (``tracking_bots_file``) or the built-in list below.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence

from postwave.errors import InvalidArgumentError

BURST_SECONDS = 1.0

# Built-in signatures: reason -> pattern (user agents) or networks. Mail privacy proxies fetch
# every image at delivery; security gateways follow every link.
BUILTIN_USER_AGENTS: Mapping[str, str] = {
    "google_image_proxy": r"GoogleImageProxy",
    "yahoo_mail_proxy": r"YahooMailProxy",
    "outlook_preview": r"ms-office|Microsoft Office/|OutlookPreview",
    "link_scanner": r"Barracuda|Mimecast|Proofpoint|urldefense|SafeLinks|Forcepoint|Cisco|Symantec|Trend ?Micro",
    "http_library": r"^(python-requests|python-urllib|curl|Wget|Go-http-client|okhttp|Java)/",
    "crawler": r"bot\b|crawler|spider|HeadlessChrome|PhantomJS",
}
BUILTIN_NETWORKS: Mapping[str, Sequence[str]] = {
    "apple_mail_privacy": ["17.0.0.0/8"],
    "google_proxy": ["66.102.0.0/20", "66.249.80.0/20", "64.233.160.0/19", "74.125.0.0/16"],
}


@dataclasses.dataclass(frozen=True, slots=True)
class Visit:
    """What the tracker knows of one request."""

    method: str
    user_agent: str
    address: str  # the peer address, before truncation
    time: float


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """Machine or not, and why (reason "" for a human)."""

    machine: bool
    reason: str = ""


HUMAN = Verdict(False)


class Classifier:
    """Applies the rules with one set of signatures."""

    def __init__(self, user_agents: Mapping[str, str], networks: Mapping[str, Sequence[str]], *,
                 prefetch_seconds: float) -> None:
        try:
            self.user_agents = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in user_agents.items()]
            self.networks = [(name, ipaddress.ip_network(cidr, strict=False))
                             for name, cidrs in networks.items() for cidr in cidrs]
        except (re.error, ValueError, TypeError) as exc:
            raise InvalidArgumentError("tracking_bots_file", f"bad signature: {exc}") from None
        self.prefetch_seconds = prefetch_seconds

    @classmethod
    def from_file(cls, path: str, *, prefetch_seconds: float) -> Classifier:
        """Signatures from a JSON file, or the built-in ones when ``path`` is empty."""
        if not path:
            return cls(BUILTIN_USER_AGENTS, BUILTIN_NETWORKS, prefetch_seconds=prefetch_seconds)
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            raise InvalidArgumentError("tracking_bots_file", f"cannot read {path}: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidArgumentError("tracking_bots_file", "must hold a JSON object")
        return cls(data.get("user_agents", {}), data.get("networks", {}), prefetch_seconds=prefetch_seconds)

    def signature(self, visit: Visit) -> Verdict:
        """The verdict from the request alone (method, user agent, address)."""
        if visit.method == "HEAD":
            return Verdict(True, "head_request")
        for name, pattern in self.user_agents:
            if pattern.search(visit.user_agent):
                return Verdict(True, f"ua:{name}")
        try:
            address = ipaddress.ip_address(visit.address)
        except ValueError:
            address = None
        for name, network in self.networks:
            if address is not None and address.version == network.version and address in network:
                return Verdict(True, f"network:{name}")
        return HUMAN

    def open_verdict(self, visit: Visit, delivered_at: float | None) -> Verdict:
        """An open: the request, then its timing."""
        verdict = self.signature(visit)
        if verdict.machine:
            return verdict
        if delivered_at is not None and 0 <= visit.time - delivered_at < self.prefetch_seconds:
            return Verdict(True, "prefetch")
        return HUMAN

    def click_verdict(self, visit: Visit, delivered_at: float | None, link: tuple[str, int], link_count: int,
                      earlier_clicks: Iterable[tuple[str, int, float]]) -> Verdict:
        """A click: the request, its timing, then whether every link went within a second.

        ``link`` is (body, index) of this click; ``earlier_clicks`` the message's earlier
        clicks as (body, index, time); ``link_count`` how many tracked links it has.
        """
        verdict = self.open_verdict(visit, delivered_at)
        if verdict.machine:
            return verdict
        recent = {(body, index) for body, index, at in earlier_clicks if 0 <= visit.time - at <= BURST_SECONDS}
        recent.add(link)
        if link_count >= 2 and len(recent) >= link_count:
            return Verdict(True, "all_links")
        return HUMAN

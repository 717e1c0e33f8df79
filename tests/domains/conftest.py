"""DNS for sending-domain tests: dnsmasq serving a domain's records as published, or broken.

:class:`ZoneServer` extends the shared dnsmasq fixture with CNAME records and a restart on
the same port, so a running platform (whose resolver port is fixed at start) sees records
change as an operator's DNS edits would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest
from postwave.domains.service import DomainView

from tests.e2e.conftest import make_platform  # noqa: F401  (a fixture the e2e tests here use)
from tests.servers.dns import DNSServer, _config

TRACKING_TARGET = "t.postwave.test"
FEEDBACK_MX = "mx.feedback.test"


class ZoneServer(DNSServer):
    """dnsmasq with MX, A, TXT and CNAME records, restartable on its port with new records."""

    def __init__(self, *, cname: Mapping[str, str] | None = None, **records: Any) -> None:
        super().__init__(**records)
        self._config += _cnames(cname or {})

    def restart(self, *, cname: Mapping[str, str] | None = None, **records: Any) -> None:
        """Serve these records instead, on the same address and port."""
        port = self.port
        self.stop()
        self._config = _config(records.get("mx", {}), records.get("a", {}), records.get("txt", {}), 300)
        self._config += _cnames(cname or {})
        self._start_on(port)

    def _start_on(self, port: int) -> None:
        import tempfile
        from pathlib import Path

        self._folder = tempfile.TemporaryDirectory(prefix="postwave-dns-")
        conf = Path(self._folder.name, "dnsmasq.conf")
        conf.write_text(self._config)
        self.port = port
        failure = ""
        for _ in range(20):  # the old process's UDP socket can take a moment to go
            failure = self._launch(conf)
            if not failure:
                return
        raise RuntimeError(f"dnsmasq did not restart on port {port}: {failure}")


def _cnames(cname: Mapping[str, str]) -> str:
    # dnsmasq answers a CNAME only for a target it knows, so each target gets an address.
    lines = [f"host-record={target},127.0.0.1" for target in sorted(set(cname.values()))]
    lines += [f"cname={alias},{target}" for alias, target in cname.items()]
    return "\n".join(lines) + ("\n" if lines else "")


def zone(view: DomainView, *, skip: Sequence[str] = (), replace: Mapping[str, dict[str, Any]] | None = None,
         extra_txt: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """The records of ``view`` as dnsmasq settings: every record published, except purposes in
    ``skip``; ``replace`` maps a purpose to settings published instead (wrong records)."""
    mx: dict[str, list[tuple[int, str]]] = {}
    txt: dict[str, list[str]] = {}
    cname: dict[str, str] = {}
    for record in view.records:
        if record.purpose in skip or record.purpose in (replace or {}):
            continue
        if record.type == "MX":
            preference, host = record.value.split()
            mx.setdefault(record.name, []).append((int(preference), host))
        elif record.type == "TXT":
            txt.setdefault(record.name, []).append(record.value)
        else:
            cname[record.name] = record.value
    for settings in (replace or {}).values():
        for name, values in settings.get("txt", {}).items():
            txt.setdefault(name, []).extend(values)
        for name, hosts in settings.get("mx", {}).items():
            mx.setdefault(name, []).extend(hosts)
        cname.update(settings.get("cname", {}))
    for name, values in (extra_txt or {}).items():
        txt.setdefault(name, []).extend(values)
    return {"mx": mx, "txt": txt, "cname": cname}


@pytest.fixture
def make_zone() -> Iterator[Callable[..., ZoneServer]]:
    """Factory of started zone servers, stopped at teardown."""
    made: list[ZoneServer] = []

    def make(**records: Any) -> ZoneServer:
        server = ZoneServer(**records)
        made.append(server)
        server.start()
        return server

    yield make
    for server in made:
        server.stop()

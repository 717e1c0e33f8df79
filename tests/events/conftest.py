"""A live postwave (embedded) with tracking on, real DNS and SMTP peers, a threaded webhook receiver."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import make_platform
from tests.webhooks.receiver import verify

__all__ = ["ThreadedReceiver", "make_platform", "receiver"]


class ThreadedReceiver:
    """A webhook endpoint on 127.0.0.1 served from a thread (the e2e tests are synchronous)."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.kept: list[dict[str, Any]] = []
        self.forged = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if not verify(owner.secrets, headers, body, time.time()):
                    owner.forged += 1
                    self.send_response(401)
                else:
                    owner.kept.append({"id": headers["webhook-id"], **json.loads(body)})
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        """Every event received, once per webhook-id."""
        seen: set[str] = set()
        out: list[dict[str, Any]] = []
        for batch in self.kept:
            if batch["id"] not in seen:
                seen.add(batch["id"])
                out.extend(batch["data"])
        return out

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[ThreadedReceiver]:
    r = ThreadedReceiver()
    yield r
    r.close()

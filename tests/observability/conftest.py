"""An in-process pipeline (gRPC API, acceptance, one worker) against a real SMTP peer.

In-process so a test can read this process's metrics registry, its log stream and its
OpenTelemetry spans; everything it talks to is real (SQLite store and queue, gRPC over
loopback, an aiosmtpd peer on 127.0.1.x).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from postwave import config as config_mod
from postwave import tracing
from postwave.app import bootstrap
from postwave.backends import open_backends
from postwave.config import Config
from postwave.pipeline.accept import Acceptor
from postwave.pipeline.worker import Worker, build_worker
from postwave.queue.base import Queue
from postwave.render.templates import TemplateEngine
from postwave.store.base import Store
from postwave.v1 import send_pb2, send_pb2_grpc

from tests.platform import bearer

FINAL = {"delivered", "bounced", "failed", "dropped", "sandboxed"}


@dataclasses.dataclass
class Pipeline:
    """A running in-process pipeline."""

    config: Config
    store: Store
    queue: Queue
    worker: Worker
    key: str
    tenant_id: str
    stub: send_pb2_grpc.SendServiceStub
    dkim_pem: str

    async def send(self, req: send_pb2.SendRequest) -> send_pb2.SendResponse:
        """Send over gRPC with the tenant's key."""
        return await self.stub.Send(req, metadata=bearer(self.key), timeout=30)

    async def wait_final(self, message_ids: list[str], timeout: float = 60.0) -> dict[str, str]:
        """Poll the store until every message is final; their states."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            records = await asyncio.to_thread(self.store.get_messages, message_ids)
            states = {m.message_id: m.state for m in records}
            if len(states) == len(message_ids) and set(states.values()) <= FINAL:
                return states
            assert loop.time() < deadline, f"not final after {timeout}s: {states}"
            await asyncio.sleep(0.05)


def write_rsa_key(path: Path) -> str:
    """A fresh RSA-2048 key in PEM at ``path``; its text."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.write_bytes(pem)
    return pem.decode()


@pytest.fixture
async def start_pipeline(tmp_path: Path, make_smtp_peer: Any) -> AsyncIterator[Callable[..., Any]]:
    """``await start_pipeline(script=None, **options)``: a pipeline routed to a fresh (scripted) SMTP peer."""
    cleanups: list[Callable[[], Any]] = []

    async def start(script: dict[str, list[str]] | None = None, **options: Any) -> Pipeline:
        peer = make_smtp_peer(script=script)
        pem = write_rsa_key(tmp_path / "dkim.pem")
        values = {
            "data_dir": str(tmp_path), "route_all_to": f"{peer.address}:25", "helo_name": "postwave.test",
            "dkim_domain": "postwave.test", "dkim_selector": "s1", "dkim_private_key_path": str(tmp_path / "dkim.pem"),
            "track_clicks": True, "track_opens": True, "tracking_secret": "tracking-secret-do-not-log-7f3a",
            "tracking_base_url": "https://t.postwave.test", "worker_concurrency": 16, "smtp_starttls": False,
            "admin_listen": "", **options,
        }
        config = config_mod.load(values, environ={})
        store, queue = open_backends(config)
        key = bootstrap(store, config)
        assert key
        tenant_id = store.list_tenants()[0].tenant_id
        engine = TemplateEngine()
        acceptor = Acceptor(store=store, queue=queue, config=config, engine=engine)
        acceptor.start()
        from postwave.api.server import build_server

        server, port = await build_server(store=store, acceptor=acceptor, engine=engine, listen="127.0.0.1:0")
        await server.start()
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        wstore, wqueue = open_backends(config)
        worker, pool = build_worker(config, wstore, wqueue)
        tracing.instrument_deliverer(worker.deliverer)  # as the worker role does; nothing when off
        task = asyncio.get_running_loop().create_task(worker.run())

        async def stop() -> None:
            worker.stop()
            await task
            await pool.close()
            await channel.close()
            await server.stop(grace=1)
            await acceptor.stop()
            for q, s in ((wqueue, wstore), (queue, store)):
                await q.close()
                s.close()

        cleanups.append(stop)
        return Pipeline(config, store, queue, worker, key, tenant_id, send_pb2_grpc.SendServiceStub(channel), pem)

    yield start
    for stop in reversed(cleanups):
        await stop()

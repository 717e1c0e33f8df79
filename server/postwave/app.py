"""``postwave serve``: the API process, the scheduler, and N forked worker processes."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import time
from multiprocessing.process import BaseProcess

from postwave.api import keys
from postwave.api.admin import new_tenant
from postwave.api.rest import RestGateway
from postwave.api.server import SERVICES, build_server, make_servicers
from postwave.backends import open_backends
from postwave.config import Config
from postwave.logs import setup_logging
from postwave.pipeline import worker
from postwave.pipeline.accept import Acceptor
from postwave.pipeline.schedule import Scheduler, sweep
from postwave.render.templates import TemplateEngine
from postwave.store.base import Store

log = logging.getLogger("postwave.serve")

OPERATOR_KEY_FILE = "operator.key"


def bootstrap(store: Store, config: Config) -> str | None:
    """On an empty database, create the operator tenant and an admin key; return the key.

    The key is also written to ``<data_dir>/operator.key`` (mode 0600), so a first start
    leaves the operator able to create tenants and keys.
    """
    if store.list_tenants():
        return None
    tenant = new_tenant("operator", operator=True)
    store.create_tenant(tenant)
    record, secret = keys.new_key(tenant.tenant_id, "operator bootstrap key", list(keys.SCOPES))
    store.create_key(record)
    path = os.path.join(config.data_dir, OPERATOR_KEY_FILE)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return secret


class Supervisor:
    """Starts worker processes and restarts any that die."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.ctx = multiprocessing.get_context("spawn")
        self.procs: list[BaseProcess] = []

    def start(self) -> None:
        """Start every worker."""
        self.procs = [self._spawn(i) for i in range(self.config.workers)]

    def _spawn(self, index: int) -> BaseProcess:
        proc = self.ctx.Process(target=worker.main, args=(dict(self.config.values), index), name=f"worker-{index}")
        proc.start()
        return proc

    def check(self) -> None:
        """Restart dead workers (their leases expire and others' messages come back)."""
        for i, proc in enumerate(self.procs):
            if not proc.is_alive():
                log.warning("worker-%d exited with %s; restarting it", i, proc.exitcode)
                self.procs[i] = self._spawn(i)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every worker and wait for them to flush."""
        for proc in self.procs:
            if proc.is_alive() and proc.pid:
                os.kill(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            proc.join(max(0.1, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()


def serve(config: Config) -> None:
    """Run the platform until SIGINT or SIGTERM."""
    setup_logging(config.log_level, role="api")
    store, queue = open_backends(config)
    secret = bootstrap(store, config)
    if secret:
        print(f"first start: created the operator tenant; its admin key (also in "
              f"{os.path.join(config.data_dir, OPERATOR_KEY_FILE)}):\n  {secret}", flush=True)
    store.close()
    supervisor = Supervisor(config)
    supervisor.start()
    try:
        asyncio.run(_run_api(config, supervisor))
    finally:
        supervisor.stop()
        log.info("stopped")


async def _run_api(config: Config, supervisor: Supervisor) -> None:
    store, queue = open_backends(config)
    engine = TemplateEngine()
    acceptor = Acceptor(store=store, queue=queue, config=config, engine=engine)
    acceptor.start()
    swept = await sweep(store, queue)
    log.info("start-up sweep checked %d accepted messages", swept)
    scheduler = Scheduler(store=store, queue=queue, interval=config.scheduler_interval)
    tasks = [asyncio.create_task(scheduler.run()), asyncio.create_task(_watch(supervisor))]
    servicers = make_servicers(store=store, acceptor=acceptor, engine=engine)
    server, port = await build_server(
        store=store, acceptor=acceptor, engine=engine, listen=config.listen, servicers=servicers
    )
    # The gateway listens first: once gRPC health answers SERVING, REST answers too.
    gateway = RestGateway(servicers, SERVICES) if config.http_listen else None
    rest = ""
    if gateway is not None:
        http_port = await gateway.start(config.http_listen)
        rest = f"; REST on http://{config.http_listen.rsplit(':', 1)[0]}:{http_port}"
    await server.start()
    host = config.listen.rsplit(":", 1)[0]
    print(f"postwave listening on {host}:{port}{rest} with {config.workers} workers; data in {config.db_path}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: refusing new requests, finishing accepted ones")
    await asyncio.gather(server.stop(grace=5), *([gateway.stop()] if gateway else []))
    await acceptor.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await queue.close()
    store.close()


async def _watch(supervisor: Supervisor) -> None:
    while True:
        await asyncio.sleep(1.0)
        supervisor.check()

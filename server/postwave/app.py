"""``postwave serve``: the API process, the scheduler, and N forked worker processes."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import time
from multiprocessing.process import BaseProcess

import grpc

from postwave import loop, metrics
from postwave.api import keys
from postwave.api.admin import new_tenant
from postwave.api.rest import RestGateway
from postwave.api.server import SERVICES, build_server, make_servicers
from postwave.backends import open_backends
from postwave.config import Config
from postwave.pipeline import worker
from postwave.pipeline.accept import Acceptor
from postwave.pipeline.schedule import SWEEP_GRACE, Scheduler, sweep, sweep_forever
from postwave.queue.base import Queue
from postwave.roles import event_consumers, init_process, observe_queues, readiness, recheck_domains_forever, stop_event
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


def announce_bootstrap(store: Store, config: Config) -> None:
    """Bootstrap an empty database and print the operator key once."""
    secret = bootstrap(store, config)
    if secret:
        where = os.path.join(config.data_dir, OPERATOR_KEY_FILE)
        if config.log_format == "json":  # stdout feeds a log pipeline: the key stays in its file only
            print(f"first start: created the operator tenant; its admin key is in {where} (mode 0600)", flush=True)
        else:
            print(f"first start: created the operator tenant; its admin key (also in {where}):\n  {secret}",
                  flush=True)


def serve(config: Config) -> None:
    """Run the platform until SIGINT or SIGTERM."""
    init_process(config, "api")
    store, queue = open_backends(config)
    announce_bootstrap(store, config)
    store.close()
    supervisor = Supervisor(config)
    supervisor.start()
    try:
        loop.run(_run_api(config, supervisor), config)
    finally:
        supervisor.stop()
        log.info("stopped")


class ApiProcess:
    """The running API: acceptance, gRPC server and REST gateway."""

    def __init__(self, config: Config, acceptor: Acceptor, server: grpc.aio.Server, port: int,
                 gateway: RestGateway | None, http_port: int) -> None:
        self.config = config
        self.acceptor = acceptor
        self.server = server
        self.port = port
        self.gateway = gateway
        self.http_port = http_port

    def describe(self) -> str:
        """Where it listens, for the start-up line."""
        host = self.config.listen.rsplit(":", 1)[0]
        rest = ""
        if self.gateway is not None:
            rest = f"; REST on http://{self.config.http_listen.rsplit(':', 1)[0]}:{self.http_port}"
        return f"{host}:{self.port}{rest}"

    async def stop(self) -> None:
        """Refuse new requests, finish those in flight and the accepted ones being written."""
        await asyncio.gather(self.server.stop(grace=5), *([self.gateway.stop()] if self.gateway else []))
        await self.acceptor.stop()


async def start_api(config: Config, store: Store, queue: Queue) -> ApiProcess:
    """Start acceptance, the gRPC server and the REST gateway."""
    engine = TemplateEngine()
    acceptor = Acceptor(store=store, queue=queue, config=config, engine=engine)
    acceptor.start()
    servicers = make_servicers(store=store, acceptor=acceptor, engine=engine)
    server, port = await build_server(
        store=store, acceptor=acceptor, engine=engine, listen=config.listen, servicers=servicers
    )
    # The gateway listens first: once gRPC health answers SERVING, REST answers too.
    gateway = RestGateway(servicers, SERVICES) if config.http_listen else None
    http_port = await gateway.start(config.http_listen) if gateway is not None else 0
    await server.start()
    return ApiProcess(config, acceptor, server, port, gateway, http_port)


async def _run_api(config: Config, supervisor: Supervisor) -> None:
    store, queue = open_backends(config)
    # On SQLite a request is stored and its send_id claimed in one transaction. On a CQL
    # store a crash can fall between the two, and a message stored in the last minute may
    # still be replaced by the client's retry: those are left to the periodic sweep.
    split = config.store == "cql"
    swept = await sweep(store, queue, until=time.time() - SWEEP_GRACE if split else float("inf"))
    log.info("start-up sweep checked %d accepted messages", swept)
    scheduler = Scheduler(store=store, queue=queue, interval=config.scheduler_interval)
    tasks = [asyncio.create_task(scheduler.run()), asyncio.create_task(_watch(supervisor)),
             asyncio.create_task(observe_queues(queue)), asyncio.create_task(recheck_domains_forever(store, config))]
    if split:
        tasks.append(asyncio.create_task(sweep_forever(store, queue, grace=SWEEP_GRACE)))
    tasks.extend(asyncio.create_task(consumer.run()) for consumer in event_consumers(config, store, queue))
    api = await start_api(config, store, queue)
    admin = await metrics.start_admin_server(config.admin_listen, readiness(store, queue))
    print(f"postwave listening on {api.describe()} with {config.workers} workers; data in {config.db_path}", flush=True)
    stop = stop_event()
    await stop.wait()
    log.info("shutting down: refusing new requests, finishing accepted ones")
    await api.stop()
    await admin.stop()
    await loop.cancel_and_wait(tasks)
    await queue.close()
    store.close()


async def _watch(supervisor: Supervisor) -> None:
    while True:
        await asyncio.sleep(1.0)
        supervisor.check()

"""The gRPC server of the API process: services, health checking and reflection."""

from __future__ import annotations

from collections.abc import Mapping

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from postwave.api.admin import AdminServicer
from postwave.api.auth import Authenticator, FailureThrottle
from postwave.api.events import EventServicer
from postwave.api.rpc import Servicer, register
from postwave.api.send import SendServicer
from postwave.breakers.policy import BreakerPolicy
from postwave.domains.service import DomainService
from postwave.pipeline.accept import Acceptor
from postwave.render.templates import TemplateEngine
from postwave.store.base import Store
from postwave.tracking.rpc import TrackingAdmin
from postwave.v1 import admin_pb2, events_pb2, send_pb2

SERVICES = (
    send_pb2.DESCRIPTOR.services_by_name["SendService"],
    events_pb2.DESCRIPTOR.services_by_name["EventService"],
    admin_pb2.DESCRIPTOR.services_by_name["AdminService"],
)
# Room for a 25 MB message plus protobuf framing, so an oversized request reaches
# validation and gets a precise error instead of the transport's generic one.
MAX_RECEIVE_BYTES = 64 * 1024 * 1024


def make_servicers(*, store: Store, acceptor: Acceptor, engine: TemplateEngine) -> dict[str, Servicer]:
    """One servicer per service (by full name), sharing one authenticator.

    The gRPC server and the REST gateway serve the same instances, so a key revoked through
    either is forgotten by both at once.
    """
    auth = Authenticator(store, throttle=FailureThrottle.from_config(acceptor.config))
    return {
        SERVICES[0].full_name: SendServicer(auth, acceptor, store),
        SERVICES[1].full_name: EventServicer(auth, store),
        SERVICES[2].full_name: AdminServicer(auth, store, engine, domains=DomainService(
            store, acceptor.config, on_change=acceptor.senders.forget),
                                                   tracking=TrackingAdmin(acceptor.config),
                                                   breaker_policy=BreakerPolicy.from_config(acceptor.config)),
    }


async def build_server(
    *, store: Store, acceptor: Acceptor, engine: TemplateEngine, listen: str,
    servicers: Mapping[str, Servicer] | None = None,
) -> tuple[grpc.aio.Server, int]:
    """A configured, not yet started server and the port it bound."""
    server = grpc.aio.server(options=[
        ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
        ("grpc.max_send_message_length", MAX_RECEIVE_BYTES),
    ])
    if servicers is None:
        servicers = make_servicers(store=store, acceptor=acceptor, engine=engine)
    for service in SERVICES:
        register(server, servicers[service.full_name], service)
    checker = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    for name in ["", *(s.full_name for s in SERVICES)]:
        await checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        [s.full_name for s in SERVICES] + [health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    port = server.add_insecure_port(listen)
    if port == 0:
        raise OSError(f"cannot listen on {listen}: address in use or not local")
    return server, port

"""``postwave breakers``: a tenant's circuit breaker (status) and lifting it (resume), through a running API.

``status`` prints the level, why, each stream's window and the transitions, newest first
(``--json``: the API's message); ``resume`` needs an operator key. Exit status: 0, 1 on an
API error (bad tenant or stream, not permitted), 3 from ``status --check`` when the breaker
is not closed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf import json_format

from postwave.v1 import admin_pb2, admin_pb2_grpc


def add_arguments(parser: argparse.ArgumentParser, client_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``breakers`` subcommand's grammar (``client_flags`` adds --server and --key)."""
    sub = parser.add_subparsers(dest="breakers_command", required=True, metavar="ACTION")
    status = sub.add_parser("status", help="show a tenant's breaker: level, why, windows, history",
                            description="Show a tenant's circuit breaker: level, why, each stream's window, history.")
    resume = sub.add_parser("resume", help="lift a tripped breaker (operator keys only)",
                            description="Lift a tenant's tripped circuit breaker: held mail goes out again.")
    for p in (status, resume):
        client_flags(p)
        p.add_argument("--stream", default="", help="transactional or bulk (default: both / everything)")
    status.add_argument("--tenant", default="", help="another tenant's id (operator keys only)")
    status.add_argument("--history", type=int, default=0, help="transitions to show (default 20)")
    status.add_argument("--json", action="store_true", help="print the API's JSON")
    status.add_argument("--check", action="store_true", help="exit status 3 when the breaker is not closed")
    resume.add_argument("tenant", help="the tenant's id")


def run(args: argparse.Namespace) -> int:
    """Run one action."""
    if not args.key:
        sys.exit("postwave: error: no API key; pass --key or set POSTWAVE_API_KEY")
    metadata = [("authorization", f"Bearer {args.key}")]
    with grpc.insecure_channel(args.server) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        try:
            if args.breakers_command == "resume":
                reply = stub.ResumeTenantBreaker(admin_pb2.ResumeTenantBreakerRequest(
                    tenant_id=args.tenant, stream=args.stream), metadata=metadata, timeout=30)
                print(f"tenant {reply.tenant_id}: breaker {reply.level}")
                return 0
            reply = stub.GetTenantBreaker(admin_pb2.GetTenantBreakerRequest(
                tenant_id=args.tenant, stream=args.stream, history_limit=args.history), metadata=metadata, timeout=30)
        except grpc.RpcError as exc:
            print(f"postwave: error: {exc.code().name}: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            return 1
    if args.json:
        print(json_format.MessageToJson(reply, preserving_proto_field_name=True))
    else:
        _print(reply)
    return 3 if args.check and reply.level != "closed" else 0


def _print(reply: Any) -> None:
    since = f" since {_when(reply.since)}" if reply.HasField("since") else ""
    print(f"tenant {reply.tenant_id}: {reply.level}{since}{': ' + reply.reason if reply.reason else ''}")
    for w in reply.windows:
        print(f"  {w.stream:<13} last {w.window_seconds / 60:g} min: {w.delivered} delivered, {w.bounced} bounced "
              f"({w.bounce_rate:.1%}), {w.complained} complaints ({w.complaint_rate:.2%})")
    for t in reply.history:
        print(f"  {_when(t.time)}  {t.from_level} -> {t.to_level}  by {t.actor}: {t.reason}")


def _when(ts: Any) -> str:
    return datetime.fromtimestamp(ts.ToNanoseconds() / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

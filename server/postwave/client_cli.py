"""``postwave send`` and ``postwave status``: a small gRPC client of a running server."""

from __future__ import annotations

import argparse
import mimetypes
import os
import sys
import time

import grpc
from google.protobuf import json_format, struct_pb2
from grpc_status import rpc_status

from postwave.v1 import send_pb2, send_pb2_grpc

FINAL_STATES = frozenset({"delivered", "bounced", "failed", "dropped", "cancelled", "sandboxed"})


def _stub(args: argparse.Namespace) -> tuple[send_pb2_grpc.SendServiceStub, list[tuple[str, str]]]:
    if not args.key:
        sys.exit("postwave: error: no API key; pass --key or set POSTWAVE_API_KEY")
    channel = grpc.insecure_channel(args.server, options=[("grpc.max_send_message_length", 64 << 20)])
    return send_pb2_grpc.SendServiceStub(channel), [("authorization", f"Bearer {args.key}")]


def _fail(exc: grpc.RpcError) -> int:
    status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    print(f"postwave: error: {exc.code().name}: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
    if status is not None:
        for detail in status.details:
            print(f"  detail: {detail.type_url.rsplit('/', 1)[-1]}", file=sys.stderr)
    return 1


def send(args: argparse.Namespace) -> int:
    """Send one message and print its id(s)."""
    stub, metadata = _stub(args)
    req = send_pb2.SendRequest(
        send_id=args.send_id, subject=args.subject, text=args.text, html=args.html,
        template_id=args.template, sandbox=args.sandbox,
        stream=send_pb2.STREAM_BULK if args.bulk else send_pb2.STREAM_TRANSACTIONAL,
        personalizations=[send_pb2.Personalization(to=args.to)],
    )
    setattr(req, "from", args.from_)
    if args.var:
        subs = struct_pb2.Struct()
        subs.update(dict(v.split("=", 1) for v in args.var))
        req.personalizations[0].substitutions.CopyFrom(subs)
    for path in args.attach:
        with open(path, "rb") as f:
            content = f.read()
        ctype = mimetypes.guess_type(path)[0] or "application/octet-stream"
        req.attachments.add(filename=os.path.basename(path), content_type=ctype, content=content)
    if args.send_at:
        req.send_at.FromNanoseconds(int(args.send_at * 1e9))
    try:
        resp = stub.Send(req, metadata=metadata, timeout=30)
    except grpc.RpcError as exc:
        return _fail(exc)
    for m in resp.messages:
        print(f"{m.message_id}\t{m.recipient}\t{m.state}" + (f"\t{m.detail}" if m.detail else ""))
    return 0


def status(args: argparse.Namespace) -> int:
    """Print a message's status as JSON; with --wait, poll until it is final."""
    stub, metadata = _stub(args)
    deadline = time.monotonic() + args.wait
    while True:
        try:
            st = stub.GetStatus(send_pb2.GetStatusRequest(message_id=args.message_id), metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            return _fail(exc)
        if st.state in FINAL_STATES or time.monotonic() >= deadline:
            break
        print(f"... {st.state} ({st.attempt_count} attempts)", file=sys.stderr)
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    print(json_format.MessageToJson(st, indent=2))
    return 0

"""``postwave suppressions``: list, get (why), add, remove, import and export through a running API.

Import and export use CSV with a header row. Export writes every column
(``address,reason,source,source_event_id,message_id,created,expires``; times in ISO 8601
UTC, an empty ``expires`` = permanent); import reads ``address`` and, when present,
``reason`` and ``expires`` (ISO 8601 or unix seconds), so an export imports back as is. A
file without a header row is read as ``address[,reason[,expires]]``. Import sends 1,000
rows per call; a bad row stops it with its line number (rows before it are added; adding
again is harmless).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

import grpc
from google.protobuf import json_format

from postwave.v1 import admin_pb2, admin_pb2_grpc

CHUNK = 1000
COLUMNS = ("address", "reason", "source", "source_event_id", "message_id", "created", "expires")


def add_arguments(parser: argparse.ArgumentParser, client_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``suppressions`` subcommand's grammar (``client_flags`` adds --server and --key)."""
    sub = parser.add_subparsers(dest="suppressions_command", required=True, metavar="ACTION")
    actions = {
        "list": "list the tenant's suppressed addresses (address, reason, source, created, expires)",
        "get": "show whether an address is suppressed, and why",
        "add": "suppress addresses (for good, or for --ttl-hours)",
        "remove": "lift the suppression of addresses",
        "import": "suppress every address of a CSV file (- = stdin)",
        "export": "write every suppression to a CSV file (- = stdout)",
    }
    for action, text in actions.items():
        p = sub.add_parser(action, help=text, description=text.capitalize() + ".")
        client_flags(p)
        p.add_argument("--tenant", default="", help="another tenant's id (operator keys only)")
        if action in ("get", "add", "remove"):
            p.add_argument("addresses", nargs="+", metavar="ADDRESS")
        if action in ("add", "import"):
            p.add_argument("--reason", default="", help="reason for entries that give none (default: manual)")
        if action == "add":
            p.add_argument("--ttl-hours", type=float, default=0.0, help="temporary: lift after this many hours")
        if action in ("import", "export"):
            p.add_argument("file", help="CSV file, - for standard input/output")
        if action in ("list", "get"):
            p.add_argument("--json", action="store_true", help="print the API's JSON")


def run(args: argparse.Namespace) -> int:
    """Run one action; exit status 0, 1 on an API error, 2 on a bad file."""
    if not args.key:
        sys.exit("postwave: error: no API key; pass --key or set POSTWAVE_API_KEY")
    metadata = [("authorization", f"Bearer {args.key}")]
    with grpc.insecure_channel(args.server) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        try:
            return _ACTIONS[args.suppressions_command](stub, args, metadata)
        except grpc.RpcError as exc:
            print(f"postwave: error: {exc.code().name}: {exc.details()}", file=sys.stderr)  # type: ignore[attr-defined]
            return 1


def _list(stub: Any, args: argparse.Namespace, metadata: list[tuple[str, str]]) -> int:
    for entry in _all(stub, args.tenant, metadata):
        if args.json:
            print(json_format.MessageToJson(entry, preserving_proto_field_name=True, indent=None))
        else:
            row = _row(entry)
            print("\t".join((row["address"], row["reason"], row["source"] or "-", row["created"],
                             row["expires"] or "permanent")))
    return 0


def _get(stub: Any, args: argparse.Namespace, metadata: list[tuple[str, str]]) -> int:
    status = 0
    for address in args.addresses:
        try:
            entry = stub.GetSuppression(admin_pb2.GetSuppressionRequest(tenant_id=args.tenant, address=address),
                                        metadata=metadata, timeout=30)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND:  # type: ignore[attr-defined]
                raise
            print(f"{address}: not suppressed")
            status = 3
            continue
        if args.json:
            print(json_format.MessageToJson(entry, preserving_proto_field_name=True))
            continue
        row = _row(entry)
        cause = f" (event {row['source_event_id']}" + (f" of message {row['message_id']})" if row["message_id"] else ")")
        print(f"{row['address']}: suppressed since {row['created']}"
              f"{' until ' + row['expires'] if row['expires'] else ' for good'}: {row['reason']}"
              f"{' [' + row['source'] + ']' if row['source'] else ''}{cause if row['source_event_id'] else ''}")
    return status


def _add(stub: Any, args: argparse.Namespace, metadata: list[tuple[str, str]]) -> int:
    request = admin_pb2.AddSuppressionsRequest(tenant_id=args.tenant, source="manual")
    for address in args.addresses:
        item = request.suppressions.add(address=address, reason=args.reason)
        if args.ttl_hours > 0:
            item.expires.FromNanoseconds(int((datetime.now(UTC).timestamp() + args.ttl_hours * 3600) * 1e9))
    reply = stub.AddSuppressions(request, metadata=metadata, timeout=30)
    print(f"added {reply.added}")
    return 0


def _remove(stub: Any, args: argparse.Namespace, metadata: list[tuple[str, str]]) -> int:
    for address in args.addresses:
        entry = stub.RemoveSuppression(admin_pb2.RemoveSuppressionRequest(tenant_id=args.tenant, address=address),
                                       metadata=metadata, timeout=30)
        print(f"removed {entry.address} ({entry.reason})")
    return 0


def _import(stub: Any, args: argparse.Namespace, metadata: list[tuple[str, str]]) -> int:
    added = 0
    with _open(args.file, "r") as f:
        try:
            for lines, request in _requests(f, args.tenant, args.reason):
                try:
                    added += stub.AddSuppressions(request, metadata=metadata, timeout=60).added
                except grpc.RpcError as exc:
                    found = re.search(r"suppressions\[(\d+)\]", exc.details() or "")  # type: ignore[attr-defined]
                    where = f"line {lines[int(found.group(1))]}" if found else f"lines {lines[0]}-{lines[-1]}"
                    print(f"postwave: error at {where}: {exc.details()} ({added} added before it)",  # type: ignore[attr-defined]
                          file=sys.stderr)
                    return 1
        except ValueError as exc:
            print(f"postwave: error: {exc} ({added} added before it)", file=sys.stderr)
            return 2
    print(f"imported {added}")
    return 0


def _export(stub: Any, args: argparse.Namespace, metadata: list[tuple[str, str]]) -> int:
    count = 0
    with _open(args.file, "w") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for entry in _all(stub, args.tenant, metadata):
            writer.writerow(_row(entry))
            count += 1
    print(f"exported {count}", file=sys.stderr)
    return 0


_ACTIONS: dict[str, Callable[[Any, argparse.Namespace, list[tuple[str, str]]], int]] = {
    "list": _list, "get": _get, "add": _add, "remove": _remove, "import": _import, "export": _export,
}


def _all(stub: Any, tenant: str, metadata: list[tuple[str, str]]) -> Iterator[admin_pb2.Suppression]:
    token = ""
    while True:
        page = stub.ListSuppressions(admin_pb2.ListSuppressionsRequest(tenant_id=tenant, page_size=1000,
                                                                       page_token=token), metadata=metadata, timeout=60)
        yield from page.suppressions
        token = page.next_page_token
        if not token:
            return


def _row(entry: admin_pb2.Suppression) -> dict[str, str]:
    return {
        "address": entry.address, "reason": entry.reason, "source": entry.source,
        "source_event_id": entry.source_event_id, "message_id": entry.message_id,
        "created": _iso(entry.created.ToNanoseconds() / 1e9),
        "expires": _iso(entry.expires.ToNanoseconds() / 1e9) if entry.HasField("expires") else "",
    }


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _requests(f: IO[str], tenant: str, reason: str) -> Iterator[tuple[list[int], admin_pb2.AddSuppressionsRequest]]:
    """AddSuppressions requests of CHUNK rows each, with the file line of every row."""
    request, lines = admin_pb2.AddSuppressionsRequest(tenant_id=tenant, source="import"), []
    header: list[str] | None = None
    for number, row in enumerate(csv.reader(f), start=1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if header is None and number == 1 and "address" in [c.strip().lower() for c in row]:
            header = [c.strip().lower() for c in row]
            continue
        fields = dict(zip(header or ["address", "reason", "expires"], (c.strip() for c in row)))
        item = request.suppressions.add(address=fields.get("address", ""), reason=fields.get("reason", "") or reason)
        if fields.get("expires"):
            item.expires.FromNanoseconds(int(_when(fields["expires"], number) * 1e9))
        lines.append(number)
        if len(lines) == CHUNK:
            yield lines, request
            request, lines = admin_pb2.AddSuppressionsRequest(tenant_id=tenant, source="import"), []
    if lines:
        yield lines, request


def _when(text: str, line: int) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)  # Python 3.11 reads a trailing Z as UTC
    except ValueError:
        raise ValueError(f"line {line}: expires {text!r} is neither ISO 8601 nor unix seconds") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _open(path: str, mode: str) -> IO[str]:
    if path == "-":
        return open(sys.stdin.fileno() if mode == "r" else sys.stdout.fileno(), mode, closefd=False, newline="")
    return open(path, mode, newline="", encoding="utf-8")

"""``postwave domains``: add, verify, list and rotate sending domains through a running API.

Prints the DNS records to publish, one per line (``--json`` for the API's JSON form), and
what the last check found for each. ``postwave domains master-key`` prints a new master key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import json_format

from postwave.domains.masterkey import new_master_key
from postwave.v1 import admin_pb2, admin_pb2_grpc

ACTIONS = ("add", "verify", "list", "get", "rotate", "master-key")


def add_arguments(parser: argparse.ArgumentParser, client_flags: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``domains`` subcommand's grammar (``client_flags`` adds --server and --key)."""
    sub = parser.add_subparsers(dest="domains_command", required=True, metavar="ACTION")
    for action, text in (("add", "register a sending domain, generate its DKIM keys, print the records to publish"),
                         ("verify", "check the domain's records against DNS now"),
                         ("get", "show a domain, its records and the last check"),
                         ("rotate", "start a DKIM key rotation (new selectors to publish)")):
        p = sub.add_parser(action, help=text)
        client_flags(p)
        p.add_argument("domain")
        p.add_argument("--json", action="store_true", help="print the API's JSON")
        if action in ("add", "rotate"):
            p.add_argument("--algorithm", action="append", default=[], dest="algorithms", choices=("rsa", "ed25519"),
                           help="rsa and/or ed25519; repeat; default both (add) or those in use (rotate)")
    listing = sub.add_parser("list", help="list the tenant's sending domains")
    client_flags(listing)
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    sub.add_parser("master-key", help="print a new random master key (for POSTWAVE_MASTER_KEY)")


def run(args: argparse.Namespace) -> int:
    """Run one ``domains`` action; exit status 0, 1 on an API error, 3 when verify finds the
    domain not verified."""
    if args.domains_command == "master-key":
        print(new_master_key())
        return 0
    if not args.key:
        sys.exit("postwave: error: no API key; pass --key or set POSTWAVE_API_KEY")
    metadata = [("authorization", f"Bearer {args.key}")]
    with grpc.insecure_channel(args.server) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        try:
            result = _call(stub, args, metadata)
        except grpc.RpcError as exc:
            print(f"postwave: error: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
    domains = list(result.domains) if isinstance(result, admin_pb2.ListSendingDomainsResponse) else [result]
    if args.json:
        print(json_format.MessageToJson(result, preserving_proto_field_name=True))
    else:
        for domain in domains:
            print(describe(domain))
    if args.domains_command == "verify" and domains[0].state != "verified":
        return 3
    return 0


def _call(stub: Any, args: argparse.Namespace, metadata: list[tuple[str, str]]) -> Any:
    action = args.domains_command
    if action == "list":
        return stub.ListSendingDomains(admin_pb2.ListSendingDomainsRequest(), metadata=metadata, timeout=30)
    if action == "add":
        return stub.AddSendingDomain(admin_pb2.AddSendingDomainRequest(domain=args.domain, algorithms=args.algorithms),
                                     metadata=metadata, timeout=60)
    if action == "rotate":
        return stub.RotateDkimKeys(admin_pb2.RotateDkimKeysRequest(domain=args.domain, algorithms=args.algorithms),
                                   metadata=metadata, timeout=60)
    if action == "verify":
        return stub.VerifySendingDomain(admin_pb2.VerifySendingDomainRequest(domain=args.domain),
                                        metadata=metadata, timeout=60)
    return stub.GetSendingDomain(admin_pb2.GetSendingDomainRequest(domain=args.domain), metadata=metadata, timeout=30)


def describe(domain: admin_pb2.SendingDomain) -> str:
    """A domain as text: state, selectors, then one block per DNS record."""
    lines = [f"{domain.domain}: {domain.state} (return path {domain.return_path_domain})"]
    lines += [f"  selector {s.selector} {s.algorithm} {s.state}" for s in domain.selectors]
    for r in domain.records:
        need = "required" if r.required else "optional"
        status = r.status or "not checked"
        lines.append(f"  [{status}] {r.purpose} ({need}): {r.name} {r.type} {r.value}")
        if r.problem:
            lines.append(f"      problem: {r.problem}")
        lines += [f"      found: {f}" for f in r.found if r.status != "ok"]
    return "\n".join(lines)

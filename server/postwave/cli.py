"""The ``postwave`` command.

``serve`` runs the platform; ``admin`` manages tenants and keys directly in the local
database; ``send`` and ``status`` talk to a running server over gRPC.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from postwave import config as config_mod
from postwave.errors import PostwaveError

DEFAULT_SERVER = "127.0.0.1:50051"


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    for o in config_mod.OPTIONS:
        kind = str if o.type is bool else o.type
        default = "(host name)" if o.name == "helo_name" else o.default
        parser.add_argument(
            o.flag, dest=o.name, type=kind, default=None, metavar=o.type.__name__.upper(),
            help=f"{o.description} [env {o.env}; default {default}]",
        )


def _client_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", default=os.environ.get("POSTWAVE_SERVER", DEFAULT_SERVER),
                        help=f"host:port of the gRPC API [env POSTWAVE_SERVER; default {DEFAULT_SERVER}]")
    parser.add_argument("--key", default=os.environ.get("POSTWAVE_API_KEY", ""),
                        help="API key (pw_...) [env POSTWAVE_API_KEY]")


def build_parser() -> argparse.ArgumentParser:
    """The full command-line grammar."""
    parser = argparse.ArgumentParser(prog="postwave", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the platform (API, scheduler, workers) on the embedded store",
                           description="Run the API, the scheduler and --workers delivery processes. "
                                       "Options come from flags, then POSTWAVE_* variables, then defaults.")
    _add_config_flags(serve)

    # --- distributed mode: one process per role (owner: lead) ---
    role_help = {
        "api": "run the gRPC API and REST gateway (acceptance) alone",
        "worker": "run one delivery worker alone (claims from the queue, delivers over SMTP)",
        "scheduler": "run the scheduler alone: scheduled releases, start-up sweep, queue metrics; "
                     "one active at a time (a lease), others stand by",
    }
    for role, text in role_help.items():
        rp = sub.add_parser(role, help=text, description=text.capitalize() + ". For distributed mode: "
                            "--store cql://host1,host2/keyspace --queue nats://host:4222. Stops gracefully on "
                            "SIGTERM. Options come from flags, then POSTWAVE_* variables, then defaults.")
        _add_config_flags(rp)
    # --- tracking: the tracker and webhook roles (owner: tracking helper) ---
    for role, text in {"tracker": "run the click, open and unsubscribe HTTP service (tracker_listen)",
                       "webhooks": "run the webhook dispatcher: signed event batches to tenant endpoints"}.items():
        _add_config_flags(sub.add_parser(role, help=text, description=text.capitalize() + ". Stops on SIGTERM. "
                                         "Options come from flags, then POSTWAVE_* variables, then defaults."))
    _add_config_flags(sub.add_parser(
        "erasure-index", help="store=cql: write erasure's address lookup for messages accepted before CQL migration 21",
        description="One pass over the messages table writing the rows of recipient_messages, which erasure "
                    "(EraseRecipient) follows instead of scanning; needed once after upgrading a store whose messages "
                    "predate migration 21 (docs/tracking.md). Idempotent. The embedded store needs nothing."))
    init = sub.add_parser("init", help="apply the CQL schema and create the JetStream streams, then exit",
                          description="Prepare the backends once before the roles start (the Kubernetes "
                                      "bootstrap Job, make up): keyspace, tables and migrations on the store, the "
                                      "lane streams on the queue. Idempotent.")
    _add_config_flags(init)

    admin = sub.add_parser("admin", help="manage tenants and API keys in the local database")
    admin.add_argument("--data-dir", default=None, help="database directory [env POSTWAVE_DATA_DIR; default ./var]")
    asub = admin.add_subparsers(dest="admin_command", required=True, metavar="WHAT")
    tenant = asub.add_parser("tenant", help="tenants").add_subparsers(dest="action", required=True, metavar="ACTION")
    tc = tenant.add_parser("create", help="create a tenant and print its id")
    tc.add_argument("name", help="unique tenant name")
    tc.add_argument("--rate", type=float, default=0.0, help="accepted messages per second; 0 = unlimited")
    tc.add_argument("--daily-quota", type=int, default=0, help="accepted messages per UTC day; 0 = unlimited")
    tc.add_argument("--operator", action="store_true", help="may manage other tenants through the API")
    tenant.add_parser("list", help="list tenants")
    key = asub.add_parser("key", help="API keys").add_subparsers(dest="action", required=True, metavar="ACTION")
    kc = key.add_parser("create", help="create a key and print it (shown once)")
    kc.add_argument("--tenant", required=True, help="tenant id (t_...) or name")
    kc.add_argument("--name", default="", help="label for the key")
    kc.add_argument("--scope", action="append", default=[], dest="scopes",
                    help="mail.send, mail.read, events.read or admin; repeat; default all")
    kl = key.add_parser("list", help="list a tenant's keys")
    kl.add_argument("--tenant", required=True, help="tenant id or name")
    kr = key.add_parser("revoke", help="revoke a key")
    kr.add_argument("--tenant", required=True, help="tenant id or name")
    kr.add_argument("key_id", help="the key id (the part after pw_ and before the next _)")

    send = sub.add_parser("send", help="send one message through a running server")
    _client_flags(send)
    send.add_argument("--from", dest="from_", required=True, help="sender, e.g. 'Shop <news@shop.example>'")
    send.add_argument("--to", action="append", required=True, help="recipient; repeat for several")
    send.add_argument("--subject", default="", help="subject line")
    send.add_argument("--text", default="", help="plain-text body")
    send.add_argument("--html", default="", help="HTML body")
    send.add_argument("--template", default="", help="stored template id instead of subject/text/html")
    send.add_argument("--var", action="append", default=[], metavar="NAME=VALUE", help="template variable; repeat")
    send.add_argument("--attach", action="append", default=[], metavar="FILE", help="attach a file; repeat")
    send.add_argument("--send-id", default="", help="idempotency key")
    send.add_argument("--send-at", type=float, default=0.0, metavar="UNIX_TIME", help="schedule (<= 72 h ahead)")
    send.add_argument("--bulk", action="store_true", help="use the bulk stream (adds List-Unsubscribe)")
    send.add_argument("--sandbox", action="store_true", help="accept and render, do not deliver")

    status = sub.add_parser("status", help="show a message's state, attempts and events")
    _client_flags(status)
    status.add_argument("message_id")
    status.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="poll until the message is final (delivered, bounced, failed, ...) or time runs out")

    # --- deliverability: sending domains and the feedback receiver (owner: deliverability helper) ---
    domains = sub.add_parser("domains", help="sending domains: add, verify, list, get, rotate (through a running API)",
                             description="Register sending domains, print the DNS records to publish, verify them "
                                         "against DNS and rotate DKIM keys.")
    from postwave.domains.cli import add_arguments as _domain_arguments

    _domain_arguments(domains, _client_flags)
    feedback = sub.add_parser(
        "feedback", help="run the SMTP receiver of DSN bounces and ARF complaints (feedback_listen)",
        description="Receive bounces (RFC 3464 DSNs, plain-text bounces) and complaints (ARF, RFC 5965) on "
                    "feedback_listen and turn them into bounced/complained events and suppressions. "
                    "Options come from flags, then POSTWAVE_* variables, then defaults.")
    feedback.add_argument("--list-kept", type=int, default=0, metavar="N",
                          help="print the N newest reports kept for inspection (unparsed, unmatched) and exit")
    _add_config_flags(feedback)

    # --- observability: postwave top (owner: observability helper) ---
    top = sub.add_parser("top", help="live rates, queue depths and the worst sites/tenants from /metrics endpoints",
                         description="Scrape the admin /metrics endpoint of each process (--admin, repeatable), "
                                     "add them up and show rates over --interval seconds.")
    top.add_argument("--admin", action="append", default=[], metavar="URL",
                     help="admin endpoint, e.g. http://127.0.0.1:9464 or 127.0.0.1:9465; repeat for every "
                          "process (API, each worker); default http://127.0.0.1:9464")
    top.add_argument("--interval", type=float, default=2.0, metavar="SECONDS", help="seconds between scrapes")
    top.add_argument("--once", action="store_true", help="print one frame and exit (1 if no endpoint answered)")

    # --- suppressions (owner: storage helper) ---
    suppressions = sub.add_parser(
        "suppressions", help="suppressed addresses: list, get (why), add, remove, import, export (through a running API)",
        description="Manage the tenant's suppression list through the API: mail to a suppressed address is dropped.")
    from postwave.suppression.cli import add_arguments as _suppression_arguments

    _suppression_arguments(suppressions, _client_flags)

    # --- tenant circuit breakers (owner: reputation helper) ---
    breakers = sub.add_parser(
        "breakers", help="tenant circuit breakers: status (level, rates, history), resume (through a running API)",
        description="See and lift tenants' circuit breakers (bounce/complaint spikes slow, then pause, a tenant).")
    from postwave.breakers.cli import add_arguments as _breaker_arguments

    _breaker_arguments(breakers, _client_flags)
    sub.add_parser("config-docs", help="print the configuration reference (docs/configuration.md)")
    sub.add_parser(
        "doctor", help="show which implementation (compiled or pure-Python twin) each hot-path module uses",
        description="POSTWAVE_NO_EXTENSIONS=1 forces the twins; POSTWAVE_REQUIRE_EXTENSIONS=1 makes a "
                    "missing compiled module an error. Exit status 1 when a compiled module is missing.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``postwave`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except PostwaveError as exc:
        print(f"postwave: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "serve":
        from postwave.app import serve

        overrides = {o.name: getattr(args, o.name) for o in config_mod.OPTIONS}
        serve(config_mod.load(overrides))
        return 0
    if args.command in ("api", "worker", "scheduler", "init"):
        from postwave import roles

        overrides = {o.name: getattr(args, o.name) for o in config_mod.OPTIONS}
        roles.run(args.command, config_mod.load(overrides))
        return 0
    if args.command in ("tracker", "webhooks", "erasure-index"):  # tracking
        return _tracking_role(args)
    if args.command == "admin":
        from postwave import admin_cli

        return admin_cli.run(args)
    if args.command in ("domains", "feedback"):  # deliverability
        return _deliverability(args)
    if args.command == "top":  # observability
        from postwave import top

        return top.run(args.admin, interval=args.interval, once=args.once)
    if args.command == "suppressions":  # storage
        from postwave.suppression import cli as suppressions_cli

        return suppressions_cli.run(args)
    if args.command == "breakers":  # reputation helper
        from postwave.breakers import cli as breakers_cli

        return breakers_cli.run(args)
    if args.command == "config-docs":
        sys.stdout.write(config_mod.markdown())
        return 0
    if args.command == "doctor":
        return _doctor()
    from postwave import client_cli

    return client_cli.send(args) if args.command == "send" else client_cli.status(args)


def _deliverability(args: argparse.Namespace) -> int:
    if args.command == "domains":
        from postwave.domains import cli as domains_cli

        return domains_cli.run(args)
    from postwave.feedback import receiver

    config = config_mod.load({o.name: getattr(args, o.name) for o in config_mod.OPTIONS})
    if args.list_kept:
        receiver.print_kept(config, args.list_kept)
        return 0
    from postwave import loop
    from postwave.roles import init_process

    init_process(config, "feedback")
    loop.run(receiver.run_feedback(config), config)
    return 0


def _doctor() -> int:
    from postwave import native

    for name in ("POSTWAVE_NO_EXTENSIONS", "POSTWAVE_REQUIRE_EXTENSIONS"):
        print(f"{name}={os.environ.get(name, '')}")
    print(native.report())
    return 1 if native.missing() else 0



def _tracking_role(args: argparse.Namespace) -> int:
    """``postwave tracker`` / ``postwave webhooks`` / ``postwave erasure-index`` (tracking helper)."""
    from postwave import loop
    from postwave.roles import init_process

    config = config_mod.load({o.name: getattr(args, o.name) for o in config_mod.OPTIONS})
    if args.command == "erasure-index":
        if config.store != "cql":
            print("the embedded store indexes addresses by itself (messages_recipient): nothing to do")
            return 0
        from postwave.store.cql import CqlStore

        store = CqlStore(config)
        try:
            print(f"erasure lookup rows written for {store.backfill_recipient_index()} messages")
        finally:
            store.close()
        return 0
    init_process(config, args.command)
    if args.command == "tracker":
        from postwave.tracking.service import run_tracker

        loop.run(run_tracker(config), config)
    else:
        from postwave.webhooks.dispatcher import run_webhooks

        loop.run(run_webhooks(config), config)
    return 0

if __name__ == "__main__":
    sys.exit(main())

"""``postwave admin``: tenants and API keys, written straight to the local database."""

from __future__ import annotations

import argparse


from postwave import config as config_mod
from postwave.api import keys
from postwave.api.admin import new_tenant
from postwave.backends import open_backends
from postwave.errors import NotFoundError
from postwave.store.base import Store


def _tenant_id(store: Store, ref: str) -> str:
    if store.get_tenant(ref) is not None:
        return ref
    for tenant in store.list_tenants():
        if tenant.name == ref:
            return tenant.tenant_id
    raise NotFoundError(f"no tenant with id or name {ref!r}; list them with 'postwave admin tenant list'")


def run(args: argparse.Namespace) -> int:
    """Carry out one admin command."""
    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    config = config_mod.load(overrides)
    store, queue = open_backends(config)
    try:
        return _run(store, args)
    finally:
        store.close()


def _run(store: Store, args: argparse.Namespace) -> int:
    what, action = args.admin_command, args.action
    if (what, action) == ("tenant", "create"):
        tenant = new_tenant(args.name, args.rate, args.daily_quota, operator=args.operator)
        store.create_tenant(tenant)
        print(tenant.tenant_id)
    elif (what, action) == ("tenant", "list"):
        for t in store.list_tenants():
            flags = " operator" if t.operator else ""
            print(f"{t.tenant_id}\t{t.name}\trate={t.rate_per_second:g}/s\tquota={t.daily_quota}/day{flags}")
    elif (what, action) == ("key", "create"):
        record, secret = keys.new_key(_tenant_id(store, args.tenant), args.name, args.scopes)
        store.create_key(record)
        print(secret)
    elif (what, action) == ("key", "list"):
        for k in store.list_keys(_tenant_id(store, args.tenant)):
            state = "revoked" if k.revoked else "active"
            print(f"{k.key_id}\t{k.name}\t{','.join(k.scopes)}\t{state}")
    else:
        if store.revoke_key(_tenant_id(store, args.tenant), args.key_id) is None:
            raise NotFoundError(f"tenant has no key {args.key_id!r}")
        print(f"revoked {args.key_id}")
    return 0




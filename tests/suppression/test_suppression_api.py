"""Suppression management through the API of a live platform: REST, gRPC and the CLI.

Add, get (why), list (paged), remove; per-tenant isolation and operator access; every bad
input answered with its field and nothing half-added; and the list at work: a send to a
suppressed address is dropped at acceptance.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from google.rpc import code_pb2
from postwave.v1 import admin_pb2

from tests.clients.conftest import DOMAIN, Live
from tests.platform import SERVER_DIR, bearer
from tests.rest.conftest import Http
from tests.rest.test_rest_api import assert_error, mail


def _addresses(http: Http, **query: str) -> list[str]:
    """Every listed address, following next_page_token (page_size 2: several pages)."""
    found: list[str] = []
    token = ""
    while True:
        reply = http.call("GET", f"/v1/suppressions?page_size=2&page_token={token}")
        assert reply.status == 200, reply.raw
        found += [s["address"] for s in reply.body.get("suppressions", [])]
        token = reply.body.get("next_page_token", "")
        if not token:
            return found


def test_rest_add_get_list_remove(http: Http, live: Live) -> None:
    later = time.time() + 3600
    reply = http.call("POST", "/v1/suppressions", {"suppressions": [
        {"address": f"Ann <Ann@{DOMAIN}>", "reason": "asked us by phone"},
        {"address": f"bob@{DOMAIN}", "expires": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(later))},
        {"address": f"cy@{DOMAIN}"},
    ]})
    assert reply.status == 200 and reply.body["added"] == 3, reply.raw

    why = http.call("GET", f"/v1/suppressions/ann@{DOMAIN}")
    assert why.status == 200, why.raw
    assert why.body["address"] == f"ann@{DOMAIN}" and why.body["reason"] == "asked us by phone"
    assert why.body["source"] == "manual" and "expires" not in why.body and why.body["created"]
    temporary = http.call("GET", f"/v1/suppressions/bob@{DOMAIN}").body
    assert temporary["reason"] == "manual" and temporary["expires"].startswith(time.strftime("%Y-%m-%d", time.gmtime(later)))

    assert sorted(_addresses(http)) == sorted(f"{n}@{DOMAIN}" for n in ("ann", "bob", "cy"))
    removed = http.call("DELETE", f"/v1/suppressions/cy@{DOMAIN}")
    assert removed.status == 200 and removed.body["address"] == f"cy@{DOMAIN}"
    assert_error(http.call("GET", f"/v1/suppressions/cy@{DOMAIN}"), 404, code_pb2.NOT_FOUND)
    assert_error(http.call("DELETE", f"/v1/suppressions/cy@{DOMAIN}"), 404, code_pb2.NOT_FOUND)
    assert f"cy@{DOMAIN}" not in _addresses(http)


def test_rest_bad_input_names_the_field_and_adds_nothing(http: Http) -> None:
    before = _addresses(http)
    bad = http.call("POST", "/v1/suppressions", {"suppressions": [
        {"address": f"ok@{DOMAIN}"}, {"address": "no-at-sign"}]})
    assert_error(bad, 400, code_pb2.INVALID_ARGUMENT, "suppressions[1].address")
    past = http.call("POST", "/v1/suppressions", {"suppressions": [
        {"address": f"ok@{DOMAIN}", "expires": "2001-01-01T00:00:00Z"}]})
    assert_error(past, 400, code_pb2.INVALID_ARGUMENT, "suppressions[0].expires")
    crlf = http.call("POST", "/v1/suppressions", {"suppressions": [{"address": f"ok@{DOMAIN}", "reason": "a\r\nb"}]})
    assert_error(crlf, 400, code_pb2.INVALID_ARGUMENT, "suppressions[0].reason")
    assert_error(http.call("POST", "/v1/suppressions", {"suppressions": []}), 400, code_pb2.INVALID_ARGUMENT,
                 "suppressions")
    assert_error(http.call("POST", "/v1/suppressions", {"source": "bounced", "suppressions": [
        {"address": f"ok@{DOMAIN}"}]}), 400, code_pb2.INVALID_ARGUMENT, "source")
    assert_error(http.call("GET", "/v1/suppressions?page_size=5000"), 400, code_pb2.INVALID_ARGUMENT, "page_size")
    assert_error(http.call("GET", "/v1/suppressions?page_token=garbage"), 400, code_pb2.INVALID_ARGUMENT,
                 "page_token")
    assert_error(http.call("GET", "/v1/suppressions/not-an-address"), 400, code_pb2.INVALID_ARGUMENT, "address")
    assert_error(http.call("GET", "/v1/suppressions", key=None), 401, code_pb2.UNAUTHENTICATED)
    assert _addresses(http) == before


def test_send_to_a_suppressed_address_is_dropped(http: Http) -> None:
    assert http.call("POST", "/v1/suppressions", {"suppressions": [
        {"address": f"dropme@{DOMAIN}", "reason": "complained by phone"}]}).status == 200
    reply = http.call("POST", "/v1/send", mail(f"DropMe@{DOMAIN}"))
    [ref] = reply.body["messages"]
    assert ref["state"] == "dropped" and ref["detail"] == "suppressed: complained by phone", reply.body


def test_grpc_lists_are_per_tenant_and_operators_reach_any(live: Live) -> None:
    admin = live.platform.admin_stub()
    other_id, other_key = live.platform.tenant(f"other-{time.time_ns()}")
    address = f"private@{DOMAIN}"
    admin.AddSuppressions(admin_pb2.AddSuppressionsRequest(suppressions=[admin_pb2.NewSuppression(address=address)]),
                          metadata=bearer(live.key), timeout=10)
    with pytest.raises(grpc.RpcError) as hidden:
        admin.GetSuppression(admin_pb2.GetSuppressionRequest(address=address), metadata=bearer(other_key), timeout=10)
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as denied:
        admin.ListSuppressions(admin_pb2.ListSuppressionsRequest(tenant_id=other_id), metadata=bearer(live.key),
                               timeout=10)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # The operator manages the other tenant's list by naming it.
    op = bearer(live.platform.operator_key)
    added = admin.AddSuppressions(admin_pb2.AddSuppressionsRequest(
        tenant_id=other_id, source="import", suppressions=[admin_pb2.NewSuppression(address=address, reason="r")]),
        metadata=op, timeout=10)
    assert added.added == 1
    entry = admin.GetSuppression(admin_pb2.GetSuppressionRequest(address=address), metadata=bearer(other_key),
                                 timeout=10)
    assert (entry.source, entry.reason) == ("import", "r")
    listed = admin.ListSuppressions(admin_pb2.ListSuppressionsRequest(tenant_id=other_id), metadata=op, timeout=10)
    assert [s.address for s in listed.suppressions] == [address] and not listed.next_page_token
    with pytest.raises(grpc.RpcError) as missing:
        admin.ListSuppressions(admin_pb2.ListSuppressionsRequest(tenant_id="t_nosuchtenant"), metadata=op, timeout=10)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def _cli(live: Live, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postwave.cli", "suppressions", *args[:1], "--server", live.server, "--key", live.key,
         *args[1:]], input=stdin, capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(SERVER_DIR)},
        check=False,
    )


def test_cli_import_export_get_remove(live: Live, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(f"address,reason,expires\nimp1@{DOMAIN},list cleaning,\nIMP2@{DOMAIN},,2099-01-01T00:00:00Z\n"
                      f"# a comment\nimp3@{DOMAIN},old list,\n")
    done = _cli(live, "import", str(source), "--reason", "imported")
    assert done.returncode == 0 and "imported 3" in done.stdout, done.stderr
    exported = tmp_path / "out.csv"
    assert _cli(live, "export", str(exported)).returncode == 0
    rows = {line.split(",")[0]: line for line in exported.read_text().splitlines()[1:]}
    assert {f"imp1@{DOMAIN}", f"imp2@{DOMAIN}", f"imp3@{DOMAIN}"} <= rows.keys()
    assert f"imp1@{DOMAIN},list cleaning,import," in rows[f"imp1@{DOMAIN}"]
    assert rows[f"imp2@{DOMAIN}"].startswith(f"imp2@{DOMAIN},imported,import,") and rows[f"imp2@{DOMAIN}"].endswith(
        ",2099-01-01T00:00:00Z")
    why = _cli(live, "get", f"imp2@{DOMAIN}", f"never@{DOMAIN}")
    assert why.returncode == 3  # one of them is not suppressed
    assert f"imp2@{DOMAIN}: suppressed since" in why.stdout and "until 2099-01-01T00:00:00Z: imported [import]" in why.stdout
    assert f"never@{DOMAIN}: not suppressed" in why.stdout
    assert _cli(live, "remove", f"imp3@{DOMAIN}").returncode == 0
    listed = _cli(live, "list")
    assert f"imp1@{DOMAIN}\tlist cleaning\timport" in listed.stdout and f"imp3@{DOMAIN}" not in listed.stdout
    # The exported file imports back as it is.
    assert _cli(live, "import", str(exported)).returncode == 0


def test_cli_import_stops_at_a_bad_row_with_its_line(live: Live, tmp_path: Path) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(f"fine1@{DOMAIN}\n\nbroken-address\nfine2@{DOMAIN}\n")
    failed = _cli(live, "import", str(source))
    assert failed.returncode == 1
    assert "line 3" in failed.stderr and "suppressions[1].address" in failed.stderr, failed.stderr
    unparsable = tmp_path / "when.csv"
    unparsable.write_text(f"late@{DOMAIN},r,next tuesday\n")
    failed = _cli(live, "import", str(unparsable))
    assert failed.returncode == 2 and "line 1: expires 'next tuesday'" in failed.stderr
    assert f"fine1@{DOMAIN}" not in _cli(live, "list").stdout  # all or none per call

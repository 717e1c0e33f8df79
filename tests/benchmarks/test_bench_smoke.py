"""The benchmark suite runs end to end (quick mode) and writes well-formed results.

A smoke test: it proves the harness works — the platform, Postfix + OpenDKIM, smtp-sink,
the charts — and never asserts on a time or a rate (the machine is shared and noisy).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


def check_point(p: dict[str, Any], messages: int) -> None:
    assert p["messages"] == messages
    assert p["delivered"] == messages, p["not_delivered"]
    for key in ("accepted_per_s", "delivered_per_s", "delivered_per_hour", "cpu_seconds_per_1000", "peak_pss_mb"):
        assert isinstance(p[key], float) and math.isfinite(p[key]) and p[key] > 0, key
    assert p["delivered_per_hour"] == p["delivered_per_s"] * 3600
    for key in ("acceptance_ms", "accept_to_250_ms"):
        q = p[key]
        assert 0 <= q["p50"] <= q["p95"] <= q["p99"], (key, q)
    assert p["steal_percent"] is None or 0 <= p["steal_percent"] <= 100
    if p["mode"] == "embedded":  # the SQLite file's write lock, from the platform's own metrics
        assert set(p["write_lock"]) == {"api", "worker"}
        for role, figures in p["write_lock"].items():
            assert figures["transactions"] > 0 and figures["held_seconds"] > 0, role
            for kind in ("wait_ms", "held_ms"):
                q = figures[kind]
                assert 0 <= q["p50"] <= q["p95"] <= q["p99"], (role, kind, q)
        # the requests were written by the API's group commits, each a transaction of at most
        # accept_batch_max (512) requests
        assert p["write_lock"]["api"]["transactions"] >= math.ceil(p["messages"] / p["batch"] / 512)


def test_quick_run_writes_json_charts_and_summary(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=280)
    assert done.returncode == 0, done.stderr[-4000:]
    results = json.loads((tmp_path / "e2e.json").read_text())

    assert results["meta"]["mode"] == "quick" and results["meta"]["message"]["links"] == 5
    assert 15_000 <= results["meta"]["message"]["text_plus_html_bytes"] <= 25_000
    described = results["meta"]["machine"]
    assert described["cpus"] >= 1 and described["rsa2048_signatures_per_s"] > 0 and described["python_loop_ns"] > 0
    # What the machine did meanwhile: the hypervisor's share, RSA calibrated again at the end.
    steal = results["meta"]["steal_percent"]
    assert (steal is None or 0 <= steal <= 100) and results["meta"]["rsa2048_signatures_per_s_end"] > 0
    check_point(results["saturation"], 200)
    assert results["saturation"]["offered_per_s"] is None and results["saturation"]["dkim"] == "rsa-sha256"
    [half] = results["rates"]
    assert half["fraction_of_saturation"] == 0.5 and half["offered_per_s"] > 0
    check_point(half, half["messages"])
    # The targets' own rates: fractions of the (quick) 100/s target, each with a held verdict.
    at_target = results["at_target"]
    assert [(p["fraction_of_target"], p["offered_per_s"], p["messages"]) for p in at_target] == \
        [(0.5, 50, 100), (0.8, 80, 160), (1.0, 100, 300)]
    for p in at_target:
        check_point(p, p["messages"])
        assert p["backlog_growth_per_s"] is not None and p["steady_delivered_per_s"] > 0
        assert isinstance(p["backlog_rise"], int)
        assert isinstance(p["held"], bool) and p["backlog_end"] >= 0
    assert "held" not in results["saturation"]  # no offered rate, no verdict
    scaling = results["scaling"]
    assert [p["workers"] for p in scaling["workers"]] == [1, 2]
    assert [p["batch"] for p in scaling["batch"]] == [1, 10]
    assert [p["tenants"] for p in scaling["tenants"]] == [1, 3]
    for p in (scaling["workers"][0], scaling["batch"][1], scaling["tenants"][1]):
        check_point(p, p["messages"])

    postfix = results["postfix"]
    assert postfix["system"] == "postfix+opendkim" and postfix["messages"] == 150
    assert postfix["delivered_per_s"] > 0 and postfix["cpu_seconds_per_1000"] > 0
    assert postfix["acceptance_ms"]["p50"] is not None and postfix["accept_to_250_ms"]["p50"] is not None
    ratios = results["ratios"]
    assert ratios["delivered_per_s"] == results["saturation"]["delivered_per_s"] / postfix["delivered_per_s"]
    assert [t["what"] for t in results["targets"]] == ["delivered msgs/s at saturation",
                                                        "backlog growth msgs/s with 100/s offered (held)",
                                                        "acceptance p95 ms at 80/s (80%)",
                                                        "acceptance-to-250 p95 ms at 50/s (50%)"]
    assert results["targets"][2]["value"] == at_target[1]["acceptance_ms"]["p95"]
    # What the 1,000/s would ask of this machine at the run's lowest CPU per message
    # among its one-recipient points.
    budget = results["budget"]
    points = [results["saturation"], *results["rates"], *at_target, scaling["workers"][0]]
    cheapest = min(points, key=lambda p: p["cpu_seconds_per_1000"])
    assert budget["rate_per_s"] == 1000 and budget["cores"] == described["cpus"]
    assert budget["platform_cores"] == pytest.approx(cheapest["cpu_seconds_per_1000"], abs=1e-3)
    assert budget["load_cores"] == pytest.approx(sum(cheapest["cpu_seconds_per_1000_outside"].values()), abs=1e-3)
    assert budget["cores_needed"] == pytest.approx(budget["platform_cores"] + budget["load_cores"], abs=2e-3)
    assert budget["rsa_cores"] == pytest.approx(1000 / described["rsa2048_signatures_per_s"], abs=1e-3)
    assert results["targets"][3]["value"] == at_target[0]["accept_to_250_ms"]["p95"]

    for name in ("e2e-throughput.png", "e2e-latency.png", "e2e-scaling.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name
    summary = (tmp_path / "e2e-summary.md").read_text()
    assert "| Postfix + OpenDKIM, 150 msgs, 32 connections |" in summary
    assert summary.count("\n| postwave ") == 8
    assert f"One core makes {described['rsa2048_signatures_per_s']:,.0f} RSA-2048 signatures/s" in summary
    assert (f"{budget['cores_needed']:.2f} cores in all, {budget['cores_needed'] / budget['cores']:.2f}x the "
            f"{budget['cores']} it has.") in summary
    assert f"at the end ({results['meta']['rsa2048_signatures_per_s_end'] / described['rsa2048_signatures_per_s'] - 1:+.0%})" \
        in summary and "During the run the hypervisor took " in summary
    assert f"| postwave offered {half['offered_per_s']:,.0f}/s (50%; {'held' if half['held'] else 'not held'}) |" in summary
    assert "| postwave offered 100/s (100% of the target), 300 msgs (held: backlog " in summary or \
        "| postwave offered 100/s (100% of the target), 300 msgs (not held: backlog " in summary
    assert summary.strip() == done.stdout.strip()  # run_all prints the same table


def test_smtp_client_benchmark_runs_every_way() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_smtp.py"), "--messages", "200",
                           "--rounds", "1"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()
            if len(line.split()) == 3 and line.split()[0] in ("pipelined", "one-at-a-time", "aiosmtplib")}
    assert set(rows) == {"pipelined", "one-at-a-time", "aiosmtplib"}, done.stdout
    for name, (cpu, rate) in rows.items():
        assert float(cpu) > 0 and float(rate) > 0, (name, cpu, rate)
    assert "less CPU than one-at-a-time" in done.stdout


def test_both_load_clients_send_the_same_messages_and_report_every_request() -> None:
    points = {}
    for client in ("go", "python"):
        done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "e2e.py"), "--messages", "60", "--batch", "3",
                               "--client", client], capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, (client, done.stderr[-4000:])
        point = json.loads(done.stdout[done.stdout.index("{"):])
        check_point(point, 60)
        assert point["machine"]["rsa2048_signatures_per_s"] > 0 and "RSA-2048 signatures/s" in done.stderr
        points[client] = point
    # 60 messages in requests of 3: one acceptance latency per request, every message delivered.
    assert all(p["batch"] == 3 and p["delivered"] == 60 for p in points.values())
    for client, p in points.items():
        # the platform's CPU split by process (API, forked workers) adds up to the total
        roles = p["cpu_seconds_per_1000_by_role"]
        assert roles["api"] > 0 and roles["worker"] > 0, (client, roles)
        assert math.isclose(sum(roles.values()), p["cpu_seconds_per_1000"], rel_tol=0.01, abs_tol=0.002), roles
        assert p["cpu_seconds_per_1000_outside"]["sink"] >= 0
    # the Go client is a process of its own, so its CPU is measured; the Python one runs in the harness
    assert points["go"]["cpu_seconds_per_1000_outside"]["client"] > 0
    assert "client" not in points["python"]["cpu_seconds_per_1000_outside"]


def test_the_go_load_generator_explains_bad_input() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import e2e

    binary = e2e.loadgen_binary()
    done = subprocess.run([str(binary), "-messages", "5"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "-key, -base" in done.stderr
    done = subprocess.run([str(binary), "-key", "k", "-base", "/nonexistent/request.bin"], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2 and "reading the base request" in done.stderr


def test_accept_cost_reports_cpu_and_commits_per_concurrency() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accept_cost.py"), "--messages", "60",
                           "--concurrency", "1,4", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    one, four = json.loads(done.stdout)
    assert (one["concurrency"], four["concurrency"]) == (1, 4)
    for p in (one, four):
        assert p["messages"] == 60 and 1 <= p["commits"] <= 60
        for key in ("cpu_ms_per_request", "commit_cpu_ms_per_request", "commit_cpu_ms_per_commit",
                    "requests_per_s"):
            assert isinstance(p[key], float) and math.isfinite(p[key]) and p[key] > 0, key
        assert p["commit_cpu_ms_per_request"] <= p["cpu_ms_per_request"]
        assert p["requests_per_commit"] == 60 / p["commits"]
    assert one["commits"] == 60  # one sender waits for each answer: a commit per request


def test_accept_cost_refuses_bad_input() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "accept_cost.py"), "--concurrency", "1,two"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--concurrency must be comma-separated whole numbers" in done.stderr


def test_grpc_floor_reports_the_server_cpu_per_request() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "grpc_floor.py"), "--messages", "200",
                           "--rate", "0", "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout)
    assert result["messages"] == 200 and result["rate"] is None and result["seconds"] > 0
    assert math.isfinite(result["server_cpu_ms_per_request"]) and result["server_cpu_ms_per_request"] > 0
    q = result["latency_ms"]
    assert 0 <= q["p50"] <= q["p95"] <= q["p99"], q


def test_the_full_suite_says_at_once_that_the_cassandra_node_is_missing(tmp_path: Path) -> None:
    import os

    from tests.servers.addresses import free_port

    port = free_port()  # nothing listens there
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--full", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "POSTWAVE_CQL_PORT": str(port)})
    assert done.returncode == 2
    assert f"Cassandra node on 127.0.0.1:{port}" in done.stderr and "scripts/cassandra start" in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing ran, nothing written


def test_message_cost_reports_every_stage_of_a_signed_message() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "message_cost.py"), "--messages", "30",
                           "--rounds", "2", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout[done.stdout.index("{"):])
    us = result["cpu_us_per_message"]
    assert all(us[name] > 0 for name in ("render", "compose", "sign", "rsa")), us
    assert math.isclose(us["total"], us["render"] + us["compose"] + us["sign"])
    assert math.isclose(result["messages_per_core_s"], 1e6 / us["total"])
    assert result["signed"] and result["messages"] == 30 and result["rounds"] == 2
    assert 15_000 < result["bytes"] < 40_000  # the ~20 KB benchmark message, MIME-encoded and signed
    assert f"one core renders, composes and signs {result['messages_per_core_s']:,.0f} messages/s" in done.stdout


def test_message_cost_refuses_an_empty_run() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "message_cost.py"), "--messages", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--messages and --rounds must be at least 1" in done.stderr

"""Alerts and dashboard: valid PromQL over metrics postwave really exports, the case study's
alerts with the right thresholds and severities, and a runbook behind every alert."""

from __future__ import annotations

import json
import re

import promql_parser
import pytest

from postwave import metrics
from tests.k8s.manifests import K8S, ROOT, named
from tests.k8s.promql import exported_series, metric_names

OPERATIONS = ROOT / "docs" / "operations.md"
PROMETHEUS_OWN = {"up"}


def rules(built):
    rule = named(built["prod"], "PrometheusRule", "postwave")
    return {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}


def test_metric_name_extraction_sees_through_functions_and_operators():
    expr = 'sum by (x) (rate(a_total{l="1"}[5m] offset 10m)) / histogram_quantile(0.9, rate(b_bucket[1m])) > 0.5'
    assert metric_names(expr) == {"a_total", "b_bucket"}
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(a_total[5m])")


def test_every_alert_reads_exported_metrics(built):
    known = exported_series() | PROMETHEUS_OWN
    assert {"postwave_smtp_replies_total", "postwave_queue_oldest_age_seconds"} <= known
    unknown = {name: sorted(metric_names(r["expr"]) - known) for name, r in rules(built).items()}
    assert {k: v for k, v in unknown.items() if v} == {}


def test_every_alert_has_a_severity_and_a_runbook(built):
    anchors = set(re.findall(r'<a id="([a-z0-9-]+)"></a>', OPERATIONS.read_text()))
    for name, rule in rules(built).items():
        assert rule["labels"]["severity"] in ("page", "ticket"), name
        assert rule["annotations"]["summary"], name
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/operations.md" and anchor in anchors, f"{name}: runbook {anchor} not in operations.md"


def test_the_case_study_alerts(built):
    r = rules(built)
    drop = r["PostwaveSMTPSuccessRateDrop"]
    assert drop["labels"]["severity"] == "page"
    assert "offset 10m" in drop["expr"] and "0.8 *" in drop["expr"] and 'reply_class=~"2.*"' in drop["expr"]
    bounce = r["PostwaveBounceRateHigh"]
    assert bounce["labels"]["severity"] == "ticket"
    assert re.search(r"\)\s*>\s*0\.05\b", bounce["expr"])
    assert r["PostwaveTransactionalQueueLatency"]["labels"]["severity"] == "page"
    assert "PostwaveBulkQueueLatency" in r and "PostwaveWebhookBacklog" in r


def test_slo_bucket_boundaries_exist(built):
    """An `le` the alerts compare against must be a real bucket boundary, or the ratio is empty."""
    boundaries = {str(float(b)) for b in metrics.ACCEPT_TO_DELIVERY._upper_bounds}
    for name, rule in rules(built).items():
        for le in re.findall(r'le="([^"]+)"', rule["expr"]):
            assert le in boundaries, f"{name}: le={le} is not a bucket of postwave_accept_to_delivery_seconds"


def test_dashboard_queries_parse_and_read_exported_metrics():
    dashboard = json.loads((K8S / "base" / "monitoring" / "postwave-dashboard.json").read_text())
    known = exported_series()
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 10
    for expr in exprs:
        names = metric_names(expr)
        assert names and names <= known, (expr, names - known)

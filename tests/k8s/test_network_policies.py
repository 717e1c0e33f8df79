"""The NetworkPolicies allow exactly the flows of the design's data-flow picture.

Pods are taken from the rendered workloads (their template labels), so a relabelled role or
a policy selector that no longer matches shows up here."""

from __future__ import annotations

import pytest

from tests.k8s import manifests
from tests.k8s.manifests import named, pod_template
from tests.k8s.netpol import Address, Pod, allowed

ROLES = ("api", "worker", "scheduler", "webhooks", "tracker", "feedback")
INTERNET = Address("203.0.113.9")
MX = Address("198.51.100.25")  # a receiving mail server
WEBHOOK_SITE = Address("198.51.100.80")
METADATA = Address("169.254.169.254")  # cloud instance metadata
PRIVATE = Address("10.1.2.3")
PROMETHEUS = Pod({"app.kubernetes.io/name": "prometheus"}, namespace="monitoring")
KEDA = Pod({"app": "keda-operator"}, namespace="keda")
KEDA_METRICS = Pod({"app": "keda-operator-metrics-apiserver"}, namespace="keda")
DNS = Pod({"k8s-app": "kube-dns"}, namespace="kube-system")
SCYLLA = Pod({"scylla/cluster": "postwave-scylla", "app.kubernetes.io/name": "scylla"})


def pods(objs):
    """role -> Pod of each postwave Deployment, plus nats and bootstrap."""
    found = {r: Pod(pod_template(named(objs, "Deployment", f"postwave-{r}"))["metadata"]["labels"]) for r in ROLES}
    found["nats"] = Pod(pod_template(named(objs, "StatefulSet", "postwave-nats"))["metadata"]["labels"])
    found["bootstrap"] = Pod(pod_template(named(objs, "Job", "postwave-bootstrap"))["metadata"]["labels"])
    return found


@pytest.fixture(params=manifests.OVERLAYS)
def world(request, built):
    objs = built[request.param]
    return objs, pods(objs)


def test_the_data_flows_are_open(world):
    objs, p = world
    flows = [
        (INTERNET, p["api"], 50051), (INTERNET, p["api"], 8081),
        (INTERNET, p["tracker"], 8080), (INTERNET, p["feedback"], 2525),
        (p["worker"], MX, 25), (p["webhooks"], WEBHOOK_SITE, 443), (p["webhooks"], WEBHOOK_SITE, 80),
        (PROMETHEUS, p["nats"], 8222),
        (KEDA, p["nats"], 8222),  # the depth gauges' consumer lag (/jsz), the workers' scaling signal
        (p["nats"], p["nats"], 6222), (p["bootstrap"], p["nats"], 8222),
    ]
    for role in (*ROLES, "bootstrap"):
        flows += [(p[role], SCYLLA, 9042), (p[role], SCYLLA, 19042), (p[role], p["nats"], 4222)]
    for role in ROLES:
        flows.append((PROMETHEUS, p[role], 9464))
    closed = [(s, d, port) for s, d, port in flows if not allowed(objs, s, d, port)]
    assert closed == []
    for role in (*ROLES, "nats", "bootstrap"):
        assert allowed(objs, p[role], DNS, 53, "UDP"), role


def test_everything_else_is_closed(world):
    objs, p = world
    flows = [
        (INTERNET, p["worker"], 9464), (INTERNET, p["api"], 9464), (INTERNET, p["nats"], 4222),
        (INTERNET, p["nats"], 8222), (INTERNET, p["scheduler"], 9464),
        (p["worker"], PRIVATE, 25), (p["worker"], METADATA, 80), (p["worker"], WEBHOOK_SITE, 443),
        (p["webhooks"], METADATA, 80), (p["webhooks"], PRIVATE, 443), (p["webhooks"], MX, 25),
        (p["api"], p["worker"], 9464), (p["tracker"], p["nats"], 8222), (p["worker"], p["nats"], 6222),
        (p["worker"], INTERNET, 53), (p["nats"], INTERNET, 443),
        # KEDA's operator reads NATS monitoring only: not the client port, not the pods
        (KEDA, p["scheduler"], 9464), (KEDA, p["nats"], 4222), (KEDA, p["nats"], 6222),
        (KEDA_METRICS, p["nats"], 8222), (Pod({"app": "keda-operator"}, namespace="default"), p["nats"], 8222),
    ]
    flows += [(p[r], MX, 25) for r in ("api", "scheduler", "tracker", "feedback")]
    flows += [(p[r], WEBHOOK_SITE, 443) for r in ("api", "worker", "scheduler", "tracker", "feedback")]
    opened = [(s, d, port) for s, d, port in flows if allowed(objs, s, d, port)]
    assert opened == []


def test_removing_a_policy_changes_the_answer(built):
    """The evaluator is not vacuous: without a policy its flow closes, without deny-all others open."""
    objs = built["prod"]
    p = pods(objs)
    without_smtp = [o for o in objs if o["metadata"]["name"] != "worker-smtp-egress"]
    assert not allowed(without_smtp, p["worker"], MX, 25)
    open_ingress = [o for o in objs if o["metadata"]["name"] not in ("default-deny", "allow-metrics-scrape")]
    assert allowed(open_ingress, INTERNET, p["worker"], 9464)

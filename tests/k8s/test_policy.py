"""Policy over the rendered manifests: limits, probes, non-root, read-only root filesystem, no
`latest` tags, every Deployment covered by a PodDisruptionBudget and NetworkPolicies, no
Secret in the repository, and the timings that keep SMTP transactions whole."""

from __future__ import annotations

import copy
import re

import pytest

from postwave import config
from tests.k8s import manifests, policy
from tests.k8s.manifests import ROOT, containers, named, of_kind, pod_template

ROLES = ("api", "worker", "scheduler", "webhooks", "tracker", "feedback")


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_overlay_meets_the_policy(built, overlay):
    assert policy.violations(built[overlay]) == []


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_one_deployment_per_role_running_that_role(built, overlay):
    deployments = of_kind(built[overlay], "Deployment")
    roles = {}
    for d in deployments:
        (c,) = pod_template(d)["spec"]["containers"]
        roles[d["metadata"]["labels"]["app.kubernetes.io/component"]] = c["args"]
    assert roles == {role: [role] for role in ROLES}
    images = {c["image"] for d in deployments for c in containers(d)}
    assert len(images) == 1, f"one image for every role, found {images}"


def test_a_broken_copy_is_caught(built):
    objs = copy.deepcopy(built["prod"])
    worker = named(objs, "Deployment", "postwave-worker")
    c = pod_template(worker)["spec"]["containers"][0]
    del c["resources"]["limits"]["memory"]
    del c["readinessProbe"]
    c["securityContext"]["readOnlyRootFilesystem"] = False
    c["securityContext"]["runAsNonRoot"] = False
    c["image"] = "postwave/postwave:latest"
    api = named(objs, "Deployment", "postwave-api")
    api["spec"]["template"]["metadata"]["labels"] = {"app": "api"}  # selected by no PDB and no policy
    objs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "leaked"}, "data": {}})
    found = policy.violations(objs)
    w = "Deployment/postwave-worker container postwave"
    assert f"{w}: no memory limit" in found
    assert f"{w}: no readinessProbe" in found
    assert f"{w}: root filesystem is writable" in found
    assert f"{w}: may run as root" in found
    assert f"{w}: image postwave/postwave:latest uses the latest tag" in found
    assert "Deployment/postwave-api: no PodDisruptionBudget" in found
    assert "Deployment/postwave-api: no NetworkPolicy restricts both ingress and egress" in found
    assert "Deployment/postwave-api: no NetworkPolicy allows it any flow" in found
    assert "Secret/leaked: a Secret in the manifests" in found


def test_api_liveness_uses_the_grpc_health_service(built):
    for objs in built.values():
        api = named(objs, "Deployment", "postwave-api")
        (c,) = pod_template(api)["spec"]["containers"]
        grpc_port = next(p["containerPort"] for p in c["ports"] if p["name"] == "grpc")
        assert c["livenessProbe"]["grpc"]["port"] == grpc_port == 50051
        assert c["startupProbe"]["grpc"]["port"] == grpc_port
        assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}


def test_worker_grace_period_outlasts_an_smtp_transaction(built):
    """SIGTERM lets a worker finish what it sends: more than two full reply timeouts."""
    timeout = next(o.default for o in config.OPTIONS if o.name == "smtp_command_timeout")
    for objs in built.values():
        worker = named(objs, "Deployment", "postwave-worker")
        assert pod_template(worker)["spec"]["terminationGracePeriodSeconds"] > 2 * timeout


def test_secrets_are_referenced_and_documented_not_shipped(built):
    """Every Secret the pods use is named in docs/operations.md (how to create it); none is in the repo."""
    referenced = set()
    for objs in built.values():
        for obj in objs:
            if obj["kind"] not in manifests.WORKLOAD_KINDS:
                continue
            spec = pod_template(obj)["spec"]
            referenced |= {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
            for c in containers(obj):
                referenced |= {e["valueFrom"]["secretKeyRef"]["name"] for e in c.get("env", [])
                               if "secretKeyRef" in e.get("valueFrom", {})}
    assert referenced == {"postwave-cql", "postwave-dkim", "postwave-master-key", "postwave-tracking"}
    operations = (ROOT / "docs" / "operations.md").read_text()
    for name in referenced:
        assert re.search(rf"kubectl .*create secret generic {name}\b", operations), name
    assert not list((ROOT / "k8s").rglob("*secret*.yaml"))

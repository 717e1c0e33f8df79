"""Every object the overlays render is valid: built-in kinds against the Kubernetes OpenAPI
schemas (kubernetes-validate), custom resources against their upstream CRDs' schemas."""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from tests.k8s import manifests

# The oldest Kubernetes the manifests support (grpc probes GA in 1.27, matchLabelKeys in
# topology spread on by default since 1.27) and the newest schemas the package ships.
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())


def builtin_errors(obj: manifests.Obj, version: str) -> list[str]:
    """Violations of a built-in object against the Kubernetes schemas (strict: unknown fields too)."""
    try:  # a kind with no schema raises SchemaNotFoundError: the test errors, nothing escapes
        kubernetes_validate.validate(obj, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'/'.join(map(str, exc.path))}: {exc.message}"]
    return []


def is_custom(obj: manifests.Obj) -> bool:
    """Whether one of the upstream CRDs defines this kind."""
    return (obj["apiVersion"], obj["kind"]) in manifests.crd_schemas()


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_builtin_objects_match_the_kubernetes_schemas(built, overlay, version):
    objs = [o for o in built[overlay] if not is_custom(o)]
    assert {o["kind"] for o in objs} >= {"Deployment", "Service", "ConfigMap", "HorizontalPodAutoscaler",
                                         "PodDisruptionBudget", "NetworkPolicy", "StatefulSet", "Job"}
    errors = {f"{o['kind']}/{o['metadata']['name']}": builtin_errors(o, version) for o in objs}
    assert {k: v for k, v in errors.items() if v} == {}


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_custom_resources_match_their_crds(built, overlay):
    custom = [o for o in built[overlay] if is_custom(o)]
    # NACK Consumers: the depth gauges' only (the lanes' consumers are per tenant, made by the workers)
    assert sorted({o["kind"] for o in custom}) == ["Consumer", "PrometheusRule", "ScaledObject", "ScyllaCluster",
                                                   "ServiceMonitor", "Stream"]
    errors = {f"{o['kind']}/{o['metadata']['name']}": manifests.crd_errors(o) for o in custom}
    assert {k: v for k, v in errors.items() if v} == {}


def test_the_validators_reject_broken_objects(built):
    """The checks above can fail: a misspelt field or a wrong value is reported."""
    objs = built["prod"]
    deployment = copy.deepcopy(manifests.named(objs, "Deployment", "postwave-worker"))
    deployment["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    assert builtin_errors(deployment, KUBERNETES_VERSIONS[-1])
    stream = copy.deepcopy(manifests.named(objs, "Stream", "pw-transactional"))
    stream["spec"]["retention"] = "work-queue"
    assert any("retention" in e for e in manifests.crd_errors(stream))
    scaled = copy.deepcopy(manifests.named(objs, "ScaledObject", "postwave-worker"))
    scaled["spec"]["triggers"][0]["metdata"] = scaled["spec"]["triggers"][0].pop("metadata")
    assert manifests.crd_errors(scaled)
    consumer = copy.deepcopy(manifests.named(objs, "Consumer", "pw-bulk-depth"))
    consumer["spec"]["ackPolicy"] = "explicitly"
    assert any("ackPolicy" in e for e in manifests.crd_errors(consumer))

"""The deployment policy, as functions over rendered objects that list each violation.

test_policy.py asserts the overlays have none and that a deliberately broken copy has the
expected ones, so every rule is shown to be able to fail.
"""

from __future__ import annotations

from tests.k8s.manifests import WORKLOAD_KINDS, Obj, containers, of_kind, pod_template, selects

LONG_RUNNING = ("Deployment", "StatefulSet")


def _name(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _image_violation(image: str) -> str | None:
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag"
    if last.rsplit(":", 1)[1] == "latest":
        return "uses the latest tag"
    return None


def container_violations(obj: Obj) -> list[str]:
    """Limits, probes, non-root, read-only root, no escalation, capabilities, pinned image."""
    found: list[str] = []
    pod = pod_template(obj)["spec"]
    pod_non_root = (pod.get("securityContext") or {}).get("runAsNonRoot") is True
    init_names = {c["name"] for c in pod.get("initContainers", [])}
    for c in containers(obj):
        where = f"{_name(obj)} container {c['name']}"
        limits = (c.get("resources") or {}).get("limits") or {}
        found.extend(f"{where}: no {r} limit" for r in ("cpu", "memory") if r not in limits)
        if obj["kind"] in LONG_RUNNING and c["name"] not in init_names:
            found.extend(f"{where}: no {p}" for p in ("livenessProbe", "readinessProbe") if p not in c)
        sc = c.get("securityContext") or {}
        if not (sc.get("runAsNonRoot") is True or (pod_non_root and "runAsNonRoot" not in sc)):
            found.append(f"{where}: may run as root")
        if sc.get("readOnlyRootFilesystem") is not True:
            found.append(f"{where}: root filesystem is writable")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: privilege escalation allowed")
        if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
            found.append(f"{where}: capabilities not all dropped")
        if sc.get("privileged"):
            found.append(f"{where}: privileged")
        problem = _image_violation(c["image"])
        if problem:
            found.append(f"{where}: image {c['image']} {problem}")
    return found


def coverage_violations(objs: list[Obj]) -> list[str]:
    """Each Deployment/StatefulSet has a PDB; each Deployment a deny-all and an allowing NetworkPolicy."""
    found: list[str] = []
    pdbs = of_kind(objs, "PodDisruptionBudget")
    policies = of_kind(objs, "NetworkPolicy")
    for obj in objs:
        if obj["kind"] not in LONG_RUNNING:
            continue
        labels = pod_template(obj)["metadata"]["labels"]
        if not any(selects(p["spec"]["selector"], labels) for p in pdbs):
            found.append(f"{_name(obj)}: no PodDisruptionBudget")
        mine = [p for p in policies if selects(p["spec"]["podSelector"], labels)]
        denies = [p for p in mine if set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}]
        allows = [p for p in mine if p["spec"].get("ingress") or p["spec"].get("egress")]
        if not denies:
            found.append(f"{_name(obj)}: no NetworkPolicy restricts both ingress and egress")
        if not allows:
            found.append(f"{_name(obj)}: no NetworkPolicy allows it any flow")
    return found


def violations(objs: list[Obj]) -> list[str]:
    """Every policy violation of a rendered overlay."""
    found: list[str] = []
    for obj in objs:
        if obj["kind"] in WORKLOAD_KINDS:
            found.extend(container_violations(obj))
    found.extend(coverage_violations(objs))
    found.extend(f"{_name(o)}: a Secret in the manifests" for o in of_kind(objs, "Secret"))
    return found

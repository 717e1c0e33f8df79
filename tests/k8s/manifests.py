"""Helpers of the Kubernetes tests: build the overlays with kustomize, walk what they produce.

Nothing here talks to a cluster: ``kustomize build`` renders the objects, and the tests
validate and inspect them offline.
"""

from __future__ import annotations

import base64
import copy
import functools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "prod")


def _crd_dir() -> Path:
    """The upstream CRDs (KEDA, Scylla Operator, NACK, Prometheus Operator), read where this
    machine keeps them, never copied in: $POSTWAVE_K8S_CRDS, else a ``shared/k8s-crds``
    beside this checkout or beside one of its parents (a CI clone lives elsewhere), else the
    workplace's /work/shared/k8s-crds."""
    candidates = [Path(os.environ["POSTWAVE_K8S_CRDS"])] if os.environ.get("POSTWAVE_K8S_CRDS") else []
    candidates += [parent / "shared" / "k8s-crds" for parent in ROOT.parents]
    candidates.append(Path("/work/shared/k8s-crds"))
    for candidate in candidates:
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    raise RuntimeError("the upstream CRDs were not found: set POSTWAVE_K8S_CRDS to the folder holding "
                       "keda.sh_scaledobjects.yaml and the others")


CRD_DIR = _crd_dir()
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")
SECRET_STAND_IN = base64.b64encode(bytes(32)).decode()  # also a well-formed master_key

Obj = dict[str, Any]


@functools.cache
def kustomize() -> str:
    """Path of the pinned kustomize (installed once by scripts/k8s-tools.sh)."""
    out = subprocess.run(["bash", str(ROOT / "scripts" / "k8s-tools.sh")], capture_output=True, text=True,
                         check=True, timeout=900)
    return out.stdout.strip().splitlines()[-1]


def build(target: str) -> list[Obj]:
    """The objects ``kustomize build k8s/<target>`` renders."""
    out = subprocess.run([kustomize(), "build", str(K8S / target)], capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise AssertionError(f"kustomize build k8s/{target} failed:\n{out.stderr}")
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def of_kind(objs: list[Obj], kind: str) -> list[Obj]:
    """The objects of one kind."""
    return [o for o in objs if o["kind"] == kind]


def named(objs: list[Obj], kind: str, name: str) -> Obj:
    """The one object of ``kind`` called ``name``."""
    found = [o for o in of_kind(objs, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_template(obj: Obj) -> Obj:
    """The pod template of a workload."""
    return obj["spec"]["template"]


def containers(obj: Obj) -> Iterator[Obj]:
    """Every container (init containers too) of a workload's pod template."""
    spec = pod_template(obj)["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def environment(objs: list[Obj], container: Obj) -> dict[str, str]:
    """The variables a container starts with (ConfigMaps by envFrom, then env; Secrets stood in for)."""
    maps = {m["metadata"]["name"]: m.get("data", {}) for m in of_kind(objs, "ConfigMap")}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(maps[source["configMapRef"]["name"]])
    for var in container.get("env", []):
        env[var["name"]] = var.get("value", SECRET_STAND_IN)
    return env


def selects(selector: Obj | None, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects these labels."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def _crd_documents() -> Iterator[Obj]:
    for path in sorted(CRD_DIR.glob("*.yaml")):
        yield from (d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "CustomResourceDefinition")


def _strict(schema: Obj) -> Obj:
    """A CRD schema that also rejects unknown fields (as ``kubectl apply --validate=strict``).

    The API server prunes unknown fields of a structural schema silently; here a typo in a
    field name must fail the test instead, so every object with declared properties and no
    ``additionalProperties`` / ``x-kubernetes-preserve-unknown-fields`` gets
    ``additionalProperties: false``.
    """
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if ("properties" in node and "additionalProperties" not in node
                    and not node.get("x-kubernetes-preserve-unknown-fields")):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


@functools.cache
def crd_schemas() -> dict[tuple[str, str], Obj]:
    """(apiVersion, kind) -> strict JSON schema, for every served version of every upstream CRD."""
    schemas: dict[tuple[str, str], Obj] = {}
    for crd in _crd_documents():
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                schema = _strict(version["schema"]["openAPIV3Schema"])
                # metadata is validated by the API server's own rules, not the CRD's schema;
                # some CRDs (NACK's) leave apiVersion and kind out of their root properties
                schema.setdefault("properties", {}).update(
                    metadata={"type": "object"}, apiVersion={"type": "string"}, kind={"type": "string"})
                schemas[(f"{group}/{version['name']}", kind)] = schema
    return schemas


def crd_errors(obj: Obj) -> list[str]:
    """Schema violations of a custom resource against its upstream CRD (KeyError: no such CRD)."""
    schema = crd_schemas()[(obj["apiVersion"], obj["kind"])]
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(obj)]

"""Fixtures of the Kubernetes tests: each overlay built once per session; a real nats-server."""

from __future__ import annotations

import pytest

from tests.k8s import manifests
from tests.servers.nats import NatsCluster


@pytest.fixture(scope="session")
def built() -> dict[str, list[manifests.Obj]]:
    """overlay name -> the objects ``kustomize build k8s/overlays/<name>`` renders."""
    return {name: manifests.build(f"overlays/{name}") for name in manifests.OVERLAYS}


@pytest.fixture
def nats_server(tmp_path):
    """One JetStream server on loopback, empty."""
    with NatsCluster(tmp_path / "nats", nodes=1) as cluster:
        yield cluster

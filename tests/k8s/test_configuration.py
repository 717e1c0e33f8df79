"""The environment each postwave container gets (ConfigMap + env) is configuration postwave
accepts: every POSTWAVE_* name is an option of server/postwave/config.py, and the values pass
its checks (config.load), with the Secrets' values stood in for."""

from __future__ import annotations

import pytest

from postwave import config
from postwave.errors import InvalidArgumentError
from tests.k8s import manifests
from tests.k8s.manifests import Obj, containers, environment


def postwave_containers(objs: list[Obj]):
    for obj in objs:
        if obj["kind"] in manifests.WORKLOAD_KINDS:
            for c in containers(obj):
                if "postwave" in c["image"]:
                    yield f"{obj['kind']}/{obj['metadata']['name']}/{c['name']}", c


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_every_variable_names_an_option(built, overlay):
    options = {o.env for o in config.OPTIONS}
    unknown = {}
    for where, c in postwave_containers(built[overlay]):
        names = {n for n in environment(built[overlay], c) if n.startswith("POSTWAVE_")}
        if names - options:
            unknown[where] = sorted(names - options)
    assert unknown == {}


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_the_configuration_loads(built, overlay):
    for where, c in postwave_containers(built[overlay]):
        env = environment(built[overlay], c)
        if not any(n.startswith("POSTWAVE_") for n in env):
            continue  # the bootstrap's stream check runs plain python3
        loaded = config.load(environ=env)
        assert loaded.store == "cql" and loaded.queue == "nats", where
        assert loaded.admin_listen == "0.0.0.0:9464", where


def test_a_bad_value_in_the_configmap_is_refused(built):
    """config.load really checks what the manifests give it."""
    objs = built["prod"]
    _, c = next(postwave_containers(objs))
    env = environment(objs, c) | {"POSTWAVE_CQL_REPLICATION": "NetworkTopologyStrategy:dc1"}
    with pytest.raises(InvalidArgumentError):
        config.load(environ=env)

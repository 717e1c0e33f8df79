"""JetStream helpers of the Kubernetes tests: the NACK Stream resources the manifests declare,
made on a real nats-server as NACK would make them."""

from __future__ import annotations

import re

import nats
from nats.js import api

from tests.k8s.manifests import Obj, of_kind

_UNITS = {"s": 1, "m": 60, "h": 3600}


def seconds(duration: str) -> float:
    """A NACK duration ("20m", "96h", "5m") in seconds."""
    m = re.fullmatch(r"(\d+)([smh])", duration)
    assert m, duration
    return int(m.group(1)) * _UNITS[m.group(2)]


def stream_config(spec: Obj) -> api.StreamConfig:
    """The NACK Stream spec as the JetStream API's configuration (one server: one replica)."""
    return api.StreamConfig(
        name=spec["name"], subjects=spec["subjects"], description=spec.get("description"),
        retention=api.RetentionPolicy(spec["retention"]), storage=api.StorageType(spec["storage"]),
        discard=api.DiscardPolicy(spec["discard"]), max_bytes=spec.get("maxBytes", -1),
        max_age=seconds(spec["maxAge"]) if spec.get("maxAge") else None,
        duplicate_window=seconds(spec["duplicateWindow"]), num_replicas=1,
    )


async def declare_streams(url: str, objs: list[Obj]) -> None:
    """Create every Stream resource of the rendered objects on the server at ``url``."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for stream in of_kind(objs, "Stream"):
            await js.add_stream(stream_config(stream["spec"]))
    finally:
        await nc.close()

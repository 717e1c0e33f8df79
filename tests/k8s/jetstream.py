"""JetStream helpers of the Kubernetes tests: the NACK Stream and Consumer resources the
manifests declare, made on a real nats-server as NACK would make them, and the lag KEDA's
nats-jetstream trigger reads from the server's monitoring endpoint."""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

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


def consumer_config(spec: Obj) -> api.ConsumerConfig:
    """The NACK Consumer spec as the JetStream API's configuration."""
    return api.ConsumerConfig(
        durable_name=spec["durableName"], description=spec.get("description"),
        deliver_policy=api.DeliverPolicy(spec["deliverPolicy"]), ack_policy=api.AckPolicy(spec["ackPolicy"]),
        filter_subject=spec.get("filterSubject"), max_ack_pending=spec.get("maxAckPending"),
    )


async def declare_streams(url: str, objs: list[Obj]) -> None:
    """Create every Stream resource of the rendered objects on the server at ``url``, then
    every Consumer resource (in its stream)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for stream in of_kind(objs, "Stream"):
            await js.add_stream(stream_config(stream["spec"]))
        for consumer in of_kind(objs, "Consumer"):
            await js.add_consumer(consumer["spec"]["streamName"], consumer_config(consumer["spec"]))
    finally:
        await nc.close()


def jsz(monitor: str, account: str) -> Obj:
    """The document KEDA's nats-jetstream scaler fetches from ``monitor`` (host:port), with
    the URL built as KEDA builds it (the account unescaped)."""
    with urllib.request.urlopen(f"http://{monitor}/jsz?acc={account}&consumers=true&config=true",
                                timeout=10) as response:
        data: Obj = json.load(response)
        return data


def keda_lag(document: Obj, *, account: str, stream: str, consumer: str) -> tuple[int, str]:
    """What KEDA's scaler (pkg/scalers/nats_jetstream_scaler.go) makes of a /jsz document:
    (lag, source). The named consumer's num_pending + num_ack_pending ("consumer"); with the
    stream found but not the consumer, the stream's last sequence ("last_seq"); no stream:
    AssertionError, as KEDA reports "stream not found"."""
    streams: list[Any] = []
    for detail in document.get("account_details") or []:
        if detail.get("name") == account:
            streams += [s for s in detail.get("stream_detail") or [] if s.get("name") == stream]
    assert streams, f"stream not found: {stream} in account {account}"
    for found in streams[0].get("consumer_detail") or []:
        if found.get("name") == consumer:
            return int(found.get("num_pending", 0)) + int(found.get("num_ack_pending", 0)), "consumer"
    return int(streams[0]["state"].get("last_seq", 0)), "last_seq"

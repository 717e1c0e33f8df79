"""Autoscaling agrees with what was measured and with the queue it reads.

Workers scale on each lane's depth through KEDA's nats-jetstream trigger. The trigger reads
one durable consumer's lag (num_pending + num_ack_pending from the NATS monitoring endpoint);
with one consumer per (lane, tenant) no worker consumer's lag is the backlog, so each lane has
a depth gauge: stream PW_<LANE>_DEPTH and its never-pulled consumer pw-<lane>-depth, whose
tokens the active scheduler keeps equal to the lane's message count (queue/nats_depth.py).
The lag target (the trigger's lagThreshold, the HPA's average value per pod) is about 30 s of
one worker's delivery capacity, as measured by the end-to-end benchmark
(benchmarks/results/worker-capacity.json, `python3 benchmarks/e2e.py --workers 1`). The
figure is for one worker process on about one core; a pod limited to less CPU gets
proportionally less, and a pod with more does not get more (one process)."""

from __future__ import annotations

import asyncio
import copy
import json
import math
import re

import nats
import nats.js.errors
import pytest
from nats.js import api

from postwave import config
from postwave.backends import open_queue
from postwave.queue.base import LANES, QueueItem
from postwave.queue.nats import NatsQueue, stream_name
from postwave.queue.nats_depth import DepthGauge, depth_consumer, depth_stream, depth_subject
from tests.k8s import manifests
from tests.k8s.jetstream import declare_streams, jsz, keda_lag, seconds
from tests.k8s.manifests import ROOT, environment, named, of_kind, pod_template, selects
from tests.k8s.netpol import Pod, allowed

TARGET_SECONDS = 30.0
TOLERANCE = 0.25
KEDA = Pod({"app": "keda-operator"}, namespace="keda")
ENDPOINT = re.compile(r"([a-z0-9-]+)\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?:([0-9]+)")


def worker_capacity() -> float:
    """Delivered messages per second of one worker, from the recorded benchmark run."""
    result = json.loads((ROOT / "benchmarks" / "results" / "worker-capacity.json").read_text())
    assert result["command"].startswith("python3 benchmarks/e2e.py --workers 1")
    return float(result["delivered_per_second"])


def cores(quantity: str) -> float:
    """A CPU quantity ("500m", "1", "2.5") in cores."""
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def role_container(objs, role: str):
    (c,) = pod_template(named(objs, "Deployment", f"postwave-{role}"))["spec"]["containers"]
    return c


def scaled_object(objs):
    return named(objs, "ScaledObject", "postwave-worker")


def depth_triggers(objs):
    """The worker ScaledObject's triggers, which must all read a lane's depth gauge from NATS."""
    triggers = scaled_object(objs)["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"nats-jetstream"}, "workers scale on the lanes' depth gauges only"
    return triggers


def trigger_lane(trigger, objs) -> str:
    """The lane a trigger reads: its stream and consumer must be a lane's gauge, declared in
    the manifests (a NACK Stream and a Consumer in it), in the servers' only account."""
    meta = trigger["metadata"]
    lanes = [lane for lane in LANES if meta.get("stream") == depth_stream(lane)]
    assert lanes, f"{trigger['name']}: stream {meta.get('stream')!r} is no lane's depth gauge"
    (lane,) = lanes
    assert meta.get("consumer") == depth_consumer(lane), f"{trigger['name']}: consumer {meta.get('consumer')!r}"
    assert meta.get("account") == "$G", f"{trigger['name']}: the servers define no accounts, so $G"
    assert any(s["spec"]["name"] == meta["stream"] for s in of_kind(objs, "Stream")), f"no Stream {meta['stream']}"
    assert any((c["spec"]["streamName"], c["spec"]["durableName"]) == (meta["stream"], meta["consumer"])
               for c in of_kind(objs, "Consumer")), f"no Consumer {meta['consumer']} in {meta['stream']}"
    return lane


def trigger_lanes(objs) -> dict[str, dict]:
    """lane -> its trigger."""
    lanes = {trigger_lane(t, objs): t for t in depth_triggers(objs)}
    assert len(lanes) == len(depth_triggers(objs)), "one trigger per lane"
    return lanes


def nats_monitor_port(objs) -> int:
    """The monitoring port the NATS servers listen on (http: in the configuration file their
    StatefulSet mounts)."""
    volumes = pod_template(named(objs, "StatefulSet", "postwave-nats"))["spec"]["volumes"]
    (config_map,) = [v["configMap"]["name"] for v in volumes if "configMap" in v]
    (conf,) = named(objs, "ConfigMap", config_map)["data"].values()
    (port,) = re.findall(r"^http:\s*[0-9.]*:([0-9]+)\s*$", conf, re.MULTILINE)
    assert not re.search(r"^accounts\s*[:{]", conf, re.MULTILINE), "accounts defined: the triggers' account must follow"
    return int(port)


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_lag_target_is_about_30_seconds_of_one_worker(built, overlay):
    objs = built[overlay]
    per_pod = worker_capacity() * min(1.0, cores(str(role_container(objs, "worker")["resources"]["limits"]["cpu"])))
    triggers = depth_triggers(objs)
    assert len(triggers) == len(LANES)
    for trigger in triggers:
        # AverageValue: the HPA divides the lag by the replicas, so replicas = ceil(lag / lagThreshold)
        assert trigger["metricType"] == "AverageValue", trigger["name"]
        seconds_of_work = float(trigger["metadata"]["lagThreshold"]) / per_pod
        assert abs(seconds_of_work - TARGET_SECONDS) <= TOLERANCE * TARGET_SECONDS, (
            f"{overlay} {trigger['name']}: lagThreshold is {seconds_of_work:.1f} s of one worker "
            f"({per_pod:.0f} msg/s), want {TARGET_SECONDS:.0f} s +- {TOLERANCE:.0%}")


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_one_trigger_per_lane_reads_the_lane_gauge(built, overlay):
    objs = built[overlay]
    lanes = trigger_lanes(objs)
    assert set(lanes) == set(LANES)
    for trigger in lanes.values():
        assert trigger["metadata"]["activationLagThreshold"] == "0", trigger["name"]
    fallback = scaled_object(objs)["spec"]["fallback"]
    assert scaled_object(objs)["spec"]["minReplicaCount"] <= fallback["replicas"]
    # no lane-wide consumer: NATS refuses it beside the tenant consumers
    assert {c["spec"]["streamName"] for c in of_kind(objs, "Consumer")} == {depth_stream(lane) for lane in LANES}


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_keda_reaches_the_nats_monitoring_endpoint(built, overlay):
    """natsServerMonitoringEndpoint is the headless NATS Service (so KEDA's per-server URL
    <server name>.<host> resolves: the server names are the pod names), on the port that
    leads to the servers' http: port, and the NetworkPolicies let KEDA's operator in."""
    objs = built[overlay]
    (endpoint,) = {t["metadata"]["natsServerMonitoringEndpoint"] for t in depth_triggers(objs)}
    m = ENDPOINT.fullmatch(endpoint)
    assert m, endpoint
    service_name, namespace, port = m.group(1), m.group(2), int(m.group(3))
    service = named(objs, "Service", service_name)
    assert service["metadata"]["namespace"] == namespace
    assert service["spec"].get("clusterIP") == "None", "headless: one DNS name per server"
    statefulset = named(objs, "StatefulSet", "postwave-nats")
    assert statefulset["spec"]["serviceName"] == service_name
    labels = pod_template(statefulset)["metadata"]["labels"]
    assert selects({"matchLabels": service["spec"]["selector"]}, labels)
    (container,) = pod_template(statefulset)["spec"]["containers"]
    assert {"name": "SERVER_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in container["env"]
    (service_port,) = [p for p in service["spec"]["ports"] if p["port"] == port]
    container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container_ports[service_port["targetPort"]] == nats_monitor_port(objs)
    assert allowed(objs, KEDA, Pod(labels), nats_monitor_port(objs))


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_the_gauge_cap_lets_keda_reach_the_most_replicas(built, overlay):
    """The scheduler caps the tokens at nats_depth_gauge_cap: it must be able to say
    maxReplicaCount x lagThreshold, or the workers could never scale to their most."""
    objs = built[overlay]
    settings = config.load(environ=environment(objs, role_container(objs, "scheduler")))
    assert settings.queue == "nats"
    most = scaled_object(objs)["spec"]["maxReplicaCount"]
    for trigger in depth_triggers(objs):
        assert settings.nats_depth_gauge_cap >= most * int(trigger["metadata"]["lagThreshold"]), trigger["name"]


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_a_tenant_consumer_lets_every_worker_fill_its_concurrency(built, overlay):
    """At the most replicas, all workers draining one big tenant can each hold
    worker_concurrency unacked messages of its consumer; and the lane streams have the
    replicas the workers' configuration asks for."""
    objs = built[overlay]
    settings = config.load(environ=environment(objs, role_container(objs, "worker")))
    queue = open_queue(settings, role="worker")
    assert isinstance(queue, NatsQueue)
    most = scaled_object(objs)["spec"]["maxReplicaCount"]
    assert queue.max_ack_pending >= most * settings.worker_concurrency
    streams = {s["spec"]["name"]: s["spec"] for s in of_kind(objs, "Stream")}
    for lane in LANES:
        assert streams[stream_name(lane)]["replicas"] == settings.nats_replicas, lane
        assert streams[depth_stream(lane)]["replicas"] == settings.nats_replicas, lane


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_scale_down_is_slower_than_scale_up(built, overlay):
    objs = built[overlay]
    behavior = scaled_object(objs)["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] < behavior["scaleDown"]["stabilizationWindowSeconds"]
    hpa = named(objs, "HorizontalPodAutoscaler", "postwave-api")
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300
    assert "replicas" not in named(objs, "Deployment", "postwave-worker")["spec"], "KEDA owns the worker count"


def test_the_trigger_check_refuses_other_shapes(built):
    """trigger_lane is not vacuous: a lane stream, a worker consumer, another account or an
    undeclared gauge consumer fail."""
    objs = built["prod"]
    trigger = trigger_lanes(objs)["bulk"]
    assert trigger_lane(trigger, objs) == "bulk"
    for key, value in (("stream", "PW_BULK"), ("consumer", "pw-bulk-t_1"), ("account", "SYS"),
                       ("stream", "PW_TRANSACTIONAL_DEPTH")):
        broken = copy.deepcopy(trigger)
        broken["metadata"][key] = value
        with pytest.raises(AssertionError):
            trigger_lane(broken, objs)
    without = [o for o in objs if not (o["kind"] == "Consumer" and o["spec"]["durableName"] == "pw-bulk-depth")]
    with pytest.raises(AssertionError, match="no Consumer"):
        trigger_lane(trigger, without)


# --- the lag KEDA reads, on a real nats-server ------------------------------------------------


async def lane_wide_consumer(url: str, lane: str) -> None:
    """Try to add the old manifests' lane-wide consumer next to the tenant consumers."""
    nc = await nats.connect(url)
    try:
        await nc.jetstream().add_consumer(stream_name(lane), api.ConsumerConfig(
            durable_name=f"pw-worker-{lane}", filter_subject=f"pw.q.{lane}.>", ack_policy=api.AckPolicy.EXPLICIT))
    finally:
        await nc.close()


def keda_reading(node, trigger) -> int:
    """What KEDA makes of the trigger: its metadata, this server's /jsz as KEDA fetches it."""
    meta = trigger["metadata"]
    lag, source = keda_lag(jsz(f"127.0.0.1:{node.monitor_ports[0]}", meta["account"]), account=meta["account"],
                           stream=meta["stream"], consumer=meta["consumer"])
    assert source == "consumer", f"KEDA did not find {meta['consumer']} (it would read the stream's last sequence)"
    return lag


def test_the_lag_keda_reads_is_every_tenant_queued_or_leased(built, nats_server):
    """On the streams and consumers the manifests declare (as NACK makes them): two tenants'
    messages, some claimed through their own consumers; the scheduler's gauge reconciles and
    each trigger, read as KEDA reads it, gives the lane's depth (queued plus leased);
    acknowledged messages leave it. A lane-wide consumer on a lane stream is still refused."""
    objs = built["dev"]
    triggers = trigger_lanes(objs)
    settings = config.load(environ=environment(objs, role_container(objs, "scheduler")))
    threshold = float(triggers["bulk"]["metadata"]["lagThreshold"])

    async def scenario() -> None:
        await declare_streams(nats_server.url, objs)
        queue = NatsQueue(servers=nats_server.urls)
        gauge = DepthGauge(queue, cap=settings.nats_depth_gauge_cap)
        try:
            items = [QueueItem(f"m_big_{i}", "t_big", "bulk") for i in range(40)]
            items += [QueueItem(f"m_small_{i}", "t_small", "bulk") for i in range(3)]
            items += [QueueItem("m_reset", "t_small", "transactional")]
            await queue.publish(items)
            leases = await queue.claim("bulk", 10, 60.0)
            assert {le.tenant_id for le in leases} == {"t_big", "t_small"}, "each tenant through its own consumer"
            assert await gauge.reconcile_all() == {"transactional": 1, "bulk": 43}
            assert await asyncio.to_thread(keda_reading, nats_server, triggers["bulk"]) == 43  # 33 queued + 10 leased
            assert await asyncio.to_thread(keda_reading, nats_server, triggers["transactional"]) == 1
            assert math.ceil(43 / threshold) == 1

            await queue.ack(leases)
            await gauge.reconcile_all()
            assert await asyncio.to_thread(keda_reading, nats_server, triggers["bulk"]) == 33

            with pytest.raises(nats.js.errors.BadRequestError, match="not unique"):
                await lane_wide_consumer(nats_server.url, "bulk")
        finally:
            await queue.close()

    asyncio.run(scenario())


def test_the_scheduler_makes_the_gauges_as_the_manifests_declare_them(built, nats_server):
    """Without NACK (or before it), the gauge makes its stream and consumer itself, with the
    settings of the Stream and Consumer resources, so the two never disagree."""
    objs = built["prod"]
    streams = {s["spec"]["name"]: s["spec"] for s in of_kind(objs, "Stream")}
    consumers = {c["spec"]["durableName"]: c["spec"] for c in of_kind(objs, "Consumer")}

    async def scenario() -> None:
        queue = NatsQueue(servers=nats_server.urls)
        try:
            gauge = DepthGauge(queue, cap=10)
            js = await queue.jetstream()
            for lane in LANES:
                await gauge.ensure(lane)
                spec = streams[depth_stream(lane)]
                got = (await js.stream_info(depth_stream(lane))).config
                assert got.subjects == spec["subjects"] == [depth_subject(lane)]
                assert (got.retention, got.storage, got.discard) == (
                    api.RetentionPolicy(spec["retention"]), api.StorageType(spec["storage"]),
                    api.DiscardPolicy(spec["discard"]))
                assert got.duplicate_window == seconds(spec["duplicateWindow"]) and got.description == spec["description"]
                assert not got.max_age and "maxAge" not in spec
                declared = consumers[depth_consumer(lane)]
                info = (await js.consumer_info(depth_stream(lane), depth_consumer(lane))).config
                assert declared["streamName"] == depth_stream(lane)
                assert (info.deliver_policy, info.ack_policy) == (
                    api.DeliverPolicy(declared["deliverPolicy"]), api.AckPolicy(declared["ackPolicy"]))
                assert info.description == declared["description"] and not info.deliver_subject
        finally:
            await queue.close()

    asyncio.run(scenario())

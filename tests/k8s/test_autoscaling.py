"""Autoscaling agrees with what was measured and with the queue it reads.

Workers scale on each lane's depth as the scheduler exports it (postwave_queue_depth{lane},
the lane stream's message count), read by KEDA's prometheus trigger: with one durable
consumer per (lane, tenant) no single consumer's lag is the backlog, so the nats-jetstream
trigger cannot be used. The depth target (the trigger's threshold, the HPA's average value
per pod) is about 30 s of one worker's delivery capacity, as measured by the end-to-end
benchmark (benchmarks/results/worker-capacity.json, `python3 benchmarks/e2e.py --workers 1`).
The figure is for one worker process on about one core; a pod limited to less CPU gets
proportionally less, and a pod with more does not get more (one process)."""

from __future__ import annotations

import asyncio
import json
import math
import re

import nats
import nats.js.errors
import prometheus_client
import promql_parser
import pytest
from nats.js import api

from postwave import config, metrics, roles
from postwave.backends import open_queue
from postwave.queue.base import LANES, QueueItem
from postwave.queue.nats import NatsQueue, stream_name
from tests.k8s import manifests
from tests.k8s.jetstream import declare_streams
from tests.k8s.manifests import ROOT, environment, named, of_kind, pod_template, selects
from tests.k8s.netpol import Pod, allowed
from tests.k8s.promql import equality_matchers, exported_series

TARGET_SECONDS = 30.0
TOLERANCE = 0.25
DEPTH_METRIC = "postwave_queue_depth"


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
    """The worker ScaledObject's triggers, which must all read a lane's depth from Prometheus."""
    triggers = scaled_object(objs)["spec"]["triggers"]
    assert {t["type"] for t in triggers} == {"prometheus"}, "workers scale on the lanes' depth only"
    return triggers


def query_lane(query: str, namespace: str) -> str:
    """The lane a trigger's query reads: it must be max(postwave_queue_depth{namespace=...,lane=...})."""
    expr = promql_parser.parse(query)
    assert isinstance(expr, promql_parser.AggregateExpr) and str(expr.op) == "max" and expr.modifier is None, (
        f"{query}: want max() over every scheduler replica's series (active and standby export the same figure)")
    assert isinstance(expr.expr, promql_parser.VectorSelector) and expr.expr.name == DEPTH_METRIC, query
    labels = equality_matchers(expr.expr)
    assert labels.get("namespace") == namespace, f"{query}: must read this installation's namespace {namespace}"
    assert set(labels) == {"namespace", "lane"}, query
    return labels["lane"]


def trigger_lanes(objs) -> dict[str, dict]:
    """lane -> its trigger."""
    namespace = scaled_object(objs)["metadata"]["namespace"]
    lanes = {query_lane(t["metadata"]["query"], namespace): t for t in depth_triggers(objs)}
    assert len(lanes) == len(depth_triggers(objs)), "one trigger per lane"
    return lanes


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_depth_target_is_about_30_seconds_of_one_worker(built, overlay):
    objs = built[overlay]
    per_pod = worker_capacity() * min(1.0, cores(str(role_container(objs, "worker")["resources"]["limits"]["cpu"])))
    triggers = depth_triggers(objs)
    assert len(triggers) == len(LANES)
    for trigger in triggers:
        # AverageValue: the HPA divides the depth by the replicas, so replicas = ceil(depth / threshold)
        assert trigger["metricType"] == "AverageValue", trigger["name"]
        seconds = float(trigger["metadata"]["threshold"]) / per_pod
        assert abs(seconds - TARGET_SECONDS) <= TOLERANCE * TARGET_SECONDS, (
            f"{overlay} {trigger['name']}: threshold is {seconds:.1f} s of one worker "
            f"({per_pod:.0f} msg/s), want {TARGET_SECONDS:.0f} s +- {TOLERANCE:.0%}")


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_one_trigger_per_lane_reads_the_lane_depth(built, overlay):
    objs = built[overlay]
    lanes = trigger_lanes(objs)
    assert set(lanes) == set(LANES)
    assert DEPTH_METRIC in exported_series()
    for trigger in lanes.values():
        # no series (scheduler not scraped, Prometheus empty) is an error, so KEDA falls back
        # to spec.fallback.replicas instead of reading 0 and shrinking to the minimum
        assert trigger["metadata"]["ignoreNullValues"] == "false", trigger["name"]
    fallback = scaled_object(objs)["spec"]["fallback"]
    assert scaled_object(objs)["spec"]["minReplicaCount"] <= fallback["replicas"]
    assert not of_kind(objs, "Consumer"), "no lane-wide consumer: NATS refuses it beside the tenant consumers"


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_keda_asks_the_prometheus_that_scrapes_the_scheduler(built, overlay):
    """The depth series exists where KEDA looks: the scheduler's admin port is scraped by a
    ServiceMonitor, the NetworkPolicies let Prometheus's namespace in, and serverAddress is
    that namespace's Prometheus Operator service."""
    objs = built[overlay]
    addresses = {t["metadata"]["serverAddress"] for t in depth_triggers(objs)}
    (address,) = addresses
    m = re.fullmatch(r"http://prometheus-operated\.([a-z0-9-]+)\.svc(?:\.cluster\.local)?:9090", address)
    assert m, address
    prometheus = Pod({"app.kubernetes.io/name": "prometheus"}, namespace=m.group(1))

    scheduler = named(objs, "Service", "postwave-scheduler")
    monitors = [s for s in of_kind(objs, "ServiceMonitor")
                if s["metadata"]["namespace"] == scheduler["metadata"]["namespace"]
                and selects(s["spec"]["selector"], scheduler["metadata"]["labels"])]
    ports = {p["name"]: p for p in scheduler["spec"]["ports"]}
    scraped = [e for s in monitors for e in s["spec"]["endpoints"] if e.get("port") in ports]
    assert scraped and all(e.get("path", "/metrics") == "/metrics" for e in scraped)

    container = role_container(objs, "scheduler")
    admin_port = int(config.load(environ=environment(objs, container)).admin_listen.rsplit(":", 1)[1])
    container_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for endpoint in scraped:
        assert container_ports[ports[endpoint["port"]]["targetPort"]] == admin_port
    scheduler_pod = Pod(pod_template(named(objs, "Deployment", "postwave-scheduler"))["metadata"]["labels"])
    assert allowed(objs, prometheus, scheduler_pod, admin_port)


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


def test_the_query_check_refuses_other_shapes():
    """query_lane is not vacuous: a sum, a regex lane, a missing namespace or another metric fail."""
    assert query_lane('max(postwave_queue_depth{namespace="postwave",lane="bulk"})', "postwave") == "bulk"
    for query in ('sum(postwave_queue_depth{namespace="postwave",lane="bulk"})',
                  'max(postwave_queue_depth{namespace="postwave",lane=~"bulk"})',
                  'max(postwave_queue_depth{lane="bulk"})',
                  'max(postwave_queue_depth{namespace="staging",lane="bulk"})',
                  'max(postwave_queue_oldest_age_seconds{namespace="postwave",lane="bulk"})'):
        with pytest.raises(AssertionError):
            query_lane(query, "postwave")


# --- the depth signal on a real nats-server ---------------------------------------------------


def depth_sample(lane: str) -> float | None:
    return prometheus_client.REGISTRY.get_sample_value(DEPTH_METRIC, {"lane": lane})


def evaluate(query: str, namespace: str) -> float:
    """The trigger's query over this process's samples, as Prometheus would answer it (the
    scrape adds the namespace label)."""
    lane = query_lane(query, namespace)
    value = depth_sample(lane)
    assert value is not None, f"no {DEPTH_METRIC} series for lane {lane}"
    return value


async def until(condition, what: str, timeout: float = 60.0) -> None:
    """Wait for a condition (not a timing assertion: the deadline only bounds a hang)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"{what} did not happen in {timeout:.0f} s"
        await asyncio.sleep(0.1)


async def lane_wide_consumer(url: str, lane: str) -> None:
    """Try to add the old manifests' lane-wide consumer next to the tenant consumers."""
    nc = await nats.connect(url)
    try:
        await nc.jetstream().add_consumer(stream_name(lane), api.ConsumerConfig(
            durable_name=f"pw-worker-{lane}", filter_subject=f"pw.q.{lane}.>", ack_policy=api.AckPolicy.EXPLICIT))
    finally:
        await nc.close()


def test_the_depth_keda_reads_counts_every_tenant_queued_or_leased(built, nats_server):
    """On the streams the manifests declare: two tenants' messages, some claimed through their
    own consumers; the scheduler's observer exports the stream's message count (queued plus
    leased), the triggers' queries read it, and acknowledged messages leave it. A lane-wide
    consumer, what the nats-jetstream trigger would need, is refused by NATS."""
    objs = built["dev"]
    namespace = scaled_object(objs)["metadata"]["namespace"]
    queries = {lane: t["metadata"]["query"] for lane, t in trigger_lanes(objs).items()}
    threshold = float(trigger_lanes(objs)["bulk"]["metadata"]["threshold"])

    async def scenario() -> None:
        await declare_streams(nats_server.url, objs)
        queue = NatsQueue(servers=nats_server.urls)
        observer = asyncio.get_running_loop().create_task(roles.observe_queues(queue))
        try:
            items = [QueueItem(f"m_big_{i}", "t_big", "bulk") for i in range(40)]
            items += [QueueItem(f"m_small_{i}", "t_small", "bulk") for i in range(3)]
            items += [QueueItem("m_reset", "t_small", "transactional")]
            await queue.publish(items)
            leases = await queue.claim("bulk", 10, 60.0)
            assert {le.tenant_id for le in leases} == {"t_big", "t_small"}, "each tenant through its own consumer"
            metrics.observe_queue("bulk", -1)  # a marker the observer must overwrite
            await until(lambda: depth_sample("bulk") == 43, "bulk depth 43 (33 queued + 10 leased)")
            assert evaluate(queries["bulk"], namespace) == 43
            assert evaluate(queries["transactional"], namespace) == 1
            assert math.ceil(evaluate(queries["bulk"], namespace) / threshold) == 1

            await queue.ack(leases)
            await until(lambda: depth_sample("bulk") == 33, "bulk depth 33 after 10 acks")
            assert evaluate(queries["bulk"], namespace) == 33

            with pytest.raises(nats.js.errors.BadRequestError, match="not unique"):
                await lane_wide_consumer(nats_server.url, "bulk")
        finally:
            observer.cancel()
            await asyncio.gather(observer, return_exceptions=True)
            await queue.close()

    asyncio.run(scenario())

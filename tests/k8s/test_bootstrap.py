"""The JetStream streams the manifests declare (NACK Stream resources) and the bootstrap Job,
on a real nats-server: the Job's stream check (k8s/base/bootstrap/check_streams.py) with its
own arguments, and the Job's `postwave init` with its own arguments and environment."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import nats
import pytest
from nats.js import api

from postwave import config
from postwave.queue.base import LANES
from postwave.queue.nats import DUPLICATE_WINDOW, stream_name
from postwave.queue.nats_depth import depth_consumer, depth_stream
from postwave.queue.nats_events import EVENTS_STREAM
from tests.k8s import manifests
from tests.k8s.jetstream import declare_streams, jsz, keda_lag, seconds
from tests.k8s.manifests import K8S, ROOT, environment, named, of_kind, pod_template

SCRIPT = K8S / "base" / "bootstrap" / "check_streams.py"


def job_spec(objs):
    return pod_template(named(objs, "Job", "postwave-bootstrap"))["spec"]


def job_check_args(objs) -> list[str]:
    """The check's arguments in the bootstrap Job, less the cluster-internal --monitor and --timeout."""
    (init,) = job_spec(objs)["initContainers"]
    assert init["command"][:2] == ["python3", "/opt/bootstrap/check_streams.py"]
    return [a for a in init["command"][2:] if not a.startswith(("--monitor=", "--timeout="))]


def run_check(monitor_port: int, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), f"--monitor=http://127.0.0.1:{monitor_port}", "--timeout=0", *args],
        capture_output=True, text=True, timeout=60)


def lane_specs(objs) -> dict[str, dict]:
    """lane -> the spec of its Stream resource."""
    streams = {s["spec"]["name"]: s["spec"] for s in of_kind(objs, "Stream")}
    return {lane: streams[stream_name(lane)] for lane in LANES}


async def stream_configs(url: str) -> dict[str, api.StreamConfig]:
    """lane -> the configuration of its stream as the server reports it."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        return {lane: (await js.stream_info(stream_name(lane))).config for lane in LANES}
    finally:
        await nc.close()


async def stream_config(url: str, name: str) -> api.StreamConfig:
    """One stream's configuration as the server reports it."""
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info(name)).config
    finally:
        await nc.close()


async def delete_stream(url: str, name: str) -> None:
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_stream(name)
    finally:
        await nc.close()


def run_init(objs, nats_url: str, data_dir) -> subprocess.CompletedProcess[str]:
    """The Job's postwave container, as it is (args, ConfigMap, Secrets stood in for), with the
    store on a local SQLite file instead of ScyllaDB and NATS on loopback."""
    (c,) = job_spec(objs)["containers"]
    env = {**os.environ, **environment(objs, c), "POSTWAVE_STORE": "embedded", "POSTWAVE_DATA_DIR": str(data_dir),
           "POSTWAVE_NATS_URL": nats_url,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "server"), os.environ.get("PYTHONPATH", "")]))}
    return subprocess.run([sys.executable, "-m", "postwave.cli", *c["args"]], env=env, capture_output=True,
                          text=True, timeout=180)


def test_the_declared_streams_pass_the_bootstrap_check(built, nats_server):
    objs = built["dev"]
    args = job_check_args(objs)
    assert sorted(args) == sorted(f"--stream={s['spec']['name']}:{s['spec']['retention']}"
                                  for s in of_kind(objs, "Stream")), "the check expects every declared stream"
    before = run_check(nats_server.monitor_ports[0], args)
    assert before.returncode == 1
    assert "stream PW_TRANSACTIONAL does not exist" in before.stderr

    asyncio.run(declare_streams(nats_server.url, objs))
    after = run_check(nats_server.monitor_ports[0], args)
    assert after.returncode == 0, after.stderr
    assert ("jetstream ready: PW_TRANSACTIONAL, PW_BULK, PW_EVENTS, PW_TRANSACTIONAL_DEPTH, PW_BULK_DEPTH"
            in after.stdout)

    asyncio.run(delete_stream(nats_server.url, "PW_BULK"))
    missing = run_check(nats_server.monitor_ports[0], args)
    assert missing.returncode == 1
    assert "stream PW_BULK does not exist" in missing.stderr


def test_a_stream_with_the_wrong_retention_is_reported(nats_server):
    asyncio.run(declare_streams(nats_server.url, [{
        "kind": "Stream",
        "spec": {"name": "PW_BULK", "subjects": ["pw.q.bulk.>"], "retention": "limits", "storage": "file",
                 "discard": "old", "duplicateWindow": "2m"},
    }]))
    result = run_check(nats_server.monitor_ports[0], ["--stream=PW_BULK:workqueue"])
    assert result.returncode == 1
    assert "stream PW_BULK has retention limits, expected workqueue" in result.stderr
    assert run_check(nats_server.monitor_ports[0], ["--stream=PW_BULK:nothing"]).returncode == 2  # argparse


@pytest.mark.parametrize("overlay", manifests.OVERLAYS)
def test_a_lane_stream_never_drops_a_message_silently(built, overlay):
    """Work queue on file; a full lane refuses publishes (acceptance answers UNAVAILABLE) rather
    than dropping old mail; no maxAge, or one beyond any message's life in the stream: the
    worker fails an expired message itself, with an event, and maxAge would not."""
    objs = built[overlay]
    (c,) = job_spec(objs)["containers"]
    settings = config.load(environ=environment(objs, c))
    longest = settings.message_expiry_seconds + settings.retry_max_seconds + settings.lease_seconds
    for lane, spec in lane_specs(objs).items():
        assert spec["subjects"] == [f"pw.q.{lane}.>"], lane
        assert (spec["retention"], spec["storage"], spec["discard"]) == ("workqueue", "file", "new"), lane
        assert seconds(spec["duplicateWindow"]) == DUPLICATE_WINDOW, lane
        assert "maxAge" not in spec or seconds(spec["maxAge"]) > longest, lane
        assert spec.get("maxMsgs", -1) == -1 and spec.get("maxMsgsPerSubject", -1) == -1, lane


def test_the_job_runs_postwave_init_which_makes_the_lanes_as_declared(built, nats_server, tmp_path):
    """`postwave init` (the Job's container) creates the lane and events streams as the Stream
    resources declare them, and the depth gauges KEDA reads (stream and consumer per lane); on streams
    NACK made first it changes nothing (their limits stay)."""
    objs = built["dev"]
    (c,) = job_spec(objs)["containers"]
    assert c["args"] == ["init"]
    made = run_init(objs, nats_server.url, tmp_path / "a")
    assert made.returncode == 0, made.stderr
    assert "postwave init:" in made.stdout and "queued: transactional 0, bulk 0" in made.stdout
    created = asyncio.run(stream_configs(nats_server.url))
    for lane, spec in lane_specs(objs).items():
        got = created[lane]
        assert got.subjects == spec["subjects"], lane
        assert (got.retention, got.storage) == (api.RetentionPolicy(spec["retention"]), api.StorageType(spec["storage"]))
        assert got.duplicate_window == seconds(spec["duplicateWindow"]), lane
        assert not got.max_age and "maxAge" not in spec, lane
    lanes_only = [f"--stream={stream_name(lane)}:workqueue" for lane in LANES]
    assert run_check(nats_server.monitor_ports[0], lanes_only).returncode == 0
    report = jsz(f"127.0.0.1:{nats_server.monitor_ports[0]}", "$G")
    for lane in LANES:  # what KEDA reads exists before any scheduler runs: lag 0, from the consumer
        assert keda_lag(report, account="$G", stream=depth_stream(lane), consumer=depth_consumer(lane)) == (0, "consumer")

    events = asyncio.run(stream_config(nats_server.url, EVENTS_STREAM))
    spec = {s["spec"]["name"]: s["spec"] for s in of_kind(objs, "Stream")}[EVENTS_STREAM]
    assert (events.subjects, events.retention, events.discard) == (
        spec["subjects"], api.RetentionPolicy(spec["retention"]), api.DiscardPolicy(spec["discard"]))
    assert (events.max_age, events.max_bytes, events.duplicate_window) == (
        seconds(spec["maxAge"]), spec["maxBytes"], seconds(spec["duplicateWindow"]))

    for lane in LANES:
        asyncio.run(delete_stream(nats_server.url, stream_name(lane)))
        asyncio.run(delete_stream(nats_server.url, depth_stream(lane)))
    asyncio.run(delete_stream(nats_server.url, EVENTS_STREAM))
    asyncio.run(declare_streams(nats_server.url, objs))
    again = run_init(objs, nats_server.url, tmp_path / "b")
    assert again.returncode == 0, again.stderr
    kept = asyncio.run(stream_configs(nats_server.url))
    for lane, spec in lane_specs(objs).items():
        assert (kept[lane].discard, kept[lane].max_bytes) == (api.DiscardPolicy(spec["discard"]), spec["maxBytes"])


"""The Python client's convenience layer against a real, scripted gRPC server on loopback:
retries honour RetryInfo, only retryable codes are retried, a send keeps its idempotency key
across attempts, the batch helper resends only retryable items, and the event tail resumes
from its cursor after a broken stream."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status
from postwave.v1 import events_pb2_grpc, send_pb2, send_pb2_grpc
from postwave_client import (
    Client,
    RetryPolicy,
    idempotency_key,
    message,
    new_idempotency_key,
)

FAST = RetryPolicy(max_attempts=4, initial_backoff=0.01, max_backoff=0.05)


def _abort(context: grpc.ServicerContext, code: int, text: str, retry_after: float | None = None) -> None:
    status = status_pb2.Status(code=code, message=text)
    if retry_after is not None:
        delay = duration_pb2.Duration()
        delay.FromMilliseconds(int(retry_after * 1000))
        status.details.add().Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    context.abort_with_status(rpc_status.to_status(status))


class Scripted(send_pb2_grpc.SendServiceServicer, events_pb2_grpc.EventServiceServicer):
    """Fails as scripted, then answers; records what it was sent."""

    def __init__(self) -> None:
        self.failures: list[tuple[int, float | None]] = []
        self.sends: list[send_pb2.SendRequest] = []
        self.batches: list[list[str]] = []
        self.metadata: list[dict[str, str]] = []
        self.item_codes: list[dict[int, int]] = []
        self.cursors: list[int] = []

    def Send(self, request: send_pb2.SendRequest, context: grpc.ServicerContext) -> send_pb2.SendResponse:
        self.sends.append(request)
        self.metadata.append(dict(context.invocation_metadata()))
        if self.failures:
            code, retry_after = self.failures.pop(0)
            _abort(context, code, "scripted", retry_after)
        return send_pb2.SendResponse(send_id=request.send_id, messages=[send_pb2.MessageRef(message_id="m1")])

    def BatchSend(self, requests: Iterator[send_pb2.SendRequest], context: grpc.ServicerContext) -> Iterator[send_pb2.SendResponse]:
        codes = self.item_codes.pop(0) if self.item_codes else {}
        seen: list[str] = []
        self.batches.append(seen)
        for i, req in enumerate(requests):
            seen.append(req.subject)
            code = codes.get(i, 0)
            yield send_pb2.SendResponse(send_id=req.send_id, code=code,
                                        messages=[] if code else [send_pb2.MessageRef(message_id=f"id-{req.subject}")])

    def StreamEvents(self, request: Any, context: grpc.ServicerContext) -> Iterator[send_pb2.Event]:
        self.cursors.append(request.cursor)
        for event_id in range(request.cursor + 1, 4):
            yield send_pb2.Event(id=event_id, type="delivered")
            if event_id == 2 and len(self.cursors) == 1:
                _abort(context, code_pb2.UNAVAILABLE, "restarting")


@pytest.fixture
def server() -> Iterator[tuple[Scripted, str]]:
    scripted = Scripted()
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    send_pb2_grpc.add_SendServiceServicer_to_server(scripted, srv)
    events_pb2_grpc.add_EventServiceServicer_to_server(scripted, srv)
    port = srv.add_insecure_port("127.0.0.1:0")
    srv.start()
    yield scripted, f"127.0.0.1:{port}"
    srv.stop(None)


def _request(subject: str = "s") -> send_pb2.SendRequest:
    return message(sender="a@b.test", to=["c@d.test"], subject=subject, text="t")


def test_retry_info_is_honoured_and_the_key_kept(server: tuple[Scripted, str]) -> None:
    scripted, target = server
    scripted.failures = [(code_pb2.RESOURCE_EXHAUSTED, 0.15), (code_pb2.UNAVAILABLE, None)]
    with Client(target, "pw_key", retry=FAST) as client:
        started = time.monotonic()
        reply = client.send(_request())
        elapsed = time.monotonic() - started
    assert reply.messages[0].message_id == "m1"
    assert len(scripted.sends) == 3 and elapsed >= 0.15
    keys = {r.send_id for r in scripted.sends}
    assert len(keys) == 1 and keys.pop().startswith("pw-"), "one idempotency key for every attempt"
    assert scripted.metadata[0]["authorization"] == "Bearer pw_key"


def test_other_errors_are_not_retried(server: tuple[Scripted, str]) -> None:
    scripted, target = server
    scripted.failures = [(code_pb2.INVALID_ARGUMENT, None)]
    with Client(target, "k", retry=FAST) as client, pytest.raises(grpc.RpcError) as caught:
        client.send(_request(), idempotency_key=idempotency_key("order", "1"))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert len(scripted.sends) == 1 and scripted.sends[0].send_id == idempotency_key("order", "1")


def test_attempts_run_out(server: tuple[Scripted, str]) -> None:
    scripted, target = server
    scripted.failures = [(code_pb2.UNAVAILABLE, None)] * 10
    with Client(target, "k", retry=FAST) as client, pytest.raises(grpc.RpcError):
        client.send(_request())
    assert len(scripted.sends) == FAST.max_attempts


def test_stream_helper_resends_only_retryable_items(server: tuple[Scripted, str]) -> None:
    scripted, target = server
    scripted.item_codes = [{1: code_pb2.RESOURCE_EXHAUSTED, 2: code_pb2.INVALID_ARGUMENT}]
    with Client(target, "k", retry=FAST) as client:
        replies = client.send_stream([_request(str(i)) for i in range(4)])
    assert [r.code for r in replies] == [0, 0, code_pb2.INVALID_ARGUMENT, 0]
    assert [r.messages[0].message_id for r in replies if not r.code] == ["id-0", "id-1", "id-3"]
    assert scripted.batches == [["0", "1", "2", "3"], ["1"]]
    assert all(r.send_id.startswith("pw-") for r in replies)


def test_event_tail_resumes_after_its_cursor(server: tuple[Scripted, str]) -> None:
    scripted, target = server
    with Client(target, "k", retry=FAST) as client:
        ids = [e.id for e in client.events(follow=False)]
    assert ids == [1, 2, 3]
    assert scripted.cursors == [0, 2]


def test_keys() -> None:
    assert idempotency_key("order-42", "receipt") == "pw-9296d8abecb6b4d238907c8f2e59e1095853c87b"
    assert new_idempotency_key() != new_idempotency_key()
    with pytest.raises(ValueError):
        idempotency_key()
    with pytest.raises(ValueError):
        Client("127.0.0.1:1", "k").send(_request("x").__class__(send_id="a"), idempotency_key="b")


def test_package_builds_as_a_wheel(tmp_path: Any) -> None:
    """postwave-client is an installable package: its wheel holds the helpers and the generated code."""
    import shutil
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    # Built from a copy: setuptools leaves build/ and *.egg-info behind.
    project = tmp_path / "project"
    shutil.copytree(Path(__file__).resolve().parents[2] / "clients" / "python", project,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(project)],
        capture_output=True, text=True, check=False, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [wheel] = tmp_path.glob("postwave_client-0.1.0-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("client.py", "retry.py", "idempotency.py", "py.typed", "v1/send_pb2.py", "v1/send_pb2_grpc.py",
                 "v1/send_pb2.pyi"):
        assert f"postwave_client/{name}" in names, name

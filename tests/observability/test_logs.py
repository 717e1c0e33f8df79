"""Structured logs: JSON lines with message fields, and no secrets or message bodies."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from postwave import logs, tracing

from tests.platform import bearer, request

API_KEY = "pw_0123456789abcdef_S3cr3tPartOfTheKey-xyz_123"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger writing JSON lines (at DEBUG) to a buffer, as setup_logging sets it up."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    buffer = io.StringIO()
    logs.setup_logging("DEBUG", role="api", fmt="json")
    root.handlers[0].setStream(buffer)  # type: ignore[attr-defined]
    try:
        yield buffer
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_scrub_removes_key_secrets_private_keys_and_credentials() -> None:
    logs.register_secret("whsec-webhook-secret-42")
    text = (f"key {API_KEY} pem {PEM} hdr Authorization: Bearer abcdefghijklmnop "
            f"{{'authorization': 'Basic dXNlcjpwYXNz'}} hook whsec-webhook-secret-42!")
    clean = logs.scrub(text)
    for secret in ("S3cr3tPartOfTheKey", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "abcdefghijklmnop", "dXNlcjpwYXNz",
                   "whsec-webhook-secret-42"):
        assert secret not in clean, secret
    assert "pw_0123456789abcdef_<redacted>" in clean  # the key id stays: it names the key
    assert "<redacted private key>" in clean
    logs.register_secret("abc")  # too short to scrub safely: ignored
    assert logs.scrub("abc def") == "abc def"


def test_json_lines_carry_message_tenant_and_trace_ids(captured: io.StringIO) -> None:
    log = logging.getLogger("postwave.test")
    mid = "18c0f0a1b2c3d4e5f60718293a"
    log.info("plain %s", "line")
    log.warning("about one", extra={"message_id": mid, "tenant": "t_1"})
    with logs.context(message_id=mid, tenant="t_2"):
        try:
            raise RuntimeError(f"failed with {API_KEY}")
        except RuntimeError:
            log.exception("boom")
    plain, one, boom = lines(captured)
    assert plain["msg"] == "plain line" and plain["level"] == "INFO" and plain["role"] == "api"
    assert plain["logger"] == "postwave.test" and plain["ts"].endswith("Z") and "message_id" not in plain
    assert (one["message_id"], one["tenant"], one["trace_id"]) == (mid, "t_1", tracing.trace_hex(mid))
    assert (boom["message_id"], boom["tenant"]) == (mid, "t_2")
    assert "RuntimeError" in boom["exc"] and "S3cr3tPartOfTheKey" not in boom["exc"]


def test_text_lines_are_scrubbed_and_name_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.setup_logging("INFO", role="worker-0", fmt="text")
        logging.getLogger("postwave.test").info("key=%s", API_KEY, extra={"message_id": "m1"})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    err = capsys.readouterr().err
    assert " INFO worker-0 postwave.test: key=pw_0123456789abcdef_<redacted> [message_id=m1 trace_id=" in err
    assert "S3cr3t" not in err


async def test_a_delivery_at_debug_level_logs_no_secret_and_no_body(start_pipeline: Any,
                                                                   captured: io.StringIO) -> None:
    pipeline = await start_pipeline(log_level="DEBUG")
    logs.register_config_secrets(pipeline.config)
    body = "BODY-MARKER-7e1d personal text for ann"
    html = '<p>HTML-MARKER-91c2 <a href="https://shop.test/offer">offer</a></p>'
    response = await pipeline.send(request(to=["ann@ok.test"], subject="SUBJECT-MARKER-55aa", text=body, html=html))
    mid = response.messages[0].message_id
    assert (await pipeline.wait_final([mid])) == {mid: "delivered"}
    wrong_key = pipeline.key.rsplit("_", 1)[0] + "_" + "WrongSecretValue0123456789"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await pipeline.stub.Send(request(to=["bob@ok.test"]), metadata=bearer(wrong_key), timeout=10)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    logging.getLogger("postwave.test").debug("api key presented: %s; tracking: %s; dkim: %s",
                                             pipeline.key, pipeline.config.tracking_secret, pipeline.dkim_pem)
    text = captured.getvalue()
    loggers = {line["logger"] for line in lines(captured)}
    assert {"postwave.pipeline.deliver", "postwave.test", "mail.log"} <= loggers  # everyone did log
    key_secret = pipeline.key.split("_", 2)[2]
    pem_line = pipeline.dkim_pem.splitlines()[5]
    for secret in (key_secret, "WrongSecretValue0123456789", pipeline.config.tracking_secret, pem_line,
                   "BODY-MARKER-7e1d", "HTML-MARKER-91c2", "SUBJECT-MARKER-55aa"):
        assert secret not in text, secret

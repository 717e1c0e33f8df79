"""The postwave command line against a running platform and its database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import World
from tests.platform import SERVER_DIR


def _postwave(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    paths = [str(SERVER_DIR), os.environ.get("PYTHONPATH", "")]
    return subprocess.run([sys.executable, "-m", "postwave.cli", *args], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths)),
                                           **(env or {})})


def test_admin_send_and_status_commands(world: World, tmp_path: Path) -> None:
    data = str(world.platform.data_dir)
    created = _postwave("admin", "--data-dir", data, "tenant", "create", "cli-co", "--rate", "50")
    assert created.returncode == 0, created.stderr
    tenant_id = created.stdout.strip()
    assert tenant_id.startswith("t_")
    listed = _postwave("admin", "--data-dir", data, "tenant", "list")
    assert "cli-co" in listed.stdout and "rate=50/s" in listed.stdout
    key = _postwave("admin", "--data-dir", data, "key", "create", "--tenant", "cli-co", "--name", "cli").stdout.strip()
    assert key.startswith("pw_")

    attachment = tmp_path / "notes.txt"
    attachment.write_bytes(b"attached bytes\n")
    client = {"POSTWAVE_SERVER": f"127.0.0.1:{world.platform.port}", "POSTWAVE_API_KEY": key}
    sent = _postwave("send", "--from", "CLI <cli@postwave.test>", "--to", "ann@ok.test", "--subject", "From the CLI",
                     "--text", "Hello {{ who }}", "--var", "who=Ann", "--attach", str(attachment), env=client)
    assert sent.returncode == 0, sent.stderr
    message_id, recipient, state = sent.stdout.split("\t")[:3]
    assert (recipient, state.strip()) == ("ann@ok.test", "accepted")

    shown = _postwave("status", message_id, "--wait", "30", env=client)
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert status["state"] == "delivered" and status["messageId"] == message_id
    data_bytes = world.ok.wait_for(1)[0].data
    assert b"Hello Ann" in data_bytes and b"notes.txt" in data_bytes

    # Errors say what is wrong and exit non-zero.
    unknown = _postwave("status", "nope", env=client)
    assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr
    no_key = _postwave("send", "--from", "a@ok.test", "--to", "b@ok.test", "--text", "x",
                       env={"POSTWAVE_SERVER": client["POSTWAVE_SERVER"], "POSTWAVE_API_KEY": ""})
    assert no_key.returncode != 0 and "API key" in no_key.stderr
    revoked = _postwave("admin", "--data-dir", data, "key", "revoke", "--tenant", tenant_id, key.split("_")[1])
    assert revoked.returncode == 0 and "revoked" in revoked.stdout
    missing = _postwave("admin", "--data-dir", data, "key", "list", "--tenant", "nobody")
    assert missing.returncode == 2 and "postwave admin tenant list" in missing.stderr


def test_help_explains_every_command() -> None:
    top = _postwave("--help")
    for command in ("serve", "admin", "send", "status"):
        assert command in top.stdout
    serve = _postwave("serve", "--help").stdout
    assert "--retry-base-seconds" in serve and "POSTWAVE_RETRY_BASE_SECONDS" in serve


def test_bulk_stream_carries_list_unsubscribe_and_encoded_headers(world: World) -> None:
    from tests.platform import bearer, request
    from postwave.v1 import send_pb2

    _, key = world.platform.tenant("acme")
    req = request(to=["Zoë Ålund <z@ok.test>"], subject="Größe ✓", stream=send_pb2.STREAM_BULK)
    ref = world.platform.send_stub().Send(req, metadata=bearer(key), timeout=10).messages[0]
    world.platform.wait_state(key, ref.message_id, {"delivered"})
    raw = world.ok.wait_for(1)[0].data
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert max(head) < 128  # every header is 7-bit: non-ASCII is RFC 2047 encoded
    assert b"=?utf-8?" in head.lower()
    assert f"/unsubscribe/{ref.message_id}>".encode() in head
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click" in head

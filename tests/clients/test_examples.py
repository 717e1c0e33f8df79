"""Each client's example program against a live postwave, with the mail checked at a real SMTP peer.

The example of every language does the same four things: a send with an idempotency key
(sent twice: the same message ids come back), a batch of 100 over the BatchSend stream, a
status read, and an event tail until all 101 messages are delivered. It prints a JSON
summary; this test checks the summary, then what the SMTP peer actually received.

Each language's build (and its own unit tests: go test, node --test, Maven Surefire) runs
once per session. A missing toolchain skips a language locally and fails under CI.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from postwave.v1 import send_pb2

from tests.clients.conftest import DOMAIN, Live
from tests.platform import bearer

CLIENTS = Path(__file__).resolve().parents[2] / "clients"
BATCH = 100
KEY_VECTOR = "pw-9296d8abecb6b4d238907c8f2e59e1095853c87b"  # idempotency key of ("order-42", "receipt")
Example = tuple[list[str], Path, dict[str, str]]


def _require(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            message = f"{tool} is not installed (scripts/install-deps.sh installs the client toolchains)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)


def _run(command: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="session")
def python_example() -> Example:
    """The Python example runs from the source tree, as a tenant's program would after installing."""
    src = CLIENTS / "python" / "src"
    return [sys.executable, str(CLIENTS / "python" / "examples" / "quickstart.py")], CLIENTS / "python", {"PYTHONPATH": str(src)}


@pytest.fixture(scope="session")
def go_example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    """go test, then the example built into a temporary directory."""
    _require("go")
    module = CLIENTS / "go"
    _run(["go", "test", "-mod=readonly", "./..."], module)
    binary = tmp_path_factory.mktemp("go") / "quickstart"
    _run(["go", "build", "-mod=readonly", "-o", str(binary), "./examples/quickstart"], module)
    return [str(binary)], module, {}


@pytest.fixture(scope="session")
def typescript_example() -> Example:
    """npm ci (when the lock changed), tsc, node --test, then node runs the compiled example."""
    _require("npm", "node")
    package = CLIENTS / "typescript"
    installed = package / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < (package / "package-lock.json").stat().st_mtime:
        _run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], package)
    _run(["npm", "run", "build"], package)
    _run(["npm", "test"], package)
    return ["node", "dist/examples/quickstart.js"], package, {}


@pytest.fixture(scope="session")
def java_example() -> Example:
    """mvn test (compiles, runs Surefire) and the classpath; java runs the example's source file."""
    _require("mvn", "java")
    project = CLIENTS / "java"
    _run(["mvn", "-q", "-B", "-Dstyle.color=never", "test", "dependency:build-classpath",
          "-Dmdep.outputFile=target/classpath.txt"], project)
    classpath = (project / "target" / "classpath.txt").read_text().strip() + ":target/classes"
    return ["java", "-cp", classpath, "examples/Quickstart.java"], project, {}


# A cold first build (Go modules compiled, Maven artifacts fetched) can take minutes.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("language", ["python", "go", "typescript", "java"])
def test_example_sends_streams_reads_and_tails(language: str, live: Live, request: pytest.FixtureRequest) -> None:
    command, cwd, extra_env = request.getfixturevalue(f"{language}_example")
    env = {
        **os.environ, **extra_env,
        "POSTWAVE_SERVER": live.server, "POSTWAVE_API_KEY": live.key, "EXAMPLE_TO_DOMAIN": DOMAIN,
        "EXAMPLE_FROM": "Quickstart <quickstart@postwave.test>", "EXAMPLE_TAG": language, "EXAMPLE_BATCH": str(BATCH),
    }
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"example exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    summary = json.loads(proc.stdout.strip().splitlines()[-1])

    _check_summary(summary, language)
    _check_mail(live, language)
    status = live.platform.send_stub().GetStatus(
        send_pb2.GetStatusRequest(message_id=summary["welcome_message_id"]), metadata=bearer(live.key), timeout=10
    )
    assert status.state == "delivered" and status.send_id == summary["send_id"]


def _key(*parts: str) -> str:
    """The idempotency key scheme, written here independently of every client."""
    return "pw-" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _check_summary(summary: dict[str, Any], language: str) -> None:
    assert summary["language"] == language
    assert summary["key_check"] == KEY_VECTOR, "idempotency keys must agree across clients"
    assert summary["send_id"] == _key("quickstart", language, "welcome")
    assert summary["replayed_same_ids"] is True
    assert summary["batch_accepted"] == BATCH
    assert len(set(summary["batch_message_ids"])) == BATCH
    assert summary["welcome_message_id"] not in summary["batch_message_ids"]
    assert summary["status"] == "delivered" and summary["attempts"] >= 1
    assert summary["delivered_events"] == BATCH + 1
    assert int(summary["last_cursor"]) > 0


def _check_mail(live: Live, language: str) -> None:
    received = live.peer.wait_for(BATCH + 1, timeout=60)
    recipients = sorted(r for message in received for r in message.rcpt_tos)
    expected = sorted([f"{language}-welcome@{DOMAIN}"] + [f"{language}-bulk-{i}@{DOMAIN}" for i in range(BATCH)])
    assert recipients == expected, "each message delivered exactly once (the repeated send was not)"
    welcome = next(m for m in received if m.rcpt_tos == [f"{language}-welcome@{DOMAIN}"])
    parsed = email.message_from_bytes(welcome.data, policy=email.policy.default)
    assert parsed["Subject"] == f"[{language}] welcome"
    assert parsed["To"] == f"{language}-welcome@{DOMAIN}"
    assert "Hello from the postwave quickstart." in parsed.get_body(preferencelist=("plain",)).get_content()
    bulk = next(m for m in received if m.rcpt_tos == [f"{language}-bulk-7@{DOMAIN}"])
    assert email.message_from_bytes(bulk.data, policy=email.policy.default)["Subject"] == f"[{language}] bulk 7"

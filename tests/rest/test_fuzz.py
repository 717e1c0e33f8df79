"""schemathesis fuzzes the gateway's own OpenAPI document against a live postwave: no 5xx, and
every answer matches the document (status codes, content types, response schemas).

Bounded and repeatable: a fixed seed with no example database (the same cases every run), a
fixed number of examples per operation, one worker. Loopback only: every accepted message goes to a
local SMTP peer (route_all_to), so no DNS query or SMTP connection leaves the machine.
The followed event stream (GET /v1/events) never ends by design and is tested on its own in
test_rest_api.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.platform import Platform
from tests.servers.addresses import free_port

SEED = 20261128
EXAMPLES_PER_OPERATION = 40
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# The followed event stream never ends; revoking keys would let the fuzzer revoke its own
# (it learns key ids from GET /v1/keys). Both are covered in test_rest_api.py.
EXCLUDED = ["--exclude-path", "/v1/events", "--exclude-operation-id", "AdminService_RevokeApiKey"]


def test_schemathesis_finds_no_server_error(tmp_path: Path, make_smtp_peer: Any) -> None:
    peer = make_smtp_peer()
    data = tmp_path / "platform"
    data.mkdir()
    # No DNS server listens on this port: nothing may depend on name resolution.
    platform = Platform(data, route_all_to=f"{peer.address}:25", dns_port=free_port("127.0.0.1"))
    platform.start()
    try:
        _, key = platform.tenant("fuzzer")
        reports = tmp_path / "reports"
        command = [
            sys.executable, "-m", "schemathesis.cli", "run", f"http://127.0.0.1:{platform.http_port}/v1/openapi.json",
            "--checks", CHECKS, "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", str(SEED),
            "--generation-database", "none", "--workers", "1", *EXCLUDED,
            "--header", f"Authorization: Bearer {key}", "--generation-with-security-parameters", "false",
            "--request-timeout", "20", "--no-color", "--report", "junit", "--report-dir", str(reports),
        ]
        env = {**os.environ, "SCHEMATHESIS_TELEMETRY": "false"}
        proc = subprocess.run(command, capture_output=True, text=True, check=False, timeout=420, env=env, stdin=subprocess.DEVNULL,
                              cwd=tmp_path)
        output = proc.stdout[-12000:] + proc.stderr[-4000:]
        assert proc.returncode == 0, output
        assert "No issues found" in output or " passed" in output, output
    finally:
        platform.stop()
    assert "Traceback" not in platform.log(), platform.log()[-4000:]

"""The contract checks catch what they exist for: buf breaking fails on an incompatible change
against the released image, buf lint fails on a badly named element, and both pass as is.

Runs buf (installed by scripts/codegen-tools.sh) on a copy of proto/ in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _buf(proto: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = f'source "{REPO}/scripts/codegen-tools.sh" && codegen_tools_buf && cd "{proto}" && buf "$@"'
    return subprocess.run(["bash", "-c", script, "buf", *args], capture_output=True, text=True, check=False, timeout=300,
                          stdin=subprocess.DEVNULL)


@pytest.fixture
def proto(tmp_path: Path) -> Path:
    """A copy of proto/ with the googleapis module staged, as the scripts stage it."""
    if shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("npm is needed to install buf")
        pytest.skip("npm is needed to install buf")
    staged = subprocess.run(["bash", "-c", f'source "{REPO}/scripts/codegen-tools.sh" && stage_googleapis'],
                            capture_output=True, text=True, check=False, timeout=120)
    assert staged.returncode == 0, staged.stderr
    copy = tmp_path / "proto"
    shutil.copytree(REPO / "proto", copy)
    return copy


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_current_contract_passes(proto: Path) -> None:
    lint = _buf(proto, "lint")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    breaking = _buf(proto, "breaking", "--path", "postwave", "--against", "released/postwave-v1.binpb")
    assert breaking.returncode == 0, breaking.stdout + breaking.stderr


def test_breaking_change_fails(proto: Path) -> None:
    _edit(proto / "postwave/v1/send.proto", "  string recipient = 6;\n  string send_id = 7;",
          "  int32 recipient = 6;\n  string send_id = 7;")
    breaking = _buf(proto, "breaking", "--path", "postwave", "--against", "released/postwave-v1.binpb")
    assert breaking.returncode != 0
    assert 'changed type from "string" to "int32"' in breaking.stdout


def test_removed_rpc_fails(proto: Path) -> None:
    _edit(proto / "postwave/v1/send.proto",
          "  rpc CancelScheduled(CancelScheduledRequest) returns (CancelScheduledResponse) {",
          "  rpc CancelScheduledRenamed(CancelScheduledRequest) returns (CancelScheduledResponse) {")
    breaking = _buf(proto, "breaking", "--path", "postwave", "--against", "released/postwave-v1.binpb")
    assert breaking.returncode != 0 and "CancelScheduled" in breaking.stdout


def test_lint_catches_bad_names(proto: Path) -> None:
    _edit(proto / "postwave/v1/send.proto", "message GetStatusRequest {", "message get_status_request {")
    _edit(proto / "postwave/v1/send.proto", "(GetStatusRequest)", "(get_status_request)")
    lint = _buf(proto, "lint")
    assert lint.returncode != 0 and "get_status_request" in lint.stdout

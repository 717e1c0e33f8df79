"""A short, bounded coverage-guided run of tests/security/atheris_fuzz.py: no crash.

Fixed seed and run count, so CI does the same work every time; a crash fails the test with
libFuzzer's report (the input is written to the temporary directory).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HARNESS = Path(__file__).with_name("atheris_fuzz.py")


def test_coverage_guided_fuzzing_finds_no_crash(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(HARNESS), "-runs=4000", "-seed=20261129", "-max_len=2048", "-max_total_time=60",
         f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path, stdin=subprocess.DEVNULL)
    report = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, report
    assert "Done 4000 runs" in report, report

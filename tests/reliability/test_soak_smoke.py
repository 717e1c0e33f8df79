"""benchmarks/soak.py works: a 20-second soak at half of a peak it measures itself.

Only the mechanics are checked (the JSON, the samples, every message accounted for); the
figures themselves are the soak's to report, never asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_soak_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--minutes", "0.34", "--peak-messages", "60",
         "--sample-seconds", "2", "--no-dkim", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())

    assert result["peak_run"]["messages"] == 60 and result["peak_per_s"] > 0
    assert result["offered_per_s"] == result["peak_per_s"] * 0.5
    assert result["accepted"] == result["messages"] > 0
    assert result["delivered"] == result["accepted"] and result["missing"] == 0 and result["not_delivered"] == {}
    samples = result["samples"]
    assert len(samples) >= 5 and all(s["rss_mb"] > 0 and s["pss_mb"] > 0 and s["processes"] >= 3 for s in samples)
    assert [s["t"] for s in samples] == sorted(s["t"] for s in samples)
    memory = result["memory"]
    assert isinstance(memory["flat"], bool) and memory["rss_mb"]["slope_mb_per_min"] is not None
    assert all(third["p95"] is not None for third in result["acceptance_ms_by_third"])
    assert "memory: RSS" in run.stdout and ("FLAT" in run.stdout) and "acceptance p50/p95/p99" in run.stdout
    print("\n" + run.stdout.strip())

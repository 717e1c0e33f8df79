"""Bootstrap check: wait until NATS JetStream has postwave's streams, as declared.

Run by the postwave-bootstrap Job (k8s/base/bootstrap/job.yaml) before ``postwave init``.
NACK creates the streams from k8s/base/nats/streams.yaml; this reads the NATS monitoring
endpoint (``/jsz``) until each expected stream exists with the expected retention, or the
deadline passes (exit status 1, naming what is missing or wrong). Streams only: the queue's
consumers are one per (lane, tenant), made by the workers on demand, and the depth gauges'
consumers (pw-<lane>-depth) are made by NACK or, when missing, by ``postwave init`` next.

    python3 check_streams.py --monitor http://postwave-nats-headless:8222 \\
        --stream PW_TRANSACTIONAL:workqueue --stream PW_EVENTS:limits

Standard library only: it runs from the postwave image with no extra dependency.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from typing import Any


def parse_expectation(text: str) -> tuple[str, str]:
    """``NAME:RETENTION`` as (name, retention)."""
    parts = text.split(":")
    if len(parts) != 2 or not parts[0] or parts[1] not in ("limits", "interest", "workqueue"):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME:limits|interest|workqueue")
    return parts[0], parts[1]


def problems(jsz: dict[str, Any], expected: list[tuple[str, str]]) -> list[str]:
    """What the /jsz document lacks or has wrong, as sentences (empty: all is as declared)."""
    streams: dict[str, dict[str, Any]] = {}
    for account in jsz.get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            streams[stream["name"]] = stream
    found: list[str] = []
    for name, retention in expected:
        stream = streams.get(name)
        if stream is None:
            found.append(f"stream {name} does not exist")
            continue
        actual = (stream.get("config") or {}).get("retention", "").replace("_", "").lower()
        if actual != retention:
            found.append(f"stream {name} has retention {actual or '(unknown)'}, expected {retention}")
    return found


def fetch(monitor: str) -> dict[str, Any]:
    """The monitoring endpoint's JetStream report with stream configs."""
    url = monitor.rstrip("/") + "/jsz?accounts=true&streams=true&config=true"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - operator-given URL
        data: dict[str, Any] = json.load(response)
        return data


def main(argv: list[str] | None = None) -> int:
    """Poll until every expectation holds (0) or the deadline passes (1)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--monitor", required=True, help="NATS monitoring base URL, e.g. http://nats:8222")
    parser.add_argument("--stream", action="append", required=True, type=parse_expectation,
                        help="NAME:RETENTION; repeat")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to keep trying")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between tries")
    args = parser.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            found = problems(fetch(args.monitor), args.stream)
        except (OSError, ValueError) as exc:
            found = [f"monitoring endpoint {args.monitor} did not answer: {exc}"]
        if not found:
            print("jetstream ready: " + ", ".join(name for name, _ in args.stream))
            return 0
        if time.monotonic() >= deadline:
            for line in found:
                print(f"check_streams: {line}", file=sys.stderr)
            return 1
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())

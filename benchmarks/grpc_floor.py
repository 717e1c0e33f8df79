"""What the API's gRPC stack alone costs per streamed request: the floor under acceptance.

Serves SendService.BatchSend the way the API does (grpc.aio on uvloop, the same message size
limits) but answers every request at once, without authentication, validation or a store,
and offers it the end-to-end benchmark's request (~21 KB) from benchmarks/loadgen, the Go
client of the end-to-end runs. Reports the server process's CPU time per request and the
client's latencies:

    python3 benchmarks/grpc_floor.py [--rate 800] [--messages 8000]

Whatever acceptance costs above this figure is postwave's own work (benchmarks/accept_cost.py
measures that part without gRPC).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server")]

from postwave.v1 import send_pb2, send_pb2_grpc  # noqa: E402

from benchmarks.e2e import build_request, loadgen_binary  # noqa: E402


class Answering(send_pb2_grpc.SendServiceServicer):
    """BatchSend answered at once: one response per request, in order."""

    async def BatchSend(self, requests: AsyncIterator[send_pb2.SendRequest], context: Any
                        ) -> AsyncIterator[send_pb2.SendResponse]:
        n = 0
        async for req in requests:
            n += 1
            yield send_pb2.SendResponse(send_id=req.send_id, messages=[
                send_pb2.MessageRef(message_id=f"floor-{n}", recipient=req.personalizations[0].to[0])])


async def serve(port_file: str) -> None:
    """The server process: writes its port to ``port_file``, then serves until killed."""
    import grpc

    from postwave.api.server import MAX_RECEIVE_BYTES

    server = grpc.aio.server(options=[("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
                                      ("grpc.max_send_message_length", MAX_RECEIVE_BYTES)])
    send_pb2_grpc.add_SendServiceServicer_to_server(Answering(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    Path(port_file).write_text(str(port))
    await server.wait_for_termination()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(rate: float, messages: int) -> dict[str, Any]:
    """One run: the server started, ``messages`` offered at ``rate``/s (0 = as fast as answered)."""
    binary = loadgen_binary()
    with tempfile.TemporaryDirectory(prefix="postwave-grpc-floor-") as tmp:
        port_file, base_file = Path(tmp, "port"), Path(tmp, "base.bin")
        base = build_request(0, 1)
        del base.personalizations[:]  # loadgen adds them
        base_file.write_bytes(base.SerializeToString())
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file)])
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the gRPC server did not start (see its output above)")
                time.sleep(0.05)
            cpu = cpu_seconds(server.pid)
            done = subprocess.run([str(binary), "-target", f"127.0.0.1:{port_file.read_text()}", "-key", "floor",
                                   "-base", str(base_file), "-messages", str(messages), "-rate", str(rate)],
                                  capture_output=True, text=True, env={**os.environ, "GOMAXPROCS": "1"})
            cpu = cpu_seconds(server.pid) - cpu
        finally:
            server.kill()
            server.wait()
    if done.returncode:
        raise SystemExit(f"loadgen failed: {done.stderr.strip()}")
    report = json.loads(done.stdout)
    report = report[0] if isinstance(report, list) else report
    latencies = sorted(report["latencies_ms"])
    count = len(latencies)
    return {
        "rate": rate or None, "messages": count, "seconds": report["seconds"],
        "server_cpu_ms_per_request": cpu / count * 1000,
        "latency_ms": {"p50": latencies[count // 2], "p95": latencies[int(count * 0.95)],
                       "p99": latencies[int(count * 0.99)]},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=800.0, help="requests per second (default 800; 0 = unpaced)")
    parser.add_argument("--messages", type=int, default=8000, help="requests to offer (default 8000)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--serve", metavar="PORT_FILE", help=argparse.SUPPRESS)  # the server process
    args = parser.parse_args(argv)
    if args.serve:
        import uvloop

        uvloop.run(serve(args.serve))
        return
    if args.messages < 1 or args.rate < 0:
        parser.error("--messages must be at least 1 and --rate at least 0")
    print(f"offering {args.messages} requests at {args.rate:g}/s ...", file=sys.stderr, flush=True)
    result = measure(args.rate, args.messages)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    q = result["latency_ms"]
    print(f"server CPU {result['server_cpu_ms_per_request']:.3f} ms per request over {result['messages']} requests "
          f"in {result['seconds']:.1f} s; latency p50/95/99 {q['p50']:.2f}/{q['p95']:.2f}/{q['p99']:.2f} ms")


if __name__ == "__main__":
    main()

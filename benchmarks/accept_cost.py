"""What acceptance costs in CPU, without gRPC, workers or a load client on the same cores.

Runs the API's ``Acceptor`` in this process on a fresh embedded data directory and offers it
the end-to-end benchmark's request (benchmarks/message.py: ~20 KB, five links, tracking on)
from ``--concurrency`` senders at once, each sending its next request as soon as the last one
is answered. For each concurrency it reports the CPU time per request of the whole process
and of the group commits' own work alone (their look-ups, statements and fsync), the group
commits made and the requests per commit:

    python3 benchmarks/accept_cost.py [--messages 4000] [--concurrency 1,4,16,64] [--linger-ms 0] [--on-thread] [--json]

The end-to-end figures move with everything else on the two cores; these do not, so they
show what a change to acceptance saves. A group commit has a fixed cost (write lock, WAL
write and fsync; with ``--on-thread``, the hand-off to its thread and back), so the cost per
request falls as more requests share a commit: see ``accept_linger_ms`` and
``accept_commit_on_loop`` in docs/configuration.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "server")]

from postwave import config as config_mod  # noqa: E402
from postwave import loop as loop_mod  # noqa: E402
from postwave.app import bootstrap  # noqa: E402
from postwave.backends import open_backends  # noqa: E402
from postwave.pipeline.accept import Acceptor  # noqa: E402
from postwave.render.templates import TemplateEngine  # noqa: E402

from benchmarks.e2e import build_request  # noqa: E402

WARMUP = 200  # requests first, unmeasured: caches filled, the tenant's rows made


async def measure(concurrency: int, messages: int, linger_ms: float, on_thread: bool = False) -> dict[str, Any]:
    """One point: ``messages`` requests from ``concurrency`` senders on a fresh data directory."""
    data_dir = tempfile.mkdtemp(prefix="postwave-accept-cost-")
    config = config_mod.load({
        "data_dir": data_dir, "admin_listen": "", "track_clicks": True, "track_opens": True,
        "tracking_secret": "accept-cost-benchmark-secret", "accept_linger_ms": linger_ms,
        "accept_commit_on_loop": not on_thread,
    }, environ={})
    store, queue = open_backends(config)
    try:
        bootstrap(store, config)
        tenant_id = store.list_tenants()[0].tenant_id
        acceptor = Acceptor(store=store, queue=queue, config=config, engine=TemplateEngine())
        requests = [build_request(i, 1) for i in range(WARMUP + messages)]
        commit_cpu = [0.0, 0]  # CPU seconds of the commits' own work (on the loop or a thread), commits

        def timed(step: Any, commits: int) -> Any:
            def run(*args: Any, **kwargs: Any) -> Any:
                started = time.thread_time()
                try:
                    result = step(*args, **kwargs)
                finally:
                    commit_cpu[0] += time.thread_time() - started
                commit_cpu[1] += commits  # not a try that found the write lock taken and went to a thread
                return result
            return run

        # A commit is its reads (_read) and its transaction (_write_prepared), wherever they run.
        acceptor._read = timed(acceptor._read, 0)  # type: ignore[method-assign]
        acceptor._write_prepared = timed(acceptor._write_prepared, 1)  # type: ignore[method-assign]
        acceptor.start()
        try:
            for req in requests[:WARMUP]:
                await acceptor.send(tenant_id, req)
            commit_cpu[:] = [0.0, 0]
            todo = iter(requests[WARMUP:])

            async def sender() -> None:
                for req in todo:
                    await acceptor.send(tenant_id, req)

            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(sender() for _ in range(concurrency)))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        finally:
            await acceptor.stop()
    finally:
        await queue.close()
        store.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    commits = max(1, commit_cpu[1])
    return {
        "concurrency": concurrency, "messages": messages, "linger_ms": linger_ms,
        "cpu_ms_per_request": cpu / messages * 1000,
        "commit_cpu_ms_per_request": commit_cpu[0] / messages * 1000,
        "commit_cpu_ms_per_commit": commit_cpu[0] / commits * 1000,
        "commits": commit_cpu[1], "requests_per_commit": messages / commits,
        "requests_per_s": messages / wall,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=4000, help="measured requests per point (default 4000)")
    parser.add_argument("--concurrency", default="1,4,16,64",
                        help="comma-separated numbers of senders, one point each (default 1,4,16,64)")
    parser.add_argument("--linger-ms", type=float, default=0.0, help="accept_linger_ms (default 0: off)")
    parser.add_argument("--on-thread", action="store_true",
                        help="commit on a thread always (accept_commit_on_loop=false), as before it existed")
    parser.add_argument("--json", action="store_true", help="print the points as JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        levels = [int(c) for c in args.concurrency.split(",")]
    except ValueError:
        parser.error(f"--concurrency must be comma-separated whole numbers, not {args.concurrency!r}")
    if args.messages < 1 or any(c < 1 for c in levels):
        parser.error("--messages and every --concurrency must be at least 1")
    points = []
    for concurrency in levels:
        print(f"concurrency {concurrency}: {args.messages} requests ...", file=sys.stderr, flush=True)
        points.append(loop_mod.run(measure(concurrency, args.messages, args.linger_ms, args.on_thread), config_mod.load(environ={})))
    if args.json:
        print(json.dumps(points, indent=2))
        return
    print(f"{'senders':>7}  {'CPU ms/request':>14}  {'of it, the commit ms/request':>28}  "
          f"{'ms/commit':>9}  {'requests/commit':>15}  {'requests/s':>10}")
    for p in points:
        print(f"{p['concurrency']:>7}  {p['cpu_ms_per_request']:>14.3f}  {p['commit_cpu_ms_per_request']:>28.3f}  "
              f"{p['commit_cpu_ms_per_commit']:>9.3f}  {p['requests_per_commit']:>15.1f}  {p['requests_per_s']:>10.0f}")


if __name__ == "__main__":
    main()

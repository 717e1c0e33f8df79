"""The event loop every postwave process runs on.

uvloop (libuv) by default: in alternated runs of the embedded benchmark (three pairs,
`python3 benchmarks/e2e.py --messages 16000`) the workers delivered 434-445/s on it against
391-417/s on the standard library's loop, at 3.16-3.30 against 3.31-3.52 CPU seconds per
1,000 messages. ``event_loop = asyncio`` keeps the standard library's loop (for a platform
without uvloop wheels, or to rule the loop out while debugging).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from postwave.config import Config

log = logging.getLogger(__name__)

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], config: Config) -> T:
    """Run ``main`` to completion on the configured loop (as :func:`asyncio.run` does)."""
    if config.event_loop == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("event_loop is uvloop, but uvloop is not installed (pip install uvloop); "
                        "running on asyncio's own loop")
        else:
            return uvloop.run(main)
    return asyncio.run(main)

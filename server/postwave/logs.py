"""Logging set-up shared by every process: one line per record, with the process role."""

from __future__ import annotations

import logging
import sys


def setup_logging(level: str, *, role: str) -> None:
    """Log to stderr as ``time level role logger: message``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {role} %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())

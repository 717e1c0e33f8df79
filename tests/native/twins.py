"""Both implementations of a native module, for tests: the compiled module and its twin.

Tests take a module per parameter (``@pytest.mark.parametrize("kind", KINDS)`` and
:func:`implementation`), or both at once for differential tests (``compiled(x) == twin(x)``,
errors included, through :func:`outcome`).

A compiled module that cannot be imported skips its tests -- except with
``POSTWAVE_REQUIRE_EXTENSIONS=1`` (set in CI), where it fails them: a skipped extension test
must never pass CI unnoticed. ``POSTWAVE_NO_EXTENSIONS=1`` skips the compiled side on purpose.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from postwave.native import MODULES

#: Hypothesis settings of the differential tests: no deadline (CI machines are shared).
DIFFERENTIAL = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def compiled(name: str) -> ModuleType:
    """The compiled module ``postwave._native.<name>``, or skip (fail when required)."""
    if _flag("POSTWAVE_NO_EXTENSIONS"):
        pytest.skip("POSTWAVE_NO_EXTENSIONS=1: the compiled modules are off")
    try:
        return importlib.import_module(f"postwave._native.{name}")
    except ImportError as exc:
        if _flag("POSTWAVE_REQUIRE_EXTENSIONS"):
            pytest.fail(f"postwave._native.{name} is required but cannot be imported: {exc}")
        pytest.skip(f"postwave._native.{name} is not built: {exc}")


def twin(name: str) -> ModuleType:
    """The pure-Python twin of ``name``."""
    return importlib.import_module(MODULES[name])


def implementation(name: str, kind: str) -> ModuleType:
    return compiled(name) if kind == "compiled" else twin(name)


def outcome(function: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[str, Any]:
    """``("ok", result)`` or ``("error", (type name, message))``: compare errors too."""
    try:
        return "ok", function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 -- the differential tests compare any error
        return "error", (type(exc).__name__, str(exc))


KINDS = ["compiled", "twin"]

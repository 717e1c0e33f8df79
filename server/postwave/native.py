"""The one switch between the compiled hot path and its pure-Python twins.

Each hot-path module has two implementations with the same API: the twin, plain Python
in ``server/postwave/`` (the specification, and the fallback), and the compiled module
``postwave._native.<name>`` built by Cython from ``native/<name>.pyx``. This module picks
one of each at import and says which:

* ``POSTWAVE_NO_EXTENSIONS=1`` forces the twins (to debug, or to compare).
* ``POSTWAVE_REQUIRE_EXTENSIONS=1`` (set in CI) makes a compiled module that cannot be
  imported an error instead of a fallback: production must not run slow code unnoticed.
* Otherwise a missing compiled module falls back to its twin with a warning in the log,
  and :func:`report` (``postwave doctor``, the worker's start-up log) shows it.

Callers import the chosen modules from here (``from postwave.native import mime``) and
never import ``postwave._native`` or the twins' hot functions themselves.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType
from typing import TYPE_CHECKING

from postwave.errors import PostwaveError

__all__ = ["MODULES", "ExtensionMissingError", "Choice", "choices", "load", "missing", "report"]

log = logging.getLogger(__name__)

#: Each hot-path module and its pure-Python twin.
MODULES: dict[str, str] = {
    "personalize": "postwave.render.personalize",
    "mime": "postwave.render.mime",
    "dkim": "postwave.render.dkim",
    "linkwrap": "postwave.tracking.linkwrap",
    "tokenbucket": "postwave.shaping.tokenbucket",
}


class ExtensionMissingError(PostwaveError, ImportError):
    """A compiled module is required (POSTWAVE_REQUIRE_EXTENSIONS=1) but cannot be imported."""


class Choice:
    """Which implementation of one module is in use, and why."""

    __slots__ = ("name", "module", "compiled", "reason", "fallback")

    def __init__(self, name: str, module: ModuleType, compiled: bool, reason: str, *, fallback: bool = False) -> None:
        self.name = name
        self.module = module
        self.compiled = compiled
        self.reason = reason
        #: True when the twin runs because the compiled module is missing (not by choice).
        self.fallback = fallback

    def __str__(self) -> str:
        kind = "compiled" if self.compiled else "twin"
        return f"{self.name}: {kind} ({self.module.__name__}){' -- ' + self.reason if self.reason else ''}"


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def load(name: str) -> Choice:
    """Import the implementation of ``name`` that the environment asks for.

    Raises:
        ExtensionMissingError: the compiled module is required but cannot be imported.
    """
    twin = MODULES[name]
    if _flag("POSTWAVE_NO_EXTENSIONS"):
        return Choice(name, importlib.import_module(twin), False, "POSTWAVE_NO_EXTENSIONS is set")
    try:
        return Choice(name, importlib.import_module(f"postwave._native.{name}"), True, "")
    except ImportError as exc:
        if _flag("POSTWAVE_REQUIRE_EXTENSIONS"):
            raise ExtensionMissingError(
                f"compiled module postwave._native.{name} is required (POSTWAVE_REQUIRE_EXTENSIONS=1) "
                f"but cannot be imported: {exc}; build it with 'pip install -e .'"
            ) from exc
        log.warning("postwave._native.%s is not available (%s); using the slower twin %s", name, exc, twin)
        return Choice(name, importlib.import_module(twin), False, f"compiled module not importable: {exc}",
                      fallback=True)


_CHOICES: dict[str, Choice] = {name: load(name) for name in MODULES}


def choices() -> dict[str, Choice]:
    """The implementation chosen for every module, by module name."""
    return dict(_CHOICES)


def missing() -> list[str]:
    """Modules running on their twin because the compiled module could not be imported."""
    return [name for name, choice in _CHOICES.items() if choice.fallback]


def report() -> str:
    """One line per module: which implementation is active (for doctor and the start-up log)."""
    return "\n".join(str(choice) for choice in _CHOICES.values())


# The twins are the type specification; at run time each name is the chosen module.
if TYPE_CHECKING:
    from postwave.render import dkim as dkim, mime as mime, personalize as personalize
    from postwave.shaping import tokenbucket as tokenbucket
    from postwave.tracking import linkwrap as linkwrap
else:
    personalize = _CHOICES["personalize"].module
    mime = _CHOICES["mime"].module
    dkim = _CHOICES["dkim"].module
    linkwrap = _CHOICES["linkwrap"].module
    tokenbucket = _CHOICES["tokenbucket"].module

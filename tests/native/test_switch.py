"""The one switch: which implementation runs, the environment variables, and `postwave doctor`."""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from postwave import native
from postwave.errors import PostwaveError
from tests.native.twins import compiled

ROOT = Path(__file__).resolve().parents[2]


def doctor(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("POSTWAVE_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "server"), environ.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "postwave.cli", "doctor"], env={**environ, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_doctor_reports_the_compiled_modules() -> None:
    for name in native.MODULES:
        compiled(name)  # skips (or fails under POSTWAVE_REQUIRE_EXTENSIONS) when not built
    result = doctor()
    assert result.returncode == 0, result.stderr
    for name in native.MODULES:
        assert f"{name}: compiled (postwave._native.{name})" in result.stdout


def test_doctor_with_extensions_switched_off_reports_the_twins() -> None:
    result = doctor(POSTWAVE_NO_EXTENSIONS="1")
    assert result.returncode == 0, result.stderr
    for name, twin in native.MODULES.items():
        assert f"{name}: twin ({twin}) -- POSTWAVE_NO_EXTENSIONS is set" in result.stdout


def _without_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.import_module

    def fake(name: str, package: str | None = None) -> object:
        if name.startswith("postwave._native."):
            raise ImportError(f"No module named {name!r}")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", fake)
    monkeypatch.delenv("POSTWAVE_NO_EXTENSIONS", raising=False)


def test_a_missing_compiled_module_falls_back_loudly(monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    _without_compiled(monkeypatch)
    monkeypatch.delenv("POSTWAVE_REQUIRE_EXTENSIONS", raising=False)
    with caplog.at_level(logging.WARNING, logger="postwave.native"):
        choice = native.load("mime")
    assert not choice.compiled and choice.fallback and choice.module.__name__ == "postwave.render.mime"
    assert "postwave._native.mime is not available" in caplog.text


def test_a_missing_compiled_module_is_an_error_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_compiled(monkeypatch)
    monkeypatch.setenv("POSTWAVE_REQUIRE_EXTENSIONS", "1")
    with pytest.raises(native.ExtensionMissingError) as info:
        native.load("dkim")
    assert isinstance(info.value, PostwaveError) and isinstance(info.value, ImportError)
    assert "POSTWAVE_REQUIRE_EXTENSIONS" in info.value.message


def test_the_twins_and_the_compiled_modules_export_the_same_names() -> None:
    for name, twin in native.MODULES.items():
        module = compiled(name)
        assert sorted(module.__all__) == sorted(importlib.import_module(twin).__all__), name
        for attribute in module.__all__:
            assert hasattr(module, attribute), (name, attribute)

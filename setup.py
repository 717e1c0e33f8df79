"""Build script: metadata lives in pyproject.toml; this file adds the compiled hot path.

Every ``native/<name>.pyx`` is cythonized into the extension ``postwave._native.<name>``
by the normal ``pip install .`` / ``pip install -e .`` (Cython is a build requirement in
pyproject.toml). ``POSTWAVE_NO_EXTENSIONS=1`` at build time skips them: the pure-Python
twins are then used (and ``postwave doctor`` says so).
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import Extension, setup

ROOT = Path(__file__).resolve().parent
NAMES = sorted(path.stem for path in (ROOT / "native").glob("*.pyx"))


def extensions() -> list[Extension]:
    """The Cython extensions, or none when POSTWAVE_NO_EXTENSIONS is set."""
    if os.environ.get("POSTWAVE_NO_EXTENSIONS", "") not in ("", "0"):
        return []
    from Cython.Build import cythonize

    modules = [
        Extension(f"postwave._native.{name}", [f"native/{name}.pyx"], extra_compile_args=["-O2"])
        for name in NAMES
    ]
    return cythonize(
        modules,
        build_dir="build/cython",  # generated .c files stay out of the source tree
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
        },
        quiet=True,
    )


setup(ext_modules=extensions())

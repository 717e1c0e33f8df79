"""Compiled twins of the hot path, built by Cython from ``native/*.pyx``.

Import them through :mod:`postwave.native`, which chooses between these modules and their
pure-Python twins (``POSTWAVE_NO_EXTENSIONS`` / ``POSTWAVE_REQUIRE_EXTENSIONS``). The
``.pyi`` stubs beside this file describe their API, the same as the twins'.
"""

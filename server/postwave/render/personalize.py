"""Fast personalization of simple templates: the twin of ``native/personalize.pyx``.

Most templates only substitute values: ``Hello {{ user.first_name|default('there')|title }}``.
For those, :func:`compile_template` builds a :class:`Program` -- literal text and variable
segments -- that renders a recipient in a few microseconds, and many recipients per call
(:meth:`Program.render_many`), instead of a full pass through the Jinja2 sandbox.

The fast path is an optimisation only, never a second template language: it must give
exactly what :class:`postwave.render.templates.TemplateEngine` gives. So it is small and
strict, and it steps aside whenever it is not certain:

* :func:`compile_template` returns ``None`` for any template outside the subset -- a tag
  (``{% %}``), a comment, whitespace control, an expression other than a dotted name, a
  filter other than those below -- and the caller uses the engine.
* :meth:`Program.render` returns ``None`` for a recipient it cannot render exactly -- a
  missing variable (the engine then raises the precise error), a value that is not a
  string, number, boolean or null, a lookup through something other than a dict, or an
  output over :data:`MAX_OUTPUT_CHARS` -- and the caller renders that recipient with the engine.

The subset: ``{{ name }}`` and ``{{ a.b.c }}`` (ASCII names not starting with ``_``),
followed by filters: ``default('text')``/``d`` (first), ``upper``, ``lower``, ``title``,
``capitalize``, ``trim``, then optionally ``e``/``escape`` or ``safe`` (last). Values
are HTML-escaped when ``autoescape`` is on (html bodies), as Jinja does.

Contexts are JSON objects: dicts with string keys (as the API's ``substitutions`` are).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from jinja2.filters import do_title

__all__ = ["MAX_OUTPUT_CHARS", "Program", "compile_template"]

#: Longer outputs are left to the engine, which enforces the size limits.
MAX_OUTPUT_CHARS = 1 << 20
#: Templates with more variable segments than this are left to the engine (its step budget).
MAX_SEGMENTS = 10_000
# Integers this long are refused by str(); the engine reports that.
_MAX_INT_BITS = 10_000

# Jinja's lexer, with keep_trailing_newline=False: any CR, LF or CRLF is a newline, and one
# newline at the very end is dropped.
_NEWLINE = re.compile(r"\r\n|\r|\n")
_NAME = r"[A-Za-z][A-Za-z0-9_]*"
_STRING = r"'[^'\\{}\n]*'|\"[^\"\\{}\n]*\""
_FILTER = rf"\|[ \t\n]*({_NAME})[ \t\n]*(?:\([ \t\n]*({_STRING})?[ \t\n]*\)[ \t\n]*)?"
_EXPRESSION = re.compile(rf"\{{\{{[ \t\n]*({_NAME}(?:\.{_NAME})*)[ \t\n]*((?:{_FILTER})*)\}}\}}")
_FILTERS = re.compile(_FILTER)

# Names the Jinja parser or its globals give another meaning, and attribute names that
# Jinja would resolve on a dict (``a.items`` is the method, not the key).
_RESERVED = frozenset(
    {"and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None",
     "self", "loop", "caller", "varargs", "kwargs", "super",
     "range", "dict", "lipsum", "cycler", "joiner", "namespace"}
) | frozenset(dir(dict))

TRANSFORMS = ("upper", "lower", "title", "capitalize", "trim")
_ESCAPE_FILTERS = {"e": True, "escape": True, "safe": False}
_SCALARS = (str, int, float, bool, type(None))


def escape(text: str) -> str:
    """HTML-escape like ``markupsafe.escape``: ``& < > ' "``."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "'" in text:
        text = text.replace("'", "&#39;")
    if '"' in text:
        text = text.replace('"', "&#34;")
    return text


def transform(name: str, text: str) -> str:
    """Apply one of :data:`TRANSFORMS` the way Jinja's filter of that name does."""
    if name == "upper":
        return text.upper()
    if name == "lower":
        return text.lower()
    if name == "title":
        return do_title(text)
    if name == "capitalize":
        return text.capitalize()
    return text.strip()


def parse(source: str, autoescape: bool) -> list[str | tuple[tuple[str, ...], str | None, tuple[str, ...], bool]] | None:
    """The segments of ``source``: literal strings and ``(path, default, transforms, escape)``.

    ``None`` when the template is outside the fast subset. Shared by both implementations:
    compiling is done once per template, only rendering is hot.
    """
    if not isinstance(source, str) or "{%" in source or "{#" in source:
        return None
    lines = _NEWLINE.split(source)
    if lines[-1] == "":
        del lines[-1]
    source = "\n".join(lines)
    segments: list[str | tuple[tuple[str, ...], str | None, tuple[str, ...], bool]] = []
    position = 0
    while True:
        start = source.find("{{", position)
        if start < 0:
            break
        match = _EXPRESSION.match(source, start)
        variable = _variable(match, autoescape) if match else None
        if variable is None or len(segments) > 2 * MAX_SEGMENTS:
            return None
        if start > position:
            segments.append(source[position:start])
        segments.append(variable)
        position = match.end()  # type: ignore[union-attr]
    if position < len(source):
        segments.append(source[position:])
    return segments


def _variable(match: re.Match[str], autoescape: bool) -> tuple[tuple[str, ...], str | None, tuple[str, ...], bool] | None:
    path = tuple(match.group(1).split("."))
    if any(name in _RESERVED for name in path):
        return None
    filters = [(f.group(1), f.group(2)) for f in _FILTERS.finditer(match.group(2))]
    default: str | None = None
    if filters and filters[0][0] in ("default", "d"):
        argument = filters.pop(0)[1]
        default = "" if argument is None else argument[1:-1]
    escaped = autoescape
    if filters and filters[-1][0] in _ESCAPE_FILTERS and filters[-1][1] is None:
        escaped = _ESCAPE_FILTERS[filters.pop()[0]]
    if any(name not in TRANSFORMS or argument is not None for name, argument in filters):
        return None
    return path, default, tuple(name for name, _ in filters), escaped


class _Sentinel:
    __slots__ = ()


_MISSING = _Sentinel()  # the last name is absent: a default applies
_GIVE_UP = _Sentinel()  # only the engine knows (an error, or an attribute of a non-dict)


def _lookup(context: dict[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path``, or ``_MISSING``, or ``_GIVE_UP``."""
    value: Any = context
    last = len(path) - 1
    for index, name in enumerate(path):
        if type(value) is not dict:
            return _GIVE_UP
        value = value.get(name, _MISSING)
        if value is _MISSING:
            return _MISSING if index == last else _GIVE_UP
    return value


def _text(value: Any) -> str | None:
    cls = type(value)
    if cls is str:
        return value  # type: ignore[no-any-return]
    if cls not in _SCALARS or (cls is int and value.bit_length() > _MAX_INT_BITS):
        return None
    return str(value)


class Program:
    """A compiled simple template; :meth:`render` gives ``None`` where the engine must decide."""

    __slots__ = ("_segments",)

    def __init__(self, segments: Sequence[str | tuple[tuple[str, ...], str | None, tuple[str, ...], bool]]) -> None:
        self._segments = list(segments)

    def render(self, context: dict[str, Any]) -> str | None:
        """The text for one recipient, or ``None`` if only the engine can render it exactly."""
        if type(context) is not dict:
            return None
        out: list[str] = []
        for segment in self._segments:
            if isinstance(segment, str):  # literal text (never a str subclass: parse() builds them)
                out.append(segment)
                continue
            path, default, transforms, escaped = segment
            value = _lookup(context, path)
            if value is _GIVE_UP:
                return None
            if value is _MISSING:
                if default is None:
                    return None
                value = default
            text = _text(value)
            if text is None:
                return None
            for name in transforms:
                text = transform(name, text)
            out.append(escape(text) if escaped else text)
        result = "".join(out)
        return result if len(result) <= MAX_OUTPUT_CHARS else None

    def render_many(self, contexts: Sequence[dict[str, Any]]) -> list[str | None]:
        """:meth:`render` for each context (batch personalization)."""
        return [self.render(context) for context in contexts]


def compile_template(source: str, *, autoescape: bool) -> Program | None:
    """A :class:`Program` for ``source``, or ``None`` if it is outside the fast subset."""
    segments = parse(source, autoescape)
    return None if segments is None else Program(segments)

"""Fast personalization of simple templates: compiled twin of ``postwave.render.personalize``.

Parsing a template happens once and is the twin's own code (one source); rendering --
the per-recipient work -- is compiled here: typed segments, dict lookups without Python
calls, HTML escaping in one pass over the text, and a variable that recurs in the template
rendered once per recipient. Results are identical to the twin's
(and so to the Jinja2 engine's); tests/native/ checks both.
"""

from cpython.dict cimport PyDict_GetItem
from cpython.ref cimport PyObject

from postwave.render.personalize import MAX_OUTPUT_CHARS, TRANSFORMS, parse

__all__ = ["MAX_OUTPUT_CHARS", "Program", "compile_template"]

cdef Py_ssize_t _MAX_OUTPUT = MAX_OUTPUT_CHARS
cdef Py_ssize_t _MAX_INT_BITS = 10_000


cdef str _escape(str text):
    """HTML-escape like ``markupsafe.escape``; the text itself when nothing needs it."""
    cdef Py_UCS4 ch
    cdef Py_ssize_t extra = 0
    for ch in text:
        if ch == u"&":
            extra += 4
        elif ch == u"<" or ch == u">":
            extra += 3
        elif ch == u"'" or ch == u'"':
            extra += 4
    if extra == 0:
        return text
    cdef list out = []
    cdef Py_ssize_t i, start = 0
    cdef str replacement
    for i in range(len(text)):
        ch = text[i]
        if ch == u"&":
            replacement = "&amp;"
        elif ch == u"<":
            replacement = "&lt;"
        elif ch == u">":
            replacement = "&gt;"
        elif ch == u"'":
            replacement = "&#39;"
        elif ch == u'"':
            replacement = "&#34;"
        else:
            continue
        out.append(text[start:i])
        out.append(replacement)
        start = i + 1
    out.append(text[start:])
    return "".join(out)


cdef inline bint _title_separator(Py_UCS4 ch):
    # jinja2.filters._word_beginning_split_re: ([-\s({\[<]+)
    return ch == u"-" or ch == u"(" or ch == u"{" or ch == u"[" or ch == u"<" or ch.isspace()


cdef str _title(str text):
    """Jinja's ``title`` filter: each word's first character upper, the rest lower."""
    cdef list out = []
    cdef Py_ssize_t i, n = len(text), start = -1
    cdef Py_UCS4 ch
    for i in range(n + 1):
        if i < n and not _title_separator(text[i]):
            if start < 0:
                start = i
            continue
        if start >= 0:
            # Word by word, like Jinja: lower() of a word alone (final sigma, for one,
            # depends on the letters around it).
            out.append(text[start].upper())
            out.append(text[start + 1:i].lower())
            if i < n:
                start = -1
        if i < n:
            out.append(text[i])
    return "".join(out)


cdef enum Transform:
    UPPER
    LOWER
    TITLE
    CAPITALIZE
    TRIM


cdef str _transform(int code, str text):
    if code == UPPER:
        return text.upper()
    if code == LOWER:
        return text.lower()
    if code == TITLE:
        return _title(text)
    if code == CAPITALIZE:
        return text.capitalize()
    return text.strip()


cdef enum Found:
    FOUND
    MISSING
    GIVE_UP


cdef class _Variable:
    cdef tuple path
    cdef object default  # str, or None without a default filter
    cdef list transforms  # of Transform codes
    cdef bint escaped

    cdef str render(self, dict context):
        cdef object value = context
        cdef PyObject* item
        cdef Py_ssize_t index, last = len(self.path) - 1
        cdef Found found = FOUND
        for index in range(last + 1):
            if type(value) is not dict:
                return None
            item = PyDict_GetItem(value, self.path[index])
            if item is NULL:
                found = MISSING if index == last else GIVE_UP
                break
            value = <object>item
        if found == GIVE_UP:
            return None
        if found == MISSING:
            if self.default is None:
                return None
            value = self.default
        cdef str text
        cls = type(value)
        if cls is str:
            text = <str>value
        elif cls is float or cls is bool or value is None:
            text = str(value)
        elif cls is int and value.bit_length() <= _MAX_INT_BITS:
            text = str(value)
        else:
            return None
        for code in self.transforms:
            text = _transform(code, text)
        return _escape(text) if self.escaped else text


cdef class Program:
    """A compiled simple template; see :class:`postwave.render.personalize.Program`."""

    cdef list _segments  # literal str, or the index of a variable in _variables
    cdef list _variables  # each distinct variable once: one that recurs is rendered once a call

    def __init__(self, segments):
        cdef _Variable variable
        cdef dict seen = {}
        self._segments = []
        self._variables = []
        for segment in segments:
            if type(segment) is str:
                self._segments.append(segment)
                continue
            path, default, names, escaped = segment
            key = (tuple(path), default, tuple(names), bool(escaped))
            index = seen.get(key)
            if index is None:
                variable = _Variable.__new__(_Variable)
                variable.path, variable.default, variable.escaped = tuple(path), default, escaped
                variable.transforms = [TRANSFORMS.index(name) for name in names]
                index = seen[key] = len(self._variables)
                self._variables.append(variable)
            self._segments.append(index)

    cpdef object render(self, context):
        """The text for one recipient, or ``None`` if only the engine can render it exactly."""
        if type(context) is not dict:
            return None
        cdef list texts = []
        cdef list out = []
        cdef str text
        cdef Py_ssize_t size = 0
        for variable in self._variables:  # a variable's text depends on the context alone
            text = (<_Variable>variable).render(<dict>context)
            if text is None:
                return None
            texts.append(text)
        for segment in self._segments:
            text = <str>segment if type(segment) is str else <str>texts[<Py_ssize_t>segment]
            size += len(text)
            out.append(text)
        if size > _MAX_OUTPUT:
            return None
        return "".join(out)

    def render_many(self, contexts):
        """:meth:`render` for each context (batch personalization)."""
        return [self.render(context) for context in contexts]


def compile_template(source, *, autoescape):
    """A :class:`Program` for ``source``, or ``None`` if it is outside the fast subset."""
    segments = parse(source, autoescape)
    return None if segments is None else Program(segments)

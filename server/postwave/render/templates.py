"""Tenant templates: Jinja2 in an immutable sandbox, with resource limits.

Templates come from tenants, so they are hostile input. Three layers keep them in check:

* **The sandbox.** :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` blocks internal
  attributes and mutation of builtins; on top of it every attribute name starting with
  ``_`` is refused, ``lipsum`` is removed, and ``include``/``import``/``extends`` are
  refused at compile time (there is no loader: a template is one self-contained string).
* **Undefined is an error.** A missing substitution never renders as an empty string; it
  is a :class:`~postwave.errors.TemplateError` that names the variable.
* **A per-render budget.** Jinja's sandbox stops code execution, not resource use: nested
  loops, recursive macros, ``"x" * 10**9`` or ``"%0999999999d" | format(1)`` would hang a
  worker or exhaust its memory, and a message that kills its worker is redelivered and
  kills the next one. So the compiled template is rewritten (on its AST) to charge every
  loop iteration, call and piece of output to a :class:`_Budget`, and the operators and
  filters that can multiply sizes check their result size *before* computing it.

Each :meth:`TemplateEngine.render` runs with its own budget (held in a context variable,
so concurrent renders in threads or tasks never share one).
"""

from __future__ import annotations

import functools
import re
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from string import Formatter
from typing import Any, NoReturn

from jinja2 import StrictUndefined, Template, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateRuntimeError, TemplateSyntaxError, UndefinedError
from jinja2.nodes import EvalContext
from jinja2.runtime import Undefined, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.utils import Namespace, missing, object_type_repr
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from postwave.errors import TemplateError

__all__ = ["DEFAULT_MAX_OUTPUT_BYTES", "DEFAULT_MAX_STEPS", "DEFAULT_TIME_LIMIT", "TemplateEngine"]

#: Largest rendered body; the same ceiling as a whole message (DESIGN: > 25 MB is rejected).
DEFAULT_MAX_OUTPUT_BYTES = 25 * 1024 * 1024
#: Loop iterations + calls + filter applications + output pieces allowed in one render
#: (a call costs :data:`_CALL_COST`); about a second of CPU.
DEFAULT_MAX_STEPS = 1_000_000
#: Wall-clock backstop in seconds; the step budget is the deterministic limit.
DEFAULT_TIME_LIMIT = 5.0

# Jinja's sandbox default; kept (a mailing template never needs more).
_MAX_RANGE = 100_000
# Widths, paddings, precisions and indents: nothing legitimate in an email is wider.
_MAX_WIDTH = 1_000
# Integer results beyond this many bits are refused (10**1233 or so); Python would also
# refuse to print integers over 4300 digits.
_MAX_INT_BITS = 4_096
# Elements a list may reach through ``*`` or ``+``.
_MAX_ITEMS = 1_000_000
# Check the wall clock once every this many steps.
_CLOCK_EVERY = 1024
# Steps charged for a call (macro, method, global): a Jinja macro call costs about as
# much as ten loop iterations.
_CALL_COST = 10
# Size charged for an object whose text form is unknown but short (numbers, macros, ...).
_SMALL = 32

_UNSUPPORTED_TAGS: dict[type[nodes.Node], str] = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
}

# printf-style conversion specs, to read their width and precision before formatting.
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


class _Refused(Exception):
    """A template exceeded a limit or did something refused; becomes a TemplateError."""


class _Budget:
    """What one render may still spend: steps (CPU), characters produced (memory), time."""

    __slots__ = ("steps", "checkpoint", "chars", "deadline", "object_limit", "time_limit", "max_steps", "_sizes")

    def __init__(self, *, max_steps: int, max_chars: int, time_limit: float) -> None:
        self.steps = max_steps
        self.checkpoint = max_steps - _CLOCK_EVERY  # check() is due when steps reach it
        self.max_steps = max_steps
        self.chars = max_chars
        # One string or container may be at most a quarter of everything a render may
        # produce: escaping or JSON can still grow it several times without harm.
        self.object_limit = max(max_chars // 4, 1)
        self.time_limit = time_limit
        self.deadline = time.monotonic() + time_limit
        # id -> (object, size): the object is kept so its id cannot be reused mid-render.
        self._sizes: dict[int, tuple[object, int]] = {}

    def step(self, cost: int = 1) -> None:
        """Charge units of work; check the step budget and the clock now and then."""
        self.steps -= cost
        if self.steps <= self.checkpoint:
            self.check()

    def spend(self, chars: int) -> None:
        """Charge ``chars`` characters of produced text (written or computed)."""
        self.chars -= chars
        if self.chars < 0:
            self.check()

    def charge(self, chars: int) -> None:
        """One step that produces ``chars`` characters (the common case, in one call)."""
        self.chars -= chars
        self.steps -= 1
        if self.chars < 0 or self.steps <= self.checkpoint:
            self.check()

    def check(self) -> None:
        """Raise if any budget is used up; called every few steps (the clock is not free)."""
        if self.chars < 0:
            raise _Refused("template produces too much text")
        if self.steps <= 0:
            raise _Refused(f"template does too much work (more than {self.max_steps} steps)")
        if time.monotonic() > self.deadline:
            raise _Refused(f"template took longer than {self.time_limit:g} s to render")
        self.checkpoint = self.steps - _CLOCK_EVERY

    def allow(self, chars: int, what: str) -> None:
        """Refuse an operation whose result would hold ``chars`` characters or items."""
        if chars > self.object_limit:
            raise _Refused(f"{what} would be too large ({chars} characters)")

    def size(self, obj: Any) -> int:
        """Estimate ``len(str(obj))`` without building it, refusing oversized objects.

        Containers are what matter: ``[big] * 1000`` holds a thousand references to one
        string and costs nothing until something turns it into text. Sizes are memoised
        per object, so repeated checks of the same data in a loop are cheap.
        """
        cls = type(obj)
        if cls is str or cls is Markup:
            return len(obj)
        if cls is int:
            return int.bit_length(obj) // 3 + 2
        if cls in _SCALARS:
            return _SMALL
        return self._container_size(obj)

    def _container_size(self, obj: object) -> int:
        if isinstance(obj, str):
            return len(obj)
        if isinstance(obj, (bytes, bytearray)):
            return 4 * len(obj) + 3  # repr: at most \xNN per byte
        if isinstance(obj, int):
            return obj.bit_length() // 3 + 2
        if _opaque(obj):
            # Its text would be a Python repr with a memory address: never useful, never shown.
            raise _Refused("cannot output a function or object (did you forget '()'?)")
        hit = self._sizes.get(id(obj))
        if hit is not None:
            return hit[1]
        total = 2
        for item in _children(obj):
            total += self.size(item) + 2
            if total > self.object_limit:
                raise _Refused(f"a value in the template is too large (over {self.object_limit} characters)")
        if not isinstance(obj, Namespace):  # the one mutable container a template can change
            self._sizes[id(obj)] = (obj, total)
        return total


_SCALARS = frozenset({bool, float, type(None)})


def _opaque(obj: object) -> bool:
    """True for values whose text is a repr like ``<function f at 0x7f...>``.

    That is functions and other callables, iterators, objects without their own text
    form, and Jinja's runtime objects (``self``, ``loop``, cyclers, namespaces).
    """
    if isinstance(obj, Undefined):
        return False  # turning it into text raises the undefined-variable error
    cls = type(obj)
    return (
        callable(obj)
        or isinstance(obj, Iterator)
        or (cls.__repr__ is object.__repr__ and cls.__str__ is object.__str__)
        or cls.__module__.startswith("jinja2.")
    )


def _children(obj: object) -> Iterable[object]:
    """The parts of ``obj`` that appear in its text form (nothing for opaque objects)."""
    if type(obj) is dict or isinstance(obj, Mapping):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return obj
    if isinstance(obj, Namespace):
        return _children(object.__getattribute__(obj, "_Namespace__attrs"))
    return ()


_BUDGET: ContextVar[_Budget | None] = ContextVar("postwave_template_budget", default=None)


# -- helpers called by rewritten templates (see _Hardener) --------------------------------
#
# They are referenced by import name from the compiled code, never through the template's
# namespace, so a template cannot name or call them. With no budget (compile-time constant
# folding) they pass values through.


def _guard_loop(iterable: Iterable[Any]) -> Iterable[Any]:
    """Charge one step per loop iteration."""
    budget = _BUDGET.get()
    if budget is None:
        return iterable
    return _counted(iterable, budget)


def _counted(iterable: Iterable[Any], budget: _Budget) -> Iterator[Any]:
    for item in iterable:
        budget.steps -= 1  # budget.step(), inlined: this is the innermost loop of a render
        if budget.steps <= budget.checkpoint:
            budget.check()
        yield item


def _guard_write(value: Any) -> Any:
    """Charge the size of an expression's output, even into a buffer that is dropped later."""
    budget = _BUDGET.get()
    if budget is None:
        return value
    cls = type(value)
    budget.charge(len(value) if cls is str or cls is Markup else budget.size(value))
    return value


def _guard_literal(chars: int) -> str:
    """Charge the literal text of one output node (a template literal repeated in a loop)."""
    budget = _BUDGET.get()
    if budget is not None:
        budget.charge(chars)
    return ""


def _guard_concat(eval_ctx: EvalContext, *parts: Any) -> str:
    """The ``~`` operator, after checking that the joined string stays within limits."""
    budget = _BUDGET.get()
    if budget is not None:
        total = sum(budget.size(part) for part in parts)
        budget.allow(total, "'~' concatenation")
        budget.spend(total)  # charged here: calls to these helpers are not charged again
    return markup_join(parts) if eval_ctx.autoescape else str_join(parts)


def _imported(function: Callable[..., Any]) -> nodes.ImportedName:
    return nodes.ImportedName(f"{__name__}.{function.__name__}")


class _Hardener(NodeTransformer):
    """Rewrites a parsed template so that loops, output and ``~`` are charged to the budget."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Call(_imported(_guard_loop), [node.iter], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Call(_imported(_guard_concat), list(node.nodes), [], None, None, lineno=node.lineno)

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        literal = 0
        children: list[nodes.Expr] = []
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                literal += len(child.data)
                children.append(child)
            else:
                children.append(nodes.Call(_imported(_guard_write), [child], [], None, None, lineno=child.lineno))
        if literal:
            count = nodes.Const(literal, lineno=node.lineno)
            children.append(nodes.Call(_imported(_guard_literal), [count], [], None, None, lineno=node.lineno))
        node.nodes = children
        return node


_HELPERS = frozenset(f"{__name__}.{f.__name__}" for f in (_guard_loop, _guard_write, _guard_literal))
_CONCAT = f"{__name__}.{_guard_concat.__name__}"


class _CodeGenerator(CodeGenerator):
    """Calls the guard helpers directly.

    A sandboxed call goes through ``environment.call`` and ``context.call`` (safety and
    pass-argument checks), which made a simple loop 8x slower; the helpers are ours and
    need neither.
    """

    def visit_Call(self, node: nodes.Call, frame: Frame, forward_caller: bool = False) -> None:
        name = node.node.importname if isinstance(node.node, nodes.ImportedName) else None
        if name not in _HELPERS and name != _CONCAT:
            super().visit_Call(node, frame, forward_caller=forward_caller)
            return
        self.write(self.import_aliases[name] + "(")
        if name == _CONCAT:
            self.write("context.eval_ctx, ")
        for argument in node.args:
            self.visit(argument, frame)
            self.write(", ")
        self.write(")")


# -- size checks for operations that multiply sizes -------------------------------------


def _check_width(value: object, what: str) -> None:
    if isinstance(value, int) and value > _MAX_WIDTH:
        raise _Refused(f"{what} {value} is too large (at most {_MAX_WIDTH})")


def _check_percent_format(budget: _Budget, template: object, args: Iterable[object]) -> None:
    """Widths and precisions in a printf-style string, and the size of its arguments."""
    if isinstance(template, str):
        problem = _percent_format_problem(template)
        if problem is not None:
            raise _Refused(problem)
    for value in args:
        budget.size(value)


@functools.lru_cache(maxsize=1024)  # format strings are nearly always template constants
def _percent_format_problem(template: str) -> str | None:
    for match in _PERCENT_SPEC.finditer(template):
        for number in match.groups():
            if number == "*":
                return "'*' widths in format strings are not supported"
            if number is not None and int(number) > _MAX_WIDTH:
                return f"format width {number} is too large (at most {_MAX_WIDTH})"
    return None


@functools.lru_cache(maxsize=1024)
def _check_format_spec(spec: str) -> None:
    """Reject ``{:>1000000000}``-style widths in ``str.format`` (after nested fields)."""
    for number in re.findall(r"\d+", spec):
        _check_width(int(number), "format width")


def _arg(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _replacement_size(budget: _Budget, text: object, old: object, new: object, count: object) -> None:
    if not isinstance(text, str) or not isinstance(old, str) or not isinstance(new, str):
        return
    hits = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    budget.allow(len(text) + hits * len(new), "replace()")


def _joined_size(budget: _Budget, separator: object, items: list[Any]) -> None:
    sep = len(separator) if isinstance(separator, str) else _SMALL
    budget.allow(budget.size(items) + sep * len(items), "join()")


# Checks for str / bytes methods called from a template; each may return new positional
# arguments (join materialises its iterable once, to measure it).
def _str_method_check(
    budget: _Budget, name: str, text: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[Any, ...]:
    if name in ("ljust", "rjust", "center", "zfill"):
        _check_width(_arg(args, kwargs, 0, "width", 0), f"{name}() width")
    elif name == "expandtabs":
        size = _arg(args, kwargs, 0, "tabsize", 8)
        _check_width(size, "expandtabs() size")
        if isinstance(size, int):
            budget.allow(len(text) + text.count("\t" if isinstance(text, str) else b"\t") * size, "expandtabs()")
    elif name == "replace":
        _replacement_size(budget, text, _arg(args, kwargs, 0, "old", ""), _arg(args, kwargs, 1, "new", ""),
                          _arg(args, kwargs, 2, "count", -1))
    elif name == "join" and args:
        items = list(args[0])
        _joined_size(budget, text, items)
        return (items, *args[1:])
    elif name == "translate" and isinstance(text, str) and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        budget.allow(len(text) * max(longest, 1), "translate()")
    return args


# Checks for built-in filters, by name: (budget, positional args after the value's
# pass-arg, keyword args) -> possibly replaced positional args.
_FilterCheck = Callable[[_Budget, tuple[Any, ...], Mapping[str, Any]], tuple[Any, ...]]


def _filter_center(budget: _Budget, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    _check_width(_arg(args, kwargs, 1, "width", 80), "center width")
    return args


def _filter_indent(budget: _Budget, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    text, width = _arg(args, kwargs, 0, "s", ""), _arg(args, kwargs, 1, "width", 4)
    per_line = len(width) if isinstance(width, str) else width
    _check_width(per_line, "indent width")
    if isinstance(text, str) and isinstance(per_line, int):
        budget.allow(len(text) + (text.count("\n") + 1) * per_line, "indent")
    return args


def _filter_wordwrap(budget: _Budget, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    text, wrap = _arg(args, kwargs, 0, "s", ""), _arg(args, kwargs, 3, "wrapstring", None)
    if isinstance(text, str) and isinstance(wrap, str):
        budget.allow(len(text) * (1 + len(wrap)), "wordwrap")
    return args


def _filter_replace(budget: _Budget, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    _replacement_size(budget, _arg(args, kwargs, 0, "s", ""), _arg(args, kwargs, 1, "old", ""),
                      _arg(args, kwargs, 2, "new", ""), _arg(args, kwargs, 3, "count", None))
    return args


def _filter_join(budget: _Budget, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    if not args or kwargs.get("attribute") is not None or len(args) > 2:
        return args
    items = list(args[0])
    _joined_size(budget, _arg(args, kwargs, 1, "d", ""), items)
    return (items, *args[1:])


def _filter_format(budget: _Budget, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    if args:
        _check_percent_format(budget, args[0], ())  # the arguments were sized by the caller
    return args


def _filter_count_arg(name: str, index: int) -> _FilterCheck:
    def check(budget: _Budget, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
        value = _arg(args, kwargs, index, name, 0)
        if isinstance(value, int) and value > _MAX_RANGE:
            raise _Refused(f"{name} {value} is too large (at most {_MAX_RANGE})")
        return args

    return check


def _filter_tojson(budget: _Budget, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    indent = _arg(args, kwargs, 1, "indent", None)
    if isinstance(indent, str):
        indent = len(indent)
    if isinstance(indent, int) and indent > 16:
        raise _Refused(f"tojson indent {indent} is too large (at most 16)")
    return args


def _filter_urlize(budget: _Budget, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    text = _arg(args, kwargs, 0, "value", "")
    extra = sum(len(v) for v in (kwargs.get("target"), kwargs.get("rel"), *args[3:5]) if isinstance(v, str))
    if isinstance(text, str):
        # At most one link per two characters, each repeated twice plus its attributes.
        budget.allow(3 * len(text) + (len(text) // 2 + 1) * (64 + extra), "urlize")
    return args


def _filter_sum(budget: _Budget, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, ...]:
    if not args:
        return args
    items = list(args[0])
    lengths = [len(item) for item in items if isinstance(item, (list, tuple, str))]
    # Summing sequences copies the running total each time: quadratic in the item count.
    if lengths and len(items) * sum(lengths) > _MAX_ITEMS * 10:
        raise _Refused("sum of sequences is too large")
    return (items, *args[1:])


_FILTER_CHECKS: dict[str, _FilterCheck] = {
    "center": _filter_center,
    "indent": _filter_indent,
    "wordwrap": _filter_wordwrap,
    "replace": _filter_replace,
    "join": _filter_join,
    "format": _filter_format,
    "batch": _filter_count_arg("linecount", 1),
    "slice": _filter_count_arg("slices", 1),
    "tojson": _filter_tojson,
    "urlize": _filter_urlize,
    "sum": _filter_sum,
}


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a built-in filter: charge a step, check sizes before, charge the text after."""
    check = _FILTER_CHECKS.get(name)
    # Filters marked pass_context/pass_eval_context/pass_environment get that first.
    skip = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _BUDGET.get()
        if budget is None:
            # Jinja calls filters with constant arguments at compile time to fold them;
            # outside a render there is no budget, so refuse and let them run at render.
            raise nodes.Impossible()
        budget.step()
        for value in (*args[skip:], *kwargs.values()):
            budget.size(value)
        if check is not None:
            args = (*args[:skip], *check(budget, args[skip:], kwargs))
        result = function(*args, **kwargs)
        if type(result) is str or type(result) is Markup:
            budget.spend(len(result))
        elif isinstance(result, Iterator):
            # map, select, items, batch... return one-shot generators: as lists they can be
            # used twice and print as lists instead of "<generator object at 0x...>".
            result = list(result)
        return result

    return guarded


def _safe_range(*args: int) -> range:
    """``range`` limited to :data:`_MAX_RANGE` items."""
    numbers = range(*args)
    try:
        too_big = len(numbers) > _MAX_RANGE
    except OverflowError:
        too_big = True
    if too_big:
        raise _Refused(f"range() is limited to {_MAX_RANGE} items")
    return numbers


# -- the environment ------------------------------------------------------------------


class _StrictUndefined(StrictUndefined):
    """StrictUndefined whose message says which variable is missing and what to do."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:
            return self._undefined_hint
        name = self._undefined_name
        if self._undefined_obj is missing:
            return (
                f"undefined variable {name!r}: provide it in substitutions "
                f"(or test it with '{name} is defined', or give a default with '|default')"
            )
        what = "element" if not isinstance(name, str) else "attribute"
        return (
            f"undefined variable: {object_type_repr(self._undefined_obj)} has no {what} {name!r}; "
            "provide it in substitutions (or give a default with '|default')"
        )


class _WidthCheckingFormatter(SandboxedFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(format_spec)
        return super().format_field(value, format_spec)


class _WidthCheckingEscapeFormatter(SandboxedEscapeFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_format_spec(format_spec)
        return super().format_field(value, format_spec)


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, stricter on names and charged to the render budget."""

    # Intercepting these also stops Jinja from constant-folding them at compile time,
    # where ``{{ 2 ** 100000000 }}`` would hang the *compiler*.
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _CodeGenerator

    def __init__(self, *, autoescape: bool) -> None:
        super().__init__(autoescape=autoescape, undefined=_StrictUndefined, auto_reload=False, cache_size=0)
        self.globals.pop("lipsum", None)  # generates arbitrary amounts of text
        self.globals["range"] = _safe_range
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}

    def getattr(self, obj: Any, attribute: str) -> Any:
        # The sandbox lets ``obj._x`` through when ``obj`` is a dict with key "_x"; refuse
        # every underscore name in attribute syntax (item syntax ``obj["_x"]`` still works).
        if attribute.startswith("_"):
            # On an undefined (often the result of a refused access), keep the first error.
            return obj if isinstance(obj, Undefined) else self.unsafe_undefined(obj, attribute)
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> NoReturn:
        # Jinja returns an undefined here, so that ``''.__class__ is defined`` quietly
        # renders False; postwave treats every attempt as the error it is.
        raise SecurityError(f"attribute {attribute!r} of a {type(obj).__name__!r} object")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # Same as Jinja's, with formatters that refuse huge widths.
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) or value.__name__ not in (
            "format",
            "format_map",
        ):
            return None
        text: Any = value.__self__
        if not isinstance(text, str):
            return None
        formatter: Formatter
        if isinstance(text, Markup):
            formatter = _WidthCheckingEscapeFormatter(self, escape=text.escape)
        else:
            formatter = _WidthCheckingFormatter(self)
        return _bound_format(formatter, text, value.__name__ == "format_map")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        budget = _BUDGET.get()
        if budget is None:
            return super().call(__context, __obj, *args, **kwargs)
        budget.step(_CALL_COST)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (str, bytes, bytearray)):
            args = _str_method_check(budget, __obj.__name__, owner, args, kwargs)
        elif _is_int(owner) and __obj.__name__ == "to_bytes":
            _check_width(_arg(args, kwargs, 0, "length", 1), "to_bytes() length")
        result = super().call(__context, __obj, *args, **kwargs)
        # Methods of values build new text; macros and our helpers were charged as they wrote.
        if owner is not None and isinstance(result, (str, bytes)):
            budget.spend(len(result))
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        budget = _BUDGET.get()
        if budget is not None:
            budget.step()
            _check_binop(budget, operator, left, right)
        result = self.binop_table[operator](left, right)
        if budget is not None and isinstance(result, str):
            budget.spend(len(result))
        return result


def _bound_format(formatter: Formatter, text: str, is_format_map: bool) -> Callable[..., str]:
    def format_method(*args: Any, **kwargs: Any) -> str:
        budget = _BUDGET.get()
        if budget is not None:
            budget.size((args, kwargs))
        if is_format_map:
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one positional argument")
            result = type(text)(formatter.vformat(text, (), args[0]))
        else:
            result = type(text)(formatter.vformat(text, args, kwargs))
        if budget is not None:
            budget.spend(len(result))
        return result

    return format_method


def _check_binop(budget: _Budget, operator: str, left: Any, right: Any) -> None:
    """Refuse ``*``, ``**``, ``+`` and ``%`` whose result would be too large to build."""
    if operator == "*":
        _check_multiply(budget, left, right)
    elif operator == "**":
        growing = _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1
        if growing and left.bit_length() * right > _MAX_INT_BITS:
            raise _Refused("number too large")
    elif operator == "+":
        if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            budget.allow(budget.size(left) + budget.size(right), "'+' result")
            if not isinstance(left, str) and len(left) + len(right) > _MAX_ITEMS:
                raise _Refused("list too long")
    elif operator == "%" and isinstance(left, str):
        _check_percent_format(budget, left, (right,))


def _check_multiply(budget: _Budget, left: Any, right: Any) -> None:
    if _is_int(left) and _is_int(right):
        if left.bit_length() + right.bit_length() > _MAX_INT_BITS:
            raise _Refused("number too large")
        return
    sequence, times = (left, right) if _is_int(right) else (right, left)
    if not _is_int(times) or not isinstance(sequence, (str, list, tuple)) or times <= 0:
        return
    if not isinstance(sequence, str) and len(sequence) * times > _MAX_ITEMS:
        raise _Refused("list too long")
    budget.allow(budget.size(sequence) * times, "'*' result")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- errors -----------------------------------------------------------------------------


def _template_line(error: BaseException) -> int | None:
    """Line of the template where ``error`` happened (innermost template frame)."""
    line = getattr(error, "lineno", None)
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line if isinstance(line, int) else None


def _raise(field: str, error: BaseException, message: str) -> NoReturn:
    line = _template_line(error)
    prefix = f"line {line}: " if line is not None else ""
    raise TemplateError(field, prefix + message) from None


# Errors a template can provoke with ordinary expressions (1/0, "a" + 1, int overflow,
# too-deep recursion, cycler() with no items, ...). Anything else is a bug in postwave
# and propagates.
_TEMPLATE_FAULTS = (TypeError, ValueError, ArithmeticError, LookupError, AttributeError, RuntimeError, MemoryError)


def _explain_render_error(field: str, error: BaseException) -> NoReturn:
    if isinstance(error, _Refused):
        _raise(field, error, str(error))
    if isinstance(error, SecurityError):
        _raise(field, error, f"template tries to reach {error} (not allowed)")
    if isinstance(error, UndefinedError):
        _raise(field, error, str(error))
    if isinstance(error, RecursionError):
        _raise(field, error, "template recursion is too deep")
    if isinstance(error, MemoryError):
        _raise(field, error, "template needs too much memory")
    _raise(field, error, f"template failed: {type(error).__name__}: {error}")


class TemplateEngine:
    """Compiles and renders tenant templates in a Jinja2 sandbox.

    Uses :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` with
    :class:`jinja2.StrictUndefined`, no loader and no ``include``/``import``/``extends``.
    Compiled templates are kept in an LRU cache keyed by ``(source, autoescape)``, so each
    template is compiled once. Every problem a template causes -- syntax, a missing
    variable, a sandbox escape, a resource limit -- is a :class:`~postwave.errors.TemplateError`
    carrying the caller's ``field``.

    Args:
        cache_size: compiled templates to keep.
        max_output_bytes: largest rendered result (UTF-8 bytes).
        max_steps: loop iterations, calls, filters and output pieces per render.
        time_limit: wall-clock seconds per render (a backstop for the step budget).
    """

    def __init__(
        self,
        *,
        cache_size: int = 2048,
        max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
        max_steps: int = DEFAULT_MAX_STEPS,
        time_limit: float = DEFAULT_TIME_LIMIT,
    ) -> None:
        self._environments = {False: _Sandbox(autoescape=False), True: _Sandbox(autoescape=True)}
        self._max_output_bytes = max_output_bytes
        # Everything written anywhere (buffers of macros and {% set %} blocks included)
        # may be a few times the final output, not more.
        self._max_chars = 4 * max_output_bytes
        self._max_steps = max_steps
        self._time_limit = time_limit
        self._compiled = functools.lru_cache(maxsize=cache_size)(self._compile)

    def check(self, source: str, *, field: str, autoescape: bool = False) -> None:
        """Compile ``source`` (and cache it) without rendering.

        Raises:
            TemplateError: ``"line N: ..."`` for a syntax error or an unsupported tag.
        """
        self._template(source, autoescape, field)

    def render(self, source: str, context: Mapping[str, Any], *, field: str, autoescape: bool = False) -> str:
        """Render ``source`` with ``context`` as its variables.

        Args:
            source: the template text.
            context: substitutions; every variable the template uses must be present.
            field: request field path reported in errors (e.g. ``"content.html"``).
            autoescape: HTML-escape substituted values (pass True for html bodies).

        Raises:
            TemplateError: syntax error, undefined variable, sandbox escape attempt, or a
                resource limit (output size, steps, time, value sizes).
        """
        template = self._template(source, autoescape, field)
        budget = _Budget(max_steps=self._max_steps, max_chars=self._max_chars, time_limit=self._time_limit)
        token = _BUDGET.set(budget)
        try:
            output = template.render(context)
        except (_Refused, TemplateRuntimeError, *_TEMPLATE_FAULTS) as error:
            _explain_render_error(field, error)
        finally:
            _BUDGET.reset(token)
        self._check_output_size(output, field)
        return output

    def _check_output_size(self, output: str, field: str) -> None:
        # Four UTF-8 bytes per character at most: only measure when it could matter.
        limit = self._max_output_bytes
        if len(output) > limit or (len(output) * 4 > limit and len(output.encode("utf-8", "surrogatepass")) > limit):
            raise TemplateError(field, f"rendered template is larger than {limit} bytes")

    def _template(self, source: str, autoescape: bool, field: str) -> Template:
        if not isinstance(source, str):
            raise TemplateError(field, "template must be a string")
        try:
            return self._compiled(source, autoescape)
        except TemplateSyntaxError as error:
            raise TemplateError(field, f"line {error.lineno}: {error.message}") from None
        except (RecursionError, SyntaxError, MemoryError, OverflowError):
            raise TemplateError(field, "template is too deeply nested or too large to compile") from None

    def _compile(self, source: str, autoescape: bool) -> Template:
        environment = self._environments[autoescape]
        tree = environment.parse(source)
        _reject_unsupported_tags(tree)
        tree = _Hardener().visit(tree)
        return environment.from_string(tree)


def _reject_unsupported_tags(tree: nodes.Template) -> None:
    for node in tree.find_all(tuple(_UNSUPPORTED_TAGS)):
        tag = _UNSUPPORTED_TAGS[type(node)]
        raise TemplateSyntaxError(
            f"{{% {tag} %}} is not supported: a template is one self-contained text "
            "(no include, import, from or extends)",
            node.lineno,
        )

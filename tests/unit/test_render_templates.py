"""Tenant templates: rendering, errors, sandbox escapes and resource limits."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from postwave.errors import InvalidArgumentError, TemplateError
from postwave.render.templates import TemplateEngine

FIELD = "content.html"


@pytest.fixture(scope="module")
def engine() -> TemplateEngine:
    return TemplateEngine()


@pytest.fixture(scope="module")
def small() -> TemplateEngine:
    """Tight limits, so that limit tests run in milliseconds."""
    return TemplateEngine(max_output_bytes=1_000_000, max_steps=200_000)


def render_error(engine: TemplateEngine, source: str, context: dict[str, Any] | None = None) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        engine.render(source, context or {}, field=FIELD)
    assert caught.value.field == FIELD
    return caught.value


# -- rendering ------------------------------------------------------------------------------


def test_renders_substitutions(engine: TemplateEngine) -> None:
    out = engine.render("Hi {{ user.first }}, {{ n }} items", {"user": {"first": "Ann"}, "n": 3}, field=FIELD)
    assert out == "Hi Ann, 3 items"


def test_autoescape_is_the_callers_choice(engine: TemplateEngine) -> None:
    context = {"name": "<b>Tom & Jerry</b>"}
    assert engine.render("{{ name }}", context, field=FIELD) == "<b>Tom & Jerry</b>"
    html = engine.render("<p>{{ name }}{{ '<i>' ~ name }}</p>", context, field=FIELD, autoescape=True)
    assert html == "<p>&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;&lt;i&gt;&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;</p>"


LEGIT_TEMPLATES = [
    "{% for x in items %}{{ loop.index }}/{{ loop.length }}:{{ x }}{% if not loop.last %}, {% endif %}{% endfor %}",
    "{% for x in [] %}a{% else %}empty{% endfor %}",
    "{% macro row(k, v) %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endmacro %}"
    "{% for k, v in pairs|dictsort %}{{ row(k, v) }}{% endfor %}",
    "{% macro box(t) %}[{{ t }}|{{ caller() }}]{% endmacro %}{% call box('x') %}in {{ name }}{% endcall %}",
    "{% set ns = namespace(total=0) %}{% for i in range(5) %}{% set ns.total = ns.total + i %}{% endfor %}"
    "{{ ns.total }}",
    "{% set block %}<{{ name }}>{% endset %}{{ block }}{{ block|length }}",
    "{% filter upper %}hello {{ name }}{% endfilter %}",
    "{% for node in tree recursive %}{{ node.n }}{% if node.kids %}({{ loop(node.kids) }}){% endif %}{% endfor %}",
    "{{ items|join(', ') }} {{ '%.2f'|format(price) }} {{ '{:>6}'.format(name) }} {{ 'ab' * 3 }} {{ 2 ** 10 }}",
    "{{ name|default('x') }} {{ missing|default('fallback') }} {{ name|truncate(5) }} {{ name|replace('a', 'A') }}",
    "{{ name|center(11) }}|{{ 'a\nb'|indent(2, first=true) }}|{{ long|wordwrap(10) }}|{{ name|title }}",
    "{{ pairs|tojson }} {{ items|map('upper')|list }} {{ items|select('ne', 'b')|join }}"
    "{{ [[1], [2]]|sum(start=[]) }}",
    "{{ 'x' ~ 1 ~ name }} {{ name + '!' }} {{ '%s=%d' % (name, 5) }} {{ name.upper() }} {{ 'a,b'.split(',') }}",
    "{% if name is defined and name|length > 2 %}long{% endif %}{{ '-' * 10 }}{{ range(3)|list }}",
    "{% for row in items|batch(2, '.') %}{{ row|join }};{% endfor %}{% for c in items|slice(2) %}{{ c }}{% endfor %}",
    "{{ pairs.items()|list }} {{ pairs.get('a') }} {{ pairs['a'] }} {{ 7 // 2 }} {{ 7 % 3 }} {{ -price }}",
]
LEGIT_CONTEXT = {
    "items": ["a", "b", "c"],
    "pairs": {"a": 1, "b": 2},
    "name": "Ann & <Bob>",
    "price": 9.5,
    "long": "the quick brown fox jumps over the lazy dog",
    "tree": [{"n": 1, "kids": [{"n": 2, "kids": []}]}],
}


@pytest.mark.parametrize("autoescape", [False, True])
@pytest.mark.parametrize("source", LEGIT_TEMPLATES)
def test_hardening_does_not_change_output(engine: TemplateEngine, source: str, autoescape: bool) -> None:
    plain = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=autoescape)
    expected = plain.from_string(source).render(LEGIT_CONTEXT)
    assert engine.render(source, LEGIT_CONTEXT, field=FIELD, autoescape=autoescape) == expected


@settings(max_examples=200, deadline=None)
@given(value=st.text(), number=st.integers(-(10**30), 10**30), autoescape=st.booleans())
def test_substituted_values_render_like_plain_jinja(value: str, number: int, autoescape: bool) -> None:
    source = "<{{ v }}|{{ v ~ n }}|{{ v|upper }}|{{ n }}|{{ [v, n]|join('/') }}|{% for c in v %}{{ c }}.{% endfor %}>"
    context = {"v": value, "n": number}
    plain = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=autoescape)
    expected = plain.from_string(source).render(context)
    assert TemplateEngine().render(source, context, field=FIELD, autoescape=autoescape) == expected


def test_compiles_each_template_once() -> None:
    engine = TemplateEngine(cache_size=4)
    engine.check("Hi {{ a }}", field=FIELD)
    for value in range(3):
        assert engine.render("Hi {{ a }}", {"a": value}, field=FIELD) == f"Hi {value}"
    info = engine._compiled.cache_info()
    assert (info.misses, info.hits) == (1, 3)
    engine.render("Hi {{ a }}", {"a": 1}, field=FIELD, autoescape=True)  # another key
    assert engine._compiled.cache_info().misses == 2


def test_renders_are_independent_across_threads(small: TemplateEngine) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                assert small.render("{% for i in range(1000) %}{{ i }}{% endfor %}", {}, field=FIELD)
        except BaseException as error:  # noqa: BLE001 -- reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


# -- errors ---------------------------------------------------------------------------------


def test_template_error_is_an_invalid_argument(engine: TemplateEngine) -> None:
    assert isinstance(render_error(engine, "{{ nope }}"), InvalidArgumentError)


def test_undefined_variable_names_it_and_says_how_to_fix(engine: TemplateEngine) -> None:
    error = render_error(engine, "Hello\n{{ first_name }}")
    assert error.description.startswith("line 2: undefined variable 'first_name'")
    assert "substitutions" in error.description


def test_undefined_attribute_names_it(engine: TemplateEngine) -> None:
    error = render_error(engine, "{{ user.first_name }}", {"user": {"last": "x"}})
    assert "undefined variable" in error.description
    assert "'first_name'" in error.description
    assert "substitutions" in error.description


@pytest.mark.parametrize(
    "source",
    ["{% if nope %}x{% endif %}", "{% for x in nope %}{% endfor %}", "{{ nope|upper }}", "{{ nope ~ 'a' }}"],
)
def test_undefined_is_an_error_wherever_it_is_used(engine: TemplateEngine, source: str) -> None:
    assert "undefined variable 'nope'" in render_error(engine, source).description


def test_defined_test_and_default_still_work(engine: TemplateEngine) -> None:
    out = engine.render("{{ x is defined }} {{ x|default('d') }}", {}, field=FIELD)
    assert out == "False d"


@pytest.mark.parametrize(
    ("source", "line"),
    [("{{ a", 1), ("ok\n{% for %}", 2), ("a\nb\n{% if x %}", 3), ("{{ a b }}", 1), ("{% endfor %}", 1)],
)
def test_syntax_errors_give_the_line(engine: TemplateEngine, source: str, line: int) -> None:
    with pytest.raises(TemplateError) as caught:
        engine.check(source, field="subject")
    assert caught.value.field == "subject"
    assert caught.value.description.startswith(f"line {line}: ")


@pytest.mark.parametrize(
    ("source", "tag"),
    [
        ("{% include 'header.html' %}", "include"),
        ("{% import 'macros.html' as m %}", "import"),
        ("{% from 'macros.html' import row %}", "from ... import"),
        ("x\n{% extends 'base.html' %}", "extends"),
        ("{% if a %}{% include b %}{% endif %}", "include"),
    ],
)
def test_include_import_extends_are_not_supported(engine: TemplateEngine, source: str, tag: str) -> None:
    with pytest.raises(TemplateError) as caught:
        engine.check(source, field=FIELD)
    assert f"{{% {tag} %}} is not supported" in caught.value.description
    assert caught.value.description.startswith("line ")


def test_runtime_faults_are_template_errors(engine: TemplateEngine) -> None:
    assert "ZeroDivisionError" in render_error(engine, "{{ 1 / 0 }}").description
    assert "TypeError" in render_error(engine, "{{ 1 + 'a' }}").description


def test_a_failed_render_leaves_the_engine_usable(small: TemplateEngine) -> None:
    render_error(small, "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    assert small.render("{% for i in range(3) %}{{ i }}{% endfor %}", {}, field=FIELD) == "012"


# -- sandbox escapes ------------------------------------------------------------------------

ESCAPES = [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__mro__[-1].__subclasses__()[0] }}",
    "{{ [].__class__.__base__.__subclasses__() }}",
    "{{ ().__class__.__bases__[0].__subclasses__() }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ range.__globals__ }}",
    "{{ range.__self__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ self._TemplateReference__context.cycler.__init__.__globals__ }}",
    "{{ self.__dict__ }}",
    "{{ data.__class__ }}",
    "{{ data._private }}",
    "{{ data.items.__self__ }}",
    "{{ ''|attr('__class__') }}",
    "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}",
    "{{ (''|attr('__class__'))|attr('__mro__') }}",
    "{{ ''['__class__'] }}",
    "{{ ''['\\x5f\\x5fclass\\x5f\\x5f'] }}",
    "{{ data|map(attribute='__class__')|list }}",
    "{{ '{0.__class__}'.format(1) }}",
    "{{ '{0.__init__.__globals__}'.format(cycler) }}",
    "{{ '{0._TemplateReference__context}'.format(self) }}",
    "{{ '{x.__class__}'.format_map({'x': 1}) }}",
    "{% for c in ''.__class__.__mro__ %}{{ c }}{% endfor %}",
    "{% set x = ''.__class__ %}{{ x is defined }}",
    "{{ ''.__class__ is defined }}",
    "{% for i in [1] %}{{ loop.__class__ }}{% endfor %}",
    "{% macro m() %}{% endmacro %}{{ m.__globals__ }}",
    "{% macro m() %}{% endmacro %}{{ m._func.__globals__ }}",
    "{{ [].append(1) }}",
    "{{ {}.update(a=1) }}",
    "{{ data.clear() }}",
    "{{ lipsum.__globals__ }}",
    "{{ ''.format }}",
    "{{ 'x'.upper }}",
    "{{ cycler }}",
    "{{ range }}",
]
# What rendered Python internals look like.
_INTERNALS = re.compile(r"<(class|function|built-in|bound|module|method)|0x[0-9a-f]{6,}")


@pytest.mark.parametrize("source", ESCAPES)
@pytest.mark.parametrize("autoescape", [False, True])
def test_sandbox_escapes_are_template_errors(engine: TemplateEngine, source: str, autoescape: bool) -> None:
    context = {"data": {"_private": 1, "items": [1], "k": "v"}}
    with pytest.raises(TemplateError) as caught:
        rendered = engine.render(source, context, field=FIELD, autoescape=autoescape)
        pytest.fail(f"rendered {rendered!r}")
    assert caught.value.field == FIELD
    assert not _INTERNALS.search(caught.value.description), caught.value


@pytest.mark.parametrize(
    "source",
    ["{{ ''.__class__ }}", "{{ data._private }}", "{{ cycler.__init__.__globals__ }}", "{{ [].append(1) }}"],
)
def test_sandbox_errors_say_not_allowed(engine: TemplateEngine, source: str) -> None:
    error = render_error(engine, source, {"data": {"_private": 1}})
    assert "template tries to reach" in error.description
    assert error.description.endswith("(not allowed)")


def test_underscore_keys_are_reachable_by_item_syntax(engine: TemplateEngine) -> None:
    assert engine.render("{{ data['_id'] }}", {"data": {"_id": 7}}, field=FIELD) == "7"


# -- resource limits ------------------------------------------------------------------------

LIMITS = [
    ("{% for i in range(10**9) %}x{% endfor %}", "range() is limited"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "too much work"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", "too much"),
    ("{% for a in s %}{% for b in s %}{% for c in s %}{% endfor %}{% endfor %}{% endfor %}", "too much work"),
    ("{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}", "too much work"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recursion is too deep"),
    ("{% macro f(s) %}{{ f(s ~ s) }}{% endmacro %}{{ f('ab') }}", "too large"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "too large"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "too large"),
    ("{% set x %}{% for i in range(100000) %}{{ big }}{% endfor %}{% endset %}ok", "too much text"),
    ("{% set x %}{% for i in range(100000) %}" + "y" * 1000 + "{% endfor %}{% endset %}ok", "too much text"),
    ("{{ 'x' * 10**9 }}", "too large"),
    ("{{ [big] * 100000 }}", "too large"),
    ("{{ [1] * 10**8 }}", "too long"),
    ("{{ 10 ** 100000 }}", "number too large"),
    ("{{ 2 ** (10 ** 10) }}", "number too large"),  # Jinja: ** is left-associative
    ("{{ (10 ** 1000) * (10 ** 1000) * (10 ** 1000) * (10 ** 1000) * (10 ** 1000) }}", "number too large"),
    ("{{ '%0999999999d' % 1 }}", "format width"),
    ("{{ '%*d' % (999999999, 1) }}", "'*' widths"),
    ("{{ '%.999999999f' % 1.5 }}", "format width"),
    ("{{ '%0999999999d'|format(1) }}", "format width"),
    ("{{ '{:>999999999}'.format(1) }}", "format width"),
    ("{{ '{:>{w}}'.format(1, w=999999999) }}", "format width"),
    ("{{ 'a'.ljust(10**9) }}", "width"),
    ("{{ 'a'.zfill(10**9) }}", "width"),
    ("{{ '\t'.expandtabs(10**9) }}", "size"),
    ("{{ big.replace('', big) }}", "too large"),
    ("{{ big|replace('', big) }}", "too large"),
    ("{{ ','.join([big] * 50) }}", "too large"),
    ("{{ big.translate({120: big}) }}", "too large"),
    ("{{ 'a'|center(10**9) }}", "width"),
    ("{{ 'ab'|indent(10**9) }}", "width"),
    ("{{ lines|indent(big) }}", "too large"),
    ("{{ big|wordwrap(1, wrapstring=big) }}", "too large"),
    ("{{ (1).to_bytes(10**9, 'big') }}", "length"),
    ("{{ [1]|batch(10**9, 'x')|list }}", "too large"),
    ("{{ [1]|slice(10**9)|list }}", "too large"),
    ("{{ [1]|tojson(indent=10**6) }}", "indent"),
    ("{{ range(100000)|map('center', 1000)|join }}", "too "),
    ("{{ ([[1] * 100] * 1000)|sum(start=[]) }}", "sum of sequences is too large"),
    ("{{ lipsum(10**6) }}", "undefined variable 'lipsum'"),
    ("{{ [big, big, big, big]|join }}", "too large"),
    ("{{ [big, big, big, big]|string }}", "too large"),
    ("{{ [big, big, big, big] }}", "too large"),
    ("{{ 'x%s' % ([big] * 9) }}", "too large"),
    ("{{ 'x' ~ [big, big, big, big] }}", "too large"),
    ("{{ '{}'.format([big, big, big, big]) }}", "too large"),
]


@pytest.mark.parametrize(("source", "message"), LIMITS)
def test_resource_limits_are_template_errors(small: TemplateEngine, source: str, message: str) -> None:
    # One string or list may hold at most a quarter of 4 x max_output: 1,000,000 here.
    context = {"big": "x" * 300_000, "s": "x" * 500, "lines": "a\n" * 10_000}
    started = time.monotonic()
    error = render_error(small, source, context)
    assert message in error.description
    assert time.monotonic() - started < 5


def test_check_does_not_evaluate_constant_filters(small: TemplateEngine) -> None:
    # Jinja folds constant filter calls at compile time, outside any budget.
    started = time.monotonic()
    small.check("{{ 'a'|center(10**9) }}{{ 'x'|indent(10**9) }}{{ '%0999999999d'|format(1) }}", field=FIELD)
    assert time.monotonic() - started < 1


def test_output_is_capped() -> None:
    engine = TemplateEngine(max_output_bytes=10_000)
    assert len(engine.render("{{ 'x' * 2000 }}", {}, field=FIELD)) == 2000
    error = render_error(engine, "{% for i in range(20) %}{{ 'é' * 1000 }}{% endfor %}")
    assert "larger than 10000 bytes" in error.description or "too much text" in error.description


def test_default_limits_stop_a_loop_bomb_quickly(engine: TemplateEngine) -> None:
    started = time.monotonic()
    error = render_error(engine, "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    assert "too much work" in error.description
    assert time.monotonic() - started < 10


def test_time_limit_is_a_backstop() -> None:
    engine = TemplateEngine(max_steps=10**12, time_limit=0.2)
    error = render_error(engine, "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}")
    assert "longer than 0.2 s" in error.description


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x'.upper }}",
        "{{ [cycler] }}",
        "{{ {'a': range} }}",
        "{{ [1, [joiner]]|join }}",
        "{{ self }}",
        "{{ namespace(a=1) }}",
        "{% for x in [1] %}{{ loop }}{% endfor %}",
        "{{ cycler(1, 2) }}",
    ],
)
def test_output_of_functions_is_refused(engine: TemplateEngine, source: str) -> None:
    assert "did you forget '()'" in render_error(engine, source).description


_FRAGMENTS = [
    "{{ ", " }}", "{% for x in ", " %}", "{% endfor %}", "{% if ", "{% endif %}", "{% set y = ", "{% endset %}",
    "{% macro f(n) %}", "{% endmacro %}", "f(", "f", "n", "x", "y", "(", ")", "[", "]", ",", ".", "~", "*", "**",
    "+", "%", "|", "''", "'a'", "'%s'", "'{0.__class__}'", "1", "9", "10", "range", "cycler", "joiner", "namespace",
    "self", "loop", "data", "__class__", "__init__", "__globals__", "__mro__", "__subclasses__()", "_private",
    "mro", "format", "join", "attr('__class__')", "string", "list", "center(5)", "upper", "items()", "keys",
    "format(1)", "replace('a', 'b')", "map('upper')", "batch(2)", "tojson", "default(1)", "is defined",
    "['__class__']", "[0]", "not ", " and ", " in ",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=14).map("".join))
def test_any_template_renders_safely_or_is_a_template_error(source: str) -> None:
    """Only TemplateError escapes, and nothing rendered looks like a Python repr."""
    engine = TemplateEngine(max_output_bytes=100_000, max_steps=20_000)
    try:
        out = engine.render(source, {"data": {"_private": 1, "k": ["v"]}}, field=FIELD)
    except TemplateError:
        return
    assert not _INTERNALS.search(out), out


_ATTRIBUTES = [
    "__class__", "__init__", "__globals__", "__mro__", "__subclasses__", "__base__", "__bases__", "__dict__",
    "__self__", "__func__", "__code__", "__builtins__", "__import__", "__getattribute__", "__reduce_ex__",
    "_private", "_TemplateReference__context", "_func", "_Namespace__attrs", "mro", "gi_frame", "f_globals",
    "func_globals", "co_code", "environment", "os", "popen", "read", "format", "format_map", "join", "items",
    "keys", "upper", "k", "next", "current", "reset", "append", "pop", "update", "clear", "eval_ctx",
]
_FILTERS = [
    "attr('__class__')", "attr('_private')", "string", "list", "join", "first", "tojson", "pprint", "e", "safe",
    "map('string')", "map(attribute='__class__')", "map(attribute='_private')", "format(1)", "default(1)",
    "sort", "items", "length", "selectattr('__class__')", "groupby('__class__')", "sum(attribute='__class__')",
]
_ATOMS = ["''", "'a'", "'{0.__class__}'", "'%s'", "1", "9", "data", "cycler", "joiner", "namespace", "range",
          "self", "x", "loop", "[]", "{}", "dict", "caller", "f", "lipsum"]


_EXPRESSIONS: st.SearchStrategy[str] = st.deferred(
    lambda: st.one_of(
        st.sampled_from(_ATOMS),
        st.sampled_from(_ATOMS),
        st.builds("{}.{}".format, _EXPRESSIONS, st.sampled_from(_ATTRIBUTES)),
        st.builds("{}['{}']".format, _EXPRESSIONS, st.sampled_from(_ATTRIBUTES)),
        st.builds("({})|{}".format, _EXPRESSIONS, st.sampled_from(_FILTERS)),
        st.builds("({} {} {})".format, _EXPRESSIONS, st.sampled_from(["~", "*", "+", "%", "**"]), _EXPRESSIONS),
        st.builds("{}()".format, _EXPRESSIONS),
        st.builds("{}({})".format, _EXPRESSIONS, _EXPRESSIONS),
        st.builds("{}[{}]".format, _EXPRESSIONS, _EXPRESSIONS),
        st.builds("[{}, {}]".format, _EXPRESSIONS, _EXPRESSIONS),
    )
)
_TEMPLATES = st.one_of(
    st.builds("{{{{ {} }}}}".format, _EXPRESSIONS),
    st.builds("{{% for x in {} %}}{{{{ {} }}}}{{% endfor %}}".format, _EXPRESSIONS, _EXPRESSIONS),
    st.builds(
        "{{% macro f(n) %}}{{{{ {} }}}}{{{{ caller() }}}}{{% endmacro %}}"
        "{{% call f(1) %}}{{{{ {} }}}}{{% endcall %}}".format,
        _EXPRESSIONS,
        _EXPRESSIONS,
    ),
)


@settings(max_examples=100, deadline=None)  # each example compiles a template (~0.1 s here)
@given(_TEMPLATES)
def test_generated_expressions_never_reach_python_internals(source: str) -> None:
    """Nested attribute, item, filter, call and operator chains over every global."""
    engine = TemplateEngine(max_output_bytes=100_000, max_steps=20_000)
    try:
        out = engine.render(source, {"data": {"_private": 1, "k": ["v"]}}, field=FIELD)
    except TemplateError:
        return
    assert not _INTERNALS.search(out), out


def test_generator_filters_give_lists(engine: TemplateEngine) -> None:
    source = "{% set up = items|map('upper') %}{{ up }} {{ up|join }} {{ up|length }}"
    assert engine.render(source, {"items": ["a", "b"]}, field=FIELD) == "['A', 'B'] AB 2"

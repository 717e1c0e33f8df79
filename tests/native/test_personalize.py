"""Fast personalization: identical to the Jinja2 engine wherever it answers; else it steps aside."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postwave.errors import TemplateError
from postwave.render.templates import TemplateEngine
from tests.native.twins import DIFFERENTIAL, KINDS, compiled, implementation, twin

ENGINE = TemplateEngine()


@pytest.fixture(params=KINDS)
def pz(request: pytest.FixtureRequest) -> ModuleType:
    return implementation("personalize", request.param)


def engine(source: str, context: dict[str, Any], autoescape: bool) -> str | None:
    try:
        return ENGINE.render(source, context, field="f", autoescape=autoescape)
    except TemplateError:
        return None


CONTEXT = {"name": "Ada <Lovelace>", "user": {"first": "grace", "city": "Zürich & Co", "n": 3.0}, "flag": True,
           "nothing": None, "count": 12, "list": [1, 2], "text": "ΑΣ-ΒΣ o'neil"}


@pytest.mark.parametrize(
    ("source", "autoescape", "expected"),
    [
        ("Hello {{ name }}!\n", True, "Hello Ada &lt;Lovelace&gt;!"),
        ("Hello {{ name }}!\n", False, "Hello Ada <Lovelace>!"),
        ("{{ user.first|title }} from {{user.city}}", True, "Grace from Zürich &amp; Co"),
        ("{{ user.missing|default('friend')|upper }}", False, "FRIEND"),
        ("{{ absent | d }}|{{ user.n }}|{{ flag }}|{{ nothing }}|{{ count }}", False, "|3.0|True|None|12"),
        ("{{ name|e }} {{ name|safe }}", True, "Ada &lt;Lovelace&gt; Ada <Lovelace>"),
        ("{{ text|title }} {{ text|capitalize }}", True, "Ασ-Βσ O&#39;neil Ας-βς o&#39;neil"),
        ("a\r\nb\rc\n\n", False, "a\nb\nc\n"),
        # a variable that recurs (the compiled program renders it once a call), with other filters between
        ("{{ name }}, {{ name|upper }}; {{name}} {{ count }}{{ name }}", True,
         "Ada &lt;Lovelace&gt;, ADA &lt;LOVELACE&gt;; Ada &lt;Lovelace&gt; 12Ada &lt;Lovelace&gt;"),
    ],
)
def test_simple_templates_render_like_the_engine(pz: ModuleType, source: str, autoescape: bool, expected: str) -> None:
    program = pz.compile_template(source, autoescape=autoescape)
    assert program is not None
    assert program.render(CONTEXT) == expected == engine(source, CONTEXT, autoescape)


@pytest.mark.parametrize(
    "source",
    ["{% if x %}y{% endif %}", "{# c #}", "{{- name }}", "{{ name ~ 'x' }}", "{{ name|replace('a','b') }}",
     "{{ user['first'] }}", "{{ _secret }}", "{{ user.items }}", "{{ range }}", "{{ none }}", "{{ self }}",
     "{{ name|e|upper }}", "{{ name|upper|default('x') }}", "{{ name|default('a\\\\b') }}", "{{ 1 + 1 }}",
     "{{ name }", "{{ name|default('x', true) }}"],
)
def test_templates_outside_the_subset_are_left_to_the_engine(pz: ModuleType, source: str) -> None:
    assert pz.compile_template(source, autoescape=True) is None


@pytest.mark.parametrize(
    ("source", "context"),
    [("{{ missing }}", {}), ("{{ user.missing }}", {"user": {}}), ("{{ a.b.c|default('x') }}", {"a": {}}),
     ("{{ list }}", {"list": [1]}), ("{{ user.first }}", {"user": "a string"}), ("{{ big }}", {"big": 10**5000}),
     ("{{ x }}", {"x": "y" * 2_000_000})],
)
def test_recipients_it_cannot_render_exactly_are_left_to_the_engine(
    pz: ModuleType, source: str, context: dict[str, Any]
) -> None:
    program = pz.compile_template(source, autoescape=False)
    assert program is not None and program.render(context) is None


def test_batch_personalization(pz: ModuleType) -> None:
    program = pz.compile_template("Hi {{ name|default('there') }}, order {{ n }}", autoescape=True)
    contexts = [{"name": f"<{i}>", "n": i} for i in range(1000)] + [{"n": 1}, {}]
    rendered = program.render_many(contexts)
    assert rendered[7] == "Hi &lt;7&gt;, order 7"
    assert rendered[-2:] == ["Hi there, order 1", None]


_NAMES = ["name", "user", "first", "city", "n", "x", "items", "_x", "true"]
_FILTERS = ["", "|upper", "|lower", "|title", "|capitalize", "|trim", "|e", "|safe", "|default('d<&')",
            "| d(\"q\")", "|default", "|escape", "|upper()"]
_template = st.lists(
    st.one_of(
        st.text(alphabet="ab <>&'\"\n\r{}%#-", max_size=8),
        st.builds(
            lambda path, filters, space: "{{" + space + ".".join(path) + "".join(filters) + space + "}}",
            st.lists(st.sampled_from(_NAMES), min_size=1, max_size=3),
            st.lists(st.sampled_from(_FILTERS), max_size=3),
            st.sampled_from(["", " ", "\n", "  "]),
        ),
    ),
    max_size=8,
).map("".join)
_scalar = st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.booleans(), st.none())
_value = st.recursive(_scalar, lambda inner: st.dictionaries(st.sampled_from(_NAMES), inner, max_size=3), max_leaves=6)
_context = st.dictionaries(st.sampled_from(_NAMES), _value, max_size=5)


@DIFFERENTIAL
@given(source=_template, context=_context, autoescape=st.booleans())
def test_compiled_twin_and_engine_agree(source: str, context: dict[str, Any], autoescape: bool) -> None:
    fast = compiled("personalize").compile_template(source, autoescape=autoescape)
    slow = twin("personalize").compile_template(source, autoescape=autoescape)
    assert (fast is None) == (slow is None)
    if fast is None or slow is None:
        return
    got = fast.render(context)
    assert got == slow.render(context)
    if got is not None:
        assert got == engine(source, context, autoescape)

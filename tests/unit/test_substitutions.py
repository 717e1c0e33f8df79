"""Substitutions as the templates see them, read without json_format; numbers JSON cannot hold refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from postwave.errors import InvalidArgumentError
from postwave.pipeline.compose import substitutions
from postwave.pipeline.validate import validate
from postwave.v1 import send_pb2

_SCALARS = st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False) | st.integers(
    min_value=-(2**53), max_value=2**53) | st.text(max_size=20)
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8), inner, max_size=4), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=10), _JSON, max_size=6))
def test_substitutions_equal_what_json_format_gives(values: dict[str, Any]) -> None:
    p = send_pb2.Personalization()
    p.substitutions.update(values)
    mine, theirs = substitutions(p), json_format.MessageToDict(p.substitutions)
    assert mine == theirs
    # == takes 1 for 1.0 and True for 1: the JSON text tells the types apart too.
    assert json.dumps(mine, sort_keys=True) == json.dumps(theirs, sort_keys=True)


def test_no_substitutions_is_an_empty_context() -> None:
    assert substitutions(send_pb2.Personalization()) == {}


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_number_json_cannot_hold_is_refused_naming_the_field(number: float) -> None:
    req = send_pb2.SendRequest(subject="s", text="t")
    setattr(req, "from", "a@b.test")
    p = req.personalizations.add(to=["x@y.test"])
    p.substitutions.update({"fine": 1.0, "deep": {"list": [1, number]}})
    with pytest.raises(InvalidArgumentError) as info:
        validate(req, max_recipients=10, max_bytes=1 << 20, max_ahead_seconds=3600)
    assert info.value.field == "personalizations[0].substitutions"
    assert str(number) in info.value.message and "string" in info.value.message
    del p.substitutions.fields["deep"]
    assert validate(req, max_recipients=10, max_bytes=1 << 20, max_ahead_seconds=3600).substitutions == ({"fine": 1.0},)

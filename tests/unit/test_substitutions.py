"""A stored personalization's substitutions, read by the worker without json_format."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from postwave.pipeline.compose import substitutions
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

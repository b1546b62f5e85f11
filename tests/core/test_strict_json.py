"""loads_strict: what it refuses, and that it changes nothing it accepts."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.core.strict_json import MAX_DEPTH, JsonRejected, loads_strict, storable_text


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_up_to_the_limit_is_taken_and_one_more_level_is_refused():
    assert loads_strict(nested(MAX_DEPTH)) == json.loads(nested(MAX_DEPTH))
    with pytest.raises(JsonRejected) as refused:
        loads_strict(nested(MAX_DEPTH + 1))
    assert refused.value.code == "too_deeply_nested"


@pytest.mark.parametrize("text, code, field", [
    ('{"a": NaN}', "non_finite_number", None),
    ('[-Infinity]', "non_finite_number", None),
    ('{"a": 1e309}', "non_finite_number", None),
    ('{"a": {"b": 1, "b": 2}}', "duplicate_key", "b"),
    ('{"a": [{"b": "x\\u0000"}]}', "invalid_characters", "a[0].b"),
    ('{"a": {"\\ud800": 1}}', "invalid_characters", "a"),
    ('{"a": "\\udfff"}', "invalid_characters", "a"),
    ('{"a": ', "malformed_json", None),
])
def test_what_postgres_or_utf8_cannot_hold_is_refused_with_where(text, code, field):
    with pytest.raises(JsonRejected) as refused:
        loads_strict(text.encode())

    assert (refused.value.code, refused.value.field) == (code, field)


def test_a_surrogate_pair_is_one_character_and_is_taken():
    assert loads_strict(b'"\\ud83c\\udf2f"') == "\U0001f32f"


def test_storable_text_escapes_only_what_cannot_be_stored():
    assert storable_text("a\x00b\ud800c\U0001f32f") == "a\\u0000b\\ud800c\U0001f32f"


clean_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | clean_text
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(clean_text, children, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_any_storable_json_reads_back_unchanged(value):
    loaded = loads_strict(json.dumps(value).encode())

    assert loaded == value or (isinstance(value, float) and math.isclose(loaded, value))

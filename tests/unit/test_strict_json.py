"""The one JSON reader of both services' request bodies (backtrack_shared.strict_json)."""

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backtrack_shared import strict_json
from backtrack_shared.contracts.limits import MAX_JSON_DEPTH, MAX_JSON_INT, MIN_JSON_INT
from backtrack_shared.web import TEXT_PATTERN

printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)
documents = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(MIN_JSON_INT, MAX_JSON_INT)
    | st.floats(allow_nan=False, allow_infinity=False)
    | printable,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(printable, inner, max_size=4),
    max_leaves=30,
)


def depth(document: Any) -> int:
    if isinstance(document, dict):
        return 1 + max(map(depth, document.values()), default=0)
    if isinstance(document, list):
        return 1 + max(map(depth, document), default=0)
    return 0


@given(documents)
def test_json_within_the_bounds_reads_as_the_standard_library_reads_it(document: Any) -> None:
    text = json.dumps(document)
    if depth(document) <= MAX_JSON_DEPTH:
        assert strict_json.loads(text) == json.loads(text)
        assert strict_json.loads(text.encode()) == json.loads(text)


def refusal(text: str) -> tuple[str, str]:
    with pytest.raises(strict_json.RefusedJson) as caught:
        strict_json.loads(text)
    return caught.value.path, caught.value.reason


@given(st.integers(min_value=MAX_JSON_DEPTH + 1, max_value=20_000))
def test_nesting_deeper_than_the_limit_is_refused(levels: int) -> None:
    _, reason = refusal('{"a":' * levels + "1" + "}" * levels)
    assert reason == f"Nested deeper than {MAX_JSON_DEPTH} levels."


def test_nesting_at_the_limit_is_read() -> None:
    text = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert strict_json.loads(text) == json.loads(text)


@pytest.mark.parametrize("number", ["9" * 5000, str(MAX_JSON_INT + 1), str(MIN_JSON_INT - 1)])
def test_an_integer_beyond_64_bits_is_refused_by_its_path(number: str) -> None:
    assert refusal(f'{{"payload": {{"sets": [{{"reps": {number}}}]}}}}') == (
        "payload.sets.0.reps",
        "An integer beyond 64 bits (-2**63 to 2**63-1).",
    )


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "-Infinity"])
def test_a_number_without_a_finite_value_is_refused(number: str) -> None:
    path, _ = refusal(f'{{"load_kg": {number}}}')
    assert path == "load_kg"


def test_a_key_given_twice_is_refused_instead_of_taking_the_last() -> None:
    assert refusal('{"events": [{"score": 1, "score": 10}]}') == (
        "events.0.score",
        "This key is given more than once.",
    )


@pytest.mark.parametrize("character", ["\u0000", "\u0001", "\u001b", "\u007f", "\u0085"])
def test_a_control_character_in_text_is_refused(character: str) -> None:
    text = json.dumps({"payload": {"note": f"a{character}b"}})
    assert refusal(text) == (
        "payload.note",
        f"Contains the control character U+{ord(character):04X}.",
    )
    path, _ = refusal(json.dumps({f"k{character}": 1}))
    assert path == ""


def test_tabs_and_line_breaks_in_text_are_taken() -> None:
    assert strict_json.loads(json.dumps({"note": "a\tb\r\nc"})) == {"note": "a\tb\r\nc"}


def test_what_is_not_json_stays_a_decode_error() -> None:
    for text in (b"{", b"\xff\xfe", b'{"a": 1,}'):
        with pytest.raises(json.JSONDecodeError):
            strict_json.loads(text)


def test_the_documents_text_pattern_admits_what_the_reader_takes() -> None:
    """Every plain string of both OpenAPI documents carries TEXT_PATTERN: it must admit a
    character exactly when the reader takes it in text (ECMA-262 reads `\\uXXXX` as Python does)."""
    for code in range(0x100):
        text = f"a{chr(code)}b"
        try:
            strict_json.loads(json.dumps({"note": text}))
            taken = True
        except strict_json.RefusedJson:
            taken = False
        assert bool(re.fullmatch(TEXT_PATTERN, text)) == taken, hex(code)

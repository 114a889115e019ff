"""The one JSON reader of both services' request bodies: the standard library's parser, held to
the bounds of limits.py. A body nested deeper than MAX_JSON_DEPTH, an integer beyond 64 bits, a
non-finite number, a key given twice in one object, or text with a control character (other
than tab and line breaks) is refused, naming where in the body it is (`events.0.payload.note`).

Python's parser alone takes the last of duplicate keys silently, turns a 5,000-digit integer
into a ValueError and a 5,000-level nesting into a RecursionError; both became 500s."""

import json
import math
import re
from typing import Any

from backtrack_shared.contracts.limits import (
    ALLOWED_CONTROL_CHARACTERS,
    MAX_JSON_DEPTH,
    MAX_JSON_INT,
    MIN_JSON_INT,
)

# Digits of the longest integer within 64 bits, with its sign: longer text is never parsed.
_MAX_INT_CHARS = len(str(MIN_JSON_INT))


class RefusedJson(ValueError):
    """Parseable JSON that a service does not take: `path` names where, `reason` says why."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path or 'body'}: {reason}")
        self.path = path
        self.reason = reason


class _Refused:
    """Stands in the document for a value refused while parsing, until the walk names its path."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _WithDuplicates(dict[str, Any]):
    duplicates: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) == len(pairs):
        return document
    seen: set[str] = set()
    duplicated = _WithDuplicates(document)
    duplicated.duplicates = []
    for key, _ in pairs:
        if key in seen:
            duplicated.duplicates.append(key)
        seen.add(key)
    return duplicated


def _integer(text: str) -> int | _Refused:
    value = int(text) if len(text) <= _MAX_INT_CHARS else None
    if value is None or not MIN_JSON_INT <= value <= MAX_JSON_INT:
        return _Refused("An integer beyond 64 bits (-2**63 to 2**63-1).")
    return value


def _number(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused("A number too large to represent.")


def _constant(text: str) -> _Refused:
    return _Refused(f"{text} is not a JSON number.")


_CONTROL_CHARACTERS = "".join(
    chr(code)
    for code in (*range(0x20), *range(0x7F, 0xA0))
    if chr(code) not in ALLOWED_CONTROL_CHARACTERS
)
_CONTROL = re.compile(f"[{re.escape(_CONTROL_CHARACTERS)}]")
# Where a control character may come from in JSON text: written as it is (U+007F to U+009F are
# valid in a JSON string), or escaped (\b, \f or \u00XX). Text without any of these holds
# none once parsed; text with one is walked to find it (a `\\b` is a false alarm, no harm).
_CONTROL_SOURCE = re.compile(f"[{re.escape(_CONTROL_CHARACTERS)}]|\\\\[bf]|\\\\u00[0-9a-fA-F]{{2}}")


def _control_character(text: str) -> str | None:
    found = _CONTROL.search(text)
    if found is None:
        return None
    return f"Contains the control character U+{ord(found.group()):04X}."


def loads(data: str | bytes) -> Any:
    """The document `data` holds; json.JSONDecodeError if it is not JSON (or not UTF-8),
    RefusedJson if it is JSON beyond the bounds."""
    if isinstance(data, bytes):
        raw = data
        try:
            data = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            # With the text it failed on: an error on empty text reads as no body at all.
            text = raw.decode("utf-8", "replace")
            raise json.JSONDecodeError(f"Not UTF-8: {err.reason}", text, err.start) from err
    refused: list[object] = []  # set by the hooks below on what the walk would refuse

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        document = _object(items)
        if isinstance(document, _WithDuplicates):
            refused.append(document)
        return document

    def refusing(parse: Any) -> Any:
        def hook(text: str) -> Any:
            value = parse(text)
            if isinstance(value, _Refused):
                refused.append(value)
            return value

        return hook

    try:
        document = json.loads(
            data,
            object_pairs_hook=pairs,
            parse_int=refusing(_integer),
            parse_float=refusing(_number),
            parse_constant=refusing(_constant),
        )
    except RecursionError:
        raise RefusedJson("", f"Nested deeper than {MAX_JSON_DEPTH} levels.") from None
    if refused or _CONTROL_SOURCE.search(data) or _deeper_than_allowed(document):
        _check(document)  # finds the first refusal and names where it is
    return document


def _deeper_than_allowed(document: Any) -> bool:
    """Whether any value lies deeper than MAX_JSON_DEPTH (the containers alone are walked)."""
    stack: list[tuple[Any, int]] = [(document, 0)] if isinstance(document, dict | list) else []
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 >= MAX_JSON_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


def _check(document: Any) -> None:
    """Walk the document (without recursion: depth is what is being checked) and refuse the
    first value beyond the bounds, by its path."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(document, ())]
    while stack:
        node, path = stack.pop()
        where = ".".join(path)
        if len(path) > MAX_JSON_DEPTH:
            raise RefusedJson(where, f"Nested deeper than {MAX_JSON_DEPTH} levels.")
        if isinstance(node, _Refused):
            raise RefusedJson(where, node.reason)
        if isinstance(node, str):
            refusal = _control_character(node)
            if refusal:
                raise RefusedJson(where, refusal)
        elif isinstance(node, dict):
            if isinstance(node, _WithDuplicates):
                key = node.duplicates[0]
                raise RefusedJson(".".join((*path, key)), "This key is given more than once.")
            for key, value in node.items():
                refusal = _control_character(key)
                if refusal:
                    raise RefusedJson(where, f"A key {refusal[0].lower()}{refusal[1:]}")
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((item, (*path, str(index))) for index, item in enumerate(node))

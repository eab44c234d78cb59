"""The one check every write path runs: what the store can hold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.domain.errors import InvalidInput
from app.domain.storable import MAX_DEPTH, check_storable, printable, storable_problems


def codes(value: object) -> list[tuple[str, tuple[str, ...] | None]]:
    return [(e.code, e.field) for e in storable_problems(value, path=("input",))]


def test_plain_values_are_storable() -> None:
    value = {
        "text": "déjà vu ✓ 😀",
        "nul in a value": "a\x00b",
        "numbers": [0, -(2**63), 2**63 - 1, 1.5, True],
        "when": datetime(2026, 1, 1, tzinfo=UTC),
        "nothing": None,
    }
    assert codes(value) == []
    check_storable(value)


def test_each_unstorable_part_is_located() -> None:
    value = {
        "a": "x\ud800",
        "b\udfff": 1,
        "c\x00": 1,
        "d": [1, 2**63],
        "e": float("nan"),
        "f": float("-inf"),
        "g": object(),
        1: "not a text key",
    }
    assert codes(value) == [
        ("INVALID_TEXT", ("input", "a")),
        ("INVALID_TEXT", ("input", "b\\udfff")),
        ("INVALID_TEXT", ("input", "c\x00")),
        ("INVALID_VALUE", ("input", "d", "1")),
        ("INVALID_VALUE", ("input", "e")),
        ("INVALID_VALUE", ("input", "f")),
        ("INVALID_VALUE", ("input", "g")),
        ("INVALID_VALUE", ("input", "1")),
    ]


def test_nesting_is_bounded() -> None:
    deep: object = "leaf"
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    assert [code for code, _ in codes(deep)] == ["VALUE_TOO_DEEP"]


def test_check_raises_every_problem_and_printable_escapes() -> None:
    with pytest.raises(InvalidInput) as raised:
        check_storable({"a": "\ud800", "b": 2**64})
    assert [e.code for e in raised.value.errors] == ["INVALID_TEXT", "INVALID_VALUE"]
    assert printable("a\ud800b") == "a\\ud800b"
    assert printable("déjà") == "déjà"


@pytest.mark.parametrize(
    ("leaf", "code"),
    [
        ("x\ud800", "INVALID_TEXT"),
        (2**63, "INVALID_VALUE"),
        (-(2**63) - 1, "INVALID_VALUE"),
        (float("inf"), "INVALID_VALUE"),
        (b"bytes", "INVALID_VALUE"),
        ({"k\x00": 1}, "INVALID_TEXT"),
        ({"k\udc00": 1}, "INVALID_TEXT"),
        ({2: 1}, "INVALID_VALUE"),
    ],
)
def test_a_problem_deep_inside_plain_values_is_found(leaf: object, code: str) -> None:
    value = {"ok": "déjà", "n": 3, "deep": {"list": [1, 2.5, False, None, leaf]}}
    assert [c for c, _ in codes(value)] == [code]


def test_subclasses_of_plain_types_are_judged_as_their_types() -> None:
    class Text(str):
        pass

    class Moment(datetime):
        pass

    class Document(dict[str, object]):
        pass

    value = Document(a=Text("é"), b=Moment(2026, 1, 1, tzinfo=UTC), c=(1, "x"))
    assert codes(value) == []
    assert codes(Document(a=Text("\ud800"))) == [("INVALID_TEXT", ("input", "a"))]

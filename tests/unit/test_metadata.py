from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.errors import InvalidInput
from app.domain.metadata import (
    Link,
    Money,
    TypedValue,
    ValueType,
    from_stored,
    to_json,
    to_stored,
    type_metadata,
    value_type,
)


def typed(metadata: dict[str, Any]) -> dict[str, Any]:
    return type_metadata(metadata, max_keys=20)


def codes(metadata: object, max_keys: int = 20) -> list[tuple[str, tuple[str, ...] | None]]:
    with pytest.raises(InvalidInput) as caught:
        type_metadata(metadata, max_keys=max_keys)
    return [(e.code, e.field) for e in caught.value.errors]


def test_each_value_shape_gets_its_type() -> None:
    result = typed(
        {
            "plan": "Dynamite Pro",
            "seats": 12,
            "ratio": 0.5,
            "annual": False,
            "changed_at": 1764324000,
            "order_date": 1764324000.5,
            "shipped": "2026-11-28T10:00:00+02:00",
            "invoice": "https://pay.example/in_1",
            "order": {"url": "http://shop.example/o/1", "value": "ORDER-1"},
            "bare_link": {"url": "https://shop.example"},
            "price": {"amount": 34999, "currency": "eur"},
        }
    )
    assert result == {
        "plan": "Dynamite Pro",
        "seats": 12,
        "ratio": 0.5,
        "annual": False,
        "changed_at": datetime(2025, 11, 28, 10, 0, tzinfo=UTC),
        "order_date": datetime(2025, 11, 28, 10, 0, 0, 500000, tzinfo=UTC),
        "shipped": datetime(2026, 11, 28, 8, 0, tzinfo=UTC),
        "invoice": Link("https://pay.example/in_1"),
        "order": Link("http://shop.example/o/1", "ORDER-1"),
        "bare_link": Link("https://shop.example"),
        "price": Money(34999, "EUR"),
    }
    assert [value_type(v) for v in result.values()] == [
        ValueType.STRING,
        ValueType.NUMBER,
        ValueType.NUMBER,
        ValueType.BOOLEAN,
        ValueType.DATE,
        ValueType.DATE,
        ValueType.DATE,
        ValueType.LINK,
        ValueType.LINK,
        ValueType.LINK,
        ValueType.MONEY,
    ]


def test_strings_that_only_look_like_dates_or_links_stay_strings() -> None:
    assert typed(
        {
            "day": "2026-11-28",
            "count_at": "12",
            "ftp": "ftp://files.example",
            "no_host": "https://",
            "spaced": "https://a.example/x y",
            "flag_at": True,
        }
    ) == {
        "day": "2026-11-28",
        "count_at": "12",
        "ftp": "ftp://files.example",
        "no_host": "https://",
        "spaced": "https://a.example/x y",
        "flag_at": True,
    }


def test_numbers_are_unix_seconds_only_under_date_keys() -> None:
    assert typed({"amount": 1764324000}) == {"amount": 1764324000}
    assert typed({"Paid_At": 0}) == {"Paid_At": datetime(1970, 1, 1, tzinfo=UTC)}


def test_none_means_no_metadata() -> None:
    assert type_metadata(None, max_keys=20) == {}


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ("text", [("INVALID_METADATA", ("metadata",))]),
        ([1], [("INVALID_METADATA", ("metadata",))]),
        ({"$gt": 1}, [("INVALID_METADATA_KEY", ("metadata", "$gt"))]),
        ({"a.b": 1}, [("INVALID_METADATA_KEY", ("metadata", "a.b"))]),
        ({"x": None}, [("INVALID_VALUE", ("metadata", "x"))]),
        ({"x": float("nan")}, [("INVALID_VALUE", ("metadata", "x"))]),
        ({"x": float("inf")}, [("INVALID_VALUE", ("metadata", "x"))]),
        ({"x": 2**63}, [("INVALID_VALUE", ("metadata", "x"))]),
        ({"x": "y" * 1001}, [("VALUE_TOO_LONG", ("metadata", "x"))]),
        ({"x": {"a": 1}}, [("NESTED_VALUE", ("metadata", "x"))]),
        ({"x": {"url": "https://a.example", "extra": 1}}, [("NESTED_VALUE", ("metadata", "x"))]),
        ({"x": [1, 2]}, [("NESTED_VALUE", ("metadata", "x"))]),
        ({"x": {"url": "mailto:a@b.c"}}, [("INVALID_LINK", ("metadata", "x"))]),
        ({"x": {"url": "https://a.example", "value": 5}}, [("INVALID_LINK", ("metadata", "x"))]),
        ({"x": {"amount": "100", "currency": "EUR"}}, [("INVALID_MONEY", ("metadata", "x"))]),
        ({"x": {"amount": True, "currency": "EUR"}}, [("INVALID_MONEY", ("metadata", "x"))]),
        ({"x": {"amount": 1.5, "currency": "EUR"}}, [("INVALID_MONEY", ("metadata", "x"))]),
        ({"x": {"amount": -1, "currency": "EUR"}}, [("INVALID_MONEY", ("metadata", "x"))]),
        ({"x": {"amount": 2**31, "currency": "EUR"}}, [("INVALID_MONEY", ("metadata", "x"))]),
        ({"x": {"amount": 1, "currency": "EURO"}}, [("INVALID_MONEY", ("metadata", "x"))]),
        ({"x": {"amount": 1, "currency": 978}}, [("INVALID_MONEY", ("metadata", "x"))]),
        ({"x_at": 10**13}, [("INVALID_VALUE", ("metadata", "x_at"))]),
    ],
)
def test_bad_metadata_is_refused_with_its_code_and_path(
    metadata: object, expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    assert codes(metadata) == expected


def test_too_many_keys_is_refused_not_truncated() -> None:
    assert codes({f"k{i}": i for i in range(4)}, max_keys=3) == [
        ("TOO_MANY_METADATA_KEYS", ("metadata",))
    ]
    assert len(type_metadata({f"k{i}": i for i in range(3)}, max_keys=3)) == 3


def test_every_bad_key_is_reported_at_once() -> None:
    assert codes({"a.b": 1, "ok": 1, "bad": None}) == [
        ("INVALID_METADATA_KEY", ("metadata", "a.b")),
        ("INVALID_VALUE", ("metadata", "bad")),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "text",
        3,
        2.5,
        True,
        datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
        Link("https://a.example"),
        Link("https://a.example", "A"),
        Money(100, "JPY"),
    ],
)
def test_stored_values_read_back_as_the_same_type(value: Any) -> None:
    assert from_stored(to_stored(value)) == value


def test_json_view_uses_the_input_convention() -> None:
    assert to_json(Link("https://a.example")) == "https://a.example"
    assert to_json(Link("https://a.example", "A")) == {"url": "https://a.example", "value": "A"}
    assert to_json(Money(5, "EUR")) == {"amount": 5, "currency": "EUR"}
    assert to_json(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02T00:00:00+00:00"
    assert to_json(datetime(2026, 1, 2, 0, 0, 0, 120000, tzinfo=UTC)) == (
        "2026-01-02T00:00:00.120+00:00"
    )
    # What to_json gives back types to the same value.
    original: dict[str, TypedValue] = {
        "p": Money(5, "EUR"),
        "l": Link("https://a.example", "A"),
        "d": datetime(2026, 1, 2, tzinfo=UTC),
    }
    assert typed({k: to_json(v) for k, v in original.items()}) == original


def test_values_of_subclasses_are_typed_as_their_base() -> None:
    class Flag(int):
        pass

    class Text(str):
        pass

    class Moment(datetime):
        pass

    assert value_type(True) is ValueType.BOOLEAN  # a bool is an int too
    assert value_type(Flag(1)) is ValueType.NUMBER
    assert value_type(Text("x")) is ValueType.STRING
    assert value_type(Moment(2026, 1, 1, tzinfo=UTC)) is ValueType.DATE

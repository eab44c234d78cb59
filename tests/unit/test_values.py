"""Attributes, timestamps, refs and cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.domain.attributes import type_attributes
from app.domain.cursors import check_page_size, decode_cursor, encode_cursor
from app.domain.errors import InvalidInput, RequestError
from app.domain.refs import ContactKey, RefInput, RefKind
from app.domain.timestamps import check_occurred_at, format_iso, parse_date_time, to_utc_ms

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def test_attributes_are_typed_and_null_removes() -> None:
    assert type_attributes(
        {"plan": "pro", "n": 2, "ok": True, "since": "2026-01-01T00:00:00Z", "gone": None},
        max_keys=10,
    ) == {
        "plan": "pro",
        "n": 2,
        "ok": True,
        "since": datetime(2026, 1, 1, tzinfo=UTC),
        "gone": None,
    }


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("x", "INVALID_CUSTOM_ATTRIBUTES"),
        ({"a": {"amount": 1, "currency": "EUR"}}, "NESTED_VALUE"),
        ({"$a": 1}, "INVALID_ATTRIBUTE_NAME"),
        ({"a": [1]}, "NESTED_VALUE"),
        ({f"k{i}": 1 for i in range(11)}, "TOO_MANY_CUSTOM_ATTRIBUTES"),
    ],
)
def test_bad_attributes(raw: object, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        type_attributes(raw, max_keys=10)
    assert [e.code for e in caught.value.errors] == [code]


def test_instants_are_utc_milliseconds() -> None:
    paris = timezone(timedelta(hours=1))
    assert to_utc_ms(datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=paris)) == datetime(
        2026, 1, 1, 11, 0, 0, 123000, tzinfo=UTC
    )
    assert to_utc_ms(datetime(2026, 1, 1)) == datetime(2026, 1, 1, tzinfo=UTC)
    assert format_iso(datetime(2026, 1, 1, tzinfo=paris)) == "2025-12-31T23:00:00+00:00"
    assert parse_date_time("2026-11-28T10:00:00Z") == NOW
    assert parse_date_time("2026-11-28 11:00+01:00") == NOW
    assert parse_date_time("2026-11-28") is None
    assert parse_date_time("2026-13-28T10:00:00Z") is None


def test_instants_come_back_in_utc_itself() -> None:
    """Equality of aware instants ignores the zone: what is stored and shown is checked here."""
    for zone in (timezone(timedelta(hours=1)), timezone(timedelta(0), "GMT"), UTC):
        value = to_utc_ms(datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=zone))
        assert value.tzinfo is UTC
        assert value.microsecond == 123000
    assert to_utc_ms(datetime(2026, 1, 1, 12, 0, 0, 5000, tzinfo=UTC)).microsecond == 5000


def test_occurred_at_defaults_to_now_and_refuses_the_far_future() -> None:
    assert check_occurred_at(None, now=NOW) == NOW
    assert check_occurred_at(NOW + timedelta(minutes=5), now=NOW) == NOW + timedelta(minutes=5)
    for bad in (NOW + timedelta(minutes=5, milliseconds=1), datetime(1969, 12, 31, tzinfo=UTC)):
        with pytest.raises(InvalidInput) as caught:
            check_occurred_at(bad, now=NOW)
        assert caught.value.errors[0].code == "INVALID_TIMESTAMP"


def test_refs_name_one_contact() -> None:
    assert RefInput(email=" Ada@Example.COM ").key("ref") == ContactKey(
        RefKind.EMAIL, "ada@example.com"
    )
    assert RefInput(user_id="u 1").key("ref") == ContactKey(RefKind.USER_ID, "u 1")
    assert RefInput(anonymous_id="v").key("ref").role.value == "LEAD"
    for bad, code in (
        (RefInput(), "INVALID_CONTACT_REF"),
        (RefInput(user_id="a", email="a@b.c"), "INVALID_CONTACT_REF"),
        (RefInput(user_id=""), "INVALID_CONTACT_REF"),
        (RefInput(user_id="x" * 256), "INVALID_CONTACT_REF"),
        (RefInput(anonymous_id="a\nb"), "INVALID_CONTACT_REF"),
        (RefInput(email="a@"), "INVALID_EMAIL"),
    ):
        with pytest.raises(InvalidInput) as caught:
            bad.key("ref")
        assert caught.value.errors[0].code == code


def test_cursors_round_trip_and_refuse_garbage() -> None:
    cursor = encode_cursor("2026-11-28T10:00:00+00:00", "abc")
    assert decode_cursor(cursor, parts=2) == ["2026-11-28T10:00:00+00:00", "abc"]
    for bad in ("", "%%%", encode_cursor("only-one")):
        with pytest.raises(RequestError):
            decode_cursor(bad, parts=2)
    assert check_page_size(100) == 100
    with pytest.raises(RequestError):
        check_page_size(-1)

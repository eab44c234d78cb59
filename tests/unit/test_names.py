from __future__ import annotations

import pytest

from app.domain.errors import InvalidInput
from app.domain.names import key_problem, normalize_event_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Upgraded-Plan ", "upgraded-plan"),
        ("viewed pricing", "viewed pricing"),
        ("checkout:completed/v2_x", "checkout:completed/v2_x"),
        ("page consultée", "page consultée"),
        ("x" * 150, "x" * 150),
    ],
)
def test_valid_event_names_are_trimmed_and_lower_cased(raw: str, expected: str) -> None:
    assert normalize_event_name(raw) == expected


@pytest.mark.parametrize(
    "raw", ["", "   ", "x" * 151, "a.b", "$where", "a\x00b", "emoji🎉", "tab\there", "semi;colon"]
)
def test_invalid_event_names_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_event_name(raw)
    assert [e.code for e in caught.value.errors] == ["INVALID_EVENT_NAME"]


@pytest.mark.parametrize("key", ["plan", "new_price", "Order Number", "a-b:c/d", "k" * 150])
def test_valid_keys(key: str) -> None:
    assert key_problem(key) is None


@pytest.mark.parametrize(
    "key", ["", "k" * 151, "$where", "a.b", "nul\x00", " padded", "tab\t", "del\x7f"]
)
def test_invalid_keys(key: str) -> None:
    assert key_problem(key) is not None

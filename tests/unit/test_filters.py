"""The filter compiler, operator by operator: each compiled query is run over sample contact
documents with mongomock's matcher, so the tests check what it matches, not how it is spelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bson import ObjectId
from mongomock.filtering import filter_applies as _filter_applies

from app.domain.errors import InvalidInput
from app.domain.filters import MAX_DEPTH, compile_contact_filter, segment_ids, windows_of
from app.domain.windows import Window, window_field, window_match

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def filter_applies(query: dict[str, Any], document: dict[str, Any]) -> bool:
    """MongoDB's matching rules, as mongomock implements them."""
    return bool(_filter_applies(query, document))  # type: ignore[no-untyped-call]


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def summary(count: int, first: float, last: float) -> dict[str, Any]:
    return {"count": count, "first_at": ago(first), "last_at": ago(last)}


PEOPLE: dict[str, dict[str, Any]] = {
    "ada": {
        "role": "USER",
        "user_id": "ada",
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "created_at": ago(100),
        "signed_up_at": ago(100),
        "last_seen_at": ago(1),
        "attrs": {"plan": "pro", "seats": 12, "beta": True, "renewal": ago(-30)},
        "events": {
            "viewed-pricing": summary(5, 40, 2),
            "created-report": summary(3, 3, 1),
            "exported-pdf": summary(1, 45, 45),
        },
    },
    "bob": {
        "role": "USER",
        "user_id": "bob",
        "email": "bob@example.org",
        "name": "Bob",
        "created_at": ago(10),
        "last_seen_at": ago(40),
        "attrs": {"plan": "free", "seats": 1},
        "events": {"viewed-pricing": summary(2, 9, 8), "created-report": summary(1, 9, 9)},
    },
    "cy": {
        "role": "LEAD",
        "anonymous_id": "v-cy",
        "created_at": ago(0.25),
        "attrs": {"plan": 3},
        "events": {"viewed-pricing": summary(4, 0.4, 0.1)},
    },
    "dee": {"role": "USER", "user_id": "dee", "created_at": ago(2), "attrs": {}},
}
for key, person in PEOPLE.items():
    person["_id"] = ObjectId(f"{list(PEOPLE).index(key):024x}")


def matching(filter: dict[str, Any] | None, **options: Any) -> list[str]:
    """Who matches; `window_counts` ({window: {person: count}}) plays the store's lookups."""
    segments = options.get("segments", {})
    query = compile_contact_filter(filter, now=NOW, segments=segments, retention_days=90)
    caps = windows_of(filter, now=NOW, segments=segments, retention_days=90)
    found = []
    for key, person in PEOPLE.items():
        looked_up = dict(person)
        for window, counts in options.get("window_counts", {}).items():
            n = min(counts.get(key, 0), caps[window])  # the lookup stops counting at the cap
            looked_up[window_field(window)] = [{"n": n}] if n else []
        if filter_applies(query, looked_up):
            found.append(key)
    return found


def refused(filter: dict[str, Any], **options: Any) -> str:
    with pytest.raises(InvalidInput) as caught:
        matching(filter, **options)
    return caught.value.errors[0].code


def test_no_filter_or_an_empty_one_matches_everyone() -> None:
    assert matching(None) == matching({}) == ["ada", "bob", "cy", "dee"]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"role": "LEAD"}, ["cy"]),
        ({"role": "USER"}, ["ada", "bob", "dee"]),
        ({"userId": {"eq": "bob"}}, ["bob"]),
        ({"userId": {"ne": "bob"}}, ["ada", "cy", "dee"]),
        ({"userId": {"in": ["ada", "dee", "zed"]}}, ["ada", "dee"]),
        ({"email": {"eq": " ADA@example.com"}}, ["ada"]),
        ({"email": {"contains": "EXAMPLE.org"}}, ["bob"]),
        ({"email": {"exists": False}}, ["cy", "dee"]),
        ({"name": {"startsWith": "ada"}}, ["ada"]),
        ({"name": {"contains": ".*"}}, []),
        ({"name": {"startsWith": "B", "ne": "Bob"}}, []),
    ],
)
def test_standard_string_fields(filter: dict[str, Any], expected: list[str]) -> None:
    assert matching(filter) == expected


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"lastSeenAt": {"lessThanDaysAgo": 30}}, ["ada"]),
        ({"lastSeenAt": {"moreThanDaysAgo": 30}}, ["bob"]),
        ({"lastSeenAt": {"exists": False}}, ["cy", "dee"]),
        ({"createdAt": {"exactlyDaysAgo": 2}}, ["dee"]),
        ({"createdAt": {"exactlyDaysAgo": 0}}, ["cy"]),
        ({"createdAt": {"on": "2026-11-18"}}, ["bob"]),
        ({"createdAt": {"after": "2026-11-20T00:00:00Z"}}, ["cy", "dee"]),
        (
            {"createdAt": {"before": "2026-11-20T00:00:00Z", "after": "2026-01-01T00:00:00Z"}},
            ["ada", "bob"],
        ),
        ({"signedUpAt": {"exists": True}}, ["ada"]),
    ],
)
def test_standard_date_fields(filter: dict[str, Any], expected: list[str]) -> None:
    assert matching(filter) == expected


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ({"name": "plan", "string": {"eq": "pro"}}, ["ada"]),
        ({"name": "plan", "string": {"ne": "pro"}}, ["bob"]),
        ({"name": "plan", "number": {"eq": 3}}, ["cy"]),
        ({"name": "seats", "number": {"gte": 1, "lt": 12}}, ["bob"]),
        ({"name": "seats", "number": {"gt": 100}}, []),
        ({"name": "beta", "boolean": True}, ["ada"]),
        ({"name": "renewal", "date": {"moreThanDaysAgo": 0}}, []),
        ({"name": "renewal", "date": {"after": "2026-12-01T00:00:00Z"}}, ["ada"]),
        ({"name": "plan", "exists": False}, ["dee"]),
        ({"name": "plan"}, ["ada", "bob", "cy"]),
    ],
)
def test_custom_attributes_by_type(attribute: dict[str, Any], expected: list[str]) -> None:
    assert matching({"attribute": attribute}) == expected


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        # "viewed pricing more than 3 times"
        ({"name": "viewed-pricing", "count": {"gt": 3}}, ["ada", "cy"]),
        # "created more than two reports"
        ({"name": "Created-Report", "count": {"gt": 2}}, ["ada"]),
        # "first created a report less than 5 days ago"
        ({"name": "created-report", "firstAt": {"lessThanDaysAgo": 5}}, ["ada"]),
        # a count satisfied by 0 includes those who never did it
        ({"name": "created-report", "count": {"lt": 2}}, ["bob", "cy", "dee"]),
        ({"name": "created-report", "count": {"eq": 0}}, ["cy", "dee"]),
        ({"name": "exported-pdf", "performed": False}, ["bob", "cy", "dee"]),
        ({"name": "exported-pdf", "performed": True}, ["ada"]),
        ({"name": "exported-pdf"}, ["ada"]),
        # "has not exported for 30 days", excluding those who never did
        ({"name": "exported-pdf", "lastAt": {"moreThanDaysAgo": 30}}, ["ada"]),
        ({"name": "viewed-pricing", "lastAt": {"exactlyDaysAgo": 8}}, ["bob"]),
        (
            {"name": "viewed-pricing", "count": {"gte": 2}, "lastAt": {"lessThanDaysAgo": 5}},
            ["ada", "cy"],
        ),
    ],
)
def test_event_predicates(event: dict[str, Any], expected: list[str]) -> None:
    assert matching({"event": event}) == expected


def test_has_not_done_it_for_30_days_including_never() -> None:
    recent = {"event": {"name": "exported-pdf", "lastAt": {"lessThanDaysAgo": 30}}}
    assert matching({"not": recent}) == ["ada", "bob", "cy", "dee"]
    recent_report = {"event": {"name": "created-report", "lastAt": {"lessThanDaysAgo": 5}}}
    assert matching({"not": recent_report}) == ["bob", "cy", "dee"]


def test_and_or_not_nest_and_fields_together_are_anded() -> None:
    assert matching({"role": "USER", "lastSeenAt": {"lessThanDaysAgo": 30}}) == ["ada"]
    assert matching({"or": [{"role": "LEAD"}, {"userId": {"eq": "dee"}}]}) == ["cy", "dee"]
    assert matching({"and": [{"role": "USER"}, {"not": {"userId": {"eq": "ada"}}}]}) == [
        "bob",
        "dee",
    ]
    assert matching(
        {
            "or": [
                {
                    "and": [
                        {"role": "USER"},
                        {"event": {"name": "viewed-pricing", "count": {"gt": 3}}},
                    ]
                },
                {
                    "not": {
                        "or": [{"role": "USER"}, {"attribute": {"name": "plan", "exists": False}}]
                    }
                },
            ]
        }
    ) == ["ada", "cy"]
    assert matching({"or": []}) == []
    assert matching({"and": []}) == ["ada", "bob", "cy", "dee"]


def test_saved_segments_are_expanded_and_cycles_refused() -> None:
    segments = {
        "pricing": {"event": {"name": "viewed-pricing", "count": {"gt": 3}}},
        "pricing-users": {"inSegment": "pricing", "role": "USER"},
        "a": {"inSegment": "b"},
        "b": {"or": [{"inSegment": "a"}]},
    }
    assert matching({"inSegment": "pricing-users"}, segments=segments) == ["ada"]
    assert matching({"not": {"inSegment": "pricing"}}, segments=segments) == ["bob", "dee"]
    assert refused({"inSegment": "a"}, segments=segments) == "SEGMENT_CYCLE"
    assert refused({"inSegment": "gone"}, segments=segments) == "SEGMENT_NOT_FOUND"


def test_the_segments_a_filter_names_at_any_depth() -> None:
    filter = {"or": [{"inSegment": "a"}, {"not": {"and": [{"inSegment": "b"}]}}], "inSegment": "c"}
    assert segment_ids(filter) == {"a", "b", "c"}
    assert segment_ids({"role": "USER", "inSegment": None}) == set()
    assert segment_ids(None) == set()


def test_windows_compare_the_count_looked_up_per_contact() -> None:
    pricing: dict[str, Any] = {
        "name": "viewed-pricing",
        "within": {
            "lastDays": 7,
            "count": {"gte": 2},
            "metadata": [{"key": "item", "string": {"contains": "zelda"}}],
        },
    }
    fewer = {**pricing, "within": {**pricing["within"], "count": {"lt": 2}}}
    both = windows_of(
        {"or": [{"event": pricing}, {"event": fewer}]}, now=NOW, segments={}, retention_days=90
    )
    [(window, cap)] = both.items()  # one window, compared twice
    assert (window.name, window.last_days, cap) == ("viewed-pricing", 7, 3)
    counts = {window: {"ada": 30, "bob": 1}}
    assert matching({"event": pricing}, window_counts=counts) == ["ada"]
    # Fewer than 2 includes every contact with no such event in the window.
    assert matching({"event": fewer}, window_counts=counts) == ["bob", "cy", "dee"]
    assert matching({"not": {"event": pricing}}, window_counts=counts) == ["bob", "cy", "dee"]
    # "not 0" needs an event in the window: an empty lookup is not a count of anything else.
    some = {**pricing, "within": {**pricing["within"], "count": {"ne": 0}}}
    assert matching({"event": some}, window_counts=counts) == ["ada", "bob"]
    exactly = {**pricing, "within": {**pricing["within"], "count": {"eq": 30}}}
    assert matching({"event": exactly}, window_counts=counts) == ["ada"]


def test_a_window_matches_recent_events_with_their_metadata() -> None:
    window = Window("checked-out", 7, '[{"metadata.item": {"$type": "string"}}]')
    match = window_match(window, workspace_id="w", now=NOW)
    event = {
        "workspace_id": "w",
        "name": "checked-out",
        "occurred_at": ago(3),
        "metadata": {"item": "Zelda"},
    }
    assert filter_applies(match, event)
    assert not filter_applies(match, {**event, "occurred_at": ago(8)})
    assert not filter_applies(match, {**event, "metadata": {"item": 5}})
    money = windows_of(
        {"event": {"name": "paid", "within": {"lastDays": 7, "count": {"gt": 0},
                   "metadata": [{"key": "amount", "number": {"gte": 1000}}]}}},
        now=NOW, segments={}, retention_days=90,
    )  # fmt: skip
    [paid_window] = money
    paid = window_match(paid_window, workspace_id="w", now=NOW)
    base = {"workspace_id": "w", "name": "paid", "occurred_at": ago(1)}
    assert filter_applies(
        paid, {**base, "metadata": {"amount": {"amount": 5999, "currency": "EUR"}}}
    )
    assert filter_applies(paid, {**base, "metadata": {"amount": 1500}})
    assert not filter_applies(
        paid, {**base, "metadata": {"amount": {"amount": 10, "currency": "EUR"}}}
    )


@pytest.mark.parametrize(
    ("filter", "code"),
    [
        ({"event": {"name": "$where"}}, "INVALID_EVENT_NAME"),
        ({"event": {"name": "a.b", "performed": True}}, "INVALID_EVENT_NAME"),
        ({"attribute": {"name": "$gt", "exists": True}}, "INVALID_ATTRIBUTE_NAME"),
        ({"attribute": {"name": "a.b"}}, "INVALID_ATTRIBUTE_NAME"),
        ({"$where": "1"}, "INVALID_FILTER"),
        ({"role": {"$ne": "USER"}}, "INVALID_FILTER"),
        ({"userId": {"eq": {"$ne": 1}}}, "INVALID_FILTER"),
        ({"event": {"name": "x", "count": {"$gt": 1}}}, "INVALID_FILTER"),
        ({"event": {"name": "x", "count": {}}}, "INVALID_FILTER"),
        ({"event": {"name": "x", "within": {"lastDays": 91, "count": {"gt": 0}}}}, "INVALID_WINDOW"),
        ({"event": {"name": "x", "within": {"lastDays": 0, "count": {"gt": 0}}}}, "INVALID_WINDOW"),
        ({"event": {"name": "x", "within": {"lastDays": 7, "count": {"gt": 0},
                    "metadata": [{"key": "$x"}]}}}, "INVALID_METADATA_KEY"),
        ({"createdAt": {"on": "28/11/2026"}}, "INVALID_FILTER"),
        ({"createdAt": {"moreThanDaysAgo": -1}}, "INVALID_FILTER"),
        ({"createdAt": {"before": "soon"}}, "INVALID_FILTER"),
    ],
)  # fmt: skip
def test_abusive_or_malformed_filters_are_refused(filter: dict[str, Any], code: str) -> None:
    assert refused(filter) == code


def test_nesting_and_size_are_bounded() -> None:
    deep: dict[str, Any] = {"role": "USER"}
    for _ in range(MAX_DEPTH - 1):
        deep = {"not": deep}
    assert matching(deep) == ["cy"]  # seven nots: not a USER
    assert refused({"not": deep}) == "FILTER_TOO_DEEP"
    wide = {"or": [{"userId": {"eq": f"u{i}"}} for i in range(101)]}
    assert refused(wide) == "FILTER_TOO_COMPLEX"
    assert matching({"or": [{"userId": {"eq": f"u{i}"}} for i in range(100)]}) == []

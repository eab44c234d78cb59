"""Validation of one event, and what a set of events adds to summaries and the catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain.errors import InvalidInput
from app.domain.events import (
    SummaryDelta,
    TrackRequest,
    ValidEvent,
    contact_deltas,
    event_type_deltas,
    summaries_after_each,
    summaries_counted_back,
    summaries_need_before,
    validate_event,
)
from app.domain.metadata import Link, Money
from app.domain.models import EventSummary
from app.domain.refs import ContactKey, RefInput, RefKind

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
ADA = ContactKey(RefKind.USER_ID, "ada")
BOB = ContactKey(RefKind.ANONYMOUS_ID, "bob")


def event(contact: ContactKey, name: str, hours_ago: int, **metadata: object) -> ValidEvent:
    return ValidEvent(name, contact, NOW - timedelta(hours=hours_ago), dict(metadata), None)  # type: ignore[arg-type]


def test_a_valid_request_becomes_a_valid_event() -> None:
    valid = validate_event(
        TrackRequest(
            name=" Bought-Game ",
            contact=RefInput(user_id="ada"),
            metadata={"price": {"amount": 5999, "currency": "usd"}},
            idempotency_key="order-1",
        ),
        now=NOW,
        max_metadata_keys=20,
    )
    assert valid == ValidEvent("bought-game", ADA, NOW, {"price": Money(5999, "USD")}, "order-1")


def test_every_field_of_a_bad_request_is_reported() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_event(
            TrackRequest(
                name="",
                contact=RefInput(),
                occurred_at=NOW + timedelta(hours=1),
                metadata={"$x": 1},
                idempotency_key="k" * 201,
            ),
            now=NOW,
            max_metadata_keys=20,
        )
    assert [(e.code, e.field) for e in caught.value.errors] == [
        ("INVALID_CONTACT_REF", ("contact",)),
        ("INVALID_EVENT_NAME", ("name",)),
        ("INVALID_TIMESTAMP", ("occurredAt",)),
        ("INVALID_METADATA_KEY", ("metadata", "$x")),
        ("INVALID_IDEMPOTENCY_KEY", ("idempotencyKey",)),
    ]


def test_contact_deltas_add_up_per_contact_and_name_in_any_order() -> None:
    events = [
        event(ADA, "viewed", 1),
        event(BOB, "viewed", 5),
        event(ADA, "viewed", 3),
        event(ADA, "bought", 2),
        event(ADA, "viewed", 2),
    ]
    deltas = contact_deltas(events)
    assert deltas[ADA].names == {
        "viewed": SummaryDelta(3, NOW - timedelta(hours=3), NOW - timedelta(hours=1)),
        "bought": SummaryDelta(1, NOW - timedelta(hours=2), NOW - timedelta(hours=2)),
    }
    assert deltas[ADA].last_seen_at == NOW - timedelta(hours=1)
    assert deltas[BOB].names == {
        "viewed": SummaryDelta(1, NOW - timedelta(hours=5), NOW - timedelta(hours=5))
    }
    assert contact_deltas(list(reversed(events))) == deltas


def test_event_type_deltas_count_new_contacts_and_every_metadata_type() -> None:
    events = [
        event(ADA, "viewed", 1, path="/pricing"),
        event(BOB, "viewed", 4, path=Link("https://a.example/pricing"), n=1),
        event(ADA, "viewed", 2, path="/docs"),
    ]
    deltas = event_type_deltas(events, first_time={(BOB, "viewed"), (ADA, "other")})
    viewed = deltas["viewed"]
    assert viewed.summary == SummaryDelta(3, NOW - timedelta(hours=4), NOW - timedelta(hours=1))
    assert viewed.new_contacts == 1
    assert viewed.metadata_types == {"path": ["string", "link"], "n": ["number"]}
    assert set(deltas) == {"viewed"}


def test_summaries_after_each_event_of_one_transaction() -> None:
    day = datetime(2026, 1, 10, tzinfo=UTC)
    before = {("c1", "paid"): EventSummary(name="paid", count=4, first_at=day, last_at=day)}
    events = [
        ("c1", "paid", day + timedelta(days=2)),
        ("c2", "paid", day),
        ("c1", "paid", day - timedelta(days=5)),
        ("c1", "viewed", day),
    ]
    after = summaries_after_each(events, before=before)
    assert [(s.name, s.count, s.first_at, s.last_at) for s in after] == [
        ("paid", 5, day, day + timedelta(days=2)),
        ("paid", 1, day, day),
        ("paid", 6, day - timedelta(days=5), day + timedelta(days=2)),
        ("viewed", 1, day, day),
    ]
    assert before[("c1", "paid")].count == 4  # left as it was


def test_summaries_need_before_only_where_one_contact_has_one_name_at_two_instants() -> None:
    cy = ContactKey(RefKind.USER_ID, "cy")
    ada_by_email = ContactKey(RefKind.EMAIL, "ada@example.com")
    bob_alias = ContactKey(RefKind.ANONYMOUS_ID, "bob-2")
    assert not summaries_need_before([])
    assert not summaries_need_before([event(ADA, "paid", 1), event(ADA, "paid", 1)])
    assert not summaries_need_before([event(ADA, "paid", 1), event(ADA, "viewed", 2)])
    assert not summaries_need_before([event(ADA, "paid", 1), event(cy, "paid", 2)])
    assert not summaries_need_before([event(BOB, "paid", 1), event(bob_alias, "paid", 1)])
    assert summaries_need_before([event(ADA, "paid", 1), event(ADA, "paid", 2)])
    # Refs that may name one contact: of two kinds, two anonymousIds, two ids.
    assert summaries_need_before([event(ADA, "paid", 1), event(ada_by_email, "paid", 2)])
    assert summaries_need_before([event(BOB, "paid", 1), event(bob_alias, "paid", 2)])
    lower, upper = (ContactKey(RefKind.ID, id_) for id_ in ("ab" * 12, "AB" * 12))
    assert summaries_need_before([event(lower, "paid", 1), event(upper, "paid", 2)])


def test_summaries_counted_back_match_summaries_after_each_at_one_instant() -> None:
    day = datetime(2026, 1, 10, tzinfo=UTC)
    at = day + timedelta(days=3)
    before = {("c1", "paid"): EventSummary(name="paid", count=4, first_at=day, last_at=day)}
    events = [("c1", "paid"), ("c2", "paid"), ("c1", "paid"), ("c1", "viewed"), ("c1", "paid")]
    each = summaries_after_each([(c, n, at) for c, n in events], before=before)
    final = {pair: summary for pair, summary in zip(events, each, strict=True)}
    assert summaries_counted_back(events, after=final) == each
    assert [s.count for s in each] == [5, 1, 6, 1, 7]

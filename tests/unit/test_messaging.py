"""Which rules an event fires (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.domain.messaging import compose, fired_by, metadata_matches
from app.domain.metadata import Link, Money, TypedValue
from app.domain.models import Contact, ContactRole, Event
from app.domain.rules import Rule, RuleSpec

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def rule(**spec: Any) -> Rule:
    base = {
        "name": "r",
        "trigger_kind": "EVENT",
        "event_name": "bought",
        "body": "Hi {{contact.name}}",
    }
    return Rule(
        id="r1", spec=RuleSpec(**{**base, **spec}), created_at=NOW, enabled_at=NOW, sent_count=0
    )


def event(**metadata: Any) -> Event:
    return Event(id="e", workspace_id="w", contact_id="c", name="bought", occurred_at=NOW,
                 received_at=NOW + timedelta(seconds=1), metadata=metadata)  # fmt: skip


def test_metadata_conditions() -> None:
    data: dict[str, TypedValue] = {
        "title": "Zelda",
        "price": Money(5999, "EUR"),
        "gift": True,
        "n": 3,
    }
    assert metadata_matches([{"key": "title", "string": {"contains": "zel"}}], data)
    assert not metadata_matches([{"key": "title", "string": {"eq": "zelda"}}], data)
    assert metadata_matches([{"key": "price", "number": {"gte": 5000}}], data)
    assert metadata_matches([{"key": "n", "number": {"gt": 2, "lt": 4}}], data)
    assert metadata_matches([{"key": "gift", "boolean": True}], data)
    assert not metadata_matches([{"key": "gift", "boolean": False}], data)
    assert metadata_matches([{"key": "missing", "string": {"ne": "x"}}], data)
    assert not metadata_matches([{"key": "missing"}], data)
    assert metadata_matches([{"key": "title"}, {"key": "n", "number": {"ne": 4}}], data)
    assert not metadata_matches([{"key": "title", "number": {"gt": 0}}], data)


def test_rules_fire_for_their_event_once_enabled() -> None:
    assert fired_by([rule()], event()) == [rule()]
    assert fired_by([rule(enabled=False)], event()) == []
    assert fired_by([rule(trigger_kind="AUDIENCE", event_name=None)], event()) == []
    assert fired_by([rule(event_name="other")], event()) == []
    late = Rule(
        id="r2",
        spec=rule().spec,
        created_at=NOW,
        enabled_at=NOW + timedelta(minutes=1),
        sent_count=0,
    )
    assert fired_by([late], event()) == []
    assert (
        fired_by(
            [rule(metadata=[{"key": "title", "string": {"eq": "Mario"}}])], event(title="Zelda")
        )
        == []
    )


def test_compose_renders_subject_and_body() -> None:
    contact = Contact(id="c", workspace_id="w", role=ContactRole.USER, created_at=NOW, name="Ada")
    subject, body = compose(
        rule(subject="For {{contact.name}}", body="{{event.metadata.link}}"),
        contact,
        event(link=Link("https://a.example", "A")),
    )
    assert (subject, body) == ("For Ada", "A")

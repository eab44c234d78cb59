"""admit: in input order, each event judged as if sent after the last one counted."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain.events import ValidEvent
from app.domain.metadata import TypedValue, type_metadata
from app.domain.refs import ContactKey, RefKind
from app.services.admission import admit
from app.services.event_names import Catalog

ADA = ContactKey(RefKind.USER_ID, "ada")
NOW = datetime(2026, 11, 29, tzinfo=UTC)


def event(name: str, key: str | None = None, **metadata: object) -> ValidEvent:
    typed: dict[str, TypedValue] = type_metadata(metadata, max_keys=20)
    return ValidEvent(name, ADA, NOW, typed, key)


def test_duplicates_take_the_first_counted_claim_and_what_is_taken() -> None:
    events = dict(enumerate([event("a", "k1"), event("a", "k1"), event("a", "k2"), event("a")]))
    admission = admit(
        events, catalog=Catalog(keys={"a": set()}, room=0), taken={"k2"}, name_cap=5, key_cap=5
    )
    assert list(admission.counted) == [0, 3]
    assert admission.duplicates == {1: "k1", 2: "k2"}
    assert admission.refused == {}


def test_refused_events_leave_their_key_room_and_metadata_keys() -> None:
    events = dict(
        enumerate(
            [
                event("new-1", "k"),  # takes the last room
                event("new-2", "k2"),  # no room left: refused, k2 stays free
                event("a", "k2", x=1, y=2, z=3),  # 3 new keys past a cap of 2: refused
                event("a", "k2", x=1),  # k2 counted here
                event("a", None, y=1),
                event("a", None, z=1),  # a's third key: refused
            ]
        )
    )
    admission = admit(
        events, catalog=Catalog(keys={"a": set()}, room=1), taken=(), name_cap=3, key_cap=2
    )
    assert admission.counted == {0: [], 3: ["x"], 4: ["y"]}
    assert {i: e.code for i, e in admission.refused.items()} == {
        1: "TOO_MANY_EVENT_NAMES",
        2: "TOO_MANY_DISTINCT_METADATA_KEYS",
        5: "TOO_MANY_DISTINCT_METADATA_KEYS",
    }
    assert admission.duplicates == {}
    assert admission.new_names == {"new-1"}

"""An event as sent, and the checks that turn it into an event Tally can store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from app.domain.errors import InvalidInput, UserError
from app.domain.metadata import TypedValue, to_stored, type_metadata, value_type
from app.domain.models import EventSummary
from app.domain.names import normalize_event_name
from app.domain.refs import ContactKey, RefInput, RefKind
from app.domain.storable import storable_problems
from app.domain.timestamps import check_occurred_at

MAX_IDEMPOTENCY_KEY_LENGTH = 200


@dataclass(frozen=True)
class TrackRequest:
    """What a caller sent, before validation."""

    name: str
    contact: RefInput
    occurred_at: datetime | None = None
    metadata: object = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ValidEvent:
    name: str
    contact: ContactKey
    occurred_at: datetime
    metadata: dict[str, TypedValue]
    idempotency_key: str | None


def validate_event(request: TrackRequest, *, now: datetime, max_metadata_keys: int) -> ValidEvent:
    """Every problem of one input, raised together as InvalidInput."""
    errors: list[UserError] = []
    name = occurred_at = contact = None
    metadata: dict[str, TypedValue] = {}
    try:
        contact = request.contact.key("contact")
    except InvalidInput as e:
        errors += e.errors
    try:
        name = normalize_event_name(request.name)
    except InvalidInput as e:
        errors += [error.under("name") for error in e.errors]
    try:
        occurred_at = check_occurred_at(request.occurred_at, now=now)
    except InvalidInput as e:
        errors += e.errors
    try:
        metadata = type_metadata(request.metadata, max_keys=max_metadata_keys)
    except InvalidInput as e:
        errors += e.errors
    key = request.idempotency_key
    if key is not None and not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH:
        errors.append(
            UserError(
                "INVALID_IDEMPOTENCY_KEY",
                f"idempotencyKey has 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters.",
                ("idempotencyKey",),
            )
        )
    # Last, so that nothing of an input that the store could not hold is ever written.
    errors += storable_problems(
        {"metadata": {k: to_stored(v) for k, v in metadata.items()}, "idempotencyKey": key}
    )
    if errors or name is None or occurred_at is None or contact is None:
        raise InvalidInput(errors)
    return ValidEvent(name, contact, occurred_at, metadata, key)


# ---------------------------------------------------------------- what a set of events adds up to


@dataclass
class SummaryDelta:
    """What some events of one name add to a summary: count, earliest and latest instants."""

    count: int
    first_at: datetime
    last_at: datetime

    def add(self, occurred_at: datetime) -> None:
        self.count += 1
        self.first_at = min(self.first_at, occurred_at)
        self.last_at = max(self.last_at, occurred_at)


@dataclass
class ContactDelta:
    """What some events add to one contact: a delta per event name, and lastSeenAt."""

    names: dict[str, SummaryDelta]
    last_seen_at: datetime


@dataclass
class EventTypeDelta:
    """What some events add to one catalog entry."""

    summary: SummaryDelta
    new_contacts: int
    metadata_types: dict[str, list[str]]  # key -> types, first seen first


def contact_deltas(events: list[ValidEvent]) -> dict[ContactKey, ContactDelta]:
    deltas: dict[ContactKey, ContactDelta] = {}
    for event in events:
        delta = deltas.get(event.contact)
        if delta is None:
            deltas[event.contact] = ContactDelta(
                names={event.name: SummaryDelta(1, event.occurred_at, event.occurred_at)},
                last_seen_at=event.occurred_at,
            )
            continue
        delta.last_seen_at = max(delta.last_seen_at, event.occurred_at)
        if event.name in delta.names:
            delta.names[event.name].add(event.occurred_at)
        else:
            delta.names[event.name] = SummaryDelta(1, event.occurred_at, event.occurred_at)
    return deltas


def event_type_deltas(
    events: list[ValidEvent], *, first_time: set[tuple[ContactKey, str]]
) -> dict[str, EventTypeDelta]:
    """Catalog deltas; `first_time` holds the (contact, name) pairs no earlier event had."""
    deltas: dict[str, EventTypeDelta] = {}
    for event in events:
        delta = deltas.get(event.name)
        if delta is None:
            delta = deltas[event.name] = EventTypeDelta(
                SummaryDelta(0, event.occurred_at, event.occurred_at), 0, {}
            )
        delta.summary.add(event.occurred_at)
        for key, value in event.metadata.items():
            types = delta.metadata_types.setdefault(key, [])
            if (kind := value_type(value)) not in types:  # a StrEnum: equal to its value
                types.append(kind.value)
    for _contact, name in first_time:
        if name in deltas:
            deltas[name].new_contacts += 1
    return deltas


def summaries_after_each(
    events: list[tuple[str, str, datetime]], *, before: dict[tuple[str, str], EventSummary]
) -> list[EventSummary]:
    """The summary after each of `events` ((contact id, name, occurredAt), recorded in this
    order in one transaction), from the summaries `before` them by (contact id, name)."""
    running = dict(before)
    after = []
    for contact_id, name, occurred_at in events:
        last = running.get((contact_id, name))
        first_at, last_at = (
            (occurred_at, occurred_at) if last is None else (last.first_at, last.last_at)
        )
        summary = EventSummary(
            name=name,
            count=1 if last is None else last.count + 1,
            first_at=min(first_at, occurred_at),
            last_at=max(last_at, occurred_at),
        )
        running[(contact_id, name)] = summary
        after.append(summary)
    return after


def summaries_need_before(events: Iterable[ValidEvent]) -> bool:
    """Whether `summaries_after_each` needs the summaries as they were before these events.
    Not when each contact's events of one name share one instant: `summaries_counted_back` then
    answers from the summaries after them. Refs stand for contacts only where no two can name
    one: userIds, or users' emails (normalized); refs of different kinds may, and so may two
    anonymousIds (a user keeps those of the leads merged into it) or two ids (hex digits in
    either case)."""
    by_name: dict[str, list[ValidEvent]] = {}
    for event in events:
        by_name.setdefault(event.name, []).append(event)
    for same_name in by_name.values():
        if len({event.occurred_at for event in same_name}) == 1:
            continue
        kinds = {event.contact.kind for event in same_name}
        if kinds != {RefKind.USER_ID} and kinds != {RefKind.EMAIL}:
            return True
        instants: dict[ContactKey, datetime] = {}
        for event in same_name:
            if instants.setdefault(event.contact, event.occurred_at) != event.occurred_at:
                return True
    return False


def summaries_counted_back(
    events: list[tuple[str, str]], *, after: dict[tuple[str, str], EventSummary]
) -> list[EventSummary]:
    """The summary after each of `events` ((contact id, name), recorded in this order in one
    transaction) from the summaries `after` all of them by (contact id, name), when the events
    of each pair share one instant: firstAt and lastAt are then the same after each of them,
    and the count is the final one less the pair's later events."""
    later = Counter(events)
    each = []
    for pair in events:
        later[pair] -= 1
        last = after[pair]
        each.append(EventSummary(last.name, last.count - later[pair], last.first_at, last.last_at))
    return each

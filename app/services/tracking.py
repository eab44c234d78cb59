"""trackEvent and trackEvents: validate, then record events, summaries and catalog together.

One pipeline serves one event and a thousand: each step is one store command whatever the
number of events (claim keys, update contacts, insert raw events, update the catalog), and the
store picks the single-document form when there is one document.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain.errors import InvalidInput, UserError, check_batch_size
from app.domain.events import (
    ContactDelta,
    TrackRequest,
    ValidEvent,
    contact_deltas,
    event_type_deltas,
    summaries_after_each,
    summaries_counted_back,
    summaries_need_before,
    validate_event,
)
from app.domain.models import Contact, Event, EventSummary, Workspace
from app.domain.refs import ContactKey, RefKind
from app.domain.timestamps import days_before
from app.metrics import Metrics
from app.services.admission import admit
from app.services.event_names import read_catalog
from app.services.group_commit import GroupCommit
from app.settings import Settings
from app.store import contacts as store_contacts
from app.store import event_types as store_event_types
from app.store import events as store_events
from app.store import idempotency as store_idempotency
from app.store import workspaces as store_workspaces
from app.store.database import Store


@dataclass(frozen=True)
class TrackOutcome:
    event: Event | None = None
    contact: Contact | None = None
    summary: EventSummary | None = None
    duplicate: bool = False
    errors: list[UserError] = field(default_factory=list)

    @property
    def result(self) -> str:
        return "rejected" if self.errors else "duplicate" if self.duplicate else "accepted"


# What runs once events are recorded (automatic messages): (event, contact) pairs, and now.
AfterRecording = Callable[[list[tuple[Event, Contact]], datetime], Awaitable[None]]


@dataclass
class _Batch:
    """Validated events by input index, and what recording them decided."""

    valid: dict[int, ValidEvent]
    event_ids: dict[int, str]
    outcomes: dict[int, TrackOutcome] = field(default_factory=dict)
    duplicates: dict[int, str] = field(default_factory=dict)  # index -> idempotency key
    originals: dict[str, str] = field(default_factory=dict)  # key -> first event's id, as read


class Tracker:
    """Records events for one workspace."""

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        metrics: Metrics,
        workspace: Workspace,
        after: AfterRecording | None = None,
        group_commit: GroupCommit[TrackRequest, TrackOutcome] | None = None,
    ) -> None:
        self._store = store
        self._group_commit = group_commit
        self._settings = settings
        self._metrics = metrics
        self._workspace = workspace
        self._after = after

    async def track(self, request: TrackRequest, *, now: datetime) -> TrackOutcome:
        """One event: with a `group_commit`, recorded with the workspace's events that arrive
        at the same time (app.services.group_commit)."""
        if self._group_commit is None:
            [outcome] = await self.track_many([request], now=now)
        else:
            outcome = await self._group_commit.add(
                self._workspace.id,
                request,
                now=now,
                # Any tracker of the workspace serves the whole group: a Tracker keeps no state
                # of its request's.
                record=lambda requests, now: self.track_many(requests, now=now, each_summary=True),
            )
        if outcome.duplicate and outcome.event is not None:
            contact = await store_contacts.find_contact_by_id(
                self._store, workspace_id=self._workspace.id, contact_id=outcome.event.contact_id
            )
            summary = contact.summaries.get(outcome.event.name) if contact else None
            return TrackOutcome(
                event=outcome.event, contact=contact, summary=summary, duplicate=True
            )
        return outcome

    async def track_many(
        self, requests: list[TrackRequest], *, now: datetime, each_summary: bool = False
    ) -> list[TrackOutcome]:
        """One outcome per request, in order. Invalid requests never block valid ones.

        An outcome's summary is its contact's after every event of the batch, or with
        `each_summary` after its own event (in request order; one more read when one contact's
        events of one name may come at different instants, `summaries_need_before`)."""
        check_batch_size(len(requests), self._settings.max_batch_size)
        batch = _Batch(valid={}, event_ids={})
        for index, request in enumerate(requests):
            try:
                batch.valid[index] = validate_event(
                    request, now=now, max_metadata_keys=self._settings.max_metadata_keys
                )
                batch.event_ids[index] = store_events.new_event_id()
            except InvalidInput as e:
                batch.outcomes[index] = TrackOutcome(errors=e.errors)
        if batch.valid:
            await self._store.in_transaction(
                lambda: self._record(batch, now=now, each_summary=each_summary)
            )
            await self._explain_duplicates(batch, now=now)
        outcomes = [batch.outcomes[index] for index in range(len(requests))]
        for result, count in Counter(outcome.result for outcome in outcomes).items():
            self._metrics.events_ingested.labels(result=result).inc(count)
        recorded = [
            (o.event, o.contact)
            for o in outcomes
            if o.result == "accepted" and o.event and o.contact
        ]
        if self._after is not None and recorded:
            await self._after(recorded, now)
        return outcomes

    async def _record(self, batch: _Batch, *, now: datetime, each_summary: bool) -> None:
        """Refs by id that name nobody, then what is counted (keys and caps, in input order),
        the keys' claims, then summaries, raw events and catalog: the order a retry repairs."""
        store, workspace_id = self._store, self._workspace.id
        batch.outcomes = {i: o for i, o in batch.outcomes.items() if o.errors}  # a retried run
        expires_at = now + timedelta(days=self._workspace.retention_days)
        candidates = dict(batch.valid)
        for index in await _naming_nobody(store, workspace_id=workspace_id, events=candidates):
            batch.outcomes[index] = TrackOutcome(errors=[_contact_not_found()])
            del candidates[index]
        name_cap = self._settings.max_event_names
        catalog = await read_catalog(
            store,
            workspace_id=workspace_id,
            names=(e.name for e in candidates.values()),
            cap=name_cap,
        )
        keys = {e.idempotency_key for e in candidates.values() if e.idempotency_key}
        taken = (
            await store_idempotency.event_ids_for_keys(store, workspace_id=workspace_id, keys=keys)
            if keys
            else {}
        )
        admission = admit(
            candidates,
            catalog=catalog,
            taken=taken,
            name_cap=name_cap,
            key_cap=self._settings.max_metadata_keys_per_name,
        )
        for index, error in admission.refused.items():
            batch.outcomes[index] = TrackOutcome(errors=[error])
        batch.duplicates = dict(admission.duplicates)
        claims = {
            key: batch.event_ids[index]
            for index in admission.counted
            if (key := candidates[index].idempotency_key) is not None
        }
        claimed = await store_idempotency.claim_keys(
            store, workspace_id=workspace_id, claims=claims, expires_at=expires_at
        )
        batch.originals = {**taken, **{k: v for k, v in claims.items() if k in claimed}}
        counted: dict[int, ValidEvent] = {}
        for index in admission.counted:
            key = candidates[index].idempotency_key
            if key is not None and key not in claimed:  # claimed meanwhile (no transactions)
                batch.duplicates[index] = key
            else:
                counted[index] = candidates[index]
        deltas = contact_deltas(list(counted.values()))
        before = None
        if each_summary and summaries_need_before(counted.values()):
            before = await store_contacts.find_contacts(
                store, workspace_id=workspace_id, keys=deltas
            )
        contacts = await store_contacts.record_events(
            store, workspace_id=workspace_id, deltas=deltas, now=now, before=before
        )
        # Without transactions a contact may go between the check above and the write.
        unknown = {i: e for i, e in counted.items() if e.contact not in contacts}
        for index in unknown:
            batch.outcomes[index] = TrackOutcome(errors=[_contact_not_found()])
            del counted[index]
        released = [e.idempotency_key for e in unknown.values() if e.idempotency_key]
        if released:
            await store_idempotency.release_keys(store, workspace_id=workspace_id, keys=released)
        events = {
            index: Event(
                id=batch.event_ids[index],
                workspace_id=workspace_id,
                contact_id=contacts[event.contact].id,
                name=event.name,
                occurred_at=event.occurred_at,
                received_at=now,
                metadata=event.metadata,
            )
            for index, event in counted.items()
        }
        await store_events.insert_events(
            store,
            documents=[
                store_events.event_document(e, expires_at=expires_at) for e in events.values()
            ],
        )
        await store_event_types.record_event_types(
            store,
            workspace_id=workspace_id,
            deltas=event_type_deltas(
                list(counted.values()), first_time=_first_time(deltas, contacts)
            ),
            now=now,
            contact=next((e.contact_id for e in events.values()), ""),
            new_keys=_new_keys_by_name(counted, admission.counted),
        )
        if admission.new_names & {event.name for event in counted.values()}:
            await store_workspaces.note_new_event_names(store, workspace_id=workspace_id)
        if before is not None:
            summaries = _running_summaries(events, before=before.values())
        else:
            summaries = {
                index: contacts[event.contact].summaries[event.name]
                for index, event in counted.items()
            }
            if each_summary:
                summaries = _counted_back(events, after=summaries)
        for index, event in counted.items():
            batch.outcomes[index] = TrackOutcome(
                event=events[index], contact=contacts[event.contact], summary=summaries[index]
            )

    async def _explain_duplicates(self, batch: _Batch, *, now: datetime) -> None:
        """A duplicate carries the first event sent with its key, while it is still visible."""
        if not batch.duplicates:
            return
        store, workspace_id = self._store, self._workspace.id
        event_ids = dict(batch.originals)
        if missing := set(batch.duplicates.values()) - event_ids.keys():
            # claimed by another request after this batch's read (no transactions)
            event_ids |= await store_idempotency.event_ids_for_keys(
                store, workspace_id=workspace_id, keys=missing
            )
        originals = await store_events.find_events(
            store,
            workspace_id=workspace_id,
            event_ids=event_ids.values(),
            visible_after=days_before(now, self._workspace.retention_days),
        )
        for index, key in batch.duplicates.items():
            original = originals.get(event_ids.get(key, ""))
            batch.outcomes[index] = TrackOutcome(event=original, duplicate=True)


def _first_time(
    deltas: dict[ContactKey, ContactDelta], contacts: dict[ContactKey, Contact]
) -> set[tuple[ContactKey, str]]:
    """(contact, name) pairs whose summary holds only this batch's events: new to the catalog."""
    pairs = set()
    for key, delta in deltas.items():
        contact = contacts.get(key)
        if contact is None:
            continue
        for name, summary in delta.names.items():
            if contact.summaries[name].count == summary.count:
                pairs.add((key, name))
    return pairs


def _running_summaries(
    events: dict[int, Event], *, before: Iterable[Contact]
) -> dict[int, EventSummary]:
    """Each event's summary once it was recorded, from the contacts read before the batch."""
    names = {event.name for event in events.values()}  # of a contact's many, those in play
    start = {
        (contact.id, name): contact.summaries[name]
        for contact in before
        for name in names
        if name in contact.summaries
    }
    order = sorted(events)
    after = summaries_after_each(
        [(events[i].contact_id, events[i].name, events[i].occurred_at) for i in order],
        before=start,
    )
    return dict(zip(order, after, strict=True))


def _counted_back(
    events: dict[int, Event], *, after: dict[int, EventSummary]
) -> dict[int, EventSummary]:
    """Each event's summary once it was recorded, from its contact's after the batch."""
    order = sorted(events)
    pairs = [(events[i].contact_id, events[i].name) for i in order]
    each = summaries_counted_back(
        pairs, after={pair: after[i] for pair, i in zip(pairs, order, strict=True)}
    )
    return dict(zip(order, each, strict=True))


async def _naming_nobody(
    store: Store, *, workspace_id: str, events: dict[int, ValidEvent]
) -> list[int]:
    """The events whose ref by server id names no contact (refs of other kinds create one)."""
    by_id = {i: e.contact for i, e in events.items() if e.contact.kind is RefKind.ID}
    if not by_id:
        return []
    found = await store_contacts.find_contacts(
        store, workspace_id=workspace_id, keys=set(by_id.values())
    )
    return [index for index, key in by_id.items() if key not in found]


def _contact_not_found() -> UserError:
    return UserError(
        "CONTACT_NOT_FOUND", "No contact has this id in this workspace.", ("contact", "id")
    )


def _new_keys_by_name(
    counted: dict[int, ValidEvent], fresh_keys: dict[int, list[str]]
) -> dict[str, list[str]]:
    """The metadata keys each name gets for the first time from the events counted."""
    new: dict[str, dict[str, None]] = {}
    for index, event in counted.items():
        if fresh_keys.get(index):
            new.setdefault(event.name, {}).update(dict.fromkeys(fresh_keys[index]))
    return {name: list(keys) for name, keys in new.items()}

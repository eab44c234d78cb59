"""trackEvent: validate, then record the event, its summary and its catalog entry together."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.domain.errors import InvalidInput, UserError
from app.domain.metadata import TypedValue, type_metadata, value_type
from app.domain.models import Contact, Event, EventSummary
from app.domain.names import normalize_event_name
from app.domain.refs import ContactKey, RefInput
from app.domain.timestamps import check_occurred_at, days_before
from app.metrics import Metrics
from app.services.auth import Principal
from app.settings import Settings
from app.store import contacts as store_contacts
from app.store import event_types as store_event_types
from app.store import events as store_events
from app.store import idempotency as store_idempotency
from app.store.client import Store

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


@dataclass(frozen=True)
class TrackOutcome:
    event: Event | None = None
    contact: Contact | None = None
    summary: EventSummary | None = None
    duplicate: bool = False
    errors: list[UserError] = field(default_factory=list)


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
    if errors or name is None or occurred_at is None or contact is None:
        raise InvalidInput(errors)
    return ValidEvent(name, contact, occurred_at, metadata, key)


class Tracker:
    """Records events for one workspace, as the principal's key allows."""

    def __init__(
        self, *, store: Store, settings: Settings, metrics: Metrics, principal: Principal
    ) -> None:
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self._workspace = principal.workspace

    async def track(self, request: TrackRequest, *, now: datetime) -> TrackOutcome:
        try:
            event = validate_event(
                request, now=now, max_metadata_keys=self._settings.max_metadata_keys
            )
        except InvalidInput as e:
            return self._rejected(e.errors)
        outcome = await self._store.in_transaction(lambda: self._record(event, now=now))
        if outcome.errors:
            return self._rejected(outcome.errors)
        if outcome.duplicate:
            self._metrics.events_ingested.labels(result="duplicate").inc()
            return await self._duplicate(event, now=now)
        self._metrics.events_ingested.labels(result="accepted").inc()
        return outcome

    def _rejected(self, errors: list[UserError]) -> TrackOutcome:
        self._metrics.events_ingested.labels(result="rejected").inc()
        return TrackOutcome(errors=errors)

    async def _record(self, event: ValidEvent, *, now: datetime) -> TrackOutcome:
        """Idempotency key, then summary, raw event and catalog: the order a retry repairs."""
        store, workspace_id = self._store, self._workspace.id
        event_id = store_events.new_event_id()
        expires_at = now + timedelta(days=self._workspace.retention_days)
        if event.idempotency_key is not None and not await store_idempotency.claim_key(
            store,
            workspace_id=workspace_id,
            key=event.idempotency_key,
            event_id=event_id,
            expires_at=expires_at,
        ):
            return TrackOutcome(duplicate=True)
        contact = await store_contacts.record_event(
            store,
            workspace_id=workspace_id,
            key=event.contact,
            name=event.name,
            occurred_at=event.occurred_at,
            now=now,
        )
        if contact is None:
            if event.idempotency_key is not None:
                await store_idempotency.release_key(
                    store, workspace_id=workspace_id, key=event.idempotency_key
                )
            return TrackOutcome(errors=[contact_not_found(("contact", "id"))])
        document = store_events.event_document(
            event_id=event_id,
            workspace_id=workspace_id,
            contact_id=contact.id,
            name=event.name,
            occurred_at=event.occurred_at,
            received_at=now,
            metadata=event.metadata,
            expires_at=expires_at,
        )
        await store_events.insert_event(store, document=document)
        summary = contact.summaries[event.name]
        await store_event_types.record_event_type(
            store,
            workspace_id=workspace_id,
            name=event.name,
            occurred_at=event.occurred_at,
            new_contact=summary.count == 1,
            metadata_types={k: value_type(v).value for k, v in event.metadata.items()},
        )
        return TrackOutcome(event=store_events.to_event(document), contact=contact, summary=summary)

    async def _duplicate(self, event: ValidEvent, *, now: datetime) -> TrackOutcome:
        """The first event sent with this key, when it is still visible, and its contact."""
        assert event.idempotency_key is not None
        store, workspace_id = self._store, self._workspace.id
        original_id = await store_idempotency.event_id_for_key(
            store, workspace_id=workspace_id, key=event.idempotency_key
        )
        original = original_id and await store_events.find_event(
            store,
            workspace_id=workspace_id,
            event_id=original_id,
            visible_after=days_before(now, self._workspace.retention_days),
        )
        contact = original and await store_contacts.find_contact_by_id(
            store, workspace_id=workspace_id, contact_id=original.contact_id
        )
        return TrackOutcome(
            event=original or None,
            contact=contact or None,
            summary=contact.summaries.get(original.name) if contact and original else None,
            duplicate=True,
        )


def contact_not_found(path: tuple[str, ...]) -> UserError:
    return UserError("CONTACT_NOT_FOUND", "No contact has this id in this workspace.", path)

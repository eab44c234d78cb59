"""Contacts: create or update by ref, read one, page through its activity."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.attributes import type_attributes
from app.domain.cursors import check_page_size, decode_instant_cursor, encode_instant_cursor
from app.domain.errors import InvalidInput, RequestError, UserError
from app.domain.models import Contact, ContactRole, Event, EventType, Workspace
from app.domain.names import normalize_event_name
from app.domain.refs import ContactKey, RefKind, check_identifier, normalize_email
from app.domain.storable import storable_problems
from app.domain.timestamps import days_before, to_utc_ms
from app.services.identity import Identity
from app.settings import Settings
from app.store import contacts as store_contacts
from app.store import event_types as store_event_types
from app.store import events as store_events
from app.store.database import Store

MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class ContactChanges:
    """What upsertContact asked to change; None = leave as it is."""

    email: str | None = None
    user_id: str | None = None
    name: str | None = None
    signed_up_at: datetime | None = None
    last_seen_at: datetime | None = None
    custom_attributes: object = None


@dataclass(frozen=True)
class ContactOutcome:
    contact: Contact | None = None
    errors: list[UserError] = field(default_factory=list)


@dataclass(frozen=True)
class Page:
    events: list[Event]
    has_next_page: bool

    def cursor(self, event: Event) -> str:
        return encode_instant_cursor(event.occurred_at, event.id)


class Contacts:
    def __init__(self, *, store: Store, settings: Settings, workspace: Workspace) -> None:
        self._store = store
        self._settings = settings
        self._workspace = workspace

    async def get(self, key: ContactKey) -> Contact | None:
        return await store_contacts.find_contact(
            self._store, workspace_id=self._workspace.id, key=key
        )

    async def upsert(
        self, key: ContactKey, changes: ContactChanges, *, now: datetime, by_email: bool = True
    ) -> ContactOutcome:
        """`by_email` False: a conversion never merges into a user found by email (a
        publishable key with identity verification on)."""
        try:
            fields, attributes = self._validate(changes)
        except InvalidInput as e:
            return ContactOutcome(errors=e.errors)
        if "user_id" in fields:
            key, problem = await self._claim_user_id(key, fields, now=now, by_email=by_email)
            if problem is not None:
                return ContactOutcome(errors=[problem])
        problem = await self._check_attribute_cap(key, attributes)
        if problem is not None:
            return ContactOutcome(errors=[problem])
        try:
            contact = await store_contacts.upsert_contact(
                self._store,
                workspace_id=self._workspace.id,
                key=key,
                fields=fields,
                attributes=attributes,
                last_seen_at=changes.last_seen_at and to_utc_ms(changes.last_seen_at),
                now=now,
            )
        except store_contacts.UniqueFieldTaken:
            return ContactOutcome(errors=[await self._conflict(key, fields)])
        if contact is None:
            return ContactOutcome(
                errors=[UserError("CONTACT_NOT_FOUND", "No contact has this id.", ("ref", "id"))]
            )
        return ContactOutcome(contact=contact)

    async def _claim_user_id(
        self, key: ContactKey, fields: dict[str, Any], *, now: datetime, by_email: bool
    ) -> tuple[ContactKey, UserError | None]:
        """Setting a userId: on a lead it is the conversion (a merge when that user exists);
        on a user it names one that has none yet, and never changes it."""
        user_id = fields["user_id"]
        current = await self.get(key)
        identity = Identity(store=self._store, settings=self._settings, workspace=self._workspace)
        if current is None and key.kind is RefKind.ANONYMOUS_ID:
            _, refused = await identity.conversion_target(
                user_id=user_id, email=fields.get("email"), by_email=by_email
            )
            if refused is not None:  # decided before the lead is written
                return key, refused
            # A visitor signing up before any event: the lead, then its conversion.
            current = await store_contacts.upsert_contact(
                self._store,
                workspace_id=self._workspace.id,
                key=key,
                fields={},
                attributes={},
                last_seen_at=None,
                now=now,
            )
        if current is not None and current.role is ContactRole.LEAD:
            _, errors = await identity.convert(
                current, user_id=user_id, email=fields.get("email"), now=now, by_email=by_email
            )
            return ContactKey(RefKind.USER_ID, user_id), errors[0] if errors else None
        if key.kind is RefKind.USER_ID and user_id != key.value:
            return key, _USER_ID_IMMUTABLE
        if current is not None and current.user_id not in (None, user_id):
            return key, _USER_ID_IMMUTABLE
        return key, None

    async def _check_attribute_cap(
        self, key: ContactKey, attributes: dict[str, Any]
    ) -> UserError | None:
        """At most TALLY_MAX_CONTACT_ATTRIBUTES custom attributes per contact, counted after the
        change. Read before the write: concurrent upserts of one contact may together pass it by
        at most one request's attributes (docs/semantics.md)."""
        added = {k for k, v in attributes.items() if v is not None}
        if not added:
            return None
        cap = self._settings.max_contact_attributes
        current = (
            await store_contacts.find_write_target(
                self._store, workspace_id=self._workspace.id, key=key
            )
            if len(added) <= cap
            else None
        )
        held = set(current.custom_attributes) if current is not None else set()
        removed = {k for k, v in attributes.items() if v is None}
        total = len((held - removed) | added)
        if total <= cap:
            return None
        return UserError(
            "TOO_MANY_CUSTOM_ATTRIBUTES",
            f"The contact would have {total} custom attributes; at most {cap}.",
            ("customAttributes",),
        )

    async def _conflict(self, key: ContactKey, fields: dict[str, Any]) -> UserError:
        """Which of the unique fields another contact holds (the driver's error may not say)."""
        current = await self.get(key)
        for kind, field_name, error in (
            (RefKind.EMAIL, "email", _EMAIL_TAKEN),
            (RefKind.USER_ID, "user_id", _USER_ID_TAKEN),
        ):
            if field_name in fields:
                holder = await self.get(ContactKey(kind, fields[field_name]))
                if holder is not None and (current is None or holder.id != current.id):
                    return error
        return UserError("CONTACT_CONFLICT", "This change conflicts with another contact.")

    def _validate(self, changes: ContactChanges) -> tuple[dict[str, Any], dict[str, Any]]:
        errors: list[UserError] = []
        fields: dict[str, Any] = {}
        try:
            if changes.email is not None:
                fields["email"] = normalize_email(changes.email, path=("email",))
        except InvalidInput as e:
            errors += e.errors
        try:
            if changes.user_id is not None:
                fields["user_id"] = check_identifier(changes.user_id, path=("userId",))
        except InvalidInput as e:
            errors += e.errors
        if changes.name is not None:
            if len(changes.name) > MAX_NAME_LENGTH:
                errors.append(
                    UserError(
                        "INVALID_NAME", f"name has at most {MAX_NAME_LENGTH} characters.", ("name",)
                    )
                )
            fields["name"] = changes.name
        if changes.signed_up_at is not None:
            fields["signed_up_at"] = to_utc_ms(changes.signed_up_at)
        attributes: dict[str, Any] = {}
        try:
            attributes = type_attributes(
                changes.custom_attributes, max_keys=self._settings.max_custom_attributes
            )
        except InvalidInput as e:
            errors += e.errors
        errors += storable_problems({"name": changes.name, "customAttributes": attributes})
        if errors:
            raise InvalidInput(errors)
        return fields, attributes

    async def activity(
        self,
        contact: Contact,
        *,
        first: int,
        after: str | None,
        names: Sequence[str] | None,
        since: datetime | None,
        until: datetime | None,
        now: datetime,
    ) -> Page:
        first = check_page_size(first)
        before = decode_instant_cursor(after) if after is not None else None
        events = await store_events.find_activity(
            self._store,
            workspace_id=self._workspace.id,
            contact_id=contact.id,
            visible_after=days_before(now, self._workspace.retention_days),
            names=event_names(names),
            since=since and to_utc_ms(since),
            until=until and to_utc_ms(until),
            before=before,
            limit=first + 1,
        )
        return Page(events=events[:first], has_next_page=len(events) > first)

    async def first_pages(
        self,
        contact_ids: list[str],
        *,
        first: int,
        names: Sequence[str] | None,
        since: datetime | None,
        until: datetime | None,
        now: datetime,
    ) -> dict[str, Page]:
        """The first page of activity of several contacts at once (one store command)."""
        first = check_page_size(first)
        recent = await store_events.recent_events(
            self._store,
            workspace_id=self._workspace.id,
            contact_ids=contact_ids,
            visible_after=days_before(now, self._workspace.retention_days),
            names=event_names(names),
            since=since and to_utc_ms(since),
            until=until and to_utc_ms(until),
            limit=first + 1,
        )
        pages = {}
        for contact_id in contact_ids:
            events = recent.get(contact_id, [])
            pages[contact_id] = Page(events=events[:first], has_next_page=len(events) > first)
        return pages

    async def event_types(self) -> list[EventType]:
        return await store_event_types.list_event_types(
            self._store, workspace_id=self._workspace.id
        )


def event_names(names: Sequence[str] | None) -> list[str] | None:
    """Names as given in a filter, normalized like tracked names; bad ones are a request error."""
    if names is None:
        return None
    try:
        return [normalize_event_name(name) for name in names]
    except InvalidInput as e:
        raise RequestError("INVALID_EVENT_NAME", e.errors[0].message) from e


_EMAIL_TAKEN = UserError("EMAIL_TAKEN", "Another user has this email.", ("email",))
_USER_ID_TAKEN = UserError("USER_ID_TAKEN", "Another contact has this userId.", ("userId",))
_USER_ID_IMMUTABLE = UserError(
    "USER_ID_IMMUTABLE", "This contact already has another userId.", ("userId",)
)

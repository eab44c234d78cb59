"""A lead becomes a user: in place, or merged into the user who already has that userId."""

from __future__ import annotations

from datetime import datetime

from app.domain.errors import UserError
from app.domain.models import Contact, ContactRole, Workspace
from app.domain.refs import ContactKey, RefKind
from app.settings import Settings
from app.store import contacts as store_contacts
from app.store import merges
from app.store.database import Store


def _error(code: str, message: str, *path: str) -> UserError:
    return UserError(code, message, path or None)


class Identity:
    def __init__(self, *, store: Store, settings: Settings, workspace: Workspace) -> None:
        self._store = store
        self._settings = settings
        self._workspace = workspace

    async def _get(self, key: ContactKey) -> Contact | None:
        return await store_contacts.find_contact(
            self._store, workspace_id=self._workspace.id, key=key
        )

    async def merge(
        self, source: ContactKey, target: ContactKey, *, now: datetime
    ) -> tuple[Contact | None, list[UserError]]:
        """mergeContacts(from, into): a LEAD into a USER. Repeating it changes nothing."""
        lead, user = await self._get(source), await self._get(target)
        if user is None:
            return None, [_error("CONTACT_NOT_FOUND", "into names nobody.", "into")]
        if lead is None or lead.id == user.id:
            # Merged already: the lead's anonymousId is now the user's alias.
            if lead is not None or source.kind is RefKind.ANONYMOUS_ID:
                return user, []
            return None, [_error("CONTACT_NOT_FOUND", "from names nobody.", "from")]
        if lead.role is ContactRole.USER:
            return None, [
                _error("CANNOT_MERGE_USERS", "Users are never merged into users.", "from")
            ]
        if user.role is not ContactRole.USER:
            return None, [_error("MERGE_TARGET_NOT_USER", "A lead merges into a USER.", "into")]
        return await self._merge(lead, user, now=now)

    async def _merge(
        self, lead: Contact, user: Contact, *, now: datetime
    ) -> tuple[Contact | None, list[UserError]]:
        """The steps in app/store/merges.py: a bounded transaction that reads both contacts
        and folds the lead into the user, then the moves a chunk at a time."""
        store, workspace_id = self._store, self._workspace.id
        caps = merges.MergeCaps(
            aliases=self._settings.max_contact_aliases,
            attributes=self._settings.max_contact_attributes,
        )

        async def begin() -> merges.Plan | None:
            return await merges.begin(
                store,
                workspace_id=workspace_id,
                lead_id=lead.id,
                user_id=user.id,
                caps=caps,
                now=now,
            )

        try:
            plan = await store.in_transaction(begin)
        except merges.MergeRefused as e:
            return None, [e.error]
        if plan is not None:
            await merges.complete(store, workspace_id=workspace_id, plan=plan)
        merged = await store_contacts.find_contact_by_id(
            store, workspace_id=workspace_id, contact_id=plan.into if plan else user.id
        )
        return merged, []

    async def conversion_target(
        self, *, user_id: str, email: str | None, by_email: bool
    ) -> tuple[Contact | None, UserError | None]:
        """The user a lead converting to `user_id` merges into (None: converted in place), or
        why it may not convert. Reads only."""
        user = await self._get(ContactKey(RefKind.USER_ID, user_id))
        if user is None and email is not None:
            user = await self._get(ContactKey(RefKind.EMAIL, email))
            if user is not None and user.user_id not in (None, user_id):
                return None, _error(
                    "USER_ID_TAKEN", "This email belongs to another userId.", "email"
                )
            if user is not None and not by_email:
                return None, _EMAIL_TAKEN
        return user, None

    async def convert(
        self,
        lead: Contact,
        *,
        user_id: str,
        email: str | None,
        now: datetime,
        by_email: bool = True,
        retry: bool = True,
    ) -> tuple[Contact | None, list[UserError]]:
        """Setting userId on a lead: merge into the user with that userId (or with the email
        sent, else the lead's own), else the lead becomes that user.

        `by_email` False (a publishable key whose hash covers the userId only): a user found by
        email is never reached; the conversion is refused with EMAIL_TAKEN instead."""
        email = email or lead.email
        user, refused = await self.conversion_target(
            user_id=user_id, email=email, by_email=by_email
        )
        if refused is not None:
            return None, [refused]
        if user is not None:
            merged, errors = await self._merge(lead, user, now=now)
            if errors:  # a cap: the conversion would pass it
                return None, [UserError(e.code, e.message, ("userId",)) for e in errors]
            if merged is not None and merged.user_id is None:
                await store_contacts.upsert_contact(
                    self._store,
                    workspace_id=self._workspace.id,
                    key=ContactKey(RefKind.ID, merged.id),
                    fields={"user_id": user_id},
                    attributes={},
                    last_seen_at=None,
                    now=now,
                )
            return merged, []
        try:
            await merges.convert_in_place(
                self._store, workspace_id=self._workspace.id, lead_id=lead.id, user_id=user_id
            )
        except store_contacts.UniqueFieldTaken:
            # A user with this userId or email appeared meanwhile: decide again, once.
            if not retry:
                return None, [
                    _error("CONTACT_CONFLICT", "This change conflicts with another contact.")
                ]
            return await self.convert(
                lead, user_id=user_id, email=email, now=now, by_email=by_email, retry=False
            )
        return await self._get(ContactKey(RefKind.USER_ID, user_id)), []


_EMAIL_TAKEN = UserError(
    "EMAIL_TAKEN",
    "A user has this email; with identity verification on, a publishable key reaches a user "
    "only through the identity its userHash covers.",
    ("email",),
)

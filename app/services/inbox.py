"""What a contact's own page may read with a publishable key: its sent in-app messages; and
the in-app messages a subscription receives as they are sent (`live_messages`).

The rules are the contract's: a lead (by anonymousId) reads its own; a user (by userId or
email, or by the anonymousId of a lead merged into it) only with identity verification on and
a valid userHash, so that knowing someone's userId is not enough to read their messages. Whom
a ref names, and the identity its hash covers, are the writes' (`app/services/auth.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from app.clock import Clock
from app.domain.errors import RequestError, UserError
from app.domain.models import Contact, Message, MessageStatus
from app.domain.refs import ContactKey
from app.messaging.broker import Broker, ref_topic
from app.services.auth import (
    Principal,
    acting_identity,
    forbidden_ref,
    hash_matches,
    invalid_user_hash,
    named_contact,
)
from app.services.feed import Looks
from app.services.messaging import Messenger
from app.store.database import Store

# A publishable key reads these messages only.
READABLE_CHANNEL = "IN_APP"


def reader_problem(
    principal: Principal, key: ContactKey, given_hash: str | None, contact: Contact | None
) -> UserError | None:
    """Why this key may not read the messages of `contact`, whom `key` names now
    (`auth.named_contact`; None when nobody is named yet), or None. Admin keys may always."""
    if principal.is_admin:
        return None
    if problem := forbidden_ref(key):
        return problem
    identity = acting_identity(key, contact)
    if identity is None:
        return None  # a visitor reading its own, or waiting for its first message
    workspace = principal.workspace
    if not workspace.identity_verification:
        return UserError(
            "IDENTITY_VERIFICATION_REQUIRED",
            "A publishable key reads a user's messages only with identity verification on "
            "(updateWorkspace(identityVerification: true)) and the user's userHash.",
            ("userHash",),
        )
    if not hash_matches(workspace.identity_secret, identity, given_hash):
        return invalid_user_hash()
    return None


class Reader:
    """A subscription's right to read, checked again whenever the contact its ref names
    changes (a lead merged into a user, a contact deleted and made anew): what the page may
    read is decided for each contact, not once when it subscribed."""

    def __init__(self, principal: Principal, key: ContactKey, given_hash: str | None) -> None:
        self._principal, self._key, self._hash = principal, key, given_hash
        self.workspace_id = principal.workspace_id
        self._checked = False
        self.contact_id: str | None = None  # the contact last checked (None: nobody yet)

    def check(self, contact: Contact | None) -> None:
        """Raises the coded refusal when this key may not read `contact`'s messages."""
        contact_id = contact.id if contact else None
        if self._checked and contact_id == self.contact_id:
            return
        if problem := reader_problem(self._principal, self._key, self._hash, contact):
            raise RequestError(problem.code, problem.message)
        self._checked, self.contact_id = True, contact_id


async def live_messages(
    *,
    store: Store,
    broker: Broker,
    clock: Clock,
    messenger: Messenger,
    reader: Reader,
    key: ContactKey,
    poll_seconds: float,
) -> AsyncIterator[Message]:
    """The in-app messages sent from now on to whom `key` names (a contact not seen yet is
    waited for), as long as `reader` may read them.

    Sent by this instance: through the broker at once. Every `poll_seconds` a look in the store
    finds what other instances sent since the look before (less LOOK_BACK, as the event feed):
    one contact lookup, and one page of its messages only when the ref names someone. Messages
    are heard once; the ids kept for that are those a later look may return again."""
    workspace_id, looks = reader.workspace_id, Looks(clock=clock, poll_seconds=poll_seconds)
    # Listening before the first look at the store: what is sent meanwhile is queued.
    with broker.listen(workspace_id, ref_topic(key)) as queue:
        reader.check(await named_contact(store, workspace_id=workspace_id, key=key))
        while True:
            fresh: list[Message] = await looks.heard(queue)
            if (since := looks.due()) is not None:
                named = await named_contact(store, workspace_id=workspace_id, key=key)
                reader.check(named)
                if named is not None:
                    fresh += await _sent_since(messenger, named.id, since)
            for message in fresh:
                if message.contact_id != reader.contact_id:  # the ref may name someone else now
                    reader.check(await named_contact(store, workspace_id=workspace_id, key=key))
                if message.contact_id == reader.contact_id and looks.first_time(
                    message.id, message.sent_at or looks.start
                ):
                    yield message


async def _sent_since(messenger: Messenger, contact_id: str, since: datetime) -> list[Message]:
    """The contact's in-app messages sent since `since`, oldest first."""
    page = await messenger.page(
        contact_id=contact_id, rule_id=None, status=MessageStatus.SENT, first=20, after=None,
        channel=READABLE_CHANNEL,
    )  # fmt: skip
    return [m for m, _ in reversed(page.items) if m.sent_at and m.sent_at >= since]

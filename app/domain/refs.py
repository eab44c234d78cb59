"""Who an event or update is about: a validated ContactRef."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from app.domain.errors import InvalidInput
from app.domain.models import Contact, ContactRole
from app.domain.storable import check_text

MAX_IDENTIFIER_LENGTH = 255
MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_CONTROL = re.compile("[\x00-\x1f]")


class RefKind(StrEnum):
    ID = "id"
    USER_ID = "userId"
    EMAIL = "email"
    ANONYMOUS_ID = "anonymousId"


@dataclass(frozen=True)
class ContactKey:
    kind: RefKind
    value: str

    @property
    def role(self) -> ContactRole:
        """The role of a contact created from this ref."""
        return ContactRole.LEAD if self.kind is RefKind.ANONYMOUS_ID else ContactRole.USER


def keys_of(contact: Contact) -> list[ContactKey]:
    """Every ref that names this contact: its id, userId, a user's email, its anonymousId and
    the anonymousIds of the leads merged into it."""
    keys = [ContactKey(RefKind.ID, contact.id)]
    if contact.user_id is not None:
        keys.append(ContactKey(RefKind.USER_ID, contact.user_id))
    if contact.email is not None and contact.role is ContactRole.USER:
        keys.append(ContactKey(RefKind.EMAIL, contact.email))
    if contact.anonymous_id is not None:
        keys.append(ContactKey(RefKind.ANONYMOUS_ID, contact.anonymous_id))
    keys += [ContactKey(RefKind.ANONYMOUS_ID, alias) for alias in contact.aliases]
    return keys


@dataclass(frozen=True)
class RefInput:
    """A ContactRef as sent, not yet checked."""

    id: str | None = None
    user_id: str | None = None
    email: str | None = None
    anonymous_id: str | None = None

    def key(self, *path: str) -> ContactKey:
        """The checked ref; InvalidInput located at `path` when it names nobody valid."""
        return contact_key(self, path=path)


def contact_key(ref: RefInput, *, path: tuple[str, ...]) -> ContactKey:
    given = [
        (kind, value)
        for kind, value in (
            (RefKind.ID, ref.id),
            (RefKind.USER_ID, ref.user_id),
            (RefKind.EMAIL, ref.email),
            (RefKind.ANONYMOUS_ID, ref.anonymous_id),
        )
        if value is not None
    ]
    if len(given) != 1:
        raise InvalidInput.one(
            "INVALID_CONTACT_REF",
            "A contact ref sets exactly one of id, userId, email, anonymousId.",
            *path,
        )
    kind, value = given[0]
    if kind is RefKind.EMAIL:
        return ContactKey(kind, normalize_email(value, path=(*path, kind.value)))
    return ContactKey(kind, check_identifier(value, path=(*path, kind.value)))


def check_identifier(value: str, *, path: tuple[str, ...]) -> str:
    check_text(value, code="INVALID_TEXT", path=path)
    if not value.strip() or len(value) > MAX_IDENTIFIER_LENGTH:
        raise InvalidInput.one(
            "INVALID_CONTACT_REF",
            f"An identifier is a non-blank string of at most {MAX_IDENTIFIER_LENGTH} characters.",
            *path,
        )
    if _CONTROL.search(value):
        raise InvalidInput.one(
            "INVALID_CONTACT_REF", "An identifier holds no control characters.", *path
        )
    return value


def normalize_email(value: str, *, path: tuple[str, ...]) -> str:
    check_text(value, code="INVALID_TEXT", path=path)
    email = value.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidInput.one("INVALID_EMAIL", f"{value!r} is not an email address.", *path)
    return email

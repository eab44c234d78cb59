"""What a contact's own page may read with a publishable key: its sent in-app messages.

The rules are the contract's: a lead (by anonymousId) reads its own; a user (by userId or
email, or by the anonymousId of a lead merged into it) only with identity verification on and
a valid userHash, so that knowing someone's userId is not enough to read their messages. Whom
a ref names, and the identity its hash covers, are the writes' (`app/services/auth.py`)."""

from __future__ import annotations

from app.domain.errors import RequestError, UserError
from app.domain.models import Contact
from app.domain.refs import ContactKey
from app.services.auth import Principal, acting_identity, forbidden_ref, hash_matches

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
        return UserError(
            "INVALID_USER_HASH",
            "userHash is the hex HMAC-SHA256 of the user's userId (or email) keyed with the "
            "workspace's identity secret.",
            ("userHash",),
        )
    return None


class Reader:
    """A subscription's right to read, checked again whenever the contact its ref names
    changes (a lead merged into a user, a contact deleted and made anew): what the page may
    read is decided for each contact, not once when it subscribed."""

    def __init__(self, principal: Principal, key: ContactKey, given_hash: str | None) -> None:
        self._principal, self._key, self._hash = principal, key, given_hash
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

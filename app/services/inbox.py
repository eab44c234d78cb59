"""What a contact's own page may read with a publishable key: its sent in-app messages.

The rules are the contract's: a lead (by anonymousId) reads its own; a user (by userId or
email, or by the anonymousId of a lead merged into it) only with identity verification on and
a valid userHash, so that knowing someone's userId is not enough to read their messages."""

from __future__ import annotations

from app.domain.errors import UserError
from app.domain.models import Contact, ContactRole
from app.domain.refs import ContactKey, RefKind
from app.services.auth import Principal, hash_matches

# A publishable key reads these messages only.
READABLE_CHANNEL = "IN_APP"


def reader_problem(
    principal: Principal, key: ContactKey, given_hash: str | None, contact: Contact | None
) -> UserError | None:
    """Why this key may not read the messages of the contact `key` names (`contact`, None when
    nobody is named yet), or None. Admin keys may always."""
    if principal.is_admin:
        return None
    if key.kind is RefKind.ID:
        return UserError(
            "FORBIDDEN_REF",
            "A publishable key names its contact by userId, email or anonymousId.",
            ("contact", "id"),
        )
    if key.kind is RefKind.ANONYMOUS_ID:
        if contact is None or contact.role is ContactRole.LEAD:
            return None  # a visitor reading its own, or waiting for its first message
        identity = contact.user_id or contact.email or ""  # as for writes (services/auth.py)
    else:
        identity = key.value
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

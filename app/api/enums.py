"""Domain enums shown in the schema, registered with Strawberry once, before any use: import
them from here."""

from __future__ import annotations

import strawberry

from app.domain.models import ContactRole, KeyScope, MessageStatus

strawberry.enum(ContactRole, description="USER: signed up (userId / email). LEAD: a visitor.")
strawberry.enum(MessageStatus)
strawberry.enum(
    KeyScope,
    name="ApiKeyScope",
    description="ADMIN: everything in the workspace. PUBLISHABLE: trackEvent and upsertContact "
    "for one contact, and its messages subscription; it never reads personal data back.",
)

__all__ = ["ContactRole", "KeyScope", "MessageStatus"]

"""Domain enums shown in the schema, registered with Strawberry once, before any use: import
them from here."""

from __future__ import annotations

import strawberry

from app.domain.models import ContactRole, MessageStatus

strawberry.enum(ContactRole, description="USER: signed up (userId / email). LEAD: a visitor.")
strawberry.enum(MessageStatus)

__all__ = ["ContactRole", "MessageStatus"]

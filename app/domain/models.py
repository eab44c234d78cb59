"""The records Tally keeps, as plain values. The store maps documents to and from these."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.attributes import AttributeValue
from app.domain.metadata import TypedValue


class ContactRole(StrEnum):
    USER = "USER"
    LEAD = "LEAD"


class KeyScope(StrEnum):
    ADMIN = "ADMIN"
    PUBLISHABLE = "PUBLISHABLE"


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    identity_verification: bool
    retention_days: int
    identity_secret: str
    webhook_secret: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKey:
    id: str
    workspace_id: str
    name: str
    scope: KeyScope
    created_at: datetime
    last_used_at: datetime | None
    operator: bool = False


@dataclass(frozen=True)
class EventSummary:
    name: str
    count: int
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class Contact:
    id: str
    workspace_id: str
    role: ContactRole
    created_at: datetime
    user_id: str | None = None
    email: str | None = None
    anonymous_id: str | None = None
    name: str | None = None
    signed_up_at: datetime | None = None
    last_seen_at: datetime | None = None
    custom_attributes: dict[str, AttributeValue] = field(default_factory=dict)
    summaries: dict[str, EventSummary] = field(default_factory=dict)
    # anonymousIds of leads merged into this user: events sent with them land here
    aliases: tuple[str, ...] = ()
    # AUDIENCE rules that already gave this contact its message
    audience_done: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    id: str
    workspace_id: str
    contact_id: str
    name: str
    occurred_at: datetime
    received_at: datetime
    metadata: dict[str, TypedValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    id: str
    name: str
    filter: dict[str, Any]  # the ContactFilter as given, in the API's field names
    created_at: datetime


@dataclass(frozen=True)
class EventType:
    name: str
    count: int
    contact_count: int
    first_at: datetime
    last_at: datetime
    # key -> every type seen for it, first seen first
    metadata_keys: dict[str, list[str]] = field(default_factory=dict)


class MessageStatus(StrEnum):
    SCHEDULED = "SCHEDULED"
    SENT = "SENT"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


@dataclass(frozen=True)
class Message:
    id: str
    rule_id: str
    contact_id: str
    status: MessageStatus
    subject: str | None
    body: str
    due_at: datetime
    sent_at: datetime | None
    created_at: datetime
    last_error: str | None = None
    attempts: int = 0

"""Contacts and events as JSON records, in the API's field names and formats (exports)."""

from __future__ import annotations

from typing import Any

from app.domain.metadata import to_json
from app.domain.models import Contact, Event, Message
from app.domain.timestamps import format_iso


def _iso(value: Any) -> str | None:
    return format_iso(value) if value is not None else None


def contact_record(contact: Contact) -> dict[str, Any]:
    """A contact as the API shows it (field names and formats of the Contact type)."""
    return {
        "id": contact.id,
        "role": contact.role.value,
        "userId": contact.user_id,
        "email": contact.email,
        "anonymousId": contact.anonymous_id,
        "aliases": list(contact.aliases),
        "name": contact.name,
        "createdAt": _iso(contact.created_at),
        "signedUpAt": _iso(contact.signed_up_at),
        "lastSeenAt": _iso(contact.last_seen_at),
        "customAttributes": {k: to_json(v) for k, v in contact.custom_attributes.items()},
        "eventSummaries": [
            {
                "name": s.name,
                "count": s.count,
                "firstAt": _iso(s.first_at),
                "lastAt": _iso(s.last_at),
            }
            for _, s in sorted(contact.summaries.items())
        ],
    }


def event_record(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "name": event.name,
        "occurredAt": format_iso(event.occurred_at),
        "receivedAt": format_iso(event.received_at),
        "metadata": {k: to_json(v) for k, v in event.metadata.items()},
    }


def message_record(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "ruleId": message.rule_id,
        "status": message.status.value,
        "subject": message.subject,
        "body": message.body,
        "dueAt": format_iso(message.due_at),
        "sentAt": _iso(message.sent_at),
        "createdAt": format_iso(message.created_at),
    }

"""Automatic messages: scheduled, sent, cancelled or failed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from app.domain.models import Message, MessageStatus
from app.store.client import Doc
from app.store.contacts import object_id
from app.store.database import Store

_ACTIVE = [MessageStatus.SCHEDULED.value, MessageStatus.SENT.value]


def _message(doc: Doc) -> Message:
    return Message(
        id=str(doc["_id"]),
        rule_id=doc["rule_id"],
        contact_id=str(doc["contact_id"]),
        status=MessageStatus(doc["status"]),
        subject=doc.get("subject"),
        body=doc["body"],
        due_at=doc["due_at"],
        sent_at=doc.get("sent_at"),
        created_at=doc["created_at"],
        last_error=doc.get("last_error"),
        attempts=doc.get("attempts", 0),
    )


async def add_message(
    store: Store,
    *,
    workspace_id: str,
    rule_id: str,
    contact_id: str,
    once: bool,
    subject: str | None,
    body: str,
    due_at: datetime,
    sent: bool,
    exit_event_name: str | None,
    channel: str,
    now: datetime,
) -> Message | None:
    """The message, or None when a ONCE rule already has one for this contact."""
    doc: Doc = {
        "_id": ObjectId(),
        "workspace_id": workspace_id,
        "rule_id": rule_id,
        "contact_id": ObjectId(contact_id),
        "status": (MessageStatus.SENT if sent else MessageStatus.SCHEDULED).value,
        "subject": subject,
        "body": body,
        "due_at": due_at,
        "sent_at": now if sent else None,
        "created_at": now,
        "exit_event_name": exit_event_name,
        # kept on the message: a page may read its in-app messages, never a webhook's body
        "channel": channel,
    }
    if once:
        doc["once_key"] = f"{rule_id}:{contact_id}"
    try:
        await store.collection("messages").insert_one(doc)
    except DuplicateKeyError:
        return None
    if sent:
        await store.collection("message_rules").update_one(
            {"workspace_id": workspace_id, "_id": ObjectId(rule_id)}, {"$inc": {"sent_count": 1}}
        )
    return _message(doc)


async def active_count(store: Store, *, workspace_id: str, rule_id: str, contact_id: str) -> int:
    return await store.collection("messages").count(
        {
            "workspace_id": workspace_id,
            "rule_id": rule_id,
            "contact_id": ObjectId(contact_id),
            "status": {"$in": _ACTIVE},
        }
    )


async def cancel_on_exit(
    store: Store, *, workspace_id: str, contact_id: str, event_name: str
) -> None:
    """Scheduled messages of this contact that this event exits are cancelled."""
    await store.collection("messages").update_many(
        {
            "workspace_id": workspace_id,
            "contact_id": ObjectId(contact_id),
            "status": MessageStatus.SCHEDULED.value,
            "exit_event_name": event_name,
        },
        {"$set": {"status": MessageStatus.CANCELLED.value}, "$unset": {"once_key": ""}},
    )


def _selection(
    workspace_id: str,
    contact_id: str | None,
    rule_id: str | None,
    status: MessageStatus | None,
    channel: str | None,
) -> dict[str, Any]:
    query: dict[str, Any] = {"workspace_id": workspace_id}
    if channel is not None:
        query["channel"] = channel
    if contact_id is not None:
        query["contact_id"] = object_id(contact_id)
    if rule_id is not None:
        query["rule_id"] = rule_id
    if status is not None:
        query["status"] = status.value
    return query


async def find_messages(
    store: Store,
    *,
    workspace_id: str,
    contact_id: str | None,
    rule_id: str | None,
    status: MessageStatus | None,
    before: tuple[datetime, str] | None,
    limit: int,
    channel: str | None = None,
) -> list[Message]:
    """Newest first, (created_at, _id) descending, strictly after `before`."""
    query = _selection(workspace_id, contact_id, rule_id, status, channel)
    if before is not None:
        at, last = before
        query["$or"] = [
            {"created_at": {"$lt": at}},
            {"created_at": at, "_id": {"$lt": object_id(last)}},
        ]
    docs = await store.collection("messages").find(
        query, sort=[("created_at", -1), ("_id", -1)], limit=limit
    )
    return [_message(doc) for doc in docs]


async def count_messages(
    store: Store,
    *,
    workspace_id: str,
    contact_id: str | None,
    rule_id: str | None,
    status: MessageStatus | None,
    channel: str | None = None,
) -> int:
    return await store.collection("messages").count(
        _selection(workspace_id, contact_id, rule_id, status, channel)
    )


async def due_messages(
    store: Store, *, workspace_id: str, now: datetime, limit: int
) -> list[tuple[Message, int]]:
    """Scheduled messages due now and not claimed by a running delivery, with their attempts."""
    docs = await store.collection("messages").find(
        {
            "workspace_id": workspace_id,
            "status": MessageStatus.SCHEDULED.value,
            "due_at": {"$lte": now},
            "$or": [{"claimed_until": None}, {"claimed_until": {"$lt": now}}],
        },
        sort=[("due_at", 1)],
        limit=limit,
    )
    return [(_message(doc), doc.get("attempts", 0)) for doc in docs]


async def claim(
    store: Store, *, workspace_id: str, message_id: str, now: datetime, until: datetime
) -> bool:
    """Take a due message for delivery; only one claimant wins."""
    doc = await store.collection("messages").find_one_and_update(
        {
            "workspace_id": workspace_id,
            "_id": object_id(message_id),
            "status": MessageStatus.SCHEDULED.value,
            "$or": [{"claimed_until": None}, {"claimed_until": {"$lt": now}}],
        },
        {"$set": {"claimed_until": until}},
    )
    return doc is not None


async def settle(
    store: Store,
    *,
    workspace_id: str,
    message: Message,
    status: MessageStatus,
    now: datetime,
    error: str | None = None,
    retry_at: datetime | None = None,
    attempts: int | None = None,
) -> None:
    """The end of a delivery attempt: SENT, CANCELLED, FAILED (with the reason), or
    SCHEDULED again at `retry_at`."""
    update: dict[str, Any] = {"$set": {"status": status.value, "claimed_until": None}}
    if status is MessageStatus.SENT:
        update["$set"]["sent_at"] = now
    if status in (MessageStatus.CANCELLED, MessageStatus.FAILED):
        update["$unset"] = {"once_key": ""}
    if error is not None:
        update["$set"]["last_error"] = error
    if retry_at is not None:
        update["$set"]["due_at"] = retry_at
    if attempts is not None:
        update["$set"]["attempts"] = attempts
    await store.collection("messages").update_one(
        {"workspace_id": workspace_id, "_id": object_id(message.id)}, update
    )
    if status is MessageStatus.SENT:
        await store.collection("message_rules").update_one(
            {"workspace_id": workspace_id, "_id": object_id(message.rule_id)},
            {"$inc": {"sent_count": 1}},
        )

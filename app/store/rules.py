"""Automatic message rules."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from bson import ObjectId

from app.domain.rules import Rule, RuleSpec
from app.store.client import Doc
from app.store.contacts import object_id
from app.store.database import Store


def _rule(doc: Doc) -> Rule:
    return Rule(
        id=str(doc["_id"]),
        spec=RuleSpec(**doc["spec"]),
        created_at=doc["created_at"],
        enabled_at=doc.get("enabled_at"),
        sent_count=doc.get("sent_count", 0),
        disabled_reason=doc.get("disabled_reason"),
        audience_cursor=doc.get("audience_cursor"),
    )


async def all_rules(store: Store, *, workspace_id: str) -> list[Rule]:
    docs = await store.collection("message_rules").find(
        {"workspace_id": workspace_id}, sort=[("created_at", 1), ("_id", 1)], limit=0
    )
    return [_rule(doc) for doc in docs]


async def insert_rule(store: Store, *, workspace_id: str, spec: RuleSpec, now: datetime) -> Rule:
    doc = {
        "_id": ObjectId(),
        "workspace_id": workspace_id,
        "spec": asdict(spec),
        "created_at": now,
        # Only events received after a rule is enabled trigger it.
        "enabled_at": now if spec.enabled else None,
        "sent_count": 0,
    }
    await store.collection("message_rules").insert_one(doc)
    return _rule(doc)


async def replace_rule(
    store: Store, *, workspace_id: str, rule_id: str, spec: RuleSpec, now: datetime
) -> Rule | None:
    oid = object_id(rule_id)
    if oid is None:
        return None
    rules = store.collection("message_rules")
    current = await rules.find_one({"workspace_id": workspace_id, "_id": oid})
    if current is None:
        return None
    was_enabled = current["spec"]["enabled"]
    enabled_at = current.get("enabled_at") if was_enabled else None
    if spec.enabled and not was_enabled:
        enabled_at = now
    changes: dict[str, object] = {"spec": asdict(spec), "enabled_at": enabled_at}
    changes["audience_cursor"] = None  # a changed audience starts a new round
    if spec.enabled:
        changes["disabled_reason"] = None
    doc = await rules.find_one_and_update(
        {"workspace_id": workspace_id, "_id": oid}, {"$set": changes}
    )
    return _rule(doc) if doc else None


async def disable_rule(store: Store, *, workspace_id: str, rule_id: str, reason: str) -> None:
    """Tally turns a rule off that it can no longer run, saying why."""
    await store.collection("message_rules").update_one(
        {"workspace_id": workspace_id, "_id": object_id(rule_id)},
        {"$set": {"spec.enabled": False, "enabled_at": None, "disabled_reason": reason}},
    )


async def set_audience_cursor(
    store: Store, *, workspace_id: str, rule_id: str, cursor: str | None
) -> None:
    await store.collection("message_rules").update_one(
        {"workspace_id": workspace_id, "_id": object_id(rule_id)},
        {"$set": {"audience_cursor": cursor}},
    )


async def delete_rule(store: Store, *, workspace_id: str, rule_id: str) -> Rule | None:
    oid = object_id(rule_id)
    if oid is None:
        return None
    doc = await store.collection("message_rules").find_one_and_delete(
        {"workspace_id": workspace_id, "_id": oid}
    )
    return _rule(doc) if doc else None


async def count_audience_rules(
    store: Store, *, workspace_id: str, other_than: str | None = None
) -> int:
    query: Doc = {"workspace_id": workspace_id, "spec.trigger_kind": "AUDIENCE"}
    if other_than is not None:
        query["_id"] = {"$ne": object_id(other_than)}
    return await store.collection("message_rules").count(query)

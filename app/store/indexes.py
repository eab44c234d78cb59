"""Every index, created idempotently at start-up. Each compound index starts with workspace_id."""

from __future__ import annotations

from app.store.client import Store

_STRING = {"$type": "string"}


async def create_indexes(store: Store) -> None:
    contacts = store.collection("contacts")
    await contacts.create_index(
        [("workspace_id", 1), ("user_id", 1)],
        unique=True,
        partialFilterExpression={"user_id": _STRING},
    )
    await contacts.create_index(
        [("workspace_id", 1), ("email", 1)],
        unique=True,
        partialFilterExpression={"role": "USER", "email": _STRING},
    )
    await contacts.create_index(
        [("workspace_id", 1), ("anonymous_id", 1)],
        unique=True,
        partialFilterExpression={"anonymous_id": _STRING},
    )
    await contacts.create_index([("workspace_id", 1), ("last_seen_at", -1)])
    await contacts.create_index([("workspace_id", 1), ("aliases", 1)])
    # AUDIENCE rules walk a workspace's contacts in id order, a span a tick.
    await contacts.create_index([("workspace_id", 1), ("_id", 1)])

    events = store.collection("events")
    await events.create_index(
        [("workspace_id", 1), ("contact_id", 1), ("occurred_at", -1), ("_id", -1)]
    )
    await events.create_index([("workspace_id", 1), ("name", 1), ("occurred_at", -1)])

    keys = store.collection("idempotency_keys")
    await keys.create_index([("workspace_id", 1), ("key", 1)], unique=True)

    await store.collection("event_types").create_index(
        [("workspace_id", 1), ("name", 1)], unique=True
    )
    # The catalog's counters, split in shards (app/store/event_types.py).
    await store.collection("event_type_counts").create_index(
        [("workspace_id", 1), ("name", 1), ("shard", 1)], unique=True
    )
    await store.collection("api_keys").create_index([("key_hash", 1)], unique=True)
    await store.collection("segments").create_index([("workspace_id", 1), ("name", 1)], unique=True)
    await contacts.create_index([("workspace_id", 1), ("created_at", -1)])
    messages = store.collection("messages")
    # ONCE rules: one scheduled or sent message per rule and contact (the key goes when a
    # message is cancelled or fails).
    await messages.create_index(
        [("workspace_id", 1), ("once_key", 1)],
        unique=True,
        partialFilterExpression={"once_key": _STRING},
    )
    await messages.create_index([("workspace_id", 1), ("contact_id", 1), ("created_at", -1)])
    await messages.create_index([("workspace_id", 1), ("status", 1), ("due_at", 1)])
    # Merges and deletions in flight (a few documents, across workspaces), oldest first.
    await store.collection("jobs").create_index([("started_at", 1)])

    if not store.embedded:
        # Retention on a real server: expired raw events and idempotency keys go by TTL. The
        # embedded store skips TTL indexes (each would make every insert scan the collection)
        # and hides expired events by query instead.
        await events.create_index([("expires_at", 1)], expireAfterSeconds=0)
        await keys.create_index([("expires_at", 1)], expireAfterSeconds=0)
        await store.collection("rate_limits").create_index(
            [("expires_at", 1)], expireAfterSeconds=0
        )

"""Every kind of bad trackEvent input gets its code, and nothing is stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.test_track_event import EVENT_TYPES, TRACK, iso
from tests.helpers import GraphQL, store_commands

WRITES = {"insert", "update", "find_and_modify", "bulk_write", "delete"}

BAD_INPUTS: list[tuple[str, dict[str, Any], str, list[str] | None]] = [
    ("empty name", {"name": "  "}, "INVALID_EVENT_NAME", ["name"]),
    ("dotted name", {"name": "viewed.pricing"}, "INVALID_EVENT_NAME", ["name"]),
    ("operator name", {"name": "$where"}, "INVALID_EVENT_NAME", ["name"]),
    ("NUL in name", {"name": "a\u0000b"}, "INVALID_EVENT_NAME", ["name"]),
    ("long name", {"name": "x" * 151}, "INVALID_EVENT_NAME", ["name"]),
    ("operator key", {"metadata": {"$where": "1"}}, "INVALID_METADATA_KEY", ["metadata", "$where"]),
    ("dotted key", {"metadata": {"a.b": 1}}, "INVALID_METADATA_KEY", ["metadata", "a.b"]),
    ("empty key", {"metadata": {"": 1}}, "INVALID_METADATA_KEY", ["metadata", ""]),
    ("nested object", {"metadata": {"cart": {"items": 2}}}, "NESTED_VALUE", ["metadata", "cart"]),
    ("list value", {"metadata": {"tags": ["a", "b"]}}, "NESTED_VALUE", ["metadata", "tags"]),
    ("null value", {"metadata": {"plan": None}}, "INVALID_VALUE", ["metadata", "plan"]),
    (
        "too many keys",
        {"metadata": {f"k{i}": i for i in range(21)}},
        "TOO_MANY_METADATA_KEYS",
        ["metadata"],
    ),
    ("long string", {"metadata": {"note": "x" * 1001}}, "VALUE_TOO_LONG", ["metadata", "note"]),
    ("metadata not an object", {"metadata": ["a"]}, "INVALID_METADATA", ["metadata"]),
    (
        "negative money",
        {"metadata": {"price": {"amount": -1, "currency": "EUR"}}},
        "INVALID_MONEY",
        ["metadata", "price"],
    ),
    (
        "fractional money",
        {"metadata": {"price": {"amount": 12.5, "currency": "EUR"}}},
        "INVALID_MONEY",
        ["metadata", "price"],
    ),
    (
        "unknown currency",
        {"metadata": {"price": {"amount": 100, "currency": "XYZ"}}},
        "INVALID_MONEY",
        ["metadata", "price"],
    ),
    (
        "rich link without http url",
        {"metadata": {"order": {"url": "javascript:alert(1)", "value": "x"}}},
        "INVALID_LINK",
        ["metadata", "order"],
    ),
    (
        "milliseconds under _at",
        {"metadata": {"paid_at": 1764324000000000}},
        "INVALID_VALUE",
        ["metadata", "paid_at"],
    ),
    ("far future", {"occurredAt": iso(timedelta(minutes=6))}, "INVALID_TIMESTAMP", ["occurredAt"]),
    ("before 1970", {"occurredAt": "1969-12-31T23:59:59Z"}, "INVALID_TIMESTAMP", ["occurredAt"]),
    (
        "unknown contact id",
        {"contact": {"id": "6b0b9f508f735ba0c8aa86b0"}},
        "CONTACT_NOT_FOUND",
        ["contact", "id"],
    ),
    ("malformed contact id", {"contact": {"id": "nope"}}, "CONTACT_NOT_FOUND", ["contact", "id"]),
    ("blank userId", {"contact": {"userId": " "}}, "INVALID_CONTACT_REF", ["contact", "userId"]),
    ("bad email", {"contact": {"email": "not-an-email"}}, "INVALID_EMAIL", ["contact", "email"]),
    (
        "empty idempotency key",
        {"idempotencyKey": ""},
        "INVALID_IDEMPOTENCY_KEY",
        ["idempotencyKey"],
    ),
]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
async def test_bad_input_is_refused_with_its_code_and_nothing_stored(
    gql: GraphQL, http: httpx.AsyncClient, change: dict[str, Any], code: str, field: list[str]
) -> None:
    await gql.data("{ workspace { id } }")  # the key is checked and cached
    before = await store_commands(http)
    good = {"name": "viewed-pricing", "contact": {"userId": "u1"}, "idempotencyKey": "k1"}
    payload = (await gql.data(TRACK, input={**good, **change}))["trackEvent"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)]
    assert payload["event"] is None
    assert payload["summary"] is None
    after = await store_commands(http)
    writes = {k: v - before.get(k, 0) for k, v in after.items() if k[1] in WRITES}
    # An unknown id is only known once the key is claimed and the id matched nothing; the
    # claim is then released.
    tried = {
        ("idempotency_keys", "insert"),
        ("contacts", "find_and_modify"),
        ("idempotency_keys", "delete"),
    }
    assert {k for k, v in writes.items() if v} <= (tried if code == "CONTACT_NOT_FOUND" else set())
    assert (await gql.data(EVENT_TYPES))["eventTypes"] == []
    # The idempotency key was not used up: the corrected event goes through.
    fixed = (await gql.data(TRACK, input=good))["trackEvent"]
    assert fixed["duplicate"] is False
    assert fixed["summary"]["count"] == 1


async def test_every_problem_of_one_input_is_reported(gql: GraphQL) -> None:
    payload = (
        await gql.data(
            TRACK,
            input={
                "name": "bad.name",
                "contact": {"userId": "u1"},
                "metadata": {"a.b": 1, "ok": {"deep": 1}},
                "occurredAt": iso(timedelta(days=1)),
            },
        )
    )["trackEvent"]
    assert sorted(e["code"] for e in payload["userErrors"]) == [
        "INVALID_EVENT_NAME",
        "INVALID_METADATA_KEY",
        "INVALID_TIMESTAMP",
        "NESTED_VALUE",
    ]


async def test_a_ref_with_two_fields_is_a_malformed_request(gql: GraphQL) -> None:
    body = await gql.result(
        TRACK, input={"name": "x", "contact": {"userId": "u1", "email": "a@example.com"}}
    )
    assert body["data"] is None
    assert "exactly one key" in body["errors"][0]["message"]


@pytest.mark.parametrize("key", [None, "wrong-key"])
async def test_missing_or_wrong_key_is_refused(http: httpx.AsyncClient, key: str | None) -> None:
    anonymous = GraphQL(http, key=key)
    response = await anonymous.post(TRACK, input={"name": "x", "contact": {"userId": "u1"}})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await GraphQL(http).data(EVENT_TYPES))["eventTypes"] == []

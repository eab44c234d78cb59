"""upsertContact and contact(ref) through HTTP."""

from __future__ import annotations

from typing import Any

from tests.api.test_track_event import iso, track
from tests.helpers import GraphQL

UPSERT = """
mutation Upsert($input: ContactInput!) {
  upsertContact(input: $input) {
    contact {
      id role userId email anonymousId name createdAt signedUpAt lastSeenAt customAttributes
    }
    userErrors { field message code }
  }
}
"""

GET = """
query Get($ref: ContactRef!) {
  contact(ref: $ref) { id role userId email name lastSeenAt customAttributes }
}
"""


async def upsert(gql: GraphQL, **input: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await gql.data(UPSERT, input=input))["upsertContact"]
    return payload


async def test_create_then_update_a_user_with_typed_attributes(gql: GraphQL) -> None:
    created = await upsert(
        gql,
        ref={"userId": "u1"},
        email="Ada@Example.com",
        name="Ada",
        signedUpAt="2026-11-01T09:00:00Z",
        customAttributes={
            "plan": "pro",
            "projects": 3,
            "beta": True,
            "renewal": "2027-01-01T00:00:00Z",
            "homepage": "https://ada.example",
        },
    )
    assert created["userErrors"] == []
    contact = created["contact"]
    assert contact["role"] == "USER"
    assert (contact["userId"], contact["email"], contact["name"]) == (
        "u1",
        "ada@example.com",
        "Ada",
    )
    assert contact["signedUpAt"] == "2026-11-01T09:00:00+00:00"
    assert contact["createdAt"] == iso()
    assert contact["customAttributes"] == {
        "plan": "pro",
        "projects": 3,
        "beta": True,
        "renewal": "2027-01-01T00:00:00+00:00",
        "homepage": "https://ada.example",
    }

    updated = await upsert(
        gql, ref={"email": "ada@example.com"}, customAttributes={"plan": "team", "beta": None}
    )
    assert updated["contact"]["id"] == contact["id"]
    assert updated["contact"]["customAttributes"] == {
        "plan": "team",
        "projects": 3,
        "renewal": "2027-01-01T00:00:00+00:00",
        "homepage": "https://ada.example",
    }
    fetched = (await gql.data(GET, ref={"id": contact["id"]}))["contact"]
    assert fetched["customAttributes"] == updated["contact"]["customAttributes"]


async def test_last_seen_only_moves_forward(gql: GraphQL) -> None:
    await upsert(gql, ref={"userId": "u1"}, lastSeenAt="2026-11-20T00:00:00Z")
    payload = await upsert(gql, ref={"userId": "u1"}, lastSeenAt="2026-11-10T00:00:00Z")
    assert payload["contact"]["lastSeenAt"] == "2026-11-20T00:00:00+00:00"
    await track(gql, name="viewed-page", contact={"userId": "u1"})
    contact = (await gql.data(GET, ref={"userId": "u1"}))["contact"]
    assert contact["lastSeenAt"] == iso()


async def test_a_lead_is_created_by_anonymous_id(gql: GraphQL) -> None:
    payload = await upsert(gql, ref={"anonymousId": "visitor-9"}, email="lead@example.com")
    assert payload["contact"]["role"] == "LEAD"
    assert payload["contact"]["anonymousId"] == "visitor-9"
    # An email names a user; this lead is not one.
    assert (await gql.data(GET, ref={"email": "lead@example.com"}))["contact"] is None


async def test_user_id_names_a_user_found_by_email_once(gql: GraphQL) -> None:
    await track(gql, name="signed-in", contact={"email": "bo@example.com"})
    named = await upsert(gql, ref={"email": "bo@example.com"}, userId="bo")
    assert named["userErrors"] == []
    assert named["contact"]["userId"] == "bo"
    again = await upsert(gql, ref={"email": "bo@example.com"}, userId="someone-else")
    assert [e["code"] for e in again["userErrors"]] == ["USER_ID_IMMUTABLE"]
    by_ref = await upsert(gql, ref={"userId": "bo"}, userId="bob")
    assert [e["code"] for e in by_ref["userErrors"]] == ["USER_ID_IMMUTABLE"]


async def test_email_and_user_id_belong_to_one_user(gql: GraphQL) -> None:
    await upsert(gql, ref={"userId": "u1"}, email="one@example.com")
    await upsert(gql, ref={"userId": "u2"})
    taken = await upsert(gql, ref={"userId": "u2"}, email="ONE@example.com")
    assert [(e["code"], e["field"]) for e in taken["userErrors"]] == [("EMAIL_TAKEN", ["email"])]
    await upsert(gql, ref={"email": "three@example.com"})
    taken = await upsert(gql, ref={"email": "three@example.com"}, userId="u1")
    assert [e["code"] for e in taken["userErrors"]] == ["USER_ID_TAKEN"]
    u2 = (await gql.data(GET, ref={"userId": "u2"}))["contact"]
    assert u2["email"] is None


async def test_bad_contact_input_is_refused_and_nothing_changes(gql: GraphQL) -> None:
    await upsert(gql, ref={"userId": "u1"}, name="Ada", customAttributes={"plan": "pro"})
    payload = await upsert(
        gql,
        ref={"userId": "u1"},
        name="x" * 256,
        email="nope",
        customAttributes={"$set": 1, "a.b": 2, "deep": {"x": 1}, "plan": "team"},
    )
    assert sorted((e["code"], tuple(e["field"])) for e in payload["userErrors"]) == [
        ("INVALID_ATTRIBUTE_NAME", ("customAttributes", "$set")),
        ("INVALID_ATTRIBUTE_NAME", ("customAttributes", "a.b")),
        ("INVALID_EMAIL", ("email",)),
        ("INVALID_NAME", ("name",)),
        ("NESTED_VALUE", ("customAttributes", "deep")),
    ]
    assert payload["contact"] is None
    contact = (await gql.data(GET, ref={"userId": "u1"}))["contact"]
    assert (contact["name"], contact["customAttributes"]) == ("Ada", {"plan": "pro"})


async def test_unknown_id_is_not_created(gql: GraphQL) -> None:
    payload = await upsert(gql, ref={"id": "6b0b9f508f735ba0c8aa86b0"}, name="Ghost")
    assert [e["code"] for e in payload["userErrors"]] == ["CONTACT_NOT_FOUND"]
    assert (await gql.data(GET, ref={"id": "6b0b9f508f735ba0c8aa86b0"}))["contact"] is None


async def test_contact_query_with_a_bad_ref_is_a_coded_error(gql: GraphQL) -> None:
    assert await gql.error_codes(GET, ref={"email": "not-an-email"}) == ["INVALID_EMAIL"]

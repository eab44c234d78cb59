"""A visitor browses as a lead, then signs up: conversion, merges, aliases, repeats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.applications import Starlette

from app.clock import ManualClock
from app.domain.models import KeyScope
from app.store.workspaces import ensure_workspace, install_key
from tests.api.test_track_event import CONTACT, EVENT_TYPES, iso, track
from tests.api.test_track_events import track_many
from tests.faults import Faults
from tests.helpers import GraphQL

UPSERT = """
mutation Upsert($input: ContactInput!) {
  upsertContact(input: $input) { contact { id role userId anonymousId email name customAttributes } userErrors { field code } }
}
"""
MERGE = """
mutation Merge($from: ContactRef!, $into: ContactRef!) {
  mergeContacts(from: $from, into: $into) { contact { id role userId } userErrors { field code } }
}
"""


def days(n: float) -> str:
    return iso(-timedelta(days=n))


async def contact(gql: GraphQL, ref: dict[str, str]) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await gql.data(CONTACT, ref=ref, first=50))["contact"]
    return found


async def catalog(gql: GraphQL) -> dict[str, tuple[int, int]]:
    return {
        t["name"]: (t["count"], t["contactCount"])
        for t in (await gql.data(EVENT_TYPES))["eventTypes"]
    }


async def browse_then_sign_up(gql: GraphQL) -> None:
    """A lead views pages and pricing; the user (on another device) already exists."""
    for n, page in ((5, "/"), (4, "/pricing"), (3, "/pricing")):
        await track(
            gql,
            name="viewed-page",
            contact={"anonymousId": "visitor-1"},
            occurredAt=days(n),
            metadata={"path": page},
        )
    await track(gql, name="added-to-cart", contact={"anonymousId": "visitor-1"}, occurredAt=days(3))
    await gql.data(
        UPSERT,
        input={
            "ref": {"anonymousId": "visitor-1"},
            "name": "Visitor",
            "customAttributes": {"source": "ads", "plan": "free"},
        },
    )
    await track(
        gql,
        name="viewed-page",
        contact={"userId": "ada"},
        occurredAt=days(10),
        metadata={"path": "/docs"},
    )
    await track(
        gql,
        name="viewed-page",
        contact={"userId": "ada"},
        occurredAt=days(1),
        metadata={"path": "/app"},
    )
    await track(gql, name="exported-pdf", contact={"userId": "ada"}, occurredAt=days(2))
    await gql.data(
        UPSERT,
        input={
            "ref": {"userId": "ada"},
            "email": "ada@example.com",
            "customAttributes": {"plan": "pro"},
        },
    )


async def test_converting_into_an_existing_user_merges_everything_exactly(gql: GraphQL) -> None:
    await browse_then_sign_up(gql)
    lead = await contact(gql, {"anonymousId": "visitor-1"})
    assert lead is not None
    assert await catalog(gql) == {
        "viewed-page": (5, 2),
        "added-to-cart": (1, 1),
        "exported-pdf": (1, 1),
    }

    payload = (
        await gql.data(UPSERT, input={"ref": {"anonymousId": "visitor-1"}, "userId": "ada"})
    )["upsertContact"]
    assert payload["userErrors"] == []
    user = payload["contact"]
    assert (user["role"], user["userId"], user["email"]) == ("USER", "ada", "ada@example.com")
    # The user's values win; the lead's fill the gaps.
    assert user["customAttributes"] == {"plan": "pro", "source": "ads"}
    assert user["name"] == "Visitor"

    ada = await contact(gql, {"userId": "ada"})
    assert ada is not None
    assert ada["id"] == user["id"] != lead["id"]
    assert ada["eventSummaries"] == [
        {"name": "added-to-cart", "count": 1, "firstAt": days(3), "lastAt": days(3)},
        {"name": "exported-pdf", "count": 1, "firstAt": days(2), "lastAt": days(2)},
        {"name": "viewed-page", "count": 5, "firstAt": days(10), "lastAt": days(1)},
    ]
    # All the pages the lead viewed before signing up are on the user's profile.
    pages = [
        e["node"]["occurredAt"]
        for e in ada["activity"]["edges"]
        if e["node"]["name"] == "viewed-page"
    ]
    assert pages == [days(1), days(3), days(4), days(5), days(10)]
    assert await catalog(gql) == {
        "viewed-page": (5, 1),
        "added-to-cart": (1, 1),
        "exported-pdf": (1, 1),
    }
    assert (await contact(gql, {"id": lead["id"]})) is None

    # The old anonymous id is an alias: later events and reads reach the user.
    later = await track(gql, name="viewed-page", contact={"anonymousId": "visitor-1"})
    assert later["contact"]["id"] == user["id"]
    assert later["summary"]["count"] == 6
    aliased = await contact(gql, {"anonymousId": "visitor-1"})
    assert aliased is not None
    assert aliased["id"] == user["id"]
    shown = await gql.data('{ contact(ref: {userId: "ada"}) { aliases } }')
    assert shown == {"contact": {"aliases": ["visitor-1"]}}

    # Repeating the conversion or the merge changes nothing.
    again = (await gql.data(UPSERT, input={"ref": {"anonymousId": "visitor-1"}, "userId": "ada"}))[
        "upsertContact"
    ]
    assert again["userErrors"] == []
    merged = (
        await gql.data(MERGE, **{"from": {"anonymousId": "visitor-1"}, "into": {"userId": "ada"}})
    )["mergeContacts"]
    assert merged["userErrors"] == []
    assert await catalog(gql) == {
        "viewed-page": (6, 1),
        "added-to-cart": (1, 1),
        "exported-pdf": (1, 1),
    }
    final = await contact(gql, {"userId": "ada"})
    assert final is not None
    assert [s["count"] for s in final["eventSummaries"]] == [1, 1, 6]


async def test_a_lead_without_a_user_converts_in_place(gql: GraphQL) -> None:
    first = await track(
        gql, name="viewed-pricing", contact={"anonymousId": "visitor-2"}, occurredAt=days(2)
    )
    payload = (
        await gql.data(
            UPSERT,
            input={
                "ref": {"anonymousId": "visitor-2"},
                "userId": "bob",
                "email": "bob@example.com",
            },
        )
    )["upsertContact"]
    assert payload["userErrors"] == []
    bob = payload["contact"]
    assert (bob["id"], bob["role"], bob["userId"], bob["anonymousId"], bob["email"]) == (
        first["contact"]["id"], "USER", "bob", "visitor-2", "bob@example.com",
    )  # fmt: skip
    assert (await contact(gql, {"email": "bob@example.com"}) or {}).get("id") == bob["id"]
    later = await track(gql, name="viewed-pricing", contact={"anonymousId": "visitor-2"})
    assert later["contact"]["id"] == bob["id"]
    assert later["summary"]["count"] == 2
    assert await catalog(gql) == {"viewed-pricing": (2, 1)}
    changed = (
        await gql.data(UPSERT, input={"ref": {"anonymousId": "visitor-2"}, "userId": "robert"})
    )["upsertContact"]
    assert [e["code"] for e in changed["userErrors"]] == ["USER_ID_IMMUTABLE"]


async def test_a_visitor_signing_up_before_any_event_is_a_user(gql: GraphQL) -> None:
    payload = (await gql.data(UPSERT, input={"ref": {"anonymousId": "visitor-3"}, "userId": "cy"}))[
        "upsertContact"
    ]
    assert payload["userErrors"] == []
    assert (payload["contact"]["role"], payload["contact"]["anonymousId"]) == ("USER", "visitor-3")


async def test_an_interrupted_merge_is_completed_by_a_repeat(gql: GraphQL, app: Starlette) -> None:
    await browse_then_sign_up(gql)
    lead = await contact(gql, {"anonymousId": "visitor-1"})
    ada = await contact(gql, {"userId": "ada"})
    assert lead is not None
    assert ada is not None
    faults = Faults(app.state.services.store)
    # The summaries are folded; the process dies while the raw events move.
    faults.before("events", "update", raise_=ConnectionError("the database went away"))
    failed = await gql.result(
        MERGE, **{"from": {"anonymousId": "visitor-1"}, "into": {"userId": "ada"}}
    )
    faults.restore()
    assert failed["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"

    # Halfway: the anonymousId names the user for every write (one event or a batch), never
    # the lead, whose summaries were already folded into the user.
    one = await track(gql, name="viewed-page", contact={"anonymousId": "visitor-1"})
    assert one["contact"]["id"] == ada["id"]
    batch = await track_many(
        gql,
        [
            {"name": "viewed-page", "contact": {"anonymousId": "visitor-1"}},
            {"name": "viewed-page", "contact": {"userId": "bob"}},
        ],
    )
    assert batch["acceptedCount"] == 2
    # A write by the lead's own id finds nobody: it is going away.
    by_id = await track_many(gql, [{"name": "x", "contact": {"id": lead["id"]}}])
    assert by_id["results"][0]["userErrors"][0]["code"] == "CONTACT_NOT_FOUND"

    done = (
        await gql.data(MERGE, **{"from": {"anonymousId": "visitor-1"}, "into": {"userId": "ada"}})
    )["mergeContacts"]
    assert done["userErrors"] == []
    merged = await contact(gql, {"userId": "ada"})
    assert merged is not None
    assert {s["name"]: s["count"] for s in merged["eventSummaries"]} == {
        "added-to-cart": 1,
        "exported-pdf": 1,
        "viewed-page": 7,
    }
    assert len([e for e in merged["activity"]["edges"] if e["node"]["name"] == "viewed-page"]) == 7
    assert await catalog(gql) == {
        "viewed-page": (8, 2),
        "added-to-cart": (1, 1),
        "exported-pdf": (1, 1),
    }
    assert (await contact(gql, {"id": lead["id"]})) is None


async def test_users_are_never_merged_and_refs_must_name_contacts(gql: GraphQL) -> None:
    await track(gql, name="a", contact={"userId": "u1"})
    await track(gql, name="a", contact={"userId": "u2"})
    await track(gql, name="a", contact={"anonymousId": "v1"})
    await track(gql, name="a", contact={"anonymousId": "v2"})

    async def codes(source: dict[str, str], target: dict[str, str]) -> list[str]:
        payload = (await gql.data(MERGE, **{"from": source, "into": target}))["mergeContacts"]
        return [e["code"] for e in payload["userErrors"]]

    assert await codes({"userId": "u1"}, {"userId": "u2"}) == ["CANNOT_MERGE_USERS"]
    assert await codes({"anonymousId": "v1"}, {"anonymousId": "v2"}) == ["MERGE_TARGET_NOT_USER"]
    assert await codes({"anonymousId": "v1"}, {"userId": "nobody"}) == ["CONTACT_NOT_FOUND"]
    assert await codes({"userId": "nobody"}, {"userId": "u1"}) == ["CONTACT_NOT_FOUND"]
    assert await catalog(gql) == {"a": (4, 4)}


async def test_conversion_never_crosses_workspaces(
    gql: GraphQL, app: Starlette, clock: ManualClock
) -> None:
    store = app.state.services.store
    await ensure_workspace(
        store, workspace_id="other", name="Other", retention_days=90,
        identity_secret="s", webhook_secret="w", now=clock.now(),
    )  # fmt: skip
    await install_key(
        store, key_id="other-admin", workspace_id="other", secret="other-key",
        name="other", scope=KeyScope.ADMIN, operator=False, now=clock.now(),
    )  # fmt: skip
    other = GraphQL(gql.http, key="other-key")
    await browse_then_sign_up(gql)
    payload = (
        await other.data(UPSERT, input={"ref": {"anonymousId": "visitor-1"}, "userId": "ada"})
    )["upsertContact"]
    assert payload["userErrors"] == []
    assert payload["contact"]["customAttributes"] == {}
    lead = await contact(gql, {"anonymousId": "visitor-1"})
    assert lead is not None
    assert lead["role"] == "LEAD"
    assert await catalog(gql) == {
        "viewed-page": (5, 2),
        "added-to-cart": (1, 1),
        "exported-pdf": (1, 1),
    }
    assert await catalog(other) == {}

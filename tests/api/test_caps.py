"""Caps that keep documents far below 16 MiB: event names per workspace, metadata keys per event
name, attributes and aliases per contact, AUDIENCE rules per workspace. Each refuses with a code,
never drops."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from app.settings import Settings
from tests.api.test_identity import MERGE, UPSERT, catalog, contact
from tests.api.test_message_rules import create
from tests.api.test_privacy import DELETE
from tests.api.test_track_event import EVENT_TYPES, track
from tests.api.test_track_events import track_many
from tests.faults import Faults
from tests.helpers import GraphQL


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "max_event_names": 3,
            "max_contact_attributes": 3,
            "max_contact_aliases": 2,
            "max_audience_rules": 2,
            "max_metadata_keys_per_name": 3,
        }
    )


def codes(payload: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def test_event_names_past_the_cap_are_refused_and_the_others_go_on(gql: GraphQL) -> None:
    await track(gql, name="a", contact={"userId": "ada"})
    results = (
        await track_many(
            gql,
            [
                {"name": name, "contact": {"userId": "ada"}}
                for name in ("b", "c", "d", "a", "D", "e")
            ],
        )
    )["results"]
    assert [r["userErrors"] for r in results] == [
        [], [], [{"field": ["name"], "code": "TOO_MANY_EVENT_NAMES"}], [],
        [{"field": ["name"], "code": "TOO_MANY_EVENT_NAMES"}],
        [{"field": ["name"], "code": "TOO_MANY_EVENT_NAMES"}],
    ]  # fmt: skip
    assert await catalog(gql) == {"a": (2, 1), "b": (1, 1), "c": (1, 1)}
    ada = await contact(gql, {"userId": "ada"})
    assert ada is not None
    assert [s["name"] for s in ada["eventSummaries"]] == ["a", "b", "c"]

    # A refused event does not use up its key; a name leaving the catalog makes room.
    refused = await track(gql, name="d", contact={"userId": "bob"}, idempotencyKey="k1")
    assert codes(refused) == [("TOO_MANY_EVENT_NAMES", ["name"])]
    await track(gql, name="c", contact={"userId": "bob"})  # a known name is always fine
    await gql.data(DELETE, ref={"userId": "ada"})
    assert await catalog(gql) == {"c": (1, 1)}
    accepted = await track(gql, name="d", contact={"userId": "bob"}, idempotencyKey="k1")
    assert accepted["userErrors"] == []
    assert accepted["duplicate"] is False


async def test_metadata_keys_per_event_name_are_capped(gql: GraphQL) -> None:
    # Each distinct key is an entry in the name's catalog documents: a page sending a new key
    # on every event would otherwise grow them past 16 MiB and stop that name's ingestion.
    await track(gql, name="viewed-page", contact={"userId": "ada"}, metadata={"path": "/"})
    results = (
        await track_many(
            gql,
            [
                {"name": "viewed-page", "contact": {"userId": "ada"}, "metadata": metadata}
                for metadata in (
                    {"path": "/a", "ref": "x"},  # one new key: 2 of 3
                    {"k1": 1, "k2": 2},  # two new keys: would make 4
                    {"tab": "plans", "path": "/b"},  # one new key: 3 of 3
                    {"path": "/c", "ref": "y", "tab": "faq"},  # known keys only
                    {"other": True},
                )
            ]
            + [{"name": "viewed-pricing", "contact": {"userId": "ada"}, "metadata": {"k1": 1}}],
        )
    )["results"]
    refused = [{"field": ["metadata"], "code": "TOO_MANY_DISTINCT_METADATA_KEYS"}]
    assert [r["userErrors"] for r in results] == [[], refused, [], [], refused, []]
    types = {t["name"]: t for t in (await gql.data(EVENT_TYPES))["eventTypes"]}
    assert types["viewed-page"]["count"] == 4
    assert [k["key"] for k in types["viewed-page"]["metadataKeys"]] == ["path", "ref", "tab"]
    assert types["viewed-pricing"]["count"] == 1  # the cap is per name
    # Nothing of a refused event is stored: a retry within the cap is not a duplicate.
    again = await track(gql, name="viewed-page", contact={"userId": "ada"}, metadata={"ref": "z"})
    assert again["userErrors"] == []
    assert again["summary"]["count"] == 5


async def test_custom_attributes_per_contact_are_capped(gql: GraphQL) -> None:
    async def upsert(ref: dict[str, str], attributes: dict[str, Any]) -> dict[str, Any]:
        payload: dict[str, Any] = (
            await gql.data(UPSERT, input={"ref": ref, "customAttributes": attributes})
        )["upsertContact"]
        return payload

    ada = {"userId": "ada"}
    assert codes(await upsert(ada, {"a": 1, "b": 2})) == []
    assert codes(await upsert(ada, {"c": 3})) == []
    assert codes(await upsert(ada, {"d": 4})) == [
        ("TOO_MANY_CUSTOM_ATTRIBUTES", ["customAttributes"])
    ]
    assert codes(await upsert(ada, {"e": 1, "f": 2, "g": 3, "h": 4})) == [
        ("TOO_MANY_CUSTOM_ATTRIBUTES", ["customAttributes"])
    ]
    replaced = await upsert(ada, {"a": None, "d": 4})  # one out, one in: still three
    assert codes(replaced) == []
    assert replaced["contact"]["customAttributes"] == {"b": 2, "c": 3, "d": 4}

    # A lead whose attributes would take the user past the cap is not converted into it.
    assert codes(await upsert({"anonymousId": "visitor-1"}, {"x": 1})) == []
    converted = (
        await gql.data(UPSERT, input={"ref": {"anonymousId": "visitor-1"}, "userId": "ada"})
    )["upsertContact"]
    assert codes(converted) == [("TOO_MANY_CUSTOM_ATTRIBUTES", ["userId"])]
    lead = await contact(gql, {"anonymousId": "visitor-1"})
    assert lead is not None
    assert lead["role"] == "LEAD"


async def test_aliases_per_contact_are_capped(gql: GraphQL, app: Starlette) -> None:
    await track(gql, name="a", contact={"userId": "ada"})
    for visitor in ("v1", "v2", "v3"):
        await track(gql, name="a", contact={"anonymousId": visitor})

    async def merge(visitor: str) -> dict[str, Any]:
        payload: dict[str, Any] = (
            await gql.data(MERGE, **{"from": {"anonymousId": visitor}, "into": {"userId": "ada"}})
        )["mergeContacts"]
        return payload

    assert codes(await merge("v1")) == []
    assert codes(await merge("v2")) == []
    faults = Faults(app.state.services.store)
    refused = await merge("v3")
    faults.restore()
    assert codes(refused) == [("TOO_MANY_ALIASES", ["from"])]
    assert [op for op in faults.commands if op[1] not in ("find", "count")] == []  # no write
    lead = await contact(gql, {"anonymousId": "v3"})
    assert lead is not None
    assert lead["role"] == "LEAD"
    assert await catalog(gql) == {"a": (4, 2)}


async def test_audience_rules_are_capped_and_a_deleted_one_leaves_every_contact(
    gql: GraphQL, app: Starlette
) -> None:
    def audience(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "trigger": {"kind": "AUDIENCE"},
            "audience": {"role": "USER"},
            "content": {"channel": "IN_APP", "body": "Hi"},
        }

    event_rule = {
        "name": "On signup",
        "trigger": {"kind": "EVENT", "eventName": "signed-up"},
        "content": {"channel": "IN_APP", "body": "Hi"},
    }
    first = (await create(gql, audience("One")))["rule"]
    assert codes(await create(gql, audience("Two"))) == []
    assert codes(await create(gql, audience("Three"))) == [
        ("TOO_MANY_AUDIENCE_RULES", ["trigger", "kind"])
    ]
    other = (await create(gql, event_rule))["rule"]
    updated = (
        await gql.data(
            "mutation($id: ID!, $i: MessageRuleInput!) "
            "{ updateMessageRule(id: $id, input: $i) { userErrors { field code } } }",
            id=other["id"],
            i=audience("Four"),
        )
    )["updateMessageRule"]
    assert codes(updated) == [("TOO_MANY_AUDIENCE_RULES", ["trigger", "kind"])]

    await track(gql, name="signed-in", contact={"userId": "ada"})
    await app.state.services.scheduler.tick()
    contacts = app.state.services.store.collection("contacts")
    [done] = await contacts.find({"user_id": "ada"}, limit=0)
    assert first["id"] in done["audience_done"]
    await gql.data(
        "mutation($id: ID!) { deleteMessageRule(id: $id) { userErrors { code } } }",
        id=first["id"],
    )
    [done] = await contacts.find({"user_id": "ada"}, limit=0)
    assert first["id"] not in done["audience_done"]
    assert codes(await create(gql, audience("Three"))) == []


async def test_every_write_adding_names_writes_the_workspace_note(
    gql: GraphQL, app: Starlette
) -> None:
    """The mechanism that makes the cap exact on a replica set: two transactions adding names
    both write the workspace's note, so they conflict and one is run again, counting anew."""
    faults = Faults(app.state.services.store)
    await track(gql, name="a", contact={"userId": "ada"})
    assert faults.commands.count(("workspaces", "update")) == 1
    await track(gql, name="a", contact={"userId": "bob"})
    await track_many(gql, [{"name": "a", "contact": {"userId": "cy"}}])
    assert faults.commands.count(("workspaces", "update")) == 1
    await track_many(gql, [{"name": n, "contact": {"userId": "cy"}} for n in ("a", "b", "c")])
    assert faults.commands.count(("workspaces", "update")) == 2
    faults.restore()

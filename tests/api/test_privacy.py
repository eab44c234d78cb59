"""Deleting a person (right to be forgotten) and exporting one (right of access)."""

from __future__ import annotations

from datetime import timedelta

from tests.api.test_track_event import CONTACT, EVENT_TYPES, iso, track
from tests.helpers import GraphQL

DELETE = """
mutation Delete($ref: ContactRef!) {
  deleteContact(ref: $ref) { deletedContactId deletedEventCount userErrors { field code } }
}
"""
EXPORT = "query Export($ref: ContactRef!) { contactExport(ref: $ref) }"


async def catalog(gql: GraphQL) -> dict[str, tuple[int, int, str, str]]:
    types = (await gql.data(EVENT_TYPES))["eventTypes"]
    return {t["name"]: (t["count"], t["contactCount"], t["firstAt"], t["lastAt"]) for t in types}


async def test_deleting_a_contact_removes_its_events_and_corrects_the_catalog(gql: GraphQL) -> None:
    for days in (1, 5, 120):  # one older than the retention window: in summaries only
        await track(
            gql, name="viewed-pricing", contact={"userId": "ada"}, occurredAt=iso(-timedelta(days))
        )
    await track(gql, name="exported-pdf", contact={"userId": "ada"}, occurredAt=iso(-timedelta(2)))
    await track(
        gql, name="viewed-pricing", contact={"userId": "bob"}, occurredAt=iso(-timedelta(3))
    )
    ada = (await gql.data(CONTACT, ref={"userId": "ada"}))["contact"]

    payload = (await gql.data(DELETE, ref={"userId": "ada"}))["deleteContact"]
    assert payload == {"deletedContactId": ada["id"], "deletedEventCount": 4, "userErrors": []}
    assert (await gql.data(CONTACT, ref={"userId": "ada"}))["contact"] is None
    assert (await gql.data(CONTACT, ref={"id": ada["id"]}))["contact"] is None
    # bob alone is left in the catalog; exported-pdf was only ada's. The first and last times
    # are the workspace's history of the name: they name nobody and stay.
    assert await catalog(gql) == {
        "viewed-pricing": (1, 1, iso(-timedelta(120)), iso(-timedelta(1)))
    }

    again = (await gql.data(DELETE, ref={"userId": "ada"}))["deleteContact"]
    assert [e["code"] for e in again["userErrors"]] == ["CONTACT_NOT_FOUND"]
    assert again["deletedEventCount"] == 0

    fresh = await track(gql, name="viewed-pricing", contact={"userId": "ada"})
    assert fresh["contact"]["id"] != ada["id"]
    assert fresh["summary"]["count"] == 1
    assert await catalog(gql) == {"viewed-pricing": (2, 2, iso(-timedelta(120)), iso())}


async def test_delete_with_a_bad_ref_is_a_coded_error(gql: GraphQL) -> None:
    payload = (await gql.data(DELETE, ref={"email": "nope"}))["deleteContact"]
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("INVALID_EMAIL", ["ref", "email"])
    ]


async def test_export_holds_attributes_summaries_and_recent_events(gql: GraphQL) -> None:
    await gql.data(
        "mutation($i: ContactInput!) { upsertContact(input: $i) { userErrors { code } } }",
        i={"ref": {"userId": "ada"}, "name": "Ada", "customAttributes": {"plan": "pro"}},
    )
    await track(
        gql,
        name="bought-game",
        contact={"userId": "ada"},
        metadata={"price": {"amount": 5999, "currency": "EUR"}},
        occurredAt=iso(-timedelta(1)),
    )
    await track(gql, name="bought-game", contact={"userId": "ada"}, occurredAt=iso(-timedelta(100)))
    export = (await gql.data(EXPORT, ref={"userId": "ada"}))["contactExport"]
    assert export["contact"]["userId"] == "ada"
    assert export["contact"]["name"] == "Ada"
    assert export["contact"]["customAttributes"] == {"plan": "pro"}
    assert export["contact"]["eventSummaries"] == [
        {
            "name": "bought-game",
            "count": 2,
            "firstAt": iso(-timedelta(100)),
            "lastAt": iso(-timedelta(1)),
        }
    ]
    assert [(e["name"], e["occurredAt"], e["metadata"]) for e in export["events"]] == [
        ("bought-game", iso(-timedelta(1)), {"price": {"amount": 5999, "currency": "EUR"}})
    ]
    assert (await gql.data(EXPORT, ref={"userId": "nobody"}))["contactExport"] is None

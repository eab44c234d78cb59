"""What the store must mean on MongoDB, seen through the API: filters compare by type (true is
never 1), NUL never reaches a regex, message pages count only when totalCount is asked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.api.test_segments import CONTACTS, who
from tests.api.test_track_events import track_many
from tests.helpers import GraphQL, store_commands

UPSERT = "mutation($i: ContactInput!) { upsertContact(input: $i) { userErrors { code } } }"


@pytest.fixture
async def flags(gql: GraphQL) -> None:
    for user, value in (("yes", True), ("one", 1), ("no", False), ("zero", 0), ("half", 0.5)):
        payload = await gql.data(
            UPSERT, i={"ref": {"userId": user}, "customAttributes": {"flag": value}}
        )
        assert payload["upsertContact"]["userErrors"] == []
    events = [
        {"name": "paid", "contact": {"userId": user}, "metadata": {"trial": value}}
        for user, value in (("yes", True), ("one", 1), ("no", False), ("zero", 0))
    ]
    assert (await track_many(gql, events))["acceptedCount"] == 4


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"boolean": True}, ["yes"]),
        ({"boolean": False}, ["no"]),
        ({"number": {"eq": 1}}, ["one"]),
        ({"number": {"eq": 0}}, ["zero"]),
        ({"number": {"gte": 0}}, ["half", "one", "zero"]),
        ({"number": {"ne": 1}}, ["half", "no", "yes", "zero"]),
    ],
)
async def test_booleans_and_numbers_stay_apart_in_attribute_filters(
    gql: GraphQL, flags: None, filter: dict[str, Any], expected: list[str]
) -> None:
    assert await who(gql, {"attribute": {"name": "flag", **filter}}) == expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"boolean": True}, ["yes"]),
        ({"number": {"eq": 1}}, ["one"]),
        ({"number": {"eq": 0}}, ["zero"]),
    ],
)
async def test_booleans_and_numbers_stay_apart_in_metadata_filters(
    gql: GraphQL, flags: None, condition: dict[str, Any], expected: list[str]
) -> None:
    within = {"lastDays": 7, "count": {"gte": 1}, "metadata": [{"key": "trial", **condition}]}
    assert await who(gql, {"event": {"name": "paid", "within": within}}) == expected


@pytest.mark.parametrize("op", ["contains", "startsWith"])
async def test_nul_in_a_text_search_is_refused_with_a_code(
    gql: GraphQL, flags: None, op: str
) -> None:
    # MongoDB refuses a regular expression with an embedded NUL: never send one.
    for filter in (
        {"email": {op: "a\u0000b"}},
        {"attribute": {"name": "flag", "string": {op: "\u0000"}}},
        {
            "event": {
                "name": "paid",
                "within": {
                    "lastDays": 7,
                    "count": {"gte": 1},
                    "metadata": [{"key": "trial", "string": {op: "x\u0000"}}],
                },
            }
        },
    ):
        assert await gql.error_codes(CONTACTS, filter=filter) == ["INVALID_FILTER"]


async def test_message_pages_count_only_when_total_count_is_asked(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    page = "query($c: Boolean!) { messages(first: 5) { edges { cursor } totalCount @include(if: $c) } }"
    await gql.data(page, c=False)  # the key is now checked
    before = await store_commands(http)
    assert (await gql.data(page, c=False))["messages"] == {"edges": []}
    middle = await store_commands(http)
    assert (await gql.data(page, c=True))["messages"] == {"edges": [], "totalCount": 0}
    after = await store_commands(http)
    assert middle.get(("messages", "count"), 0) == before.get(("messages", "count"), 0)
    assert after.get(("messages", "count"), 0) == middle.get(("messages", "count"), 0) + 1


async def test_unset_references_are_absent_never_null(gql: GraphQL, app: Starlette) -> None:
    """The unique indexes' partial filters are {$exists: true}: a stored null would be a key."""
    for i in (
        {"ref": {"anonymousId": "a1"}, "email": "Lead@Example.com"},
        {"ref": {"userId": "u1"}},
        {"ref": {"anonymousId": "a1"}, "userId": "u1"},  # a merge
        {"ref": {"anonymousId": "a2"}, "name": "Ann"},
        {"ref": {"anonymousId": "a2"}, "userId": "u2"},  # a conversion in place
    ):
        assert (await gql.data(UPSERT, i=i))["upsertContact"]["userErrors"] == []
    contacts = app.state.services.store.collection("contacts")
    stored = await contacts.find({}, limit=0)
    assert {doc.get("user_id") for doc in stored} == {"u1", "u2"}
    for field in ("user_id", "email", "anonymous_id"):
        assert await contacts.count({field: None}) == sum(field not in doc for doc in stored)
        assert not [doc for doc in stored if field in doc and doc[field] is None]

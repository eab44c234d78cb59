"""contacts(filter, orderBy) and saved segments over a population with known histories."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.api.test_message_rules import create as create_rule
from tests.api.test_track_event import iso
from tests.api.test_track_events import track_many
from tests.helpers import GraphQL, total_store_commands
from tests.sizes import recording_sizes

CONTACTS = """
query Contacts($filter: ContactFilter, $orderBy: ContactOrder, $first: Int, $after: String) {
  contacts(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    edges { cursor node { userId anonymousId } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def days(n: float) -> str:
    return iso(-timedelta(days=n))


def ev(who: dict[str, str], name: str, ago: float, **metadata: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"name": name, "contact": who, "occurredAt": days(ago)}
    if metadata:
        event["metadata"] = metadata
    return event


ADA, BOB, CY, DEE, EVE = (
    {"userId": "ada"},
    {"userId": "bob"},
    {"anonymousId": "cy"},
    {"userId": "dee"},
    {"anonymousId": "eve"},
)


@pytest.fixture
async def population(gql: GraphQL) -> None:
    """Five people; the expected memberships below are written from these histories."""
    events = [
        *[ev(ADA, "viewed-pricing", d) for d in (40, 20, 10, 5, 2)],  # 5 views
        *[ev(ADA, "created-report", d) for d in (3, 2, 1)],  # 3 reports, first 3 days ago
        ev(ADA, "exported-pdf", 45),
        ev(
            ADA,
            "checked-out",
            3,
            item="The Legend of Zelda",
            amount={"amount": 5999, "currency": "EUR"},
        ),
        ev(ADA, "checked-out", 1, item="Zelda: Tears of the Kingdom"),
        ev(BOB, "viewed-pricing", 9),
        ev(BOB, "viewed-pricing", 8),
        ev(BOB, "created-report", 20),
        ev(BOB, "exported-pdf", 100),  # older than retention: counted, not in windows
        ev(BOB, "checked-out", 2, item="Mario Kart"),
        ev(BOB, "checked-out", 120, item="Zelda"),
        *[ev(CY, "viewed-pricing", d) for d in (0.3, 0.2, 0.1, 0.05)],  # a lead, 4 views
        ev(CY, "viewed-page", 0.3, path="/features"),
        ev(CY, "checked-out", 0.1, item="zelda amiibo"),
        ev(CY, "checked-out", 0.05, item="ZELDA poster"),
        ev(DEE, "signed-in", 1.5),
        ev(EVE, "viewed-page", 60, path="/"),
    ]
    assert (await track_many(gql, events))["acceptedCount"] == len(events)
    upsert = "mutation($i: ContactInput!) { upsertContact(input: $i) { userErrors { code } } }"
    for ref, attributes, seen in (
        (ADA, {"plan": "pro", "seats": 12}, days(1)),
        (BOB, {"plan": "free", "seats": 1}, days(40)),
        (DEE, {"plan": "pro", "beta": True}, days(3)),
    ):
        await gql.data(upsert, i={"ref": ref, "customAttributes": attributes, "lastSeenAt": seen})


async def who(gql: GraphQL, filter: dict[str, Any] | None, **options: Any) -> list[str]:
    data = await gql.data(CONTACTS, filter=filter, first=100, **options)
    edges = data["contacts"]["edges"]
    assert data["contacts"]["totalCount"] == len(edges)
    return sorted(e["node"]["userId"] or e["node"]["anonymousId"] for e in edges)


SEED_EXAMPLES = [
    ("viewed pricing more than 3 times", {"event": {"name": "viewed-pricing", "count": {"gt": 3}}}, ["ada", "cy"]),
    ("created more than two reports", {"event": {"name": "created-report", "count": {"gt": 2}}}, ["ada"]),
    ("first report less than 5 days ago", {"event": {"name": "created-report", "firstAt": {"lessThanDaysAgo": 5}}}, ["ada"]),
    ("never exported a PDF", {"event": {"name": "exported-pdf", "performed": False}}, ["cy", "dee", "eve"]),
    ("not exported for 30 days, never included", {"not": {"event": {"name": "exported-pdf", "lastAt": {"lessThanDaysAgo": 30}}}}, ["ada", "bob", "cy", "dee", "eve"]),
    ("not exported for 30 days, only those who did", {"event": {"name": "exported-pdf", "lastAt": {"moreThanDaysAgo": 30}}}, ["ada", "bob"]),
    ("checked out a Zelda game twice this week", {"event": {"name": "checked-out", "within": {"lastDays": 7, "count": {"gte": 2}, "metadata": [{"key": "item", "string": {"contains": "zelda"}}]}}}, ["ada", "cy"]),
    ("fewer than 2 Zelda checkouts this week", {"event": {"name": "checked-out", "within": {"lastDays": 7, "count": {"lt": 2}, "metadata": [{"key": "item", "string": {"contains": "zelda"}}]}}}, ["bob", "dee", "eve"]),
    ("spent 50 or more this week", {"event": {"name": "checked-out", "within": {"lastDays": 7, "count": {"gte": 1}, "metadata": [{"key": "amount", "number": {"gte": 5000}}]}}}, ["ada"]),
    ("active pricing viewers", {"event": {"name": "viewed-pricing", "count": {"gte": 2}}, "lastSeenAt": {"lessThanDaysAgo": 30}}, ["ada", "bob", "cy"]),
    ("leads who viewed pricing", {"role": "LEAD", "event": {"name": "viewed-pricing"}}, ["cy"]),
    ("pro plan users", {"attribute": {"name": "plan", "string": {"eq": "pro"}}}, ["ada", "dee"]),
    ("unknown plan", {"attribute": {"name": "plan", "exists": False}}, ["cy", "eve"]),
    ("pro or many seats", {"or": [{"attribute": {"name": "seats", "number": {"gte": 10}}}, {"attribute": {"name": "beta", "boolean": True}}]}, ["ada", "dee"]),
    # bob's lastSeenAt of 40 days ago does not move back the 2-day-old checkout
    ("not seen for 30 days", {"lastSeenAt": {"moreThanDaysAgo": 30}}, ["eve"]),
    ("seen 1 to 2 days ago", {"lastSeenAt": {"moreThanDaysAgo": 1, "lessThanDaysAgo": 3}}, ["bob", "dee"]),
]  # fmt: skip


@pytest.mark.usefixtures("population")
@pytest.mark.parametrize(
    ("filter", "expected"), [c[1:] for c in SEED_EXAMPLES], ids=[c[0] for c in SEED_EXAMPLES]
)
async def test_membership_matches_the_histories(
    gql: GraphQL, filter: dict[str, Any], expected: list[str]
) -> None:
    assert await who(gql, filter) == expected


@pytest.mark.usefixtures("population")
async def test_top_users_of_a_feature_page_by_count(gql: GraphQL) -> None:
    order = {"field": "EVENT_COUNT", "direction": "DESC", "eventName": "viewed-pricing"}
    seen, after = [], None
    while True:
        data = (await gql.data(CONTACTS, orderBy=order, first=2, after=after))["contacts"]
        assert data["totalCount"] == 5
        seen += [e["node"]["userId"] or e["node"]["anonymousId"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    # ada 5, cy 4, bob 2, then those who never viewed it (by id, descending).
    assert seen[:3] == ["ada", "cy", "bob"]
    assert sorted(seen[3:]) == ["dee", "eve"]
    assert len(seen) == 5
    ascending = await gql.data(CONTACTS, orderBy={**order, "direction": "ASC"}, first=5)
    names = [
        e["node"]["userId"] or e["node"]["anonymousId"] for e in ascending["contacts"]["edges"]
    ]
    assert names[2:] == ["bob", "cy", "ada"]


@pytest.mark.usefixtures("population")
async def test_ordering_by_last_seen_with_missing_values(gql: GraphQL) -> None:
    order = {"field": "LAST_SEEN_AT", "direction": "DESC"}
    pages, after = [], None
    while True:
        data = (await gql.data(CONTACTS, orderBy=order, first=1, after=after))["contacts"]
        pages += [e["node"]["userId"] or e["node"]["anonymousId"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    # Last seen = the latest of tracked events and upserted lastSeenAt.
    assert pages == ["cy", "ada", "dee", "bob", "eve"]


@pytest.mark.usefixtures("population")
async def test_bad_orders_and_filters_are_coded_errors(gql: GraphQL) -> None:
    assert await gql.error_codes(CONTACTS, orderBy={"field": "EVENT_COUNT"}) == ["INVALID_ORDER"]
    assert await gql.error_codes(CONTACTS, after="garbage") == ["INVALID_CURSOR"]
    assert await gql.error_codes(CONTACTS, filter={"event": {"name": "$where"}}) == [
        "INVALID_EVENT_NAME"
    ]
    assert await gql.error_codes(
        CONTACTS, filter={"attribute": {"name": "a.b", "exists": True}}
    ) == ["INVALID_ATTRIBUTE_NAME"]
    assert await gql.error_codes(
        CONTACTS, filter={"event": {"name": "x", "within": {"lastDays": 365, "count": {"gt": 0}}}}
    ) == ["INVALID_WINDOW"]
    assert await gql.error_codes(CONTACTS, first=101) == ["INVALID_PAGE_SIZE"]


async def test_abusive_filters_are_refused_without_a_server_error(gql: GraphQL) -> None:
    deep: dict[str, Any] = {"role": "USER"}
    for _ in range(300):
        deep = {"not": deep}
    body = await gql.result(CONTACTS, filter=deep)
    assert body["data"] is None
    assert body["errors"]  # graphql-core refuses variables nested this deep
    assert await gql.error_codes(
        CONTACTS,
        filter={
            "not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"role": "USER"}}}}}}}}
        },
    ) == ["FILTER_TOO_DEEP"]
    wide = {"or": [{"userId": {"eq": f"u{i}"}} for i in range(5000)]}
    assert await gql.error_codes(CONTACTS, filter=wide) == ["FILTER_TOO_COMPLEX"]


async def test_a_page_of_50_contacts_with_summaries_and_activity_costs_few_commands(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    events = [ev({"userId": f"u{i}"}, "used-feature", 1 + i % 5) for i in range(60)]
    events += [ev({"userId": f"u{i}"}, "viewed-page", 2) for i in range(60)]
    await track_many(gql, events)
    query = """
    query Page($filter: ContactFilter) {
      contacts(filter: $filter, first: 50, orderBy: {field: EVENT_LAST_AT, eventName: "used-feature"}) {
        totalCount
        edges { node { userId eventSummaries(names: ["used-feature", "viewed-page"]) { name count }
                       activity(first: 3) { edges { node { name } } } } }
      }
    }
    """
    # Summaries of the names asked for: every summary of 50 contacts could be 50 x
    # TALLY_MAX_EVENT_NAMES nodes, past the cost limit (docs/security.md).
    filter = {"event": {"name": "used-feature", "within": {"lastDays": 30, "count": {"gte": 1}}}}
    await gql.data("{ workspace { id } }")
    before = await total_store_commands(http)
    data = (await gql.data(query, filter=filter))["contacts"]
    spent = await total_store_commands(http) - before
    assert data["totalCount"] == 60
    assert len(data["edges"]) == 50
    assert all(len(e["node"]["activity"]["edges"]) == 2 for e in data["edges"])
    assert all(len(e["node"]["eventSummaries"]) == 2 for e in data["edges"])
    # The page (its windows looked up inside it), the total, the activity of all 50 contacts.
    assert spent == 3


SEGMENT = """
mutation Create($input: SegmentInput!) {
  createSegment(input: $input) { segment { id name filter count } userErrors { field code } }
}
"""


@pytest.mark.usefixtures("population")
async def test_saved_segments_count_list_and_nest(gql: GraphQL) -> None:
    pricing = (
        await gql.data(
            SEGMENT,
            input={
                "name": "Pricing fans",
                "filter": {"event": {"name": "viewed-pricing", "count": {"gt": 3}}},
            },
        )
    )["createSegment"]
    assert pricing["userErrors"] == []
    segment = pricing["segment"]
    assert segment["count"] == 2
    assert segment["filter"] == {"event": {"name": "viewed-pricing", "count": {"gt": 3}}}
    users = (
        await gql.data(
            SEGMENT,
            input={
                "name": "Pricing fan users",
                "filter": {"inSegment": segment["id"], "role": "USER"},
            },
        )
    )["createSegment"]["segment"]
    assert users["count"] == 1
    assert await who(gql, {"inSegment": users["id"]}) == ["ada"]
    listed = await gql.data(
        "{ segments { name count contacts(first: 1) { totalCount edges { node { userId anonymousId } } pageInfo { hasNextPage } } } }"
    )
    assert [(s["name"], s["count"]) for s in listed["segments"]] == [
        ("Pricing fan users", 1),
        ("Pricing fans", 2),
    ]
    assert listed["segments"][1]["contacts"]["pageInfo"]["hasNextPage"] is True
    fetched = await gql.data("query($id: ID!) { segment(id: $id) { name } }", id=segment["id"])
    assert fetched == {"segment": {"name": "Pricing fans"}}


@pytest.mark.usefixtures("population")
async def test_segment_updates_cycles_names_and_deletion(gql: GraphQL) -> None:
    a = (await gql.data(SEGMENT, input={"name": "A", "filter": {"role": "USER"}}))["createSegment"][
        "segment"
    ]
    b = (await gql.data(SEGMENT, input={"name": "B", "filter": {"inSegment": a["id"]}}))[
        "createSegment"
    ]["segment"]
    update = """
    mutation Update($id: ID!, $input: SegmentInput!) {
      updateSegment(id: $id, input: $input) { segment { name count } userErrors { field code } }
    }
    """
    cycle = (
        await gql.data(
            update, id=a["id"], input={"name": "A", "filter": {"or": [{"inSegment": b["id"]}]}}
        )
    )["updateSegment"]
    assert [e["code"] for e in cycle["userErrors"]] == ["SEGMENT_CYCLE"]
    itself = (
        await gql.data(update, id=a["id"], input={"name": "A", "filter": {"inSegment": a["id"]}})
    )["updateSegment"]
    assert [e["code"] for e in itself["userErrors"]] == ["SEGMENT_CYCLE"]
    taken = (await gql.data(SEGMENT, input={"name": "A", "filter": {}}))["createSegment"]
    assert [e["code"] for e in taken["userErrors"]] == ["SEGMENT_NAME_TAKEN"]
    bad = (await gql.data(SEGMENT, input={"name": " ", "filter": {"inSegment": "nope"}}))[
        "createSegment"
    ]
    assert sorted(e["code"] for e in bad["userErrors"]) == [
        "INVALID_SEGMENT_NAME",
        "SEGMENT_NOT_FOUND",
    ]
    renamed = (
        await gql.data(update, id=a["id"], input={"name": "Leads", "filter": {"role": "LEAD"}})
    )["updateSegment"]
    assert renamed == {"segment": {"name": "Leads", "count": 2}, "userErrors": []}
    assert await who(gql, {"inSegment": b["id"]}) == ["cy", "eve"]
    delete = (
        "mutation($id: ID!) { deleteSegment(id: $id) { segment { name } userErrors { code } } }"
    )
    in_use = await gql.data(delete, id=a["id"])
    assert in_use["deleteSegment"] == {"segment": None, "userErrors": [{"code": "SEGMENT_IN_USE"}]}
    assert (await gql.data(delete, id=b["id"]))["deleteSegment"]["userErrors"] == []
    deleted = await gql.data(delete, id=a["id"])
    assert deleted["deleteSegment"] == {"segment": {"name": "Leads"}, "userErrors": []}
    assert await gql.error_codes(CONTACTS, filter={"inSegment": b["id"]}) == ["SEGMENT_NOT_FOUND"]
    gone = await gql.data(
        "mutation($id: ID!) { deleteSegment(id: $id) { userErrors { code } } }", id=a["id"]
    )
    assert gone["deleteSegment"]["userErrors"] == [{"code": "SEGMENT_NOT_FOUND"}]


async def test_no_query_or_result_document_grows_with_the_contacts(gql: GraphQL) -> None:
    """MongoDB refuses any document over 16 MiB: windows and activity must not inline ids."""
    query = """
    query Page($filter: ContactFilter) {
      contacts(filter: $filter, first: 10) {
        totalCount
        edges { node { userId activity(first: 3) { edges { node { name } } } } }
      }
    }
    """
    window = {
        "lastDays": 7,
        "count": {"gte": 2},
        "metadata": [{"key": "item", "string": {"eq": "z"}}],
    }
    filter = {
        "or": [
            {"event": {"name": "checked-out", "within": window}},
            {"not": {"event": {"name": "viewed", "within": {"lastDays": 3, "count": {"lt": 1}}}}},
        ]
    }

    async def grow_to(n: int, start: int) -> None:
        events = []
        for i in range(start, n):
            who = {"userId": f"u{i:04d}"}
            events += [ev(who, "checked-out", d, item="z") for d in (1, 2, 20)]
            events += [ev(who, "viewed", 1)] if i % 2 else []
        await track_many(gql, events)

    measured = []
    for n, start in ((20, 0), (80, 20)):
        await grow_to(n, start)
        with recording_sizes() as sizes:
            data = (await gql.data(query, filter=filter))["contacts"]
        assert data["totalCount"] == n
        assert [len(e["node"]["activity"]["edges"]) for e in data["edges"]] == [3] * 10
        measured.append((sizes.commands, sizes.largest_query, sizes.largest_result))
    assert measured[0] == measured[1]


async def test_a_segment_in_use_is_not_deleted_and_its_users_are_named(gql: GraphQL) -> None:
    fans = (await gql.data(SEGMENT, input={"name": "Fans", "filter": {"role": "USER"}}))[
        "createSegment"
    ]["segment"]
    await gql.data(
        SEGMENT, input={"name": "Fan leads", "filter": {"not": {"inSegment": fans["id"]}}}
    )
    rule = (
        await create_rule(
            gql,
            {
                "name": "Fan mail",
                "trigger": {"kind": "AUDIENCE"},
                "audience": {"or": [{"inSegment": fans["id"]}]},
                "content": {"channel": "IN_APP", "body": "Hi"},
            },
        )
    )["rule"]
    delete = """
    mutation($id: ID!) { deleteSegment(id: $id) { segment { name } userErrors { field code message } } }
    """
    [refused] = (await gql.data(delete, id=fans["id"]))["deleteSegment"]["userErrors"]
    assert (refused["field"], refused["code"]) == (["id"], "SEGMENT_IN_USE")
    assert "segment 'Fan leads'" in refused["message"]
    assert "message rule 'Fan mail'" in refused["message"]
    assert (await gql.data("{ segments { name } }"))["segments"] == [
        {"name": "Fan leads"},
        {"name": "Fans"},
    ]
    await gql.data(
        "mutation($id: ID!) { deleteMessageRule(id: $id) { userErrors { code } } }", id=rule["id"]
    )
    [leads] = [
        s
        for s in (await gql.data("{ segments { id name } }"))["segments"]
        if s["name"] == "Fan leads"
    ]
    assert (await gql.data(delete, id=leads["id"]))["deleteSegment"]["userErrors"] == []
    deleted = (await gql.data(delete, id=fans["id"]))["deleteSegment"]
    assert deleted == {"segment": {"name": "Fans"}, "userErrors": []}


@pytest.mark.usefixtures("population")
@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ({"field": "LAST_SEEN_AT", "direction": "DESC"}, ["ada", "dee", "eve"]),
        # Never viewed pricing counts as no value: last descending; ties by id.
        ({"field": "EVENT_COUNT", "eventName": "viewed-pricing"}, ["ada", "cy", "bob"]),
    ],
)
async def test_a_filter_with_windows_pages_exactly_in_any_order(
    gql: GraphQL, order: dict[str, str], expected: list[str]
) -> None:
    """Leads with fewer than 2 Zelda checkouts this week, people who viewed pricing more than
    4 times, and pro users."""
    zelda = [{"key": "item", "string": {"contains": "zelda"}}]
    window = {"lastDays": 7, "count": {"lt": 2}, "metadata": zelda}
    filter: dict[str, Any] = {
        "or": [
            {"role": "LEAD", "event": {"name": "checked-out", "within": window}},
            {"event": {"name": "viewed-pricing", "count": {"gt": 4}}},
            {"attribute": {"name": "plan", "string": {"eq": "pro"}}},
        ]
    }
    if order["field"] == "EVENT_COUNT":
        filter = {
            "event": {"name": "viewed-pricing", "within": {"lastDays": 90, "count": {"gte": 1}}}
        }
    pages, after = [], None
    while True:
        data = (await gql.data(CONTACTS, filter=filter, orderBy=order, first=2, after=after))[
            "contacts"
        ]
        assert data["totalCount"] == len(expected)
        pages += [e["node"]["userId"] or e["node"]["anonymousId"] for e in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert pages == expected

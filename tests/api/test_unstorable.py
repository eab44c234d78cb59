"""Values the store cannot hold are refused before anything of their input is written.

A lone surrogate ("\\ud800") travels in JSON but is not UTF-8, so BSON cannot encode it; numbers
past 64 bits and NaN cannot be stored or answered. Each write path refuses them with a coded
userError, writes nothing of that input, and lets the other inputs of a batch go on.
"""

from __future__ import annotations

import json
from typing import Any

from tests.api.test_track_event import CONTACT, EVENT_TYPES
from tests.api.test_track_events import TRACK_MANY
from tests.helpers import GraphQL

LONE = "\ud800"
TRACK = """
mutation Track($input: TrackEventInput!) {
  trackEvent(input: $input) { event { id } summary { count } userErrors { field code } }
}
"""
UPSERT = """
mutation Upsert($input: ContactInput!) {
  upsertContact(input: $input) { contact { name email customAttributes } userErrors { field code } }
}
"""
UPSERT_MANY = """
mutation UpsertMany($inputs: [ContactInput!]!) {
  upsertContacts(inputs: $inputs) {
    results { contact { userId } userErrors { field code } } upsertedCount rejectedCount
  }
}
"""


async def send(gql: GraphQL, query: str, body: str | None = None, **variables: Any) -> Any:
    """POST with the JSON escaped as most clients send it (a lone surrogate as \\ud800)."""
    text = body if body is not None else json.dumps({"query": query, "variables": variables})
    response = await gql.http.post(
        "/graphql",
        content=text.encode(),
        headers={**gql.headers(), "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


def errors(payload: dict[str, Any]) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def test_track_event_refuses_unstorable_values_and_writes_nothing(gql: GraphQL) -> None:
    cases: list[tuple[dict[str, Any], list[tuple[str, list[str]]]]] = [
        ({"contact": {"userId": f"u{LONE}"}}, [("INVALID_TEXT", ["contact", "userId"])]),
        ({"contact": {"email": f"a{LONE}@x.io"}}, [("INVALID_TEXT", ["contact", "email"])]),
        ({"contact": {"anonymousId": LONE}}, [("INVALID_TEXT", ["contact", "anonymousId"])]),
        ({"metadata": {"plan": f"pro{LONE}"}}, [("INVALID_TEXT", ["metadata", "plan"])]),
        ({"metadata": {f"k{LONE}": 1}}, [("INVALID_METADATA_KEY", ["metadata", "k\\ud800"])]),
        (
            {"metadata": {"page": f"https://x.io/{LONE}"}},
            [("INVALID_TEXT", ["metadata", "page", "url"])],
        ),
        (
            {"metadata": {"doc": {"url": "https://x.io", "value": LONE}}},
            [("INVALID_TEXT", ["metadata", "doc", "text"])],
        ),
        ({"idempotencyKey": f"k{LONE}"}, [("INVALID_TEXT", ["idempotencyKey"])]),
        ({"metadata": {"n": 2**64}}, [("INVALID_VALUE", ["metadata", "n"])]),
    ]
    for extra, expected in cases:
        input = {"name": "viewed-page", "contact": {"userId": "ada"}, **extra}
        payload = (await send(gql, TRACK, input=input))["trackEvent"]
        assert (payload["event"], errors(payload)) == (None, expected), extra
    # NaN and Infinity are not JSON, but Python's parser reads them: refused all the same.
    variables = '{"input": {"name": "viewed-page", "contact": {"userId": "ada"}, "metadata": {"a": NaN, "b": -Infinity}}}'
    body = '{"query": ' + json.dumps(TRACK) + ', "variables": ' + variables + "}"
    payload = (await send(gql, TRACK, body=body))["trackEvent"]
    assert errors(payload) == [
        ("INVALID_VALUE", ["metadata", "a"]),
        ("INVALID_VALUE", ["metadata", "b"]),
    ]
    assert (await gql.data(CONTACT, ref={"userId": "ada"}))["contact"] is None
    assert (await gql.data(EVENT_TYPES))["eventTypes"] == []
    # The legitimate event still goes in.
    fine = {"name": "viewed-page", "contact": {"userId": "ada"}, "metadata": {"plan": "pro ✓"}}
    payload = (await send(gql, TRACK, input=fine))["trackEvent"]
    assert (errors(payload), payload["summary"]) == ([], {"count": 1})


async def test_a_mixed_batch_records_exactly_the_storable_events(gql: GraphQL) -> None:
    good = {"name": "viewed-page", "contact": {"userId": "ada"}, "metadata": {"k": "ok"}}
    bad = {"name": "viewed-page", "contact": {"userId": "ada"}, "metadata": {"k": LONE}}
    payload = (await send(gql, TRACK_MANY, inputs=[good, good, good, bad, bad, good]))[
        "trackEvents"
    ]
    assert [[e["code"] for e in r["userErrors"]] for r in payload["results"]] == [
        [], [], [], ["INVALID_TEXT"], ["INVALID_TEXT"], [],
    ]  # fmt: skip
    assert (payload["acceptedCount"], payload["rejectedCount"]) == (4, 2)
    ada = (await gql.data(CONTACT, ref={"userId": "ada"}, first=50))["contact"]
    assert ada["eventSummaries"][0]["count"] == 4
    assert len(ada["activity"]["edges"]) == 4
    catalog = (await gql.data(EVENT_TYPES))["eventTypes"]
    assert [(t["name"], t["count"]) for t in catalog] == [("viewed-page", 4)]


async def test_upserts_refuse_unstorable_values_and_change_nothing(gql: GraphQL) -> None:
    start = {"ref": {"userId": "ada"}, "name": "Ada", "customAttributes": {"plan": "pro"}}
    assert (await send(gql, UPSERT, input=start))["upsertContact"]["userErrors"] == []
    cases: list[tuple[dict[str, Any], list[tuple[str, list[str]]]]] = [
        ({"name": f"A{LONE}"}, [("INVALID_TEXT", ["name"])]),
        ({"email": f"a{LONE}@x.io"}, [("INVALID_TEXT", ["email"])]),
        ({"customAttributes": {"plan": LONE}}, [("INVALID_TEXT", ["customAttributes", "plan"])]),
        (
            {"customAttributes": {LONE: "x"}},
            [("INVALID_ATTRIBUTE_NAME", ["customAttributes", "\\ud800"])],
        ),
        ({"customAttributes": {"seats": -(2**70)}}, [("INVALID_VALUE", ["customAttributes", "seats"])]),
        # One bad value stops the whole input: the good name is not written either.
        ({"name": "Bob", "customAttributes": {"plan": LONE}}, [("INVALID_TEXT", ["customAttributes", "plan"])]),
    ]  # fmt: skip
    for extra, expected in cases:
        payload = (await send(gql, UPSERT, input={"ref": {"userId": "ada"}, **extra}))[
            "upsertContact"
        ]
        assert (payload["contact"], errors(payload)) == (None, expected), extra
    lead = {"ref": {"anonymousId": "v1"}, "userId": f"ada{LONE}"}
    payload = (await send(gql, UPSERT, input=lead))["upsertContact"]
    assert errors(payload) == [("INVALID_TEXT", ["userId"])]
    assert (await gql.data(CONTACT, ref={"anonymousId": "v1"}))["contact"] is None
    shown = await gql.data('{ contact(ref: {userId: "ada"}) { name email customAttributes } }')
    assert shown["contact"] == {"name": "Ada", "email": None, "customAttributes": {"plan": "pro"}}
    many = [
        {"ref": {"userId": "bob"}, "name": "Bob"},
        {"ref": {"userId": "cy"}, "customAttributes": {"k": LONE}},
        {"ref": {"userId": "dee"}},
    ]
    payload = (await send(gql, UPSERT_MANY, inputs=many))["upsertContacts"]
    assert [[e["code"] for e in r["userErrors"]] for r in payload["results"]] == [
        [], ["INVALID_TEXT"], [],
    ]  # fmt: skip
    assert (payload["upsertedCount"], payload["rejectedCount"]) == (2, 1)
    assert (await gql.data(CONTACT, ref={"userId": "cy"}))["contact"] is None


async def test_rules_segments_keys_and_filters_refuse_unstorable_text(gql: GraphQL) -> None:
    rule = (
        await send(
            gql,
            "mutation($i: MessageRuleInput!) { createMessageRule(input: $i) "
            "{ rule { id } userErrors { field code } } }",
            i={
                "name": "welcome",
                "trigger": {"kind": "EVENT", "eventName": "signed-up"},
                "content": {"channel": "IN_APP", "body": f"Hello {LONE}"},
            },
        )
    )["createMessageRule"]
    assert (rule["rule"], errors(rule)) == (None, [("INVALID_TEXT", ["content", "body"])])
    segment = (
        await send(
            gql,
            "mutation($i: SegmentInput!) { createSegment(input: $i) "
            "{ segment { id } userErrors { field code } } }",
            i={"name": "s", "filter": {"email": {"eq": LONE}}},
        )
    )["createSegment"]
    assert (segment["segment"], errors(segment)) == (
        None,
        [("INVALID_TEXT", ["filter", "email", "eq"])],
    )
    key = (
        await send(
            gql,
            "mutation($n: String!) { createApiKey(name: $n, scope: ADMIN) "
            "{ secret userErrors { field code } } }",
            n=LONE,
        )
    )["createApiKey"]
    assert (key["secret"], errors(key)) == (None, [("INVALID_TEXT", ["name"])])
    assert (await gql.data("{ messageRules { id } segments { id } }")) == {
        "messageRules": [],
        "segments": [],
    }
    # A query with such a value is refused too: a real server could not even read it.
    answer = await gql.result(
        "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
        f={"name": {"eq": "ok"}},
    )
    assert "errors" not in answer
    response = await gql.http.post(
        "/graphql",
        content=json.dumps(
            {
                "query": "query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
                "variables": {"f": {"name": {"eq": LONE}}},
            }
        ).encode(),
        headers={**gql.headers(), "Content-Type": "application/json"},
    )
    assert [e["extensions"]["code"] for e in response.json()["errors"]] == ["INVALID_TEXT"]


async def test_converting_a_lead_whose_email_a_user_has(gql: GraphQL) -> None:
    """The lead's own email belongs to a user: the conversion merges into that user (it used
    to recurse until RecursionError); with another userId there, it is refused."""
    await send(gql, UPSERT, input={"ref": {"email": "ada@x.io"}, "name": "Ada"})
    await send(gql, UPSERT, input={"ref": {"anonymousId": "v1"}, "email": "ada@x.io"})
    await send(gql, TRACK, input={"name": "viewed-page", "contact": {"anonymousId": "v1"}})
    payload = (await send(gql, UPSERT, input={"ref": {"anonymousId": "v1"}, "userId": "ada"}))[
        "upsertContact"
    ]
    assert payload["userErrors"] == []
    assert (payload["contact"]["name"], payload["contact"]["email"]) == ("Ada", "ada@x.io")
    ada = (await gql.data(CONTACT, ref={"userId": "ada"}))["contact"]
    assert [s["count"] for s in ada["eventSummaries"]] == [1]
    # The same with a user that already has another userId: refused, the lead stays a lead.
    await send(gql, UPSERT, input={"ref": {"anonymousId": "v2"}, "email": "ada@x.io"})
    refused = (await send(gql, UPSERT, input={"ref": {"anonymousId": "v2"}, "userId": "bob"}))[
        "upsertContact"
    ]
    assert errors(refused) == [("USER_ID_TAKEN", ["email"])]
    assert (await gql.data(CONTACT, ref={"anonymousId": "v2"}))["contact"]["role"] == "LEAD"
    assert (await gql.data(CONTACT, ref={"userId": "bob"}))["contact"] is None

"""Values the store cannot hold are refused before anything of their input is written.

A lone surrogate ("\\ud800") travels in JSON but is not UTF-8, so BSON cannot encode it; numbers
past 64 bits and NaN cannot be stored or answered. Each write path refuses them with a coded
userError, writes nothing of that input, and lets the other inputs of a batch go on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import bson
import pytest
from pymongo import UpdateOne
from starlette.applications import Starlette

from tests.api.test_import_export import rejects, run_import
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


async def test_an_import_rejects_unstorable_lines_and_keeps_the_others(
    app: Starlette, gql: GraphQL, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"name": "a", "contact": {"userId": "u1"}}\n'
        '{"name": "a", "contact": {"userId": "u1"}, "metadata": {"k": "\\ud800"}}\n'
        '{"name": "a", "contact": {"userId": "u\\udfff"}}\n'
        '{"name": "a", "contact": {"userId": "u1"}, "metadata": {"n": 1e400}}\n'
        '{"name": "a", "contact": {"userId": "u1"}, "metadata": {"k": "fine"}}\n'
    )
    summary = await run_import(app, path)
    assert (summary.accepted, summary.rejected) == (2, 3)
    assert rejects(path) == [(2, ["INVALID_TEXT"]), (3, ["INVALID_TEXT"]), (4, ["INVALID_VALUE"])]
    u1 = (await gql.data(CONTACT, ref={"userId": "u1"}, first=50))["contact"]
    assert (u1["eventSummaries"][0]["count"], len(u1["activity"]["edges"])) == (2, 2)


class _Encoding:
    """A collection that BSON-encodes every filter, update, document and pipeline first, as
    the driver does for a real server (mongomock stores Python objects as they are)."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._raw, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            for value in (*args, *kwargs.values()):
                _encode(value)
            return attribute(*args, **kwargs)

        return call


def _encode(value: object) -> None:
    if isinstance(value, Mapping):
        bson.encode(dict(value))
    elif isinstance(value, list | tuple):
        for item in value:
            _encode(item)
    elif isinstance(value, UpdateOne):
        bson.encode(value._filter)
        _encode(value._doc)


@pytest.fixture
def encoding_store(app: Starlette, monkeypatch: pytest.MonkeyPatch) -> None:
    store = app.state.services.store
    original = store.collection

    def collection(name: str) -> Any:
        found = original(name)
        if not isinstance(found._raw, _Encoding):
            found._raw = _Encoding(found._raw)
        return found

    monkeypatch.setattr(store, "collection", collection)


async def test_no_input_sends_the_store_what_a_real_server_cannot_read(
    encoding_store: None, gql: GraphQL
) -> None:
    """Every path tried with a lone surrogate: coded errors, never a server fault."""
    bad = LONE
    track = {"name": "a", "contact": {"userId": "u1"}}
    attempts: list[tuple[str, dict[str, Any]]] = [
        (TRACK, {"input": {**track, "metadata": {"k": bad}}}),
        (TRACK, {"input": {**track, "metadata": {bad: 1}}}),
        (TRACK, {"input": {**track, "contact": {"anonymousId": bad}}}),
        (TRACK, {"input": {**track, "idempotencyKey": bad}}),
        (TRACK_MANY, {"inputs": [track, {**track, "metadata": {"k": bad}}]}),
        (UPSERT, {"input": {"ref": {"userId": "u1"}, "customAttributes": {bad: 1}}}),
        (UPSERT, {"input": {"ref": {"userId": "u1"}, "customAttributes": {"k": 2**64}}}),
        (UPSERT, {"input": {"ref": {"anonymousId": "v"}, "userId": bad}}),
        (UPSERT_MANY, {"inputs": [{"ref": {"userId": "u2"}, "name": bad}]}),
        ("query($r: ContactRef!) { contact(ref: $r) { id } }", {"r": {"email": bad}}),
        ("query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
         {"f": {"attribute": {"name": "plan", "string": {"in": [bad]}}}}),
        ("query($f: ContactFilter) { contacts(filter: $f) { totalCount } }",
         {"f": {"event": {"name": "a", "within": {"lastDays": 3, "count": {"gte": 1},
                                                  "metadata": [{"key": "k", "string": {"eq": bad}}]}}}}),
        ("mutation($i: ID!) { revokeApiKey(id: $i) { userErrors { code } } }", {"i": bad}),
        ("query($i: ID) { messages(ruleId: $i) { totalCount } }", {"i": bad}),
        ("mutation($i: ID!) { deleteSegment(id: $i) { userErrors { code } } }", {"i": bad}),
        ("mutation($n: String!) { createWorkspace(name: $n) { userErrors { code } } }", {"n": bad}),
        ("mutation($f: ContactRef!) { mergeContacts(from: $f, into: {userId: \"u1\"}) "
         "{ userErrors { code } } }", {"f": {"anonymousId": bad}}),
        ("mutation($r: ContactRef!) { deleteContact(ref: $r) { userErrors { code } } }",
         {"r": {"userId": bad}}),
        ("query($r: ContactRef!, $n: [String!]) { contact(ref: $r) { activity(names: $n) "
         "{ edges { cursor } } } }", {"r": {"userId": "u1"}, "n": [bad]}),
    ]  # fmt: skip
    for query, variables in attempts:
        text = json.dumps({"query": query, "variables": variables})
        response = await gql.http.post(
            "/graphql",
            content=text.encode(),
            headers={**gql.headers(), "Content-Type": "application/json"},
        )
        body = response.json()
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
        assert "INTERNAL_SERVER_ERROR" not in codes, (query, variables, body)
        assert None not in codes, body  # each refusal coded (and the attempt well formed)
        assert response.status_code in (200, 400), (query, body)
    # The fixture itself refuses what a real server would (the test can fail).
    with pytest.raises(UnicodeEncodeError):
        _encode({"k": bad})

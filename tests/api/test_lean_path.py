"""A document's requests after its first: one JSON-POSTed operation of a cached document is
answered on the lean path (app.api.execution), without Strawberry's HTTP layer. Each test sends
a request twice — the first answered by Strawberry, the document then cached — and expects the
same answer, headers, coded errors, limits and metrics both times."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from strawberry.extensions import SchemaExtension

from app.api.context import Context
from app.api.execution import LeanPath
from app.api.schema import TallySchema, build_schema
from app.metrics import Metrics
from tests.api.test_keys import new_key
from tests.faults import Faults
from tests.helpers import ADMIN_KEY, GraphQL

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
TRACK = """mutation Track($input: TrackEventInput!) {
  trackEvent(input: $input) { duplicate summary { name count } userErrors { code } }
}"""


@pytest.fixture
def lean(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """For each POST offered to the lean path: whether it answered (False: Strawberry did)."""
    answered: list[bool] = []
    real = LeanPath.answer

    async def answer(self: LeanPath, operation: Any, context: Context) -> Any:
        response = await real(self, operation, context)
        answered.append(response is not None)
        return response

    monkeypatch.setattr(LeanPath, "answer", answer)
    return answered


async def twice(http: httpx.AsyncClient, body: Any, key: str = ADMIN_KEY) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {key}"}
    return [await http.post("/graphql", json=body, headers=headers) for _ in range(2)]


def header_names(response: httpx.Response) -> list[str]:
    return [name for name, _ in response.headers.multi_items()]


async def test_a_repeated_operation_is_answered_as_its_first(
    http: httpx.AsyncClient, lean: list[bool]
) -> None:
    first, second = await twice(http, {"query": "{ workspace { id retentionDays } }"})
    assert lean == [False, True]
    assert first.status_code == second.status_code == 200
    assert (
        first.content
        == second.content
        == b'{"data":{"workspace":{"id":"default","retentionDays":90}}}'
    )
    assert header_names(first) == header_names(second)
    assert first.headers["content-type"] == second.headers["content-type"] == "application/json"
    assert int(second.headers["content-length"]) == len(second.content)
    remaining = int(first.headers["x-ratelimit-remaining"])
    assert int(second.headers["x-ratelimit-remaining"]) == remaining - 1
    assert first.headers["x-ratelimit-limit"] == second.headers["x-ratelimit-limit"]

    event = {"name": "signed-up", "contact": {"userId": "u1"}}
    tracked = await twice(http, {"query": TRACK, "variables": {"input": event}})
    assert lean == [False, True, False, True]
    assert [r.json()["data"]["trackEvent"] for r in tracked] == [
        {"duplicate": False, "summary": {"name": "signed-up", "count": n}, "userErrors": []}
        for n in (1, 2)
    ]
    metrics = (await http.get("/metrics")).text
    assert 'tally_graphql_request_duration_seconds_count{operation_type="query"} 2.0' in metrics
    assert 'tally_graphql_request_duration_seconds_count{operation_type="mutation"} 2.0' in metrics
    assert 'tally_events_ingested_total{result="accepted"} 2.0' in metrics


async def test_gets_and_batches_are_left_to_strawberry(
    http: httpx.AsyncClient, lean: list[bool]
) -> None:
    query = "{ workspace { id } }"
    for _ in range(2):
        got = await http.get("/graphql", params={"query": query}, headers=AUTH)
        assert got.json() == {"data": {"workspace": {"id": "default"}}}
        batch = await http.post("/graphql", json=[{"query": query}] * 2, headers=AUTH)
        assert batch.json() == [{"data": {"workspace": {"id": "default"}}}] * 2
    assert lean == []


async def test_errors_of_a_repeated_operation_are_coded_masked_and_hide_suggestions(
    app: Starlette,
    http: httpx.AsyncClient,
    gql: GraphQL,
    lean: list[bool],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # graphql-core's variable coercion, at execution: suggestions for admin keys only.
    document = "mutation T($i: TrackEventInput!) { trackEvent(input: $i) { duplicate } }"
    typo = {
        "query": document,
        "variables": {"i": {"name": "a", "nme": "a", "contact": {"userId": "u"}}},
    }
    first, second = await twice(http, typo)
    assert lean == [False, True]
    assert first.json() == second.json()
    assert "Did you mean 'name'?" in second.json()["errors"][0]["message"]
    assert second.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    _, secret = await new_key(gql, "PUBLISHABLE")
    lean.clear()
    for answer in await twice(http, typo, key=secret):
        error = answer.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "Did you mean" not in error["message"], error
    assert lean == [True, True]
    # A resolver's RequestError: its code and message.
    two_keys = {"name": "x", "contact": {"userId": "u1", "email": "a@example.com"}}
    first, second = await twice(http, {"query": TRACK, "variables": {"input": two_keys}})
    assert lean == [True, True, False, True]
    assert first.json() == second.json()
    assert "exactly one key" in second.json()["errors"][0]["message"]
    # A fault of ours: masked to the client, logged in full.
    faults = Faults(app.state.services.store)
    faults.before("events", "insert", raise_=RuntimeError("disk on fire"))
    faults.before("events", "insert", raise_=RuntimeError("disk on fire"))
    event = {"name": "x", "contact": {"userId": "u1"}}
    try:
        first, second = await twice(http, {"query": TRACK, "variables": {"input": event}})
    finally:
        faults.restore()
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    error = second.json()["errors"][0]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    logged = [r for r in caplog.records if r.getMessage().startswith("GraphQL resolver failed")]
    assert len(logged) == 2
    assert lean[-2:] == [True, True]


async def test_a_cached_document_is_still_checked_for_its_key_and_variables(
    http: httpx.AsyncClient, gql: GraphQL, lean: list[bool]
) -> None:
    _, secret = await new_key(gql, "PUBLISHABLE")
    page = GraphQL(http, key=secret)
    contacts = "{ contacts { totalCount } }"
    assert await gql.data(contacts) == {"contacts": {"totalCount": 0}}
    assert await page.error_codes(contacts) == ["FORBIDDEN"]
    page_of = "contacts(first: $n) { edges { node { activity(first: $n) { edges { cursor } } } } }"
    activity = "query Q($n: Int) { " + " ".join(f"c{i}: {page_of}" for i in range(5)) + " }"
    assert (await gql.data(activity, n=5))["c0"] == {"edges": []}
    assert await gql.error_codes(activity, n=100) == ["QUERY_TOO_COSTLY"]  # 5 x (100 + 100 x 100)
    assert (await gql.data(activity, n=5))["c0"] == {"edges": []}
    assert lean[-5:] == [False, False, False, False, True]


@pytest.mark.parametrize(
    ("name", "status", "answer"),
    [
        ("A", 200, {"data": {"workspace": {"id": "default"}}}),
        ("B", 200, {"data": {"eventTypes": []}}),
        (None, 200, {"data": {"workspace": {"id": "default"}}}),  # Strawberry runs the first
        ("C", 400, None),
    ],
)
async def test_the_operation_run_is_the_one_strawberry_picks(
    http: httpx.AsyncClient, lean: list[bool], name: str | None, status: int, answer: object
) -> None:
    document = "query A { workspace { id } } query B { eventTypes { name } }"
    first, second = await twice(http, {"query": document, "operationName": name})
    assert first.status_code == second.status_code == status
    assert first.content == second.content
    if answer is not None:
        assert second.json() == answer
    assert lean == [False, status == 200]


def test_anything_added_to_strawberrys_pipeline_turns_the_lean_path_off() -> None:
    def lean(schema: TallySchema, *, http_streams: bool = False) -> LeanPath:
        return LeanPath(
            schema, metrics=Metrics(), encode_json=json.dumps, http_streams=http_streams
        )

    assert lean(build_schema()).enabled
    assert not lean(build_schema(), http_streams=True).enabled  # SSE, multipart subscriptions
    extended = build_schema()
    extended.extensions = (*extended.extensions, SchemaExtension)
    assert not lean(extended).enabled


async def test_a_subscription_in_a_cached_document_is_still_refused_over_http(
    http: httpx.AsyncClient, lean: list[bool]
) -> None:
    document = "query Q { workspace { id } } subscription Feed { eventTracked { name } }"
    for _ in range(2):
        ran = await http.post(
            "/graphql", json={"query": document, "operationName": "Q"}, headers=AUTH
        )
        assert ran.json() == {"data": {"workspace": {"id": "default"}}}
        refused = await http.post(
            "/graphql", json={"query": document, "operationName": "Feed"}, headers=AUTH
        )
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_NEEDS_WEBSOCKET"
        assert "x-ratelimit-remaining" in refused.headers
    assert lean == [False, False, True, False]

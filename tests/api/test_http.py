"""The HTTP surface: health, metrics, GraphiQL, GET queries, malformed and oversized bodies."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import httpx
import pytest

from app.settings import DEV_ADMIN_KEY, Settings
from tests.helpers import ADMIN_KEY, GraphQL

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def test_health_readiness_and_metrics(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    assert (await http.get("/readyz")).json() == {"status": "ok"}
    metrics = await http.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'tally_store_commands_total{collection="",op="ping"} 1.0' in metrics.text


async def test_graphiql_is_served_to_browsers_without_a_key(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()
    # Every asset from Tally itself (no CDN), with the integrity the browser will check.
    assets = re.findall(r'(?:src|href)="([^"]+)" integrity="(sha384-[^"]+)"', page.text)
    assert {Path(src).name for src, _ in assets} == {
        "react.production.min.js", "react-dom.production.min.js",
        "graphiql.min.js", "graphiql.min.css",
    }  # fmt: skip
    for src, integrity in assets:
        assert src.startswith("graphiql/")  # relative to /graphql: /graphiql/...
        served = await http.get(f"/{src}")
        assert served.status_code == 200
        digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
        assert integrity == f"sha384-{digest}", src
    assert "://" not in page.text  # nothing named on another host


async def test_queries_over_get_need_a_key_and_mutations_are_refused(
    http: httpx.AsyncClient,
) -> None:
    query = {"query": "{ workspace { id retentionDays } }"}
    assert (await http.get("/graphql", params=query)).status_code == 401
    answer = await http.get("/graphql", params=query, headers=AUTH)
    assert answer.json() == {"data": {"workspace": {"id": "default", "retentionDays": 90}}}
    mutation = 'mutation { trackEvent(input: {name: "a", contact: {userId: "u"}}) { duplicate } }'
    refused = await http.get("/graphql", params={"query": mutation}, headers=AUTH)
    assert refused.status_code == 400
    assert (await GraphQL(http).data("{ eventTypes { name } }"))["eventTypes"] == []


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"{nope", "application/json", 400),
        (b"123", "application/json", 400),
        (b'"query"', "application/json", 400),
        (b"[1, 2]", "application/json", 400),
        (b"{}", "application/json", 400),
        (b'{"query": 5}', "application/json", 400),
        (b'{"query": "{ workspace { id } }", "variables": 5}', "application/json", 400),
        (b"{ workspace { id } }", "text/plain", 415),
        (b"query=%7Bworkspace%7Bid%7D%7D", "application/x-www-form-urlencoded", 415),
    ],
)
async def test_malformed_bodies_get_4xx(
    http: httpx.AsyncClient, body: bytes, content_type: str, status: int
) -> None:
    response = await http.post(
        "/graphql", content=body, headers={**AUTH, "Content-Type": content_type}
    )
    assert response.status_code == status


async def test_graphql_syntax_and_validation_errors_are_shown_not_masked(gql: GraphQL) -> None:
    body = await gql.result("{ workspace { id ")
    assert body["errors"][0]["message"].startswith("Syntax Error")
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    body = await gql.result("{ nope }")
    assert body["errors"][0]["message"] == "Cannot query field 'nope' on type 'Query'."
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    body = await gql.result("query($n: Int!) { messages(first: $n) { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_subscription_over_http_is_told_to_use_a_websocket(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    subscription = "subscription Feed { eventTracked { name } }"
    answers = [
        await http.post("/graphql", json={"query": subscription}, headers=AUTH),
        await http.get("/graphql", params={"query": subscription}, headers=AUTH),
        await http.post(
            "/graphql",
            json={"query": subscription},
            headers={**AUTH, "Accept": "text/event-stream"},
        ),
        await http.post(
            "/graphql",
            json=[{"query": "{ workspace { id } }"}, {"query": subscription}],
            headers=AUTH,
        ),
        await http.post(
            "/graphql",
            json={
                "query": f"query Q {{ workspace {{ id }} }} {subscription}",
                "operationName": "Feed",
            },
            headers=AUTH,
        ),
    ]
    for answer in answers:
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["extensions"]["code"] == "SUBSCRIPTION_NEEDS_WEBSOCKET"
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    # The same document's query runs; a document that only mentions the word is no subscription.
    both = {"query": f"query Q {{ workspace {{ id }} }} {subscription}", "operationName": "Q"}
    assert (await http.post("/graphql", json=both, headers=AUTH)).status_code == 200
    word = "{ eventTypes { name } } # subscription"
    assert (await http.post("/graphql", json={"query": word}, headers=AUTH)).status_code == 200


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_body_bytes": 2048})


async def test_oversized_body_is_413(http: httpx.AsyncClient) -> None:
    big = {"query": "{ workspace { id } }", "variables": {"pad": "x" * 4096}}
    response = await http.post("/graphql", json=big, headers=AUTH)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"
    assert (
        await http.post("/graphql", json={"query": "{ workspace { id } }"}, headers=AUTH)
    ).status_code == 200


async def test_embedded_store_without_admin_key_uses_the_dev_key(settings: Settings) -> None:
    from app.server import create_app

    if not settings.embedded:
        pytest.skip("the dev key exists on the embedded store only")
    app = create_app(settings.model_copy(update={"admin_key": None}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            data = await GraphQL(client, key=DEV_ADMIN_KEY).data("{ workspace { id } }")
            assert data == {"workspace": {"id": "default"}}
            response = await GraphQL(client, key=ADMIN_KEY).post("{ workspace { id } }")
            assert response.status_code == 401

"""What keeps the endpoint standing: query limits, rate limits per key, CORS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from app.clock import ManualClock
from app.server import create_app
from app.settings import Settings
from tests.conftest import running
from tests.helpers import ADMIN_KEY, GraphQL

AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


async def test_deep_aliased_and_long_documents_are_refused(gql: GraphQL) -> None:
    # The schema has no cycles but introspection's: graphql-core bounds those.
    deep = "{ __schema { types { " + "fields { type { " * 12 + "name" + " } }" * 12 + " } } }"
    body = await gql.result(deep)
    assert body["data"] is None
    assert body["errors"]
    # The deepest query the schema allows still runs (with pages small enough for its cost).
    legit = (
        "{ segments { contacts(first: 2) { edges { node { activity(first: 2) { edges { node { metadata "
        "{ value { ... on MoneyValue { amount } } } } } } } } } } }"
    )
    assert (await gql.data(legit)) == {"segments": []}
    aliases = "{ " + " ".join(f"a{i}: workspace {{ id }}" for i in range(31)) + " }"
    assert "aliases" in (await gql.result(aliases))["errors"][0]["message"]
    tokens = "{ workspace { " + " ".join(["id"] * 5001) + " } }"
    assert "token" in (await gql.result(tokens))["errors"][0]["message"].lower()
    directives = "{ workspace " + " ".join(f"@nope{i}" for i in range(10)) + " { id } }"
    assert (await gql.result(directives))["data"] is None


@pytest.fixture
async def limited(settings: Settings, clock: ManualClock) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(
        settings.model_copy(
            update={"rate_limit_per_minute": 3, "cors_origins": ["https://shop.example"]}
        ),
        clock=clock,
    )
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tally.test") as client:
            yield client


async def test_a_key_past_its_rate_limit_gets_429_with_headers(limited: httpx.AsyncClient) -> None:
    query = {"query": "{ workspace { id } }"}
    answers = [await limited.post("/graphql", json=query, headers=AUTH) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert answers[0].headers["x-ratelimit-limit"] == "3"
    refused = answers[3]
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert int(refused.headers["x-ratelimit-reset"]) > 0


async def test_cors_allows_the_configured_origins_only(limited: httpx.AsyncClient) -> None:
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
    allowed = await limited.options("/graphql", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    other = await limited.options(
        "/graphql", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


async def test_pages_read_the_rate_limit_headers(limited: httpx.AsyncClient) -> None:
    answer = await limited.post(
        "/graphql",
        json={"query": "{ workspace { id } }"},
        headers={**AUTH, "Origin": "https://shop.example"},
    )
    exposed = {
        h.strip().lower() for h in answer.headers["access-control-expose-headers"].split(",")
    }
    assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"} <= (
        exposed
    )


async def test_the_request_headers_a_page_may_send_are_a_setting(
    settings: Settings, clock: ManualClock
) -> None:
    app = create_app(
        settings.model_copy(
            update={
                "cors_origins": ["https://shop.example"],
                "cors_allow_headers": ["Authorization", "Content-Type", "X-Request-Id"],
            }
        ),
        clock=clock,
    )
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://tally.test") as client:
            ok = await client.options(
                "/graphql",
                headers={
                    **preflight,
                    "Access-Control-Request-Headers": "authorization,x-request-id",
                },
            )
            assert ok.status_code == 200
            other = await client.options(
                "/graphql", headers={**preflight, "Access-Control-Request-Headers": "x-other"}
            )
            assert other.status_code == 400

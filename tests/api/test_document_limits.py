"""Documents that would hang the server, hold its memory or ask for huge answers are refused
before anything runs; the legitimate ones still run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from app.settings import Settings
from tests.api.test_keys import new_key
from tests.api.test_track_events import TRACK_MANY
from tests.conftest import make_settings
from tests.helpers import ADMIN_KEY, GraphQL
from tests.live_server import LiveServer, server_in_subprocess

CLIENT_TIMEOUT = 30  # seconds: a hung server fails the test instead of hanging it


def chain(n: int, *, on: str = "Query", leaf: str = "__typename") -> str:
    """N fragments, each spreading the next twice: 2^N fields once expanded, ~40 bytes each."""
    fragments = [f"fragment F{i} on {on} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(n)]
    return " ".join([*fragments, f"fragment F{n} on {on} {{ {leaf} }}"])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    log: Path = tmp_path_factory.mktemp("live") / "server.log"
    with server_in_subprocess(make_settings(), log) as server:
        yield server


def post(server: LiveServer, query: str, key: str = ADMIN_KEY, **variables: Any) -> Any:
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {key}"},
        timeout=CLIENT_TIMEOUT,
    )
    return response.json()


def codes(body: Any) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def publishable_key(server: LiveServer) -> str:
    created = post(
        server,
        'mutation { createApiKey(name: "page", scope: PUBLISHABLE) { secret } }',
    )
    secret: str = created["data"]["createApiKey"]["secret"]
    return secret


def test_a_fragment_chain_is_refused_at_once_for_every_key(live: LiveServer) -> None:
    page_key = publishable_key(live)
    for key in (ADMIN_KEY, page_key):
        answer = post(live, "query { ...F0 } " + chain(40), key=key)
        assert codes(answer) == ["QUERY_TOO_LARGE"], answer
        assert "fragments" in answer["errors"][0]["message"]
        mutation = "mutation { ...F0 } " + chain(40, on="Mutation")
        assert codes(post(live, mutation, key=key)) == ["QUERY_TOO_LARGE"]
    # Aliases inside such a chain are counted as expanded, without walking every path.
    aliased = "query { ...F0 } " + chain(30, leaf="a: __typename")
    assert codes(post(live, aliased)) == ["QUERY_TOO_LARGE"]
    short = "query { ...F0 } " + chain(4, leaf="a: __typename")  # 16 aliases: fine
    assert post(live, short) == {"data": {"a": "Query"}}
    assert httpx.get(f"{live.url}/healthz", timeout=CLIENT_TIMEOUT).json() == {"status": "ok"}


def test_fragment_cycles_and_introspection_chains_end(live: LiveServer) -> None:
    cycle = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A __typename }"
    answer = post(live, cycle)
    assert answer["data"] is None
    assert "Cannot spread fragment 'A' within itself" in answer["errors"][0]["message"]
    introspection = "{ __schema { types { ...F0 } } } " + chain(40, on="__Type", leaf="name")
    assert codes(post(live, introspection)) == ["QUERY_TOO_LARGE"]
    deep = "{ __schema { types { " + "fields { type { " * 12 + "name" + " } }" * 12 + " } } }"
    assert post(live, deep)["data"] is None  # graphql-core's introspection depth rule


async def test_depth_and_aliases_are_limited_with_coded_errors(
    gql: GraphQL, settings: Settings
) -> None:
    deep = "{ contacts { edges { node { activity { edges { node { name } } } } } } }"
    assert await gql.data(deep) == {"contacts": {"edges": []}}
    fragments = (
        "{ contacts { ...C } } fragment C on ContactConnection { edges { node { ...N } } } "
        "fragment N on Contact { activity { edges { node { name } } } }"
    )
    assert await gql.data(fragments) == {"contacts": {"edges": []}}
    aliases = "{ " + " ".join(f"a{i}: workspace {{ id }}" for i in range(31)) + " }"
    assert await gql.error_codes(aliases) == ["TOO_MANY_ALIASES"]


class TestDepth:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"max_query_depth": 5})

    async def test_a_document_deeper_than_the_setting_is_refused(self, gql: GraphQL) -> None:
        ok = "{ contacts { edges { node { activity { pageInfo { hasNextPage } } } } } }"  # 5 deep
        assert await gql.data(ok) == {"contacts": {"edges": []}}
        deep = "{ contacts { edges { node { activity { edges { node { name } } } } } } }"
        body = await gql.result(deep)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
        via_fragment = "{ contacts { edges { ...E } } } fragment E on ContactEdge { node { activity { edges { node { name } } } } }"
        assert await gql.error_codes(via_fragment) == ["QUERY_TOO_DEEP"]


ACTIVITY = "contacts(first: {a}) {{ edges {{ node {{ activity(first: {b}) {{ edges {{ node {{ name }} }} }} }} }} }}"


async def test_an_operation_asking_for_too_many_nodes_is_refused(gql: GraphQL) -> None:
    # 30 aliases x contacts(100) x activity(100): 30 x (100 + 100 x 100) nodes.
    costly = "{ " + " ".join(f"c{i}: " + ACTIVITY.format(a=100, b=100) for i in range(30)) + " }"
    body = await gql.result(costly)
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 303_000, "maxCost": 50_000}
    assert "303000" in error["message"]
    # Four of them fit: 40,400 nodes.
    fits = "{ " + " ".join(f"c{i}: " + ACTIVITY.format(a=100, b=100) for i in range(4)) + " }"
    assert (await gql.data(fits))["c0"] == {"edges": []}


async def test_cost_counts_variables_defaults_and_lists_without_first(gql: GraphQL) -> None:
    by_variable = (
        "query Q($n: Int) { "
        + " ".join(f"c{i}: " + ACTIVITY.format(a="$n", b="$n") for i in range(5))
        + " }"
    )
    assert await gql.error_codes(by_variable, n=100) == ["QUERY_TOO_COSTLY"]  # 50,500
    assert (await gql.data(by_variable, n=10))["c0"] == {"edges": []}  # 550
    body = await gql.result(by_variable)  # no $n: the default page of 20 (and 20 x 20)
    assert "errors" not in body
    with_default = by_variable.replace("$n: Int", "$n: Int = 100")
    assert await gql.error_codes(with_default) == ["QUERY_TOO_COSTLY"]  # $n's own default
    # segments has no `first`: 100 segments x 100 contacts x 100 events.
    segments = "{ segments { contacts(first: 100) { edges { node { activity(first: 100) { pageInfo { hasNextPage } } } } } } }"
    body = await gql.result(segments)
    assert body["errors"][0]["extensions"]["cost"] == 100 + 100 * 100 + 100 * 100 * 100
    # Fragments count wherever they are spread.
    spread = (
        "{ a: contacts(first: 100) { ...E } b: contacts(first: 100) { ...E } "
        "c: contacts(first: 100) { ...E } d: contacts(first: 100) { ...E } "
        "e: contacts(first: 100) { ...E } } "
        "fragment E on ContactConnection { edges { node { activity(first: 100) { pageInfo { hasNextPage } } } } }"
    )
    assert (await gql.result(spread))["errors"][0]["extensions"]["cost"] == 5 * 10_100


async def test_lists_bounded_by_caps_count_their_cap(gql: GraphQL) -> None:
    # A contact has at most TALLY_MAX_EVENT_NAMES summaries (1,000), a name at most
    # TALLY_MAX_METADATA_KEYS_PER_NAME keys (40); `names:` asks for one summary per name at most.
    summaries = "{ contacts(first: 100) { edges { node { eventSummaries { name } } } } }"
    body = await gql.result(summaries)
    assert body["errors"][0]["extensions"]["cost"] == 100 + 100 * 1_000
    named = summaries.replace("eventSummaries", 'eventSummaries(names: ["a", "b"])')
    assert "errors" not in await gql.result(named)  # 100 + 100 x 2
    catalog = "{ eventTypes { name metadataKeys { key } } }"
    assert "errors" not in await gql.result(catalog)  # 1,000 + 1,000 x 40
    twice = "{ a: eventTypes { metadataKeys { key } } b: eventTypes { metadataKeys { key } } }"
    assert (await gql.result(twice))["errors"][0]["extensions"]["cost"] == 2 * 41_000


class TestCostSetting:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"max_query_cost": 400})

    async def test_the_limit_is_a_setting(self, gql: GraphQL) -> None:
        assert await gql.error_codes(
            "{ contacts { edges { node { activity { pageInfo { hasNextPage } } } } } }"
        ) == ["QUERY_TOO_COSTLY"]  # 20 + 20 x 20
        assert await gql.data("{ contacts(first: 5) { totalCount } }")


async def test_a_huge_batch_is_refused_before_its_inputs_are_read(gql: GraphQL) -> None:
    # 100,000 inputs, the last one malformed: refused for its size, not for the bad input (which
    # graphql-core would find only after converting all the others).
    inputs: list[dict[str, Any]] = [{"name": "x", "contact": {"userId": "u"}}] * 99_999
    body = await gql.result(TRACK_MANY, inputs=[*inputs, {"name": 5}])
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BATCH_TOO_LARGE"]
    assert "100000 inputs" in body["errors"][0]["message"]


async def test_suggestions_answer_admin_keys_only(gql: GraphQL, http: httpx.AsyncClient) -> None:
    _, secret = await new_key(gql, "PUBLISHABLE")
    page = GraphQL(http, key=secret)
    typo = 'mutation { trackEvent(input: {name: "a", contact: {anonymousId: "v"}}) { duplicat } }'
    admin = await gql.result(typo)
    assert "Did you mean 'duplicate'?" in admin["errors"][0]["message"]
    for body in (
        await page.result(typo),
        await page.result(
            'mutation { trackEvent(input: {nme: "a", contact: {anonymousId: "v"}}) { duplicate } }'
        ),
        await page.result(
            "mutation T($i: TrackEventInput!) { trackEvent(input: $i) { duplicate } }",
            i={"nme": "a", "contact": {"anonymousId": "v"}},
        ),
    ):
        assert body["errors"], body
        assert all("Did you mean" not in e["message"] for e in body["errors"]), body


async def test_validation_is_cached_by_document(gql: GraphQL, app: Starlette) -> None:
    documents = app.state.schema.documents
    query = "{ contacts { edges { node { userId activity { pageInfo { hasNextPage } } } } } }"
    for _ in range(3):
        assert await gql.data(query) == {"contacts": {"edges": []}}
    entry = documents.get(query)
    assert entry is not None
    assert entry.errors == []
    assert None in entry.measures  # measured once, not per request


async def test_the_document_cache_stays_within_its_byte_budget(
    gql: GraphQL, app: Starlette
) -> None:
    documents = app.state.schema.documents
    padding = " " * 1_000_000
    for i in range(30):  # 30 distinct 1 MB documents
        assert await gql.data("{ workspace { id } }" + padding + f"# {i}") == {
            "workspace": {"id": "default"}
        }
    dense = ["{ workspace { " + "id " * 900 + f"}} }} # {i}" for i in range(200)]
    for text in dense:
        await gql.result(text)
    assert documents.size_bytes <= documents.budget_bytes
    assert all(
        documents.get("{ workspace { id } }" + padding + f"# {i}") is None for i in range(30)
    )
    # ~450 KB each: kept, the oldest making room for the newest.
    assert documents.get(dense[-1]) is not None
    assert documents.get(dense[0]) is None


def test_a_field_repeated_past_the_limit_is_refused(live: LiveServer) -> None:
    # graphql-core compares fields of one name pairwise: 1,200 copies took a second each time.
    repeated = "{ " + " ".join(["workspace { id }"] * 1200) + " }"
    answer = post(live, repeated)
    assert codes(answer) == ["QUERY_TOO_LARGE"]
    assert "1200 times" in answer["errors"][0]["message"]
    via_fragments = (
        "{ ...A ...B } fragment A on Query { "
        + "workspace { id } " * 30
        + "} fragment B on Query { "
        + "workspace { id } " * 30
        + "}"
    )
    assert codes(post(live, via_fragments)) == ["QUERY_TOO_LARGE"]
    fifty = "{ " + " ".join(["workspace { id }"] * 50) + " }"
    assert post(live, fifty) == {"data": {"workspace": {"id": "default"}}}


async def test_a_publishable_key_is_refused_before_validation(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    # Its scope is checked before graphql-core validates anything: an invalid document beyond
    # its scope is FORBIDDEN, not a validation error.
    _, secret = await new_key(gql, "PUBLISHABLE")
    page = GraphQL(http, key=secret)
    assert await page.error_codes("{ contacts { nope } }") == ["FORBIDDEN"]
    assert await gql.error_codes("{ contacts { nope } }") == ["GRAPHQL_VALIDATION_FAILED"]  # admin

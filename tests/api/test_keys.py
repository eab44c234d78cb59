"""Workspaces, key scopes and identity verification: each forbidden thing tried and refused."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import pytest

from app.services import tracking
from tests.api.test_track_event import track
from tests.helpers import GraphQL

CREATE_KEY = """
mutation Key($name: String!, $scope: ApiKeyScope!) {
  createApiKey(name: $name, scope: $scope) { apiKey { id name scope } secret userErrors { code } }
}
"""
# What a page asks for with a publishable key: never the person (tests/api/test_publishable.py).
UPSERT = """
mutation Upsert($input: ContactInput!) {
  upsertContact(input: $input) { contact { id } userErrors { field code } }
}
"""
PK_TRACK = """
mutation Track($input: TrackEventInput!) {
  trackEvent(input: $input) { event { id name } duplicate userErrors { field code } }
}
"""


async def new_key(gql: GraphQL, scope: str) -> tuple[str, str]:
    created = (await gql.data(CREATE_KEY, name=f"{scope} key", scope=scope))["createApiKey"]
    return created["apiKey"]["id"], created["secret"]


def sign(secret: str, value: str) -> str:
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


async def test_a_publishable_key_only_tracks_and_updates_its_contact(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    _, secret = await new_key(gql, "PUBLISHABLE")
    page = GraphQL(http, key=secret)
    tracked = (
        await page.data(
            PK_TRACK, input={"name": "viewed-pricing", "contact": {"anonymousId": "v1"}}
        )
    )["trackEvent"]
    assert tracked["userErrors"] == []
    updated = (
        await page.data(
            UPSERT,
            input={
                "ref": {"anonymousId": "v1"},
                "name": "Vi",
                "customAttributes": {"plan": "free"},
            },
        )
    )["upsertContact"]
    assert updated["userErrors"] == []
    for forbidden in (
        "{ contacts { totalCount } }",
        "{ eventTypes { name } }",
        "{ workspace { id } }",
        "{ apiKeys { id } }",
        '{ contact(ref: {anonymousId: "v1"}) { id } }',
        'mutation { trackEvents(inputs: [{name: "x", contact: {anonymousId: "v1"}}]) { acceptedCount } }',
        'mutation { deleteContact(ref: {anonymousId: "v1"}) { deletedEventCount } }',
        'mutation { a: trackEvent(input: {name: "x", contact: {anonymousId: "v1"}}) { duplicate } b: createApiKey(name: "x", scope: ADMIN) { secret } }',
        'mutation { ...F } fragment F on Mutation { revokeApiKey(id: "k") { secret } }',
    ):
        assert await page.error_codes(forbidden) == ["FORBIDDEN"], forbidden
    late = (
        await page.data(
            UPSERT, input={"ref": {"anonymousId": "v1"}, "lastSeenAt": "2026-11-28T10:00:00Z"}
        )
    )["upsertContact"]
    assert [e["code"] for e in late["userErrors"]] == ["FORBIDDEN_FIELD"]
    by_id = (
        await page.data(
            PK_TRACK, input={"name": "x", "contact": {"id": "6b0b9f508f735ba0c8aa86b0"}}
        )
    )["trackEvent"]
    assert [e["code"] for e in by_id["userErrors"]] == ["FORBIDDEN_REF"]
    assert [t["name"] for t in (await gql.data("{ eventTypes { name } }"))["eventTypes"]] == [
        "viewed-pricing"
    ]


async def test_identity_verification_needs_the_user_hash(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    _, secret = await new_key(gql, "PUBLISHABLE")
    page = GraphQL(http, key=secret)
    on = "mutation { updateWorkspace(identityVerification: true) { workspace { identityVerification } } }"
    assert (await gql.data(on))["updateWorkspace"]["workspace"] == {"identityVerification": True}
    rotated = (await gql.data("mutation { rotateIdentitySecret { identitySecret } }"))[
        "rotateIdentitySecret"
    ]
    identity = rotated["identitySecret"]

    async def codes(input: dict[str, Any]) -> list[str]:
        payload = (await page.data(PK_TRACK, input={"name": "signed-in", **input}))["trackEvent"]
        return [e["code"] for e in payload["userErrors"]]

    assert await codes({"contact": {"userId": "ada"}}) == ["INVALID_USER_HASH"]
    assert await codes({"contact": {"userId": "ada"}, "userHash": sign(identity, "bob")}) == [
        "INVALID_USER_HASH"
    ]
    assert await codes({"contact": {"userId": "ada"}, "userHash": sign(identity, "ada")}) == []
    assert (
        await codes(
            {"contact": {"email": "ada@example.com"}, "userHash": sign(identity, "ada@example.com")}
        )
        == []
    )
    assert await codes({"contact": {"anonymousId": "v1"}}) == []
    # A lead never claims a userId without the hash of that userId.
    claim = (await page.data(UPSERT, input={"ref": {"anonymousId": "v1"}, "userId": "ada"}))[
        "upsertContact"
    ]
    assert [e["code"] for e in claim["userErrors"]] == ["INVALID_USER_HASH"]
    signed = (
        await page.data(
            UPSERT,
            input={
                "ref": {"anonymousId": "v1"},
                "userId": "ada",
                "userHash": sign(identity, "ada"),
            },
        )
    )["upsertContact"]
    assert signed["userErrors"] == []
    # After a rotation the old hashes fail.
    await gql.data("mutation { rotateIdentitySecret { identitySecret } }")
    assert await codes({"contact": {"userId": "ada"}, "userHash": sign(identity, "ada")}) == [
        "INVALID_USER_HASH"
    ]
    # Admin keys need no hash.
    assert (await track(gql, name="signed-in", contact={"userId": "ada"}))["userErrors"] == []


async def test_revoked_keys_stop_working_and_keys_are_listed(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    key_id, secret = await new_key(gql, "ADMIN")
    other = GraphQL(http, key=secret)
    assert (await other.data("{ workspace { id } }"))["workspace"]["id"] == "default"
    listed = (await gql.data("{ apiKeys { id name scope lastUsedAt } }"))["apiKeys"]
    assert {k["id"]: k["scope"] for k in listed}[key_id] == "ADMIN"
    assert next(k for k in listed if k["id"] == key_id)["lastUsedAt"] is not None
    revoked = await gql.data(
        "mutation($id: ID!) { revokeApiKey(id: $id) { apiKey { id } userErrors { code } } }",
        id=key_id,
    )
    assert revoked["revokeApiKey"] == {"apiKey": {"id": key_id}, "userErrors": []}
    assert (await other.post("{ workspace { id } }")).status_code == 401
    assert key_id not in {k["id"] for k in (await gql.data("{ apiKeys { id } }"))["apiKeys"]}
    again = await gql.data(
        "mutation($id: ID!) { revokeApiKey(id: $id) { userErrors { code } } }", id=key_id
    )
    assert again["revokeApiKey"]["userErrors"] == [{"code": "KEY_NOT_FOUND"}]


async def test_workspaces_are_created_by_the_operator_only_and_never_cross(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    created = (
        await gql.data(
            'mutation { createWorkspace(name: "Acme") { workspace { id name retentionDays } adminKey identitySecret webhookSecret userErrors { code } } }'
        )
    )["createWorkspace"]
    assert created["userErrors"] == []
    assert created["workspace"]["name"] == "Acme"
    assert all(created[k] for k in ("adminKey", "identitySecret", "webhookSecret"))
    acme = GraphQL(http, key=created["adminKey"])
    assert (await acme.data("{ workspace { id } }"))["workspace"]["id"] == created["workspace"][
        "id"
    ]
    assert await acme.error_codes(
        'mutation { createWorkspace(name: "Other") { workspace { id } } }'
    ) == ["FORBIDDEN"]
    # The same userId in two workspaces is two people.
    await track(gql, name="viewed-pricing", contact={"userId": "ada"})
    await track(acme, name="upgraded-plan", contact={"userId": "ada"})
    mine = (await gql.data('{ contact(ref: {userId: "ada"}) { eventSummaries { name } } }'))[
        "contact"
    ]
    theirs = (await acme.data('{ contact(ref: {userId: "ada"}) { eventSummaries { name } } }'))[
        "contact"
    ]
    assert mine == {"eventSummaries": [{"name": "viewed-pricing"}]}
    assert theirs == {"eventSummaries": [{"name": "upgraded-plan"}]}
    assert [t["name"] for t in (await acme.data("{ eventTypes { name } }"))["eventTypes"]] == [
        "upgraded-plan"
    ]
    assert (await acme.data("{ contacts { totalCount } }"))["contacts"]["totalCount"] == 1
    bad = (
        await gql.data(
            "mutation { updateWorkspace(retentionDays: 0) { userErrors { field code } } }"
        )
    )["updateWorkspace"]
    assert bad["userErrors"] == [{"field": ["retentionDays"], "code": "INVALID_RETENTION"}]


async def test_a_workspace_s_two_keys_each_keep_their_tracker(
    gql: GraphQL, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's publishable key and a server's admin key, in turns: each key's Tracker is made
    once (each key reads a Workspace object of its own), not again on every switch."""
    _, secret = await new_key(gql, "PUBLISHABLE")
    page = GraphQL(http, key=secret)
    made = 0
    make = tracking.Tracker.__init__

    def counted(self: tracking.Tracker, **kwargs: Any) -> None:
        nonlocal made
        made += 1
        make(self, **kwargs)

    monkeypatch.setattr(tracking.Tracker, "__init__", counted)
    sent = 'mutation { trackEvent(input: {name: "paid", contact: {userId: "u1"}}) { userErrors { code } } }'
    for _ in range(5):
        for client in (gql, page):
            assert (await client.data(sent))["trackEvent"]["userErrors"] == []
    assert made == 2

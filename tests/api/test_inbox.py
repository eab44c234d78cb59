"""A page's own in-app messages, listed with a publishable key (Query.messages): whose it may
read, and that it sees the message, not the person."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette

from tests.api.test_keys import new_key, sign
from tests.api.test_message_rules import create
from tests.api.test_track_event import track
from tests.faults import Faults
from tests.helpers import GraphQL

INBOX = """
query Inbox($contact: ContactRef, $userHash: String, $status: MessageStatus) {
  messages(contact: $contact, userHash: $userHash, status: $status) {
    totalCount edges { node { id subject body status sentAt } }
  }
}
"""
UPSERT = "mutation($i: ContactInput!) { upsertContact(input: $i) { userErrors { code } } }"
VERIFY = "mutation { updateWorkspace(identityVerification: true) { identitySecret } }"


async def thank_on(gql: GraphQL, event: str, channel: str = "IN_APP", **more: Any) -> None:
    content: dict[str, Any] = {"channel": channel, "subject": "Hi", "body": f"After {event}"}
    if channel == "WEBHOOK":
        content.update(webhookUrl="https://support.example/hook", body="{{contact.email}}")
    created = await create(gql, {
        "name": f"On {event} ({channel})", "trigger": {"kind": "EVENT", "eventName": event},
        "content": content, **more,
    })  # fmt: skip
    assert created["userErrors"] == []


async def page_tracks(page: GraphQL, **input: Any) -> None:
    """trackEvent as a page sends it (a publishable key reads no personal data back)."""
    query = "mutation($i: TrackEventInput!) { trackEvent(input: $i) { userErrors { code } } }"
    assert (await page.data(query, i=input))["trackEvent"]["userErrors"] == []


async def inbox(page: GraphQL, **variables: Any) -> list[str]:
    data = (await page.data(INBOX, **variables))["messages"]
    assert data["totalCount"] == len(data["edges"])
    return [edge["node"]["body"] for edge in data["edges"]]


async def test_a_visitors_page_lists_its_sent_in_app_messages_only(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    await thank_on(gql, "viewed-pricing")
    await thank_on(gql, "viewed-pricing", "WEBHOOK")
    await thank_on(gql, "added-to-cart", delaySeconds=3600)
    _, secret = await new_key(gql, "PUBLISHABLE")
    page = GraphQL(http, key=secret)
    visitor = {"anonymousId": "visitor-1"}
    assert await inbox(page, contact=visitor) == []  # not seen yet: nothing, no error
    await page_tracks(page, name="viewed-pricing", contact=visitor)
    await page_tracks(page, name="added-to-cart", contact=visitor)
    await track(gql, name="viewed-pricing", contact={"anonymousId": "visitor-2"})
    # The webhook's body (with personal data) and the scheduled message stay out of sight.
    assert await inbox(page, contact=visitor) == ["After viewed-pricing"]
    assert await inbox(page, contact=visitor, status="SCHEDULED") == []
    assert len(await inbox(gql, contact=visitor)) == 3  # an admin key sees them all
    for behind in ("contact { id }", "rule { name }"):  # the message, not the person
        who = f'{{ messages(contact: {{anonymousId: "visitor-1"}}) {{ edges {{ node {{ {behind} }} }} }} }}'
        assert await page.error_codes(who) == ["FORBIDDEN"]
    assert await page.error_codes("{ messages { totalCount } }") == ["CONTACT_REQUIRED"]
    by_id = '{ messages(contact: {id: "6b0b9f508f735ba0c8aa86b0"}) { totalCount } }'
    assert await page.error_codes(by_id) == ["FORBIDDEN_REF"]
    assert await page.error_codes("{ messageRules { name } }") == ["FORBIDDEN"]


async def test_a_users_messages_need_identity_verification_and_the_hash(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    await thank_on(gql, "upgraded-plan")
    _, secret = await new_key(gql, "PUBLISHABLE")
    page = GraphQL(http, key=secret)
    await track(gql, name="upgraded-plan", contact={"userId": "ada"})
    ada = {"userId": "ada"}
    # Knowing a userId is not enough to read that user's messages.
    assert await page.error_codes(INBOX, contact=ada) == ["IDENTITY_VERIFICATION_REQUIRED"]
    identity = (await gql.data(VERIFY))["updateWorkspace"]["identitySecret"]
    assert await page.error_codes(INBOX, contact=ada) == ["INVALID_USER_HASH"]
    assert await page.error_codes(INBOX, contact=ada, userHash=sign(identity, "bob")) == [
        "INVALID_USER_HASH"
    ]
    assert await inbox(page, contact=ada, userHash=sign(identity, "ada")) == ["After upgraded-plan"]
    # A lead merged into ada: its anonymousId now names a user, and needs ada's hash too.
    await track(gql, name="viewed-pricing", contact={"anonymousId": "visitor-1"})
    await gql.data(UPSERT, i={"ref": {"anonymousId": "visitor-1"}, "userId": "ada"})
    visitor = {"anonymousId": "visitor-1"}
    assert await page.error_codes(INBOX, contact=visitor) == ["INVALID_USER_HASH"]
    assert await inbox(page, contact=visitor, userHash=sign(identity, "ada")) == [
        "After upgraded-plan"
    ]


async def test_the_identity_secret_is_readable_without_rotating_it(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    read = (await gql.data("{ workspace { identitySecret } }"))["workspace"]["identitySecret"]
    turned_on = (await gql.data(VERIFY))["updateWorkspace"]["identitySecret"]
    assert read == turned_on
    assert (await gql.data("{ workspace { identitySecret } }"))["workspace"]["identitySecret"] == (
        read
    )
    off = "mutation { updateWorkspace(identityVerification: false) { identitySecret } }"
    assert (await gql.data(off))["updateWorkspace"]["identitySecret"] is None
    _, secret = await new_key(gql, "PUBLISHABLE")
    page = GraphQL(http, key=secret)
    assert await page.error_codes("{ workspace { identitySecret } }") == ["FORBIDDEN"]


async def test_halfway_through_a_merge_a_leads_messages_are_read_as_its_users(
    gql: GraphQL, http: httpx.AsyncClient, app: Starlette
) -> None:
    """Reads name the contact as writes do: from the merge's first step on, the lead's
    anonymousId names the user, whose messages need identity verification and the hash."""
    await thank_on(gql, "viewed-pricing")
    _, secret = await new_key(gql, "PUBLISHABLE")
    page = GraphQL(http, key=secret)
    visitor = {"anonymousId": "visitor-1"}
    await page_tracks(page, name="viewed-pricing", contact=visitor)
    assert await inbox(page, contact=visitor) == ["After viewed-pricing"]
    await track(gql, name="upgraded-plan", contact={"userId": "ada"})
    answers: list[list[str]] = []

    async def page_reads_meanwhile() -> None:
        answers.append(await page.error_codes(INBOX, contact=visitor))

    faults = Faults(app.state.services.store)
    faults.before("events", "update", run=page_reads_meanwhile)  # the lead's events move
    await gql.data(UPSERT, i={"ref": visitor, "userId": "ada"})
    faults.restore()
    assert answers == [["IDENTITY_VERIFICATION_REQUIRED"]]
    assert await page.error_codes(INBOX, contact=visitor) == ["IDENTITY_VERIFICATION_REQUIRED"]


async def test_a_page_cannot_list_a_users_messages_by_merging_its_lead_into_them(
    gql: GraphQL, http: httpx.AsyncClient
) -> None:
    await thank_on(gql, "upgraded-plan")
    await track(gql, name="upgraded-plan", contact={"userId": "ada"})
    _, secret = await new_key(gql, "PUBLISHABLE")
    page = GraphQL(http, key=secret)
    evil = {"anonymousId": "evil"}
    assert await inbox(page, contact=evil) == []
    # Without identity verification a publishable key may convert a lead into any userId.
    assert (await page.data(UPSERT, i={"ref": evil, "userId": "ada"}))["upsertContact"][
        "userErrors"
    ] == []
    assert await page.error_codes(INBOX, contact=evil) == ["IDENTITY_VERIFICATION_REQUIRED"]

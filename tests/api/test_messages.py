"""Automatic messages fired by events: the seed's examples, with a controllable clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.clock import ManualClock
from tests.api.test_message_rules import create
from tests.api.test_track_event import track
from tests.helpers import GraphQL

MESSAGES = """
query Messages($contact: ContactRef, $ruleId: ID, $status: MessageStatus, $first: Int, $after: String) {
  messages(contact: $contact, ruleId: $ruleId, status: $status, first: $first, after: $after) {
    totalCount
    edges { cursor node { status subject body dueAt sentAt rule { name } contact { userId anonymousId } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def messages(gql: GraphQL, **filters: Any) -> list[dict[str, Any]]:
    data = (await gql.data(MESSAGES, **filters))["messages"]
    assert data["totalCount"] == len(data["edges"])
    return [edge["node"] for edge in data["edges"]]


async def sent_counts(gql: GraphQL) -> dict[str, int]:
    rules = (await gql.data("{ messageRules { name sentCount } }"))["messageRules"]
    return {rule["name"]: rule["sentCount"] for rule in rules}


async def test_thank_you_after_an_upgrade_once_with_the_rendered_body(gql: GraphQL) -> None:
    await track(gql, name="upgraded-plan", contact={"userId": "ada"})  # before the rule: nothing
    await gql.data(
        "mutation($i: ContactInput!) { upsertContact(input: $i) { userErrors { code } } }",
        i={"ref": {"userId": "ada"}, "name": "Ada"},
    )
    assert (await create(gql, {
        "name": "Thank you",
        "trigger": {"kind": "EVENT", "eventName": "upgraded-plan"},
        "content": {"channel": "IN_APP", "subject": "Thanks {{contact.name}}!",
                    "body": "Enjoy {{event.metadata.new_plan}} ({{event.metadata.new_price}})."},
    }))["userErrors"] == []  # fmt: skip
    assert await messages(gql) == []
    metadata = {"new_plan": "Dynamite Pro", "new_price": {"amount": 34999, "currency": "EUR"}}
    await track(gql, name="upgraded-plan", contact={"userId": "ada"}, metadata=metadata)
    await track(gql, name="upgraded-plan", contact={"userId": "ada"}, metadata=metadata)
    [message] = await messages(gql, contact={"userId": "ada"})
    assert message["status"] == "SENT"
    assert message["subject"] == "Thanks Ada!"
    assert message["body"] == "Enjoy Dynamite Pro (349.99 EUR)."
    assert message["rule"] == {"name": "Thank you"}
    assert message["contact"]["userId"] == "ada"
    assert await sent_counts(gql) == {"Thank you": 1}


async def test_pricing_viewed_more_than_3_times_fires_on_the_fourth_view(gql: GraphQL) -> None:
    await create(gql, {
        "name": "Interested in pricing",
        "trigger": {"kind": "EVENT", "eventName": "viewed-pricing"},
        "audience": {"event": {"name": "viewed-pricing", "count": {"gt": 3}}},
        "content": {"channel": "IN_APP", "body": "Questions about our plans?"},
    })  # fmt: skip
    for view in range(1, 6):
        await track(gql, name="viewed-pricing", contact={"anonymousId": "visitor-1"})
        sent = await messages(gql, contact={"anonymousId": "visitor-1"})
        assert len(sent) == (1 if view >= 4 else 0), view
    assert await sent_counts(gql) == {"Interested in pricing": 1}


async def test_cart_abandonment_is_scheduled_and_cancelled_by_a_purchase(
    gql: GraphQL, clock: ManualClock
) -> None:
    await create(gql, {
        "name": "Forgot something?",
        "trigger": {"kind": "EVENT", "eventName": "added-to-cart"},
        "delaySeconds": 3600,
        "exitEventName": "purchased",
        "content": {"channel": "IN_APP", "body": "Your cart misses you, {{contact.userId}}."},
    })  # fmt: skip
    await track(gql, name="added-to-cart", contact={"userId": "ada"})
    await track(gql, name="added-to-cart", contact={"userId": "bob"})
    [scheduled] = await messages(gql, contact={"userId": "ada"})
    assert scheduled["status"] == "SCHEDULED"
    assert scheduled["sentAt"] is None
    assert scheduled["dueAt"] == (clock.now() + timedelta(hours=1)).isoformat()
    assert scheduled["body"] == "Your cart misses you, ada."
    clock.advance(timedelta(minutes=20))
    await track(gql, name="purchased", contact={"userId": "ada"})
    assert [m["status"] for m in await messages(gql, contact={"userId": "ada"})] == ["CANCELLED"]
    assert [m["status"] for m in await messages(gql, contact={"userId": "bob"})] == ["SCHEDULED"]
    assert len(await messages(gql, status="SCHEDULED")) == 1
    # ONCE counts scheduled and sent messages, not cancelled ones: a new cart schedules again.
    await track(gql, name="added-to-cart", contact={"userId": "ada"})
    assert sorted(m["status"] for m in await messages(gql, contact={"userId": "ada"})) == [
        "CANCELLED",
        "SCHEDULED",
    ]
    assert await sent_counts(gql) == {"Forgot something?": 0}


async def test_every_time_stops_at_max_sends_and_metadata_conditions_filter(gql: GraphQL) -> None:
    await create(gql, {
        "name": "Zelda fan",
        "trigger": {"kind": "EVENT", "eventName": "bought-game",
                    "metadata": [{"key": "title", "string": {"contains": "zelda"}}]},
        "frequency": "EVERY_TIME",
        "maxSends": 2,
        "content": {"channel": "IN_APP", "body": "More like {{event.metadata.title}}?"},
    })  # fmt: skip
    for title in ("Mario Kart", "Zelda: BOTW", "The Legend of Zelda", "Zelda: TOTK"):
        await track(gql, name="bought-game", contact={"userId": "ada"}, metadata={"title": title})
    sent = await messages(gql, contact={"userId": "ada"})
    assert [m["body"] for m in sent] == ["More like The Legend of Zelda?", "More like Zelda: BOTW?"]
    assert await sent_counts(gql) == {"Zelda fan": 2}


async def test_a_disabled_rule_sends_nothing_and_re_enabling_ignores_earlier_events(
    gql: GraphQL, clock: ManualClock
) -> None:
    rule = {
        "name": "Welcome",
        "trigger": {"kind": "EVENT", "eventName": "signed-up"},
        "content": {"channel": "IN_APP", "body": "Welcome!"},
        "enabled": False,
    }
    created = (await create(gql, rule))["rule"]
    await track(gql, name="signed-up", contact={"userId": "ada"})
    assert await messages(gql) == []
    clock.advance(timedelta(minutes=1))
    update = "mutation($id: ID!, $input: MessageRuleInput!) { updateMessageRule(id: $id, input: $input) { userErrors { code } } }"
    await gql.data(update, id=created["id"], input={**rule, "enabled": True})
    backfilled = await track(
        gql,
        name="signed-up",
        contact={"userId": "bob"},
        occurredAt=(clock.now() - timedelta(days=1)).isoformat(),
    )
    assert backfilled["userErrors"] == []
    # Received after enabling (whatever it says it occurred at): it fires.
    assert [m["contact"]["userId"] for m in await messages(gql)] == ["bob"]


async def test_messages_page_with_cursors_and_filters(gql: GraphQL, clock: ManualClock) -> None:
    created = (await create(gql, {
        "name": "Every view",
        "trigger": {"kind": "EVENT", "eventName": "viewed-page"},
        "frequency": "EVERY_TIME",
        "content": {"channel": "IN_APP", "body": "Hi"},
    }))["rule"]  # fmt: skip
    for _ in range(5):
        clock.advance(timedelta(seconds=1))
        await track(gql, name="viewed-page", contact={"userId": "ada"})
    seen, after = [], None
    while True:
        data = (await gql.data(MESSAGES, ruleId=created["id"], first=2, after=after))["messages"]
        seen += [edge["node"]["sentAt"] for edge in data["edges"]]
        if not data["pageInfo"]["hasNextPage"]:
            break
        after = data["pageInfo"]["endCursor"]
    assert len(seen) == 5
    assert seen == sorted(seen, reverse=True)
    assert await messages(gql, contact={"userId": "nobody"}) == []
    assert await gql.error_codes(MESSAGES, after="nope") == ["INVALID_CURSOR"]


async def test_once_holds_across_a_lead_to_user_merge_and_deletion_removes_messages(
    gql: GraphQL,
) -> None:
    await create(gql, {
        "name": "Welcome", "trigger": {"kind": "EVENT", "eventName": "viewed-pricing"},
        "content": {"channel": "IN_APP", "body": "Welcome!"},
    })  # fmt: skip
    await track(gql, name="viewed-pricing", contact={"anonymousId": "visitor-1"})
    await track(gql, name="signed-in", contact={"userId": "ada"})
    upsert = "mutation($i: ContactInput!) { upsertContact(input: $i) { userErrors { code } } }"
    await gql.data(upsert, i={"ref": {"anonymousId": "visitor-1"}, "userId": "ada"})
    [carried] = await messages(gql, contact={"userId": "ada"})
    assert carried["contact"]["userId"] == "ada"
    await track(gql, name="viewed-pricing", contact={"userId": "ada"})
    assert len(await messages(gql, contact={"userId": "ada"})) == 1  # ONCE: not again
    export = (
        await gql.data("query($r: ContactRef!) { contactExport(ref: $r) }", r={"userId": "ada"})
    )["contactExport"]
    assert [(m["status"], m["body"]) for m in export["messages"]] == [("SENT", "Welcome!")]
    delete = "mutation($r: ContactRef!) { deleteContact(ref: $r) { userErrors { code } } }"
    assert (await gql.data(delete, r={"userId": "ada"}))["deleteContact"]["userErrors"] == []
    assert await messages(gql) == []

"""AUDIENCE rules: every contact matching the audience gets the message once, now or later.

The scheduler walks a workspace's contacts in `_id` order, a span of at most `SPAN` contacts
per rule and tick, remembering where it stopped (`audience_cursor` on the rule); at the end it
starts a new round from the first contact, so contacts that match later are found in a later
round. Each tick therefore reads a bounded range of the index `(workspace_id, _id)`, whatever
the size of the workspace or the number of contacts already done; within the span, contacts
already messaged (`audience_done`) are skipped.
"""

from __future__ import annotations

from datetime import datetime

from app.domain.messaging import compose, due_at
from app.domain.models import Workspace
from app.domain.rules import Rule
from app.services.audience import Audience
from app.store import contacts as store_contacts
from app.store import matching
from app.store import messages as store_messages
from app.store import rules as store_rules
from app.store.contacts import object_id
from app.store.database import Store

SPAN = 1000  # contacts looked at per rule and tick
BATCH = 100  # messages created per rule and tick


async def run_audience_rule(
    store: Store, *, workspace: Workspace, rule: Rule, now: datetime
) -> None:
    """One step of the rule's round. InvalidInput when the audience cannot be evaluated."""
    assert rule.spec.audience is not None
    compiled = await Audience(store=store, workspace=workspace).compile(rule.spec.audience, now=now)
    after = object_id(rule.audience_cursor) if rule.audience_cursor else None
    upper = await store_contacts.span_end(store, workspace_id=workspace.id, after=after, size=SPAN)
    span: dict[str, object] = {}
    if after is not None:
        span["$gt"] = after
    if upper is not None:
        span["$lte"] = object_id(upper)
    query = {"$and": [compiled.query, {"audience_done": {"$ne": rule.id}}]}
    if span:
        query["$and"].append({"_id": span})
    contacts = await matching.find_page(
        store,
        workspace_id=workspace.id,
        query=query,
        sort=[("_id", 1)],
        limit=BATCH,
        windows=compiled.windows,
    )
    for contact in contacts:
        subject, body = compose(rule, contact, None)
        await store_messages.add_message(
            store,
            workspace_id=workspace.id,
            rule_id=rule.id,
            contact_id=contact.id,
            once=True,
            subject=subject,
            body=body,
            due_at=due_at(rule, now=now),
            sent=False,
            exit_event_name=rule.spec.exit_event_name,
            channel=rule.spec.channel,
            now=now,
        )
    if contacts:
        await store_contacts.mark_audience_done(
            store, workspace_id=workspace.id, contact_ids=[c.id for c in contacts], rule_id=rule.id
        )
    # Go on after the last contact handled, or after the span; None starts a new round.
    cursor = contacts[-1].id if len(contacts) == BATCH else upper
    if cursor != rule.audience_cursor:
        await store_rules.set_audience_cursor(
            store, workspace_id=workspace.id, rule_id=rule.id, cursor=cursor
        )

"""Mutation root."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.api.audience import SegmentPayload, segment_json
from app.api.context import Info
from app.api.enums import KeyScope
from app.api.filters import SegmentInput
from app.api.inputs import ContactInput, ContactRef, TrackEventInput
from app.api.messages import MessageRuleInput, MessageRulePayload
from app.api.payloads import (
    ContactPayload,
    ContactResult,
    DeleteContactPayload,
    TrackEventPayload,
    TrackEventResult,
    TrackEventsPayload,
    UpsertContactsPayload,
)
from app.api.types import Contact, Event, EventSummary, UserError, user_errors
from app.api.workspaces import ApiKeyPayload, WorkspacePayload
from app.domain.errors import InvalidInput, RequestError, check_batch_size
from app.domain.errors import UserError as DomainUserError
from app.services.auth import identity_problem, may_reach_users_by_email


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Record one event for one contact (created if missing).")
    async def track_event(self, info: Info, input: TrackEventInput) -> TrackEventPayload:
        ctx = info.context
        request = input.request()
        principal = ctx.principal
        problem = None
        if not principal.is_admin:  # an admin key may act as any contact
            try:
                key = request.contact.key("contact")
            except InvalidInput:
                pass  # the tracker reports the bad ref with every other problem
            else:
                problem = await identity_problem(principal, key, input.user_hash, store=ctx.store)
        if problem is not None:
            ctx.metrics.events_ingested.labels(result="rejected").inc()
            return TrackEventPayload(
                event=None,
                contact=None,
                summary=None,
                duplicate=False,
                user_errors=user_errors([problem]),
            )
        outcome = await ctx.tracker.track(request, now=ctx.clock.now())
        return TrackEventPayload(
            event=Event(model=outcome.event) if outcome.event else None,
            contact=Contact(model=outcome.contact) if outcome.contact else None,
            summary=EventSummary.from_model(outcome.summary) if outcome.summary else None,
            duplicate=outcome.duplicate,
            user_errors=user_errors(outcome.errors),
        )

    @strawberry.mutation(
        description="Record up to 1,000 events (TALLY_MAX_BATCH_SIZE) with one result each. "
        "Invalid inputs never block valid ones; a retried batch counts nothing twice when its "
        "events carry idempotency keys."
    )
    async def track_events(self, info: Info, inputs: list[TrackEventInput]) -> TrackEventsPayload:
        ctx = info.context
        outcomes = await ctx.tracker.track_many(
            [item.request() for item in inputs], now=ctx.clock.now()
        )
        results = [
            TrackEventResult(
                index=index,
                event=Event(model=outcome.event) if outcome.event else None,
                duplicate=outcome.duplicate,
                user_errors=user_errors(outcome.errors),
            )
            for index, outcome in enumerate(outcomes)
        ]
        kinds = [outcome.result for outcome in outcomes]
        return TrackEventsPayload(
            results=results,
            accepted_count=kinds.count("accepted"),
            duplicate_count=kinds.count("duplicate"),
            rejected_count=kinds.count("rejected"),
        )

    @strawberry.mutation(description="Create or update a contact by ref.")
    async def upsert_contact(self, info: Info, input: ContactInput) -> ContactPayload:
        contact, errors = await _upsert(info, input)
        return ContactPayload(contact=contact, user_errors=errors)

    @strawberry.mutation(
        description="upsertContact for many contacts, applied in order, one result each "
        "(at most TALLY_MAX_BATCH_SIZE)."
    )
    async def upsert_contacts(
        self, info: Info, inputs: list[ContactInput]
    ) -> UpsertContactsPayload:
        check_batch_size(len(inputs), info.context.settings.max_batch_size)
        results = []
        for index, item in enumerate(inputs):
            contact, errors = await _upsert(info, item)
            results.append(ContactResult(index=index, contact=contact, user_errors=errors))
        rejected = sum(1 for result in results if result.user_errors)
        return UpsertContactsPayload(
            results=results, upserted_count=len(results) - rejected, rejected_count=rejected
        )

    @strawberry.mutation(
        description="Merge a LEAD into a USER: summaries summed (first the earliest, last the "
        "latest), raw events moved, the user's attributes winning, the lead's anonymousId kept "
        "as an alias of the user, the lead removed. Repeating it changes nothing."
    )
    async def merge_contacts(
        self,
        info: Info,
        from_: Annotated[ContactRef, strawberry.argument(name="from")],
        into: ContactRef,
    ) -> ContactPayload:
        try:
            source, target = from_.ref().key("from"), into.ref().key("into")
        except InvalidInput as e:
            return ContactPayload(contact=None, user_errors=user_errors(e.errors))
        merged, errors = await info.context.identity.merge(
            source, target, now=info.context.clock.now()
        )
        return ContactPayload(
            contact=Contact(model=merged) if merged else None, user_errors=user_errors(errors)
        )

    @strawberry.mutation(
        description="Forget a person: the contact, its raw events and its share of the event "
        "catalog. A later event with the same userId starts a new contact."
    )
    async def delete_contact(self, info: Info, ref: ContactRef) -> DeleteContactPayload:
        try:
            key = ref.ref().key("ref")
        except InvalidInput as e:
            return DeleteContactPayload(
                deleted_contact_id=None, deleted_event_count=0, user_errors=user_errors(e.errors)
            )
        deletion = await info.context.privacy.delete(key, now=info.context.clock.now())
        return DeleteContactPayload(
            deleted_contact_id=strawberry.ID(deletion.contact_id) if deletion.contact_id else None,
            deleted_event_count=deletion.event_count,
            user_errors=user_errors(deletion.errors),
        )

    @strawberry.mutation(
        description="A new workspace with its first admin key (the operator key, TALLY_ADMIN_KEY, "
        "only)."
    )
    async def create_workspace(self, info: Info, name: str) -> WorkspacePayload:
        ctx = info.context
        if not ctx.principal.key.operator:
            raise RequestError(
                "FORBIDDEN", "Only the operator key (TALLY_ADMIN_KEY) creates workspaces."
            )
        return WorkspacePayload.of(await ctx.workspaces.create(name, now=ctx.clock.now()))

    @strawberry.mutation(description="Identity verification on or off; the retention window.")
    async def update_workspace(
        self,
        info: Info,
        identity_verification: bool | None = None,
        retention_days: int | None = None,
    ) -> WorkspacePayload:
        outcome = await info.context.workspaces.update(
            identity_verification=identity_verification, retention_days=retention_days
        )
        return WorkspacePayload.of(outcome)

    @strawberry.mutation(description="A new identity secret; user hashes made with the old fail.")
    async def rotate_identity_secret(self, info: Info) -> WorkspacePayload:
        return WorkspacePayload.of(await info.context.workspaces.rotate("identity_secret"))

    @strawberry.mutation(description="A new webhook secret, used for signatures from now on.")
    async def rotate_webhook_secret(self, info: Info) -> WorkspacePayload:
        return WorkspacePayload.of(await info.context.workspaces.rotate("webhook_secret"))

    @strawberry.mutation(description="A new key of this workspace; its secret is shown once.")
    async def create_api_key(self, info: Info, name: str, scope: KeyScope) -> ApiKeyPayload:
        ctx = info.context
        return ApiKeyPayload.of(await ctx.workspaces.create_key(name, scope, now=ctx.clock.now()))

    @strawberry.mutation(description="The key stops working at once on this instance.")
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKeyPayload:
        ctx = info.context
        return ApiKeyPayload.of(await ctx.workspaces.revoke_key(id, now=ctx.clock.now()))

    @strawberry.mutation(description="Create an automatic message rule.")
    async def create_message_rule(self, info: Info, input: MessageRuleInput) -> MessageRulePayload:
        ctx = info.context
        return MessageRulePayload.of(await ctx.rules.create(input.spec(), now=ctx.clock.now()))

    @strawberry.mutation(
        description="Replace a rule. Enabling a disabled rule makes only later events trigger it."
    )
    async def update_message_rule(
        self, info: Info, id: strawberry.ID, input: MessageRuleInput
    ) -> MessageRulePayload:
        ctx = info.context
        return MessageRulePayload.of(await ctx.rules.update(id, input.spec(), now=ctx.clock.now()))

    @strawberry.mutation
    async def delete_message_rule(self, info: Info, id: strawberry.ID) -> MessageRulePayload:
        return MessageRulePayload.of(await info.context.rules.delete(id))

    @strawberry.mutation(description="Save a ContactFilter under a name.")
    async def create_segment(self, info: Info, input: SegmentInput) -> SegmentPayload:
        ctx = info.context
        outcome = await ctx.audience.create_segment(
            input.name, segment_json(input), now=ctx.clock.now()
        )
        return SegmentPayload.of(outcome)

    @strawberry.mutation
    async def update_segment(
        self, info: Info, id: strawberry.ID, input: SegmentInput
    ) -> SegmentPayload:
        ctx = info.context
        outcome = await ctx.audience.update_segment(
            id, input.name, segment_json(input), now=ctx.clock.now()
        )
        return SegmentPayload.of(outcome)

    @strawberry.mutation(
        description="Remove a segment. Filters that still refer to it fail with SEGMENT_NOT_FOUND."
    )
    async def delete_segment(self, info: Info, id: strawberry.ID) -> SegmentPayload:
        return SegmentPayload.of(await info.context.audience.delete_segment(id))


async def _upsert(info: Info, input: ContactInput) -> tuple[Contact | None, list[UserError]]:
    ctx = info.context
    try:
        key = input.ref.ref().key("ref")
    except InvalidInput as e:
        return None, user_errors(e.errors)
    if not ctx.principal.is_admin:
        problems = [
            DomainUserError("FORBIDDEN_FIELD", "A publishable key may not set this field.", (name,))
            for name, value in (
                ("signedUpAt", input.signed_up_at),
                ("lastSeenAt", input.last_seen_at),
            )
            if value is not None
        ]
        problem = await identity_problem(
            ctx.principal, key, input.user_hash, store=ctx.store, claims_user_id=input.user_id
        )
        if problems or problem:
            return None, user_errors([*problems, *([problem] if problem else [])])
    outcome = await ctx.contacts.upsert(
        key,
        input.changes(),
        now=ctx.clock.now(),
        by_email=may_reach_users_by_email(ctx.principal),
    )
    return (
        Contact(model=outcome.contact) if outcome.contact else None,
        user_errors(outcome.errors),
    )

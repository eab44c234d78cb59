"""Query root."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.api.audience import ContactConnection, Segment, find_contacts
from app.api.context import Info
from app.api.enums import MessageStatus
from app.api.filters import ContactFilter, ContactOrder, as_json
from app.api.inputs import ContactRef
from app.api.messages import Message, MessageConnection, MessageEdge, MessageRule
from app.api.types import Contact, EventType, PageInfo, Workspace, request_error
from app.api.workspaces import ApiKey
from app.domain.errors import InvalidInput, RequestError
from app.services.auth import named_contact
from app.services.inbox import READABLE_CHANNEL, reader_problem


@strawberry.type
class Query:
    @strawberry.field(description="One contact, or null when the ref names nobody.")
    async def contact(self, info: Info, ref: ContactRef) -> Contact | None:
        try:
            key = ref.ref().key("ref")
        except InvalidInput as e:
            raise request_error(e) from e
        found = await info.context.contacts.get(key)
        return Contact(model=found) if found else None

    @strawberry.field(
        description="Contacts matching a filter (all when none), newest first unless orderBy says "
        "otherwise. first is 0 to 100."
    )
    async def contacts(
        self,
        info: Info,
        filter: ContactFilter | None = None,
        order_by: ContactOrder | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> ContactConnection:
        return await find_contacts(
            info, as_json(filter) if filter else None, order_by, first, after
        )

    @strawberry.field
    async def segment(self, info: Info, id: strawberry.ID) -> Segment | None:
        found = await info.context.audience.segment(id)
        return Segment(model=found) if found else None

    @strawberry.field(description="Saved segments, by name.")
    async def segments(self, info: Info) -> list[Segment]:
        return [Segment(model=s) for s in await info.context.audience.segments()]

    @strawberry.field(
        description="Everything stored about one contact (attributes, summaries, raw events "
        "inside the retention window) as one JSON document; null when the ref names nobody."
    )
    async def contact_export(self, info: Info, ref: ContactRef) -> JSON | None:
        try:
            key = ref.ref().key("ref")
        except InvalidInput as e:
            raise request_error(e) from e
        ctx = info.context
        export = await ctx.privacy.export(key, now=ctx.clock.now())
        return None if export is None else JSON(export)

    @strawberry.field(
        description="Automatic messages, newest first. A publishable key lists the SENT in-app "
        "messages of one contact only, by the rules of the messages subscription: a lead by "
        "anonymousId; a user only with identity verification on and its userHash."
    )
    async def messages(
        self,
        info: Info,
        contact: ContactRef | None = None,
        rule_id: strawberry.ID | None = None,
        status: MessageStatus | None = None,
        first: int | None = 20,
        after: str | None = None,
        user_hash: Annotated[
            str | None,
            strawberry.argument(description="Publishable keys, for a user: as in trackEvent."),
        ] = None,
    ) -> MessageConnection:
        ctx = info.context
        admin = ctx.principal.is_admin
        if contact is None and not admin:
            raise RequestError(
                "CONTACT_REQUIRED", "A publishable key lists the messages of one contact."
            )
        contact_id = None
        if contact is not None:
            try:
                key = contact.ref().key("contact")
            except InvalidInput as e:
                raise request_error(e) from e
            found = await named_contact(ctx.store, workspace_id=ctx.principal.workspace_id, key=key)
            if problem := reader_problem(ctx.principal, key, user_hash, found):
                raise RequestError(problem.code, problem.message)
            if found is None or not (admin or status in (None, MessageStatus.SENT)):
                return MessageConnection(
                    edges=[],
                    page_info=PageInfo(has_next_page=False, end_cursor=None),
                    count=_no_messages,
                )
            contact_id = found.id
        page = await ctx.messenger.page(
            contact_id=contact_id,
            rule_id=rule_id,
            status=status if admin else MessageStatus.SENT,
            first=20 if first is None else first,
            after=after,
            channel=None if admin else READABLE_CHANNEL,
        )
        edges = [MessageEdge(cursor=cursor, node=Message(model=m)) for m, cursor in page.items]
        return MessageConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None
            ),
            count=page.count,
        )

    @strawberry.field(description="Automatic message rules, oldest first.")
    async def message_rules(self, info: Info) -> list[MessageRule]:
        return [MessageRule(model=rule) for rule in await info.context.rules.all()]

    @strawberry.field(description="The catalog of event names this workspace has received.")
    async def event_types(self, info: Info) -> list[EventType]:
        return [EventType.from_model(t) for t in await info.context.contacts.event_types()]

    @strawberry.field(description="The live keys of this workspace (secrets are never shown).")
    async def api_keys(self, info: Info) -> list[ApiKey]:
        return [ApiKey(model=key) for key in await info.context.workspaces.keys()]

    @strawberry.field(description="The workspace of the calling key.")
    async def workspace(self, info: Info) -> Workspace:
        return Workspace.from_model(info.context.principal.workspace)


async def _no_messages() -> int:
    return 0

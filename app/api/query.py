"""Query root."""

from __future__ import annotations

import strawberry

from app.api.context import Info
from app.api.inputs import ContactRef
from app.api.types import Contact, EventType, Workspace, request_error
from app.domain.errors import InvalidInput


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

    @strawberry.field(description="The catalog of event names this workspace has received.")
    async def event_types(self, info: Info) -> list[EventType]:
        return [EventType.from_model(t) for t in await info.context.contacts.event_types()]

    @strawberry.field(description="The workspace of the calling key.")
    async def workspace(self, info: Info) -> Workspace:
        return Workspace.from_model(info.context.principal.workspace)

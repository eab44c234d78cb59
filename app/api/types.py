"""GraphQL object types: thin views over the domain records.

Resolvers here, below the root fields, are plain functions returning values: an `async def`
declines the execution plan of every document that selects it (slower, still right), and a
plain `def` returning an awaitable (a DataLoader's `load`) answers an error on a planned
document, where graphql-core would await it (docs/design.md, execution plans).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from app.api.context import Info
from app.api.enums import ContactRole
from app.domain import models
from app.domain.errors import InvalidInput, RequestError
from app.domain.errors import UserError as DomainUserError
from app.domain.metadata import Link, Money, TypedValue, to_json
from app.domain.storable import printable
from app.services.contacts import Page, event_names


@strawberry.type(description="Something the caller can fix, with a stable machine code.")
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path into the input, e.g. ["metadata", "price"].'
    )
    message: str
    code: str = strawberry.field(description="Stable code, e.g. INVALID_EVENT_NAME.")

    @classmethod
    def from_domain(cls, error: DomainUserError) -> UserError:
        # The path may name a key the caller sent that is not valid Unicode: shown escaped.
        return cls(
            field=[printable(p) for p in error.field] if error.field else None,
            message=printable(error.message),
            code=error.code,
        )


def user_errors(errors: list[DomainUserError]) -> list[UserError]:
    return [UserError.from_domain(error) for error in errors]


@strawberry.type(description="Per contact and event name: how often, first and last time.")
class EventSummary:
    name: str
    count: int
    first_at: datetime
    last_at: datetime

    @classmethod
    def from_model(cls, summary: models.EventSummary) -> EventSummary:
        return cls(
            name=summary.name,
            count=summary.count,
            first_at=summary.first_at,
            last_at=summary.last_at,
        )


@strawberry.type
class StringValue:
    string: str


@strawberry.type
class NumberValue:
    number: float


@strawberry.type
class BooleanValue:
    boolean: bool


@strawberry.type
class DateValue:
    date: datetime


@strawberry.type(description='Input: "https://…" or a rich link {"url": …, "value": "text"}.')
class LinkValue:
    url: str
    text: str | None


@strawberry.type(description='Input: {"amount": 34999, "currency": "EUR"}, amount in minor units.')
class MoneyValue:
    amount: int
    currency: str


MetadataValue = Annotated[
    StringValue | NumberValue | BooleanValue | DateValue | LinkValue | MoneyValue,
    strawberry.union("MetadataValue"),
]


def metadata_value(value: TypedValue) -> MetadataValue:
    if isinstance(value, bool):
        return BooleanValue(boolean=value)
    if isinstance(value, int | float):
        return NumberValue(number=float(value))
    if isinstance(value, datetime):
        return DateValue(date=value)
    if isinstance(value, Link):
        return LinkValue(url=value.url, text=value.text)
    if isinstance(value, Money):
        return MoneyValue(amount=value.amount, currency=value.currency)
    return StringValue(string=value)


@strawberry.type
class MetadataEntry:
    key: str
    value: MetadataValue


@strawberry.type(description="One tracked event.")
class Event:
    model: strawberry.Private[models.Event]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self.model.occurred_at

    @strawberry.field
    def received_at(self) -> datetime:
        return self.model.received_at

    @strawberry.field(description="Typed view of the metadata, in the order it was sent.")
    def metadata(self) -> list[MetadataEntry]:
        return [
            MetadataEntry(key=k, value=metadata_value(v)) for k, v in self.model.metadata.items()
        ]

    @strawberry.field(
        description="The same metadata as a flat JSON object, in the input convention."
    )
    def metadata_json(self) -> JSON:
        return JSON({k: to_json(v) for k, v in self.model.metadata.items()})


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class EventEdge:
    cursor: str
    node: Event


@strawberry.type
class EventConnection:
    edges: list[EventEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page) -> EventConnection:
        edges = [EventEdge(cursor=page.cursor(e), node=Event(model=e)) for e in page.events]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


@strawberry.type(description="A person: a USER (userId / email) or a LEAD (anonymousId).")
class Contact:
    model: strawberry.Private[models.Contact]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field
    def role(self) -> ContactRole:
        return self.model.role

    @strawberry.field
    def user_id(self) -> str | None:
        return self.model.user_id

    @strawberry.field
    def email(self) -> str | None:
        return self.model.email

    @strawberry.field
    def anonymous_id(self) -> str | None:
        return self.model.anonymous_id

    @strawberry.field(
        description="anonymousIds of leads merged into this user; events sent with them land here."
    )
    def aliases(self) -> list[str]:
        return list(self.model.aliases)

    @strawberry.field
    def name(self) -> str | None:
        return self.model.name

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field
    def signed_up_at(self) -> datetime | None:
        return self.model.signed_up_at

    @strawberry.field
    def last_seen_at(self) -> datetime | None:
        return self.model.last_seen_at

    @strawberry.field(description="Flat object; dates as ISO-8601 strings.")
    def custom_attributes(self) -> JSON:
        return JSON({k: to_json(v) for k, v in self.model.custom_attributes.items()})

    @strawberry.field(
        description="One summary per event name ever performed, events older than the retention "
        "window included. Sorted by name."
    )
    def event_summaries(self, names: list[str] | None = None) -> list[EventSummary]:
        wanted = event_names(names)
        return [
            EventSummary.from_model(s)
            for name, s in sorted(self.model.summaries.items())
            if wanted is None or name in wanted
        ]

    @strawberry.field(
        description="Raw events, newest first, only those inside the workspace's retention "
        "window. since is inclusive, until exclusive."
    )
    async def activity(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        names: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> EventConnection:
        ctx = info.context
        first = 20 if first is None else first
        if after is None:  # the first page: loaded with the other contacts' of this request
            wanted = tuple(names) if names is not None else None
            key = (self.model.id, (first, wanted, since, until))
            return EventConnection.from_page(await ctx.first_activity_pages.load(key))
        page = await ctx.contacts.activity(
            self.model,
            first=first,
            after=after,
            names=names,
            since=since,
            until=until,
            now=ctx.clock.now(),
        )
        return EventConnection.from_page(page)


@strawberry.type
class MetadataKey:
    key: str
    type: str = strawberry.field(
        description="string|number|boolean|date|link|money: the first type seen for this key."
    )
    types: list[str] = strawberry.field(description="Every type seen for this key, first first.")


@strawberry.type(description="An event name the workspace has received, with its totals.")
class EventType:
    name: str
    count: int = strawberry.field(description="All occurrences ever.")
    contact_count: int = strawberry.field(description="Distinct contacts that performed it.")
    first_at: datetime
    last_at: datetime
    metadata_keys: list[MetadataKey]

    @classmethod
    def from_model(cls, event_type: models.EventType) -> EventType:
        return cls(
            name=event_type.name,
            count=event_type.count,
            contact_count=event_type.contact_count,
            first_at=event_type.first_at,
            last_at=event_type.last_at,
            metadata_keys=[
                MetadataKey(key=k, type=types[0], types=types)
                for k, types in sorted(event_type.metadata_keys.items())
            ],
        )


@strawberry.type
class Workspace:
    id: strawberry.ID
    name: str
    identity_verification: bool
    retention_days: int
    secret: strawberry.Private[str]

    @strawberry.field(
        description="Admin keys only: the key of the userHash HMAC (docs/security.md). Keep it "
        "on your servers; rotateIdentitySecret replaces it."
    )
    def identity_secret(self, info: Info) -> str:
        if not info.context.principal.is_admin:
            raise RequestError("FORBIDDEN_FIELD", "The identity secret needs an admin key.")
        return self.secret

    @classmethod
    def from_model(cls, workspace: models.Workspace) -> Workspace:
        return cls(
            id=strawberry.ID(workspace.id),
            name=workspace.name,
            identity_verification=workspace.identity_verification,
            retention_days=workspace.retention_days,
            secret=workspace.identity_secret,
        )


def request_error(error: InvalidInput) -> RequestError:
    """An input problem in a query argument (no userErrors there): a coded GraphQL error."""
    first = error.errors[0]
    return RequestError(first.code, first.message)

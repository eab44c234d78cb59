"""Contacts found by filter, and saved segments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from app.api.context import Info
from app.api.filters import ContactOrder, SegmentInput, as_json
from app.api.types import Contact, PageInfo, UserError, user_errors
from app.domain import models
from app.domain.contact_order import ContactOrder as Order
from app.services.audience import ContactPage, SegmentOutcome


def order_of(order: ContactOrder | None) -> Order:
    if order is None:
        return Order()
    return Order.checked(order.field.value, order.direction.value, order.event_name)


@strawberry.type
class ContactEdge:
    cursor: str
    node: Contact


@strawberry.type
class ContactConnection:
    page: strawberry.Private[ContactPage]

    @strawberry.field
    def edges(self) -> list[ContactEdge]:
        return [
            ContactEdge(cursor=self.page.order.cursor(c), node=Contact(model=c))
            for c in self.page.contacts
        ]

    @strawberry.field
    def page_info(self) -> PageInfo:
        contacts = self.page.contacts
        return PageInfo(
            has_next_page=self.page.has_next_page,
            end_cursor=self.page.order.cursor(contacts[-1]) if contacts else None,
        )

    @strawberry.field(description="All contacts the filter matches (one more store command).")
    async def total_count(self) -> int:
        return await self.page.count()


async def find_contacts(
    info: Info,
    filter: dict[str, Any] | None,
    order_by: ContactOrder | None,
    first: int | None,
    after: str | None,
) -> ContactConnection:
    ctx = info.context
    page = await ctx.audience.contacts(
        filter,
        order=order_of(order_by),
        first=20 if first is None else first,
        after=after,
        now=ctx.clock.now(),
    )
    return ContactConnection(page=page)


@strawberry.type(description="A saved ContactFilter.")
class Segment:
    model: strawberry.Private[models.Segment]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field(description="The ContactFilter as given.")
    def filter(self) -> JSON:
        return JSON(self.model.filter)

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="How many contacts are in the segment now.")
    async def count(self, info: Info) -> int:
        ctx = info.context
        return await ctx.audience.count({"inSegment": self.model.id}, now=ctx.clock.now())

    @strawberry.field
    async def contacts(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        order_by: ContactOrder | None = None,
    ) -> ContactConnection:
        return await find_contacts(info, {"inSegment": self.model.id}, order_by, first, after)


@strawberry.type
class SegmentPayload:
    segment: Segment | None
    user_errors: list[UserError]

    @classmethod
    def of(cls, outcome: SegmentOutcome) -> SegmentPayload:
        return cls(
            segment=Segment(model=outcome.segment) if outcome.segment else None,
            user_errors=user_errors(outcome.errors),
        )


def segment_json(input: SegmentInput) -> dict[str, Any]:
    filter: dict[str, Any] = as_json(input.filter)
    return filter

"""Automatic message rules in the schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum

import strawberry

from app.api.context import Info
from app.api.enums import MessageStatus
from app.api.filters import ContactFilter, MetadataCondition, as_json
from app.api.types import Contact, PageInfo, UserError, user_errors
from app.domain import models, rules
from app.domain.errors import RequestError
from app.domain.refs import ContactKey, RefKind
from app.services.rules import RuleOutcome


@strawberry.enum
class MessageTriggerKind(Enum):
    EVENT = "EVENT"
    AUDIENCE = "AUDIENCE"


@strawberry.enum
class MessageFrequency(Enum):
    ONCE = "ONCE"
    EVERY_TIME = "EVERY_TIME"


@strawberry.enum
class MessageChannel(Enum):
    IN_APP = "IN_APP"
    WEBHOOK = "WEBHOOK"


@strawberry.input
class MessageTriggerInput:
    kind: MessageTriggerKind
    event_name: str | None = strawberry.field(
        default=None,
        description="EVENT: fires when this event is tracked, after its summary is updated.",
    )
    metadata: list[MetadataCondition] | None = strawberry.field(
        default=None, description="EVENT: conditions on the triggering event's metadata."
    )


@strawberry.input
class MessageContentInput:
    channel: MessageChannel
    subject: str | None = None
    body: str = strawberry.field(
        description="Template: {{contact.name}}, {{contact.email}}, {{contact.userId}}, "
        "{{contact.customAttributes.KEY}}, {{event.name}}, {{event.occurredAt}}, "
        "{{event.metadata.KEY}}. Missing values render empty."
    )
    webhook_url: str | None = strawberry.field(default=None, description="WEBHOOK channel.")


@strawberry.input
class MessageRuleInput:
    name: str
    trigger: MessageTriggerInput
    audience: ContactFilter | None = strawberry.field(
        default=None, description="Who may receive it, checked when it would be sent."
    )
    delay_seconds: int | None = 0
    exit_event_name: str | None = strawberry.field(
        default=None,
        description="Cancels a scheduled message when the contact performs it meanwhile.",
    )
    frequency: MessageFrequency = MessageFrequency.ONCE
    max_sends: int | None = strawberry.field(default=None, description="Per contact, EVERY_TIME.")
    content: MessageContentInput
    enabled: bool = True

    def spec(self) -> rules.RuleSpec:
        return rules.RuleSpec(
            name=self.name,
            trigger_kind=self.trigger.kind.value,
            event_name=self.trigger.event_name,
            metadata=as_json(self.trigger.metadata) if self.trigger.metadata else [],
            audience=as_json(self.audience) if self.audience is not None else None,
            delay_seconds=self.delay_seconds or 0,
            exit_event_name=self.exit_event_name,
            frequency=self.frequency.value,
            max_sends=self.max_sends,
            channel=self.content.channel.value,
            subject=self.content.subject,
            body=self.content.body,
            webhook_url=self.content.webhook_url,
            enabled=self.enabled,
        )


@strawberry.type
class MessageRule:
    model: strawberry.Private[rules.Rule]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field
    def name(self) -> str:
        return self.model.spec.name

    @strawberry.field
    def enabled(self) -> bool:
        return self.model.spec.enabled

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(
        description="Why Tally disabled this rule (its audience can no longer be evaluated: a "
        "segment it uses was deleted, a window exceeds the retention); null otherwise. Fixing "
        "and re-enabling the rule clears it."
    )
    def disabled_reason(self) -> str | None:
        return self.model.disabled_reason

    @strawberry.field(description="Messages sent by this rule, all contacts.")
    def sent_count(self) -> int:
        return self.model.sent_count

    @strawberry.field(description="The trigger kind: EVENT or AUDIENCE.")
    def trigger_kind(self) -> MessageTriggerKind:
        return MessageTriggerKind(self.model.spec.trigger_kind)

    @strawberry.field
    def event_name(self) -> str | None:
        return self.model.spec.event_name

    @strawberry.field
    def delay_seconds(self) -> int:
        return self.model.spec.delay_seconds

    @strawberry.field
    def frequency(self) -> MessageFrequency:
        return MessageFrequency(self.model.spec.frequency)

    @strawberry.field
    def channel(self) -> MessageChannel:
        return MessageChannel(self.model.spec.channel)


@strawberry.type
class MessageRulePayload:
    rule: MessageRule | None
    user_errors: list[UserError]

    @classmethod
    def of(cls, outcome: RuleOutcome) -> MessageRulePayload:
        return cls(
            rule=MessageRule(model=outcome.rule) if outcome.rule else None,
            user_errors=user_errors(outcome.errors),
        )


@strawberry.type
class Message:
    model: strawberry.Private[models.Message]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field
    async def rule(self, info: Info) -> MessageRule:
        rules_by_id = {r.id: r for r in await info.context.rules.all()}
        rule = rules_by_id.get(self.model.rule_id)
        if rule is None:  # deleted since: a rule record that says so
            raise RequestError("RULE_NOT_FOUND", "The rule of this message was deleted.")
        return MessageRule(model=rule)

    @strawberry.field
    async def contact(self, info: Info) -> Contact:
        found = await info.context.contacts.get(ContactKey(RefKind.ID, self.model.contact_id))
        if found is None:
            raise RequestError("CONTACT_NOT_FOUND", "The contact of this message was deleted.")
        return Contact(model=found)

    @strawberry.field
    def status(self) -> MessageStatus:
        return self.model.status

    @strawberry.field
    def subject(self) -> str | None:
        return self.model.subject

    @strawberry.field
    def body(self) -> str:
        return self.model.body

    @strawberry.field
    def due_at(self) -> datetime:
        return self.model.due_at

    @strawberry.field
    def sent_at(self) -> datetime | None:
        return self.model.sent_at

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field(description="Webhook deliveries tried so far.")
    def attempts(self) -> int:
        return self.model.attempts

    @strawberry.field(description="Why the last webhook delivery failed (kept when FAILED).")
    def last_error(self) -> str | None:
        return self.model.last_error


@strawberry.type
class MessageEdge:
    cursor: str
    node: Message


@strawberry.type
class MessageConnection:
    edges: list[MessageEdge]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    async def total_count(self) -> int:
        return await self.count()

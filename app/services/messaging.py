"""Automatic messages: which rules an event fires, and the messages that follow."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from app.domain.cursors import check_page_size, decode_instant_cursor, encode_instant_cursor
from app.domain.errors import InvalidInput, RequestError
from app.domain.messaging import compose, due_at, fired_by
from app.domain.models import Contact, Event, Message, MessageStatus, Workspace
from app.domain.rules import Rule
from app.domain.storable import text_problem
from app.messaging.broker import EVENTS_TOPIC, Broker, publish_message
from app.services.audience import Audience, reason_of
from app.store import messages as store_messages
from app.store import rules as store_rules
from app.store.database import Store

log = logging.getLogger(__name__)


@dataclass
class RulesCache:
    """A workspace's rules, kept for `seconds` so that tracking an event costs no extra store
    command; changes made on this instance are seen at once."""

    seconds: float
    _rules: dict[str, tuple[float, list[Rule]]] = field(default_factory=dict)

    async def rules(self, store: Store, workspace_id: str) -> list[Rule]:
        cached = self._rules.get(workspace_id)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        rules = await store_rules.all_rules(store, workspace_id=workspace_id)
        self._rules[workspace_id] = (time.monotonic() + self.seconds, rules)
        return rules

    def forget(self, workspace_id: str) -> None:
        self._rules.pop(workspace_id, None)


class Messenger:
    def __init__(
        self, *, store: Store, workspace: Workspace, cache: RulesCache, broker: Broker
    ) -> None:
        self._store = store
        self._workspace = workspace
        self._cache = cache
        self._broker = broker

    async def on_events(self, recorded: list[tuple[Event, Contact]], now: datetime) -> None:
        """After events were recorded: live feeds hear them, exit events cancel, triggering
        events fire their rules."""
        for event, _ in recorded:
            self._broker.publish(self._workspace.id, EVENTS_TOPIC, event)
        rules = await self._cache.rules(self._store, self._workspace.id)
        if not rules:
            return
        exits = {r.spec.exit_event_name for r in rules if r.spec.enabled and r.spec.exit_event_name}
        for event, contact in recorded:
            if event.name in exits:
                await store_messages.cancel_on_exit(
                    self._store,
                    workspace_id=self._workspace.id,
                    contact_id=contact.id,
                    event_name=event.name,
                )
            for rule in fired_by(rules, event):
                await self._fire(rule, contact, event, now=now)

    async def _fire(self, rule: Rule, contact: Contact, event: Event, *, now: datetime) -> None:
        spec, workspace_id = rule.spec, self._workspace.id
        if spec.frequency == "EVERY_TIME" and spec.max_sends is not None:
            sent = await store_messages.active_count(
                self._store, workspace_id=workspace_id, rule_id=rule.id, contact_id=contact.id
            )
            if sent >= spec.max_sends:
                return
        # In-app messages without delay are sent at once; webhooks go through the scheduler.
        immediate = spec.delay_seconds == 0 and spec.channel == "IN_APP"
        if (
            immediate
            and spec.audience is not None
            and not await self._in_audience(rule, contact, now)
        ):
            return
        subject, body = compose(rule, contact, event)
        message = await store_messages.add_message(
            self._store,
            workspace_id=workspace_id,
            rule_id=rule.id,
            contact_id=contact.id,
            once=spec.frequency == "ONCE",
            subject=subject,
            body=body,
            due_at=due_at(rule, now=now),
            sent=immediate,
            exit_event_name=spec.exit_event_name,
            channel=spec.channel,
            now=now,
        )
        if message is not None and immediate:
            publish_message(self._broker, workspace_id, contact, message)

    async def _in_audience(self, rule: Rule, contact: Contact, now: datetime) -> bool:
        """Whether the contact is in the rule's audience. A rule whose audience can no longer
        be evaluated is disabled (with the reason) and sends nothing; the event stays recorded."""
        assert rule.spec.audience is not None
        audience = Audience(store=self._store, workspace=self._workspace)
        try:
            return await audience.matches(rule.spec.audience, now=now, contact_id=contact.id) > 0
        except InvalidInput as e:
            await disable_broken_rule(self._store, self._workspace.id, rule, reason_of(e))
            self._cache.forget(self._workspace.id)
            return False

    async def page(
        self,
        *,
        contact_id: str | None,
        rule_id: str | None,
        status: MessageStatus | None,
        first: int,
        after: str | None,
        channel: str | None = None,
    ) -> MessagePage:
        first = check_page_size(first)
        before = decode_instant_cursor(after) if after is not None else None
        if rule_id is not None and (problem := text_problem(rule_id)) is not None:
            raise RequestError("INVALID_TEXT", problem)  # a real server could not read the query
        workspace_id = self._workspace.id
        found = await store_messages.find_messages(
            self._store,
            workspace_id=workspace_id,
            contact_id=contact_id,
            rule_id=rule_id,
            status=status,
            before=before,
            limit=first + 1,
            channel=channel,
        )

        async def count() -> int:
            return await store_messages.count_messages(
                self._store,
                workspace_id=workspace_id,
                contact_id=contact_id,
                rule_id=rule_id,
                status=status,
                channel=channel,
            )

        items = [(m, encode_instant_cursor(m.created_at, m.id)) for m in found[:first]]
        return MessagePage(items=items, has_next_page=len(found) > first, count=count)


@dataclass(frozen=True)
class MessagePage:
    items: list[tuple[Message, str]]  # message, cursor
    has_next_page: bool
    count: Callable[[], Awaitable[int]]  # all messages the filter matches: asked only if wanted


async def disable_broken_rule(store: Store, workspace_id: str, rule: Rule, reason: str) -> None:
    log.warning("message rule %s of workspace %s disabled: %s", rule.id, workspace_id, reason)
    await store_rules.disable_rule(store, workspace_id=workspace_id, rule_id=rule.id, reason=reason)

"""The scheduler: delivers due messages and runs AUDIENCE rules, one instance at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta

import httpx

from app.clock import Clock
from app.domain.messaging import compose, due_at
from app.domain.models import Message, MessageStatus, Workspace
from app.domain.records import contact_record
from app.domain.rules import Rule
from app.domain.timestamps import format_iso
from app.messaging.broker import Broker, contact_topic
from app.messaging.delivery import post_webhook
from app.services.audience import Audience
from app.settings import Settings
from app.store import contacts as store_contacts
from app.store import leases, matching
from app.store import messages as store_messages
from app.store import rules as store_rules
from app.store.client import Store
from app.store.workspaces import all_workspaces

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=30)
BATCH = 100


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min after the 1st, 2nd, 3rd, 4th failed attempt."""
    return FIRST_RETRY * int(2 ** (attempts - 1))


class Scheduler:
    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        clock: Clock,
        http: httpx.AsyncClient,
        broker: Broker,
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._http = http
        self._broker = broker
        self.holder = uuid.uuid4().hex

    async def run(self, stop: asyncio.Event) -> None:
        interval = self._settings.scheduler_interval_seconds
        while not stop.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def tick(self) -> int:
        """One round: messages settled (sent, retried, failed or cancelled)."""
        now = self._clock.now()
        hold = max(30.0, self._settings.scheduler_interval_seconds * 3)
        if not await leases.acquire(
            self._store, name="scheduler", holder=self.holder, now=now, seconds=hold
        ):
            return 0
        settled = 0
        for workspace in await all_workspaces(self._store):
            rules = await store_rules.all_rules(self._store, workspace_id=workspace.id)
            for rule in rules:
                if rule.spec.enabled and rule.spec.trigger_kind == "AUDIENCE":
                    await self._run_audience_rule(workspace, rule, now)
            by_id = {rule.id: rule for rule in rules}
            for message, attempts in await store_messages.due_messages(
                self._store, workspace_id=workspace.id, now=now, limit=BATCH
            ):
                if await store_messages.claim(
                    self._store,
                    workspace_id=workspace.id,
                    message_id=message.id,
                    now=now,
                    until=now + timedelta(seconds=hold),
                ):
                    await self._deliver(
                        workspace, by_id.get(message.rule_id), message, attempts, now
                    )
                    settled += 1
        return settled

    async def _run_audience_rule(self, workspace: Workspace, rule: Rule, now: datetime) -> None:
        """Each contact matching the audience gets the message once."""
        assert rule.spec.audience is not None
        audience = Audience(store=self._store, workspace=workspace)
        compiled = await audience.compile(rule.spec.audience, now=now)
        contacts = await matching.find_page(
            self._store,
            workspace_id=workspace.id,
            query={"$and": [compiled.query, {"audience_done": {"$ne": rule.id}}]},
            windows=compiled.windows,
            sort=[("_id", 1)],
            limit=BATCH,
        )
        for contact in contacts:
            subject, body = compose(rule, contact, None)
            await store_messages.add_message(
                self._store,
                workspace_id=workspace.id,
                rule_id=rule.id,
                contact_id=contact.id,
                once=True,
                subject=subject,
                body=body,
                due_at=due_at(rule, now=now),
                sent=False,
                exit_event_name=rule.spec.exit_event_name,
                now=now,
            )
        if contacts:
            await store_contacts.mark_audience_done(
                self._store,
                workspace_id=workspace.id,
                contact_ids=[c.id for c in contacts],
                rule_id=rule.id,
            )

    async def _deliver(
        self,
        workspace: Workspace,
        rule: Rule | None,
        message: Message,
        attempts: int,
        now: datetime,
    ) -> None:
        contact = await store_contacts.find_contact_by_id(
            self._store, workspace_id=workspace.id, contact_id=message.contact_id
        )
        if rule is None or not rule.spec.enabled or contact is None:
            await self._settle(workspace, message, now, MessageStatus.CANCELLED)
            return
        audience = rule.spec.audience
        if audience is not None and not await Audience(
            store=self._store, workspace=workspace
        ).count(audience, now=now, contact_id=contact.id):
            await self._settle(workspace, message, now, MessageStatus.CANCELLED)
            return
        if rule.spec.channel == "IN_APP":
            await self._settle(workspace, message, now, MessageStatus.SENT)
            sent = replace(message, status=MessageStatus.SENT, sent_at=now)
            self._broker.publish(workspace.id, contact_topic(contact.id), sent)
            return
        assert rule.spec.webhook_url is not None
        error = await post_webhook(
            self._http,
            url=rule.spec.webhook_url,
            payload={
                "message": {
                    "id": message.id,
                    "status": MessageStatus.SENT.value,
                    "subject": message.subject,
                    "body": message.body,
                    "dueAt": format_iso(message.due_at),
                    "createdAt": format_iso(message.created_at),
                },
                "contact": contact_record(contact),
                "rule": {"id": rule.id, "name": rule.spec.name},
            },
            secret=workspace.webhook_secret,
            now=now,
            allow_private_hosts=self._settings.webhook_allow_private_hosts,
        )
        if error is None:
            await self._settle(workspace, message, now, MessageStatus.SENT)
        elif attempts + 1 >= MAX_ATTEMPTS or error.startswith("refused"):
            await self._settle(
                workspace, message, now, MessageStatus.FAILED, error=error, attempts=attempts + 1
            )
        else:
            await self._settle(
                workspace,
                message,
                now,
                MessageStatus.SCHEDULED,
                error=error,
                attempts=attempts + 1,
                retry_at=now + retry_delay(attempts + 1),
            )

    async def _settle(
        self,
        workspace: Workspace,
        message: Message,
        now: datetime,
        status: MessageStatus,
        *,
        error: str | None = None,
        attempts: int | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        await store_messages.settle(
            self._store,
            workspace_id=workspace.id,
            message=message,
            status=status,
            now=now,
            error=error,
            attempts=attempts,
            retry_at=retry_at,
        )

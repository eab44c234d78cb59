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
from app.domain.errors import InvalidInput
from app.domain.models import Message, MessageStatus, Workspace
from app.domain.records import contact_record
from app.domain.rules import Rule
from app.domain.timestamps import format_iso
from app.messaging.audience_rounds import run_audience_rule
from app.messaging.broker import Broker, publish_message
from app.messaging.delivery import post_webhook
from app.services.audience import Audience, reason_of
from app.services.messaging import disable_broken_rule
from app.services.pending import complete_pending
from app.settings import Settings
from app.store import contacts as store_contacts
from app.store import leases
from app.store import messages as store_messages
from app.store import rules as store_rules
from app.store.database import Store
from app.store.workspaces import all_workspaces

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
FIRST_RETRY = timedelta(seconds=30)
BATCH = 100


class LeaseLost(Exception):
    """Another instance holds the scheduler's lease now: this round stops sending."""


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
        self._renewed_at: datetime | None = None

    async def run(self, stop: asyncio.Event) -> None:
        interval = self._settings.scheduler_interval_seconds
        while not stop.is_set():
            try:
                await self.tick()
                await complete_pending(self._store, now=self._clock.now())
            except Exception:
                log.exception("scheduler tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    async def tick(self) -> int:
        """One round: messages settled (sent, retried, failed or cancelled).

        The lease is renewed as the round goes (checked before each message is claimed), and
        the round stops as soon as it is lost; each claim lasts `hold` from when it is made.
        A workspace's or a rule's failure is logged and stays its own: the round goes on with
        the next one.
        """
        if not await self._renew(start=True):
            return 0
        settled: list[str] = []
        for workspace in await all_workspaces(self._store):
            try:
                await self._workspace_round(workspace, settled)
            except LeaseLost:
                log.warning("scheduler: lease lost; this round stops")
                break
            except Exception:
                log.exception("scheduler: workspace %s failed this round", workspace.id)
        return len(settled)

    @property
    def _hold(self) -> timedelta:
        return timedelta(seconds=max(30.0, self._settings.scheduler_interval_seconds * 3))

    async def _renew(self, *, start: bool = False) -> bool:
        """Take or extend the lease. Within a round it is extended once a third of it has
        passed: a pause long enough to lose it (more than all of it) always checks again."""
        now = self._clock.now()
        if not start and self._renewed_at and now - self._renewed_at < self._hold / 3:
            return True
        held = await leases.acquire(
            self._store,
            name="scheduler",
            holder=self.holder,
            now=now,
            seconds=self._hold.total_seconds(),
        )
        self._renewed_at = now if held else None
        return held

    async def _workspace_round(self, workspace: Workspace, settled: list[str]) -> None:
        """AUDIENCE rules, then due messages; each message settled goes into `settled`."""
        rules = await store_rules.all_rules(self._store, workspace_id=workspace.id)
        for rule in rules:
            if rule.spec.enabled and rule.spec.trigger_kind == "AUDIENCE":
                await self._audience_step(workspace, rule)
        by_id = {rule.id: rule for rule in rules}
        now = self._clock.now()
        for message, attempts in await store_messages.due_messages(
            self._store, workspace_id=workspace.id, now=now, limit=BATCH
        ):
            if not await self._renew():
                raise LeaseLost
            now = self._clock.now()
            if not await store_messages.claim(
                self._store,
                workspace_id=workspace.id,
                message_id=message.id,
                now=now,
                until=now + self._hold,
            ):
                continue
            try:
                await self._deliver(workspace, by_id.get(message.rule_id), message, attempts)
            except Exception:
                # Its claim lapses and a later round tries again.
                log.exception("scheduler: message %s could not be delivered", message.id)
                continue
            settled.append(message.id)

    async def _audience_step(self, workspace: Workspace, rule: Rule) -> None:
        try:
            await run_audience_rule(
                self._store, workspace=workspace, rule=rule, now=self._clock.now()
            )
        except InvalidInput as e:
            await disable_broken_rule(self._store, workspace.id, rule, reason_of(e))
        except Exception:
            log.exception("scheduler: AUDIENCE rule %s failed this round", rule.id)

    async def _deliver(
        self,
        workspace: Workspace,
        rule: Rule | None,
        message: Message,
        attempts: int,
    ) -> None:
        now = self._clock.now()
        contact = await store_contacts.find_contact_by_id(
            self._store, workspace_id=workspace.id, contact_id=message.contact_id
        )
        if rule is None or not rule.spec.enabled or contact is None:
            await self._settle(workspace, message, now, MessageStatus.CANCELLED)
            return
        audience = rule.spec.audience
        if audience is not None:
            try:
                inside = await Audience(store=self._store, workspace=workspace).matches(
                    audience, now=now, contact_id=contact.id
                )
            except InvalidInput as e:
                await disable_broken_rule(self._store, workspace.id, rule, reason_of(e))
                inside = 0
            if not inside:
                await self._settle(workspace, message, now, MessageStatus.CANCELLED)
                return
        if rule.spec.channel == "IN_APP":
            await self._settle(workspace, message, now, MessageStatus.SENT)
            sent = replace(message, status=MessageStatus.SENT, sent_at=now)
            publish_message(self._broker, workspace.id, contact, sent)
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

"""What every resolver may use, built once per request by the view."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TypeAlias

import strawberry
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from app.clock import Clock
from app.domain.errors import RequestError
from app.domain.events import TrackRequest
from app.domain.models import Workspace
from app.memo import remember
from app.messaging.broker import Broker
from app.metrics import Metrics
from app.services.audience import Audience
from app.services.auth import Authenticator, Principal
from app.services.contacts import Contacts, Page
from app.services.group_commit import GroupCommit
from app.services.identity import Identity
from app.services.messaging import Messenger, RulesCache
from app.services.privacy import Privacy
from app.services.rules import Rules
from app.services.tracking import Tracker, TrackOutcome
from app.services.workspaces import Workspaces
from app.settings import Settings
from app.store.database import Store

# first, names, since, until: the arguments of Contact.activity without a cursor
ActivityArgs = tuple[int, tuple[str, ...] | None, datetime | None, datetime | None]
ActivityKey = tuple[str, ActivityArgs]  # and the contact id
# Trackers made, by API key id (each key reads its own Workspace object), with the store and
# workspace each was made with
Trackers: TypeAlias = dict[str, tuple[Store, Workspace, Tracker]]
_MAX_TRACKERS = 10_000


@dataclass
class Context:
    request: Request | WebSocket
    auth: Principal | None  # None only on a WebSocket until its connection_init is checked
    store: Store
    settings: Settings
    clock: Clock
    metrics: Metrics
    rules_cache: RulesCache
    broker: Broker
    authenticator: Authenticator | None = None
    group_commit: GroupCommit[TrackRequest, TrackOutcome] | None = None
    connection_params: dict[str, object] | None = None  # a WebSocket's connection_init payload
    trackers: Trackers = field(default_factory=dict)  # the app's, shared by its requests

    @property
    def principal(self) -> Principal:
        if self.auth is None:
            raise RequestError("UNAUTHENTICATED", "Send an API key first.")
        return self.auth

    @property
    def tracker(self) -> Tracker:
        """The workspace's Tracker, made once per key for as long as the key's workspace is the
        one read with it (a Tracker, and its Messenger, keep no request's state; making them is
        ~2.5 us of a trackEvent)."""
        principal = self.principal
        workspace = principal.workspace
        kept = self.trackers.get(principal.key.id)
        if kept is not None and kept[0] is self.store and kept[1] is workspace:
            return kept[2]
        tracker = Tracker(
            store=self.store,
            settings=self.settings,
            metrics=self.metrics,
            workspace=workspace,
            after=self.messenger.on_events,
            group_commit=self.group_commit,
        )
        kept = (self.store, workspace, tracker)
        remember(self.trackers, principal.key.id, kept, most=_MAX_TRACKERS)
        return tracker

    @cached_property
    def audience(self) -> Audience:
        return Audience(store=self.store, workspace=self.principal.workspace)

    @cached_property
    def first_activity_pages(self) -> DataLoader[ActivityKey, Page]:
        """A contact's first page of activity, loaded for a whole page of contacts at once."""

        async def load(keys: list[ActivityKey]) -> list[Page]:
            pages: dict[ActivityKey, Page] = {}
            groups: dict[ActivityArgs, list[str]] = {}
            for contact_id, args in keys:
                groups.setdefault(args, []).append(contact_id)
            for args, ids in groups.items():
                first, names, since, until = args
                found = await self.contacts.first_pages(
                    ids, first=first, names=names, since=since, until=until, now=self.clock.now()
                )
                pages.update({(i, args): page for i, page in found.items()})
            return [pages[key] for key in keys]

        return DataLoader(load_fn=load)

    @cached_property
    def rules(self) -> Rules:
        return Rules(
            store=self.store,
            settings=self.settings,
            workspace=self.principal.workspace,
            cache=self.rules_cache,
        )

    @cached_property
    def messenger(self) -> Messenger:
        return Messenger(
            store=self.store,
            workspace=self.principal.workspace,
            cache=self.rules_cache,
            broker=self.broker,
        )

    @cached_property
    def workspaces(self) -> Workspaces:
        assert self.authenticator is not None
        return Workspaces(
            store=self.store,
            settings=self.settings,
            authenticator=self.authenticator,
            workspace=self.principal.workspace,
        )

    @cached_property
    def identity(self) -> Identity:
        return Identity(
            store=self.store, settings=self.settings, workspace=self.principal.workspace
        )

    @cached_property
    def privacy(self) -> Privacy:
        return Privacy(store=self.store, workspace=self.principal.workspace)

    @cached_property
    def contacts(self) -> Contacts:
        return Contacts(
            store=self.store, settings=self.settings, workspace=self.principal.workspace
        )


Info: TypeAlias = strawberry.Info[Context, None]

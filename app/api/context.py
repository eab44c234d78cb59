"""What every resolver may use, built once per request by the view."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TypeAlias

import strawberry
from starlette.requests import Request

from app.clock import Clock
from app.metrics import Metrics
from app.services.auth import Principal
from app.services.contacts import Contacts
from app.services.tracking import Tracker
from app.settings import Settings
from app.store.client import Store


@dataclass
class Context:
    request: Request
    principal: Principal
    store: Store
    settings: Settings
    clock: Clock
    metrics: Metrics

    @cached_property
    def tracker(self) -> Tracker:
        return Tracker(
            store=self.store,
            settings=self.settings,
            metrics=self.metrics,
            workspace=self.principal.workspace,
        )

    @cached_property
    def contacts(self) -> Contacts:
        return Contacts(
            store=self.store, settings=self.settings, workspace=self.principal.workspace
        )


Info: TypeAlias = strawberry.Info[Context, None]

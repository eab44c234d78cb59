"""Workspaces and API keys in the schema."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app.api.enums import KeyScope
from app.api.types import UserError, Workspace, user_errors
from app.domain import models
from app.services.workspaces import KeyOutcome, WorkspaceOutcome


@strawberry.type
class ApiKey:
    model: strawberry.Private[models.ApiKey]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.model.id)

    @strawberry.field
    def name(self) -> str:
        return self.model.name

    @strawberry.field
    def scope(self) -> KeyScope:
        return self.model.scope

    @strawberry.field
    def created_at(self) -> datetime:
        return self.model.created_at

    @strawberry.field
    def last_used_at(self) -> datetime | None:
        return self.model.last_used_at


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey | None
    secret: str | None = strawberry.field(description="The key itself: shown once, stored hashed.")
    user_errors: list[UserError]

    @classmethod
    def of(cls, outcome: KeyOutcome) -> ApiKeyPayload:
        return cls(
            api_key=ApiKey(model=outcome.key) if outcome.key else None,
            secret=outcome.secret,
            user_errors=user_errors(outcome.errors),
        )


@strawberry.type
class WorkspacePayload:
    workspace: Workspace | None
    admin_key: str | None = strawberry.field(description="createWorkspace only, shown once.")
    identity_secret: str | None = strawberry.field(
        description="createWorkspace, rotateIdentitySecret, and updateWorkspace when it turns "
        "identity verification on (also readable as Workspace.identitySecret)."
    )
    webhook_secret: str | None = strawberry.field(
        description="createWorkspace and rotateWebhookSecret only."
    )
    user_errors: list[UserError]

    @classmethod
    def of(cls, outcome: WorkspaceOutcome) -> WorkspacePayload:
        return cls(
            workspace=Workspace.from_model(outcome.workspace) if outcome.workspace else None,
            admin_key=outcome.admin_key,
            identity_secret=outcome.identity_secret,
            webhook_secret=outcome.webhook_secret,
            user_errors=user_errors(outcome.errors),
        )

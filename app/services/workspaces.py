"""Workspaces and their keys: creating, configuring, rotating secrets, issuing and revoking."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from app.domain.errors import UserError
from app.domain.models import ApiKey, KeyScope, Workspace
from app.domain.storable import text_problem
from app.services.auth import Authenticator
from app.settings import Settings
from app.store import workspaces as store_workspaces
from app.store.database import Store

MAX_NAME = 200
MAX_RETENTION_DAYS = 3650


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


@dataclass(frozen=True)
class WorkspaceOutcome:
    workspace: Workspace | None = None
    admin_key: str | None = None
    identity_secret: str | None = None
    webhook_secret: str | None = None
    errors: list[UserError] = field(default_factory=list)


@dataclass(frozen=True)
class KeyOutcome:
    key: ApiKey | None = None
    secret: str | None = None
    errors: list[UserError] = field(default_factory=list)


def _name_problem(name: str) -> UserError | None:
    if not name.strip() or len(name) > MAX_NAME:
        return UserError("INVALID_NAME", f"A name has 1 to {MAX_NAME} characters.", ("name",))
    if problem := text_problem(name):
        return UserError("INVALID_TEXT", problem, ("name",))
    return None


class Workspaces:
    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        authenticator: Authenticator,
        workspace: Workspace,
    ) -> None:
        self._store = store
        self._settings = settings
        self._authenticator = authenticator
        self._workspace = workspace

    async def create(self, name: str, *, now: datetime) -> WorkspaceOutcome:
        """A new workspace with its first admin key and secrets (each shown once)."""
        if problem := _name_problem(name):
            return WorkspaceOutcome(errors=[problem])
        identity_secret, webhook_secret = secrets.token_hex(32), secrets.token_hex(32)
        workspace = await store_workspaces.ensure_workspace(
            self._store,
            workspace_id=f"ws_{secrets.token_hex(8)}",
            name=name,
            retention_days=self._settings.retention_days,
            identity_secret=identity_secret,
            webhook_secret=webhook_secret,
            now=now,
        )
        admin_key = new_secret("tly_sk")
        await store_workspaces.install_key(
            self._store,
            key_id=f"key_{secrets.token_hex(8)}",
            workspace_id=workspace.id,
            secret=admin_key,
            name="Admin",
            scope=KeyScope.ADMIN,
            operator=False,
            now=now,
        )
        return WorkspaceOutcome(
            workspace=workspace,
            admin_key=admin_key,
            identity_secret=identity_secret,
            webhook_secret=webhook_secret,
        )

    async def update(
        self, *, identity_verification: bool | None, retention_days: int | None
    ) -> WorkspaceOutcome:
        changes: dict[str, object] = {}
        if identity_verification is not None:
            changes["identity_verification"] = identity_verification
        if retention_days is not None:
            if not 1 <= retention_days <= MAX_RETENTION_DAYS:
                return WorkspaceOutcome(
                    errors=[
                        UserError(
                            "INVALID_RETENTION",
                            f"retentionDays is 1 to {MAX_RETENTION_DAYS}.",
                            ("retentionDays",),
                        )
                    ]
                )
            changes["retention_days"] = retention_days
        outcome = await self._set(changes)
        if identity_verification and outcome.workspace is not None:
            # Turning verification on is when the secret is needed (to compute hashes).
            secret = outcome.workspace.identity_secret
            return WorkspaceOutcome(workspace=outcome.workspace, identity_secret=secret)
        return outcome

    async def rotate(self, secret: str) -> WorkspaceOutcome:
        """A new identity or webhook secret; the old one stops working at once."""
        value = secrets.token_hex(32)
        outcome = await self._set({secret: value})
        if secret == "identity_secret":
            return WorkspaceOutcome(workspace=outcome.workspace, identity_secret=value)
        return WorkspaceOutcome(workspace=outcome.workspace, webhook_secret=value)

    async def _set(self, changes: dict[str, object]) -> WorkspaceOutcome:
        workspace = self._workspace
        if changes:
            updated = await store_workspaces.update_workspace(
                self._store, workspace_id=workspace.id, changes=changes
            )
            assert updated is not None
            workspace = updated
            self._authenticator.forget_workspace(workspace.id)
        return WorkspaceOutcome(workspace=workspace)

    async def keys(self) -> list[ApiKey]:
        return await store_workspaces.list_keys(self._store, workspace_id=self._workspace.id)

    async def create_key(self, name: str, scope: KeyScope, *, now: datetime) -> KeyOutcome:
        if problem := _name_problem(name):
            return KeyOutcome(errors=[problem])
        key_id, secret = (
            f"key_{secrets.token_hex(8)}",
            new_secret("tly_sk" if scope is KeyScope.ADMIN else "tly_pk"),
        )
        await store_workspaces.install_key(
            self._store,
            key_id=key_id,
            workspace_id=self._workspace.id,
            secret=secret,
            name=name,
            scope=scope,
            operator=False,
            now=now,
        )
        created = next(k for k in await self.keys() if k.id == key_id)
        return KeyOutcome(key=created, secret=secret)

    async def revoke_key(self, key_id: str, *, now: datetime) -> KeyOutcome:
        # Text a real server cannot even read (a lone surrogate) names no key.
        key = None
        if text_problem(key_id) is None:
            key = await store_workspaces.revoke_key(
                self._store, workspace_id=self._workspace.id, key_id=key_id, now=now
            )
        if key is None:
            return KeyOutcome(
                errors=[UserError("KEY_NOT_FOUND", "No live key has this id.", ("id",))]
            )
        self._authenticator.forget_workspace(self._workspace.id)
        return KeyOutcome(key=key)

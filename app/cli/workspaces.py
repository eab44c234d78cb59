"""`python -m app workspace ...`: workspaces and keys from the command line (operators)."""

from __future__ import annotations

import argparse
import json

from app.clock import SystemClock
from app.domain.models import KeyScope
from app.metrics import Metrics
from app.services.auth import Authenticator, bootstrap
from app.services.workspaces import Workspaces
from app.settings import Settings
from app.store.database import open_store
from app.store.indexes import create_indexes
from app.store.workspaces import DEFAULT_WORKSPACE_ID, all_workspaces, get_workspace


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    workspace = commands.add_parser("workspace", help="create and configure workspaces and keys")
    actions = workspace.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every workspace")
    create = actions.add_parser("create", help="a new workspace with its admin key")
    create.add_argument("name")
    for name, help in (
        ("update", "identity verification, retention"),
        ("keys", "the live keys of a workspace"),
        ("create-key", "a new key (its secret is shown once)"),
        ("revoke-key", "stop a key"),
        ("rotate", "a new identity or webhook secret"),
        ("secrets", "the identity and webhook secrets, without rotating them"),
    ):
        action = actions.add_parser(name, help=help)
        action.add_argument("--workspace", default=DEFAULT_WORKSPACE_ID)
        if name == "update":
            action.add_argument("--identity-verification", choices=["on", "off"])
            action.add_argument("--retention-days", type=int)
        elif name == "create-key":
            action.add_argument("name")
            action.add_argument("--scope", choices=["ADMIN", "PUBLISHABLE"], default="PUBLISHABLE")
        elif name == "revoke-key":
            action.add_argument("key_id")
        elif name == "rotate":
            action.add_argument("secret", choices=["identity", "webhook"])


async def run_workspace(settings: Settings, args: argparse.Namespace) -> int:
    """Print what the action made or found, as JSON; 1 when it was refused."""
    clock = SystemClock()
    store = await open_store(settings, Metrics())
    try:
        await create_indexes(store)
        default = await bootstrap(store, settings=settings, clock=clock)
        if args.action == "list":
            found = await all_workspaces(store)
            _print([{"id": w.id, "name": w.name, "retentionDays": w.retention_days,
                     "identityVerification": w.identity_verification} for w in found])  # fmt: skip
            return 0
        workspace = default
        if args.action != "create":
            found_workspace = await get_workspace(store, workspace_id=args.workspace)
            if found_workspace is None:
                _print({"error": f"no workspace {args.workspace!r}"})
                return 1
            workspace = found_workspace
        service = Workspaces(
            store=store,
            settings=settings,
            authenticator=Authenticator(store=store, clock=clock, cache_seconds=0),
            workspace=workspace,
        )
        now = clock.now()
        if args.action == "create":
            made = await service.create(args.name, now=now)
            errors = made.errors
            result: object = {
                "workspace": made.workspace.id if made.workspace else None,
                "adminKey": made.admin_key,
                "identitySecret": made.identity_secret,
                "webhookSecret": made.webhook_secret,
            }
        elif args.action == "update":
            verification = (
                None if args.identity_verification is None else args.identity_verification == "on"
            )
            updated = await service.update(
                identity_verification=verification, retention_days=args.retention_days
            )
            errors, result = updated.errors, {"workspace": workspace.id}
            if updated.identity_secret is not None:
                result["identitySecret"] = updated.identity_secret
        elif args.action == "secrets":
            errors, result = (
                [],
                {
                    "workspace": workspace.id,
                    "identitySecret": workspace.identity_secret,
                    "webhookSecret": workspace.webhook_secret,
                },
            )
        elif args.action == "keys":
            keys = await service.keys()
            errors, result = (
                [],
                [{"id": k.id, "name": k.name, "scope": k.scope.value} for k in keys],
            )
        elif args.action == "create-key":
            key = await service.create_key(args.name, KeyScope(args.scope), now=now)
            errors, result = (
                key.errors,
                {"id": key.key.id if key.key else None, "secret": key.secret},
            )
        elif args.action == "revoke-key":
            revoked = await service.revoke_key(args.key_id, now=now)
            errors, result = revoked.errors, {"revoked": args.key_id}
        else:
            rotated = await service.rotate(f"{args.secret}_secret")
            errors = rotated.errors
            result = {
                "identitySecret": rotated.identity_secret,
                "webhookSecret": rotated.webhook_secret,
            }
        if errors:
            _print({"errors": [{"code": e.code, "message": e.message} for e in errors]})
            return 1
        _print(result)
        return 0
    finally:
        await store.close()


def _print(value: object) -> None:
    print(json.dumps(value, indent=2))

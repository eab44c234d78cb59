"""The command-line jobs: each opens the configured store, does its work, and closes it."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from app.cli.exporter import export_contacts
from app.cli.importer import checking, import_rows, progress_stream, read_rows, tracking
from app.clock import SystemClock
from app.domain.models import Workspace
from app.domain.refs import ContactKey, RefKind
from app.metrics import Metrics
from app.services.auth import bootstrap
from app.services.privacy import Privacy
from app.services.tracking import Tracker
from app.settings import Settings
from app.store.database import Store, open_store
from app.store.indexes import create_indexes
from app.store.workspaces import get_workspace


@asynccontextmanager
async def opened(
    settings: Settings, workspace_id: str, *, quiet: bool = False
) -> AsyncIterator[tuple[Store, Workspace]]:
    store = await open_store(settings, Metrics())
    try:
        await create_indexes(store)
        if store.embedded:
            if not quiet:
                print(
                    "note: TALLY_MONGODB_URI is unset: this runs on an empty in-memory store "
                    "and keeps nothing (import --check only checks a file).",
                    file=sys.stderr,
                )
            await bootstrap(store, settings=settings, clock=SystemClock())
        workspace = await get_workspace(store, workspace_id=workspace_id)
        if workspace is None:
            raise SystemExit(f"error: no workspace {workspace_id!r}")
        yield store, workspace
    finally:
        await store.close()


async def run_import(
    settings: Settings,
    *,
    path: Path,
    workspace_id: str,
    batch_size: int,
    rejects: Path | None,
    csv_format: bool | None,
    check: bool = False,
) -> int:
    """0 when every line was accepted or a duplicate, 1 when some were rejected."""
    rejects = rejects or path.with_name(path.name + ".rejects.jsonl")
    is_csv = path.suffix.lower() == ".csv" if csv_format is None else csv_format
    clock = SystemClock()
    async with opened(settings, workspace_id, quiet=check) as (store, workspace):
        tracker = Tracker(store=store, settings=settings, metrics=Metrics(), workspace=workspace)
        send = (
            checking(clock=clock, max_metadata_keys=settings.max_metadata_keys)
            if check
            else tracking(tracker, clock)
        )
        with path.open(encoding="utf-8", newline="" if is_csv else None) as file:
            summary = await import_rows(
                read_rows(file, csv_format=is_csv),
                send=send,
                batch_size=min(batch_size, settings.max_batch_size),
                rejects_path=rejects,
                progress=progress_stream(),
            )
    print(f"{path}: {summary.line()}{' (checked only: nothing written)' if check else ''}")
    if summary.rejects:
        print(f"rejected lines, with their codes: {summary.rejects[0]}")
        return 1
    return 0


async def run_export(
    settings: Settings, *, workspace_id: str, output: Path | None, user_id: str | None = None
) -> int:
    if user_id is not None:
        return await _export_one(
            settings, workspace_id=workspace_id, output=output, user_id=user_id
        )
    async with opened(settings, workspace_id) as (store, _):
        if output is None:
            written = await export_contacts(store, workspace_id=workspace_id, out=sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as out:
                written = await export_contacts(store, workspace_id=workspace_id, out=out)
    print(f"{written:,} contacts exported", file=sys.stderr)
    return 0


async def _export_one(
    settings: Settings, *, workspace_id: str, output: Path | None, user_id: str
) -> int:
    """Everything stored about one user, as contactExport gives it; 1 when there is no such user."""
    async with opened(settings, workspace_id) as (store, workspace):
        privacy = Privacy(store=store, workspace=workspace)
        export = await privacy.export(ContactKey(RefKind.USER_ID, user_id), now=SystemClock().now())
    if export is None:
        print(f"error: no user {user_id!r} in workspace {workspace_id!r}", file=sys.stderr)
        return 1
    text = json.dumps(export, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        with output.open("w", encoding="utf-8") as out:
            out.write(text)
    return 0

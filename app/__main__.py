"""`python -m app`: serve (default), export-schema, import and export."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app.cli.workspaces import add_parser as add_workspace_parser
from app.settings import Settings, serving_problem, settings_problem
from app.store.workspaces import DEFAULT_WORKSPACE_ID


def serve(settings: Settings) -> None:
    import uvicorn

    from app import collector
    from app.server import create_app

    if settings.embedded:
        key = settings.admin_key_value()
        logging.getLogger("app").warning(
            "Embedded in-memory store: data lasts as long as this process. Admin key: %s%s",
            key if settings.admin_key is None else "(TALLY_ADMIN_KEY)",
            "" if settings.admin_key else "  (set TALLY_ADMIN_KEY to choose another)",
        )
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": settings.log_level.lower(),
        # WebSocket messages over the body limit are refused by the app too (1009); uvicorn then
        # does not even buffer them.
        "ws_max_size": settings.max_body_bytes,
    }
    if settings.workers == 1:
        collector.tune()
        uvicorn.run(create_app(settings), **options)
        return
    # Each worker is a new process that builds its app from the same environment. /metrics
    # adds up every worker's counts from the files they write (prometheus_client's
    # multiprocess mode), in a directory of this run unless PROMETHEUS_MULTIPROC_DIR is set.
    with tempfile.TemporaryDirectory(prefix="tally-metrics-") as directory:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", directory)
        uvicorn.run(
            "app.server:create_worker_app", factory=True, workers=settings.workers, **options
        )


def export_schema() -> None:
    from app.api.schema import build_schema

    sys.stdout.write(build_schema(Settings()).as_str() + "\n")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m app", description="Tally")
    commands = root.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the API and GraphiQL (the default)")
    commands.add_parser("export-schema", help="print the GraphQL SDL")
    load = commands.add_parser(
        "import",
        help="import events from a JSONL or CSV file (re-running it changes nothing)",
        description="One TrackEventInput-shaped JSON object per line, or CSV with a header "
        "(name, userId|email|anonymousId|contactId, occurredAt, idempotencyKey, metadata.KEY). "
        "Lines without idempotencyKey get one from their content, so a re-run is a no-op.",
    )
    load.add_argument("file", type=Path)
    load.add_argument("--workspace", default=DEFAULT_WORKSPACE_ID)
    load.add_argument("--batch-size", type=int, default=500)
    load.add_argument("--rejects", type=Path, help="default: FILE.rejects.jsonl")
    load.add_argument(
        "--csv", action="store_true", default=None, help="read CSV (default: by suffix)"
    )
    load.add_argument(
        "--check", action="store_true", help="only validate every line; write nothing"
    )
    dump = commands.add_parser(
        "export", help="write a workspace's contacts with summaries as JSONL"
    )
    dump.add_argument("--workspace", default=DEFAULT_WORKSPACE_ID)
    dump.add_argument("--output", type=Path, help="default: standard output")
    dump.add_argument(
        "--contact",
        metavar="USER_ID",
        help="only this user, with everything stored about them (one JSON document)",
    )
    add_workspace_parser(commands)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as e:  # one line that says what to fix, not a traceback
        print(settings_problem(e), file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    if args.command == "export-schema":
        export_schema()
    elif args.command == "import":
        from app.cli.commands import run_import

        return asyncio.run(
            run_import(
                settings,
                path=args.file,
                workspace_id=args.workspace,
                batch_size=args.batch_size,
                rejects=args.rejects,
                csv_format=args.csv,
                check=args.check,
            )
        )
    elif args.command == "workspace":
        from app.cli.workspaces import run_workspace

        return asyncio.run(run_workspace(settings, args))
    elif args.command == "export":
        from app.cli.commands import run_export

        return asyncio.run(
            run_export(
                settings, workspace_id=args.workspace, output=args.output, user_id=args.contact
            )
        )
    else:
        if problem := serving_problem(settings):
            print(problem, file=sys.stderr)
            return 2
        serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())

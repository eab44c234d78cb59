"""`python -m app`: serve (default) or export-schema."""

from __future__ import annotations

import argparse
import logging
import sys

from app.settings import Settings


def serve(settings: Settings) -> None:
    import uvicorn

    from app.server import create_app

    if settings.embedded:
        key = settings.admin_key_value()
        logging.getLogger("app").warning(
            "Embedded in-memory store: data lasts as long as this process. Admin key: %s%s",
            key if settings.admin_key is None else "(TALLY_ADMIN_KEY)",
            "" if settings.admin_key else "  (set TALLY_ADMIN_KEY to choose another)",
        )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
    )


def export_schema() -> None:
    from app.api.schema import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m app", description="Tally")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the API and GraphiQL (default)")
    commands.add_parser("export-schema", help="print the GraphQL SDL")
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    if args.command == "export-schema":
        export_schema()
    else:
        serve(settings)


if __name__ == "__main__":
    main()

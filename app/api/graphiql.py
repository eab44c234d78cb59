"""The GraphiQL page, with its assets served by Tally (no CDN: it works offline).

The assets in static/graphiql/ are fetched by ./scripts/fetch-graphiql, which records each
file's SRI hash in manifest.json; the page names them with those hashes."""

from __future__ import annotations

import functools
import html
import json
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS_PATH = "/graphiql"  # where the app mounts ASSETS
_TEMPLATE = Path(__file__).resolve().parent / "templates" / "graphiql.html"
# React first: the GraphiQL bundle expects the React and ReactDOM globals.
_ORDER = ["react.production.min.js", "react-dom.production.min.js", "graphiql.min.js"]


@functools.cache
def graphiql_page() -> str:
    manifest = {e["file"]: e for e in json.loads((ASSETS / "manifest.json").read_text())}

    def src(file: str) -> str:
        # relative to /graphql, so that a proxy's path prefix is kept
        return html.escape(f"{ASSETS_PATH.lstrip('/')}/{file}") + (
            f'" integrity="{html.escape(manifest[file]["integrity"])}'
        )

    styles = [f'<link rel="stylesheet" href="{src(f)}" />' for f in manifest if f.endswith(".css")]
    scripts = [f'<script src="{src(f)}"></script>' for f in _ORDER]
    return (
        _TEMPLATE.read_text()
        .replace("{{styles}}", "\n    ".join(styles))
        .replace("{{scripts}}", "\n    ".join(scripts))
    )

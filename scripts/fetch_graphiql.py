"""Fetch GraphiQL's browser assets into app/api/static/graphiql/, with their SRI hashes.

Run as ./scripts/fetch-graphiql after changing a version below (needs `npm`, which checks each
package against the registry's own integrity hash). Tally then serves these files itself, so
GraphiQL works offline and behind firewalls; app/api/graphiql.py reads manifest.json.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "app" / "api" / "static" / "graphiql"
# package, version, files inside the package (production UMD builds: React 18 is the last
# React with UMD files; GraphiQL 4's UMD build bundles graphql-ws for subscriptions).
ASSETS = [
    ("react", "18.3.1", ["umd/react.production.min.js"]),
    ("react-dom", "18.3.1", ["umd/react-dom.production.min.js"]),
    ("graphiql", "4.1.2", ["graphiql.min.js", "graphiql.min.css"]),
]


def sri(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def fetch(package: str, version: str, files: list[str], workdir: Path) -> list[dict[str, str]]:
    packed = subprocess.run(
        ["npm", "pack", f"{package}@{version}", "--silent"],
        cwd=workdir, check=True, capture_output=True, text=True,
    )  # fmt: skip
    tarball = workdir / packed.stdout.strip().splitlines()[-1]
    entries = []
    with tarfile.open(tarball) as archive:
        for name in [*files, "LICENSE"]:
            member = archive.extractfile(f"package/{name}")
            assert member is not None, name
            data = member.read()
            saved = f"LICENSE.{package}" if name == "LICENSE" else Path(name).name
            (TARGET / saved).write_bytes(data)
            if name != "LICENSE":
                entries.append(
                    {"file": saved, "package": package, "version": version, "integrity": sri(data)}
                )
    return entries


def main() -> int:
    TARGET.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as workdir:
        manifest = [
            entry
            for package, version, files in ASSETS
            for entry in fetch(package, version, files, Path(workdir))
        ]
    (TARGET / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    for entry in manifest:
        print(f"{entry['package']}@{entry['version']} {entry['file']} {entry['integrity']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

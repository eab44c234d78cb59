"""The docs show the code that runs, and the repository stands alone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INCLUDED = re.compile(r"<!-- file: (\S+) -->\n```\w*\n(.*?)```", re.DOTALL)


def test_the_example_code_in_docs_clients_is_the_code_the_browser_test_runs() -> None:
    doc = (ROOT / "docs" / "clients.md").read_text()
    shown = dict(INCLUDED.findall(doc))
    assert sorted(shown) == [
        "examples/web/app.js",
        "examples/web/index.html",
        "examples/web/tally.js",
    ]
    for path, code in shown.items():
        assert code == (ROOT / path).read_text(), f"docs/clients.md shows an old {path}"


def test_nothing_in_the_repository_points_outside_it() -> None:
    outside = "../" + "shared"  # spelled apart, or this file would name it
    names = ["README.md", "pyproject.toml"]
    folders = ["app", "docs", "tests", "scripts", "examples", ".ci"]
    files = [ROOT / n for n in names] + [
        f for d in folders for f in (ROOT / d).rglob("*") if f.is_file() and "static" not in f.parts
    ]
    pointing = [
        str(f.relative_to(ROOT))
        for f in files
        if f.suffix not in {".pyc"} and outside in f.read_text(errors="ignore")
    ]
    assert pointing == []

"""schema.graphql is what the code exports, and the code keeps every name of the contract."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema, find_breaking_changes

from app.api.schema import build_schema as build_tally_schema

ROOT = Path(__file__).resolve().parent.parent
# The repository keeps its own copy of the API contract: clones stand alone.
CONTRACT = ROOT / "docs" / "api-contract.graphql"

# Contract names that later issues build. Each entry leaves this list in the issue that builds
# it; the test below fails both when something else breaks the contract and when an entry here
# is built already (so the list cannot go stale).
NOT_YET_BUILT: set[str] = set()


def test_schema_file_is_exported_from_the_code() -> None:
    exported = build_tally_schema().as_str() + "\n"
    assert (ROOT / "schema.graphql").read_text() == exported, (
        "schema.graphql drifted from the code: run ./scripts/export-schema"
    )


def test_contract_names_keep_their_meaning() -> None:
    contract = build_schema(CONTRACT.read_text())
    ours = build_schema(build_tally_schema().as_str())
    changes = find_breaking_changes(contract, ours)
    subjects = {c.description.removeprefix("Field ").split(" ")[0] for c in changes}
    unexpected = [
        c.description
        for c in changes
        if c.description.removeprefix("Field ").split(" ")[0] not in NOT_YET_BUILT
        or not c.description.endswith("was removed.")
    ]
    assert unexpected == []
    assert NOT_YET_BUILT - subjects == set(), "built already: remove from NOT_YET_BUILT"

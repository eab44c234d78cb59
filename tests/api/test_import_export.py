"""Import files into the workspace the API serves, re-run them, and export contacts."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from starlette.applications import Starlette

from app.cli.exporter import export_contacts
from app.cli.importer import ImportSummary, import_rows, read_rows, tracking
from app.services.tracking import Tracker
from app.store.workspaces import DEFAULT_WORKSPACE_ID, get_workspace
from tests.api.test_track_event import CONTACT, EVENT_TYPES, track
from tests.helpers import GraphQL

ROOT = Path(__file__).resolve().parents[2]

JSONL = """\
{"name": "viewed-pricing", "contact": {"userId": "u1"}, "occurredAt": "2026-11-01T10:00:00Z"}
{"name": "bought-game", "contact": {"email": "a@example.com"}, "metadata": {"price": {"amount": 100, "currency": "EUR"}}}

not json
{"name": "bad.name", "contact": {"userId": "u1"}}
{"name": "viewed-pricing", "contact": {"userId": "u1"}, "occurredAt": "2026-11-02T10:00:00Z"}
{"name": "viewed-pricing", "contact": {"userId": "u1"}, "occurredAt": "2026-11-02T10:00:00Z", "idempotencyKey": "k"}
{"name": "viewed-pricing", "contact": {"userId": "u1"}, "occurredAt": "2026-11-03T10:00:00Z", "idempotencyKey": "k"}
"""

CSV = """\
name,userId,anonymousId,occurredAt,metadata.plan,metadata.price,metadata.seats
upgraded-plan,u1,,2026-11-05T09:00:00Z,pro,"{""amount"": 4900, ""currency"": ""EUR""}",3
viewed-pricing,,v9,2026-11-05T09:30:00Z,,,
upgraded-plan,u1,v9,2026-11-05T09:00:00Z,pro,,
"""


async def run_import(app: Starlette, path: Path, *, csv_format: bool = False) -> ImportSummary:
    services = app.state.services
    workspace = await get_workspace(services.store, workspace_id=DEFAULT_WORKSPACE_ID)
    assert workspace is not None
    tracker = Tracker(
        store=services.store,
        settings=services.settings,
        metrics=services.metrics,
        workspace=workspace,
    )
    with path.open(encoding="utf-8", newline="" if csv_format else None) as file:
        return await import_rows(
            read_rows(file, csv_format=csv_format),
            send=tracking(tracker, services.clock),
            batch_size=2,
            rejects_path=path.with_name(path.name + ".rejects.jsonl"),
        )


def run_app(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m app ARGS` as a newcomer runs it: embedded store, no TALLY_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rejects(path: Path) -> list[tuple[int, list[str]]]:
    lines = path.with_name(path.name + ".rejects.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    return sorted((r["line"], [e["code"] for e in r["errors"]]) for r in records)


async def test_import_counts_good_lines_reports_bad_ones_and_a_rerun_changes_nothing(
    app: Starlette, gql: GraphQL, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(JSONL)
    summary = await run_import(app, path)
    assert (summary.lines, summary.accepted, summary.duplicates, summary.rejected) == (7, 4, 1, 2)
    assert rejects(path) == [(4, ["INVALID_LINE"]), (5, ["INVALID_EVENT_NAME"])]
    contact = (await gql.data(CONTACT, ref={"userId": "u1"}))["contact"]
    assert contact["eventSummaries"] == [
        {
            "name": "viewed-pricing",
            "count": 3,
            "firstAt": "2026-11-01T10:00:00+00:00",
            "lastAt": "2026-11-02T10:00:00+00:00",
        }
    ]
    catalog = (await gql.data(EVENT_TYPES))["eventTypes"]

    again = await run_import(app, path)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 5, 2)
    assert (await gql.data(EVENT_TYPES))["eventTypes"] == catalog
    assert (await gql.data(CONTACT, ref={"userId": "u1"}))["contact"] == contact


async def test_csv_import_types_metadata_cells(
    app: Starlette, gql: GraphQL, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(CSV)
    summary = await run_import(app, path, csv_format=True)
    assert (summary.accepted, summary.rejected) == (2, 1)
    assert rejects(path) == [(4, ["INVALID_CONTACT_REF"])]
    types = {t["name"]: t for t in (await gql.data(EVENT_TYPES))["eventTypes"]}
    assert {k["key"]: k["type"] for k in types["upgraded-plan"]["metadataKeys"]} == {
        "plan": "string",
        "price": "money",
        "seats": "number",
    }
    lead = (await gql.data(CONTACT, ref={"anonymousId": "v9"}))["contact"]
    assert lead["role"] == "LEAD"


async def test_export_writes_each_contact_with_its_summaries(app: Starlette, gql: GraphQL) -> None:
    await track(gql, name="viewed-pricing", contact={"userId": "u1"})
    await track(gql, name="viewed-pricing", contact={"userId": "u1"})
    await track(gql, name="signed-up", contact={"anonymousId": "v1"})
    out = io.StringIO()
    written = await export_contacts(
        app.state.services.store, workspace_id=DEFAULT_WORKSPACE_ID, out=out
    )
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert written == len(records) == 2
    by_role = {r["role"]: r for r in records}
    assert by_role["USER"]["userId"] == "u1"
    assert [(s["name"], s["count"]) for s in by_role["USER"]["eventSummaries"]] == [
        ("viewed-pricing", 2)
    ]
    assert by_role["LEAD"]["anonymousId"] == "v1"


def test_the_import_command_reports_and_exits_1_on_rejects(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(JSONL)
    done = run_app("import", str(path))
    assert done.returncode == 1, done.stderr
    assert "7 lines: 4 accepted, 1 duplicates, 2 rejected" in done.stdout
    assert "in-memory store" in done.stderr
    assert rejects(path) == [(4, ["INVALID_LINE"]), (5, ["INVALID_EVENT_NAME"])]


def test_import_check_validates_without_writing(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(JSONL)
    done = run_app("import", "--check", str(path))
    assert done.returncode == 1, done.stderr
    # Keys are not looked up when checking, so the repeated key is not a duplicate here.
    assert "7 lines: 5 accepted, 0 duplicates, 2 rejected" in done.stdout
    assert "checked only: nothing written" in done.stdout
    assert rejects(path) == [(4, ["INVALID_LINE"]), (5, ["INVALID_EVENT_NAME"])]


def test_export_of_one_contact_says_when_there_is_none() -> None:
    done = run_app("export", "--contact", "nobody")
    assert done.returncode == 1
    assert "no user 'nobody'" in done.stderr


def test_the_workspace_command_creates_a_workspace_with_its_secrets() -> None:
    done = run_app("workspace", "create", "Acme")
    assert done.returncode == 0, done.stderr
    made = json.loads(done.stdout)
    assert made["workspace"].startswith("ws_")
    assert made["adminKey"].startswith("tly_sk_")
    assert len(made["identitySecret"]) == len(made["webhookSecret"]) == 64
    refused = run_app("workspace", "create-key", "page", "--workspace", "nope")
    assert refused.returncode == 1
    key = json.loads(run_app("workspace", "create-key", "page").stdout)
    assert key["secret"].startswith("tly_pk_")


def test_the_identity_secret_is_shown_without_rotating_it() -> None:
    shown = run_app("workspace", "secrets")
    assert shown.returncode == 0, shown.stderr
    secrets = json.loads(shown.stdout)
    assert secrets["workspace"] == "default"
    assert re.fullmatch("[0-9a-f]{64}", secrets["identitySecret"])
    assert re.fullmatch("[0-9a-f]{64}", secrets["webhookSecret"])
    turned_on = json.loads(run_app("workspace", "update", "--identity-verification", "on").stdout)
    assert re.fullmatch("[0-9a-f]{64}", turned_on["identitySecret"])


def test_a_malformed_setting_stops_serve_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    done = subprocess.run(
        [sys.executable, "-m", "app", "serve"],
        cwd=ROOT,
        env={**env, "TALLY_CORS_ORIGINS": "shop.example"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "Bad setting TALLY_CORS_ORIGINS: origins such as "
        '"https://shop.example,https://app.example" or a JSON list ["https://shop.example"] '
        "(got 'shop.example')."
    ]

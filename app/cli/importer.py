"""`python -m app import FILE`: stream a JSONL or CSV file of events into a workspace in batches."""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

from app.cli.rows import request_from_csv, request_from_json
from app.clock import Clock
from app.domain.errors import InvalidInput, UserError
from app.domain.events import TrackRequest, validate_event
from app.services.tracking import Tracker, TrackOutcome

Row = tuple[int, TrackRequest | list[UserError]]  # line number, request or why it is unreadable
Send = Callable[[list[TrackRequest]], Awaitable[list[TrackOutcome]]]


def tracking(tracker: Tracker, clock: Clock) -> Send:
    """Send batches to the store through the same pipeline as trackEvents."""

    async def send(requests: list[TrackRequest]) -> list[TrackOutcome]:
        return await tracker.track_many(requests, now=clock.now())

    return send


def checking(*, clock: Clock, max_metadata_keys: int) -> Send:
    """Only validate, as trackEvents would, and write nothing (`import --check`)."""

    async def send(requests: list[TrackRequest]) -> list[TrackOutcome]:
        outcomes = []
        for request in requests:
            try:
                validate_event(request, now=clock.now(), max_metadata_keys=max_metadata_keys)
                outcomes.append(TrackOutcome())
            except InvalidInput as e:
                outcomes.append(TrackOutcome(errors=e.errors))
        return outcomes

    return send


def read_rows(file: IO[str], *, csv_format: bool) -> Iterator[Row]:
    """Each data line of the file, numbered as an editor numbers it; blank lines skipped."""
    if csv_format:
        reader = csv.DictReader(file)
        for row in reader:
            raw = json.dumps(row, sort_keys=True)
            yield reader.line_num, _parsed(partial(request_from_csv, row, raw=raw))
        return
    for number, line in enumerate(file, start=1):
        if line.strip():
            yield number, _parsed(partial(request_from_json, line))


def _parsed(parse: Callable[[], TrackRequest]) -> TrackRequest | list[UserError]:
    try:
        return parse()
    except InvalidInput as e:
        return e.errors


@dataclass
class ImportSummary:
    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    seconds: float = 0.0
    rejects: list[str] = field(default_factory=list)  # the reject file, when one was written

    def line(self) -> str:
        rate = self.lines / self.seconds if self.seconds else 0
        return (
            f"{self.lines:,} lines: {self.accepted:,} accepted, {self.duplicates:,} duplicates, "
            f"{self.rejected:,} rejected ({rate:,.0f} lines/s)"
        )


class _Rejects:
    """The reject file, opened on the first reject: one JSON object per refused line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def write(self, line: int, errors: list[UserError]) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8")
        record = {
            "line": line,
            "errors": [
                {"code": e.code, "field": list(e.field) if e.field else None, "message": e.message}
                for e in errors
            ],
        }
        self._file.write(json.dumps(record) + "\n")

    def close(self) -> bool:
        if self._file is None:
            return False
        self._file.close()
        return True


async def import_rows(
    rows: Iterator[Row],
    *,
    send: Send,
    batch_size: int,
    rejects_path: Path,
    progress: IO[str] | None = None,
) -> ImportSummary:
    """Send the rows in batches; refused lines go to the reject file with their codes."""
    summary = ImportSummary()
    rejects = _Rejects(rejects_path)
    started = time.perf_counter()
    batch: list[tuple[int, TrackRequest]] = []

    async def flush() -> None:
        outcomes = await send([r for _, r in batch])
        for (number, _), outcome in zip(batch, outcomes, strict=True):
            if outcome.errors:
                summary.rejected += 1
                rejects.write(number, outcome.errors)
            elif outcome.duplicate:
                summary.duplicates += 1
            else:
                summary.accepted += 1
        batch.clear()
        summary.seconds = time.perf_counter() - started
        if progress is not None:
            progress.write(f"\r{summary.line()}")
            progress.flush()

    for number, parsed in rows:
        summary.lines += 1
        if isinstance(parsed, list):
            summary.rejected += 1
            rejects.write(number, parsed)
            continue
        batch.append((number, parsed))
        if len(batch) >= batch_size:
            await flush()
    if batch:
        await flush()
    summary.seconds = time.perf_counter() - started
    if rejects.close():
        summary.rejects.append(str(rejects_path))
    if progress is not None:
        progress.write("\n")
    return summary


def progress_stream() -> IO[str] | None:
    return sys.stderr if sys.stderr.isatty() else None

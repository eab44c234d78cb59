"""Finding contacts by filter, and saved segments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain.contact_order import ContactOrder
from app.domain.cursors import check_page_size
from app.domain.errors import InvalidInput, RequestError, UserError
from app.domain.filter_values import Query
from app.domain.filters import compile_contact_filter, segment_ids, windows_of
from app.domain.models import Contact, Segment, Workspace
from app.domain.storable import check_storable, storable_problems
from app.domain.windows import window_field, window_match
from app.store import matching
from app.store import rules as store_rules
from app.store import segments as store_segments
from app.store.database import Store
from app.store.matching import WindowLookup

MAX_SEGMENT_NAME = 200


@dataclass(frozen=True)
class ContactPage:
    contacts: list[Contact]
    has_next_page: bool
    order: ContactOrder
    count: Callable[[], Awaitable[int]]


@dataclass(frozen=True)
class Compiled:
    """A filter as a query over contacts, and the windows it compares."""

    query: Query
    windows: list[WindowLookup]


@dataclass(frozen=True)
class SegmentOutcome:
    segment: Segment | None = None
    errors: list[UserError] = field(default_factory=list)


def as_request_error(error: InvalidInput) -> RequestError:
    first = error.errors[0]
    where = ".".join(first.field or ())
    return RequestError(first.code, f"{first.message} (at {where})" if where else first.message)


def reason_of(error: InvalidInput) -> str:
    """Why a saved filter can no longer be evaluated, for people to read (`disabledReason`)."""
    refused = as_request_error(error)
    return f"{refused.code}: {refused}"


class Audience:
    def __init__(self, *, store: Store, workspace: Workspace) -> None:
        self._store = store
        self._workspace = workspace

    async def _segment_filters(self, filter: Any) -> dict[str, dict[str, Any]]:
        if not segment_ids(filter):
            return {}
        segments = await store_segments.all_segments(self._store, workspace_id=self._workspace.id)
        return {segment.id: segment.filter for segment in segments}

    async def compile(self, filter: dict[str, Any] | None, *, now: datetime) -> Compiled:
        """The contacts query for a filter; InvalidInput when the filter is refused."""
        check_storable(filter, path=("filter",))  # a real server cannot even read such a query
        segments = await self._segment_filters(filter)
        retention = self._workspace.retention_days
        windows = windows_of(filter, now=now, segments=segments, retention_days=retention)
        query = compile_contact_filter(filter, now=now, segments=segments, retention_days=retention)
        lookups = [
            WindowLookup(
                field=window_field(window),
                match=window_match(window, workspace_id=self._workspace.id, now=now),
                cap=cap,
            )
            for window, cap in sorted(windows.items(), key=repr)
        ]
        return Compiled(query, lookups)

    async def contacts(
        self,
        filter: dict[str, Any] | None,
        *,
        order: ContactOrder,
        first: int,
        after: str | None,
        now: datetime,
    ) -> ContactPage:
        first = check_page_size(first)
        try:
            query = await self.compile(filter, now=now)
        except InvalidInput as e:
            raise as_request_error(e) from e
        page_query = {"$and": [query.query, order.after(after)]} if after else query.query
        found = await matching.find_page(
            self._store,
            workspace_id=self._workspace.id,
            query=page_query,
            sort=order.sort(),
            limit=first + 1,
            windows=query.windows,
        )

        async def count() -> int:
            return await matching.count_matching(
                self._store,
                workspace_id=self._workspace.id,
                query=query.query,
                windows=query.windows,
            )

        return ContactPage(found[:first], len(found) > first, order, count)

    async def count(
        self, filter: dict[str, Any], *, now: datetime, contact_id: str | None = None
    ) -> int:
        try:
            return await self.matches(filter, now=now, contact_id=contact_id)
        except InvalidInput as e:
            raise as_request_error(e) from e

    async def matches(
        self, filter: dict[str, Any], *, now: datetime, contact_id: str | None = None
    ) -> int:
        """How many contacts match (0 or 1 with `contact_id`); InvalidInput when a saved filter
        can no longer be evaluated (a segment deleted, a window past a lowered retention)."""
        query = await self.compile(filter, now=now)
        return await matching.count_matching(
            self._store,
            workspace_id=self._workspace.id,
            query=query.query,
            contact_id=contact_id,
            windows=query.windows,
        )

    # ------------------------------------------------------------ saved segments

    async def segments(self) -> list[Segment]:
        return await store_segments.all_segments(self._store, workspace_id=self._workspace.id)

    async def segment(self, segment_id: str) -> Segment | None:
        return next((s for s in await self.segments() if s.id == segment_id), None)

    async def _check(
        self, name: str, filter: dict[str, Any], *, segment_id: str | None, now: datetime
    ) -> list[UserError]:
        errors = storable_problems(name, path=("name",))
        if not name.strip() or len(name) > MAX_SEGMENT_NAME:
            errors.append(
                UserError(
                    "INVALID_SEGMENT_NAME",
                    f"A segment name has 1 to {MAX_SEGMENT_NAME} characters.",
                    ("name",),
                )
            )
        errors += await self.check_filter(filter, segment_id=segment_id, now=now)
        return errors

    async def check_filter(
        self, filter: dict[str, Any], *, segment_id: str | None = None, now: datetime
    ) -> list[UserError]:
        """What is wrong with a filter about to be saved (as a segment or an audience)."""
        errors = storable_problems(filter, path=("filter",))
        if errors:
            return errors
        segments = {s.id: s.filter for s in await self.segments()}
        if segment_id is not None:
            segments[segment_id] = filter
            filter = {"inSegment": segment_id}  # walks the new filter as this segment
        try:
            windows_of(
                filter,
                now=now,
                segments=segments,
                retention_days=self._workspace.retention_days,
            )
        except InvalidInput as e:
            errors += e.errors
        return errors

    async def create_segment(
        self, name: str, filter: dict[str, Any], *, now: datetime
    ) -> SegmentOutcome:
        errors = await self._check(name, filter, segment_id=None, now=now)
        if errors:
            return SegmentOutcome(errors=errors)
        try:
            segment = await store_segments.insert_segment(
                self._store, workspace_id=self._workspace.id, name=name, filter=filter, now=now
            )
        except store_segments.SegmentNameTaken:
            return SegmentOutcome(errors=[_NAME_TAKEN])
        return SegmentOutcome(segment=segment)

    async def update_segment(
        self, segment_id: str, name: str, filter: dict[str, Any], *, now: datetime
    ) -> SegmentOutcome:
        if await self.segment(segment_id) is None:
            return SegmentOutcome(errors=[_NOT_FOUND])
        errors = await self._check(name, filter, segment_id=segment_id, now=now)
        if errors:
            return SegmentOutcome(errors=errors)
        try:
            segment = await store_segments.update_segment(
                self._store,
                workspace_id=self._workspace.id,
                segment_id=segment_id,
                name=name,
                filter=filter,
            )
        except store_segments.SegmentNameTaken:
            return SegmentOutcome(errors=[_NAME_TAKEN])
        return SegmentOutcome(segment=segment) if segment else SegmentOutcome(errors=[_NOT_FOUND])

    async def delete_segment(self, segment_id: str) -> SegmentOutcome:
        """Removes a segment no other segment and no message rule refers to."""
        users = [
            f"segment {s.name!r}"
            for s in await self.segments()
            if s.id != segment_id and segment_id in segment_ids(s.filter)
        ]
        rules = await store_rules.all_rules(self._store, workspace_id=self._workspace.id)
        users += [
            f"message rule {r.spec.name!r}"
            for r in rules
            if segment_id in segment_ids(r.spec.audience)
        ]
        if users:
            return SegmentOutcome(
                errors=[
                    UserError(
                        "SEGMENT_IN_USE",
                        f"The segment is used by {', '.join(users)}: change or delete "
                        f"{'them' if len(users) > 1 else 'it'} first.",
                        ("id",),
                    )
                ]
            )
        segment = await store_segments.delete_segment(
            self._store, workspace_id=self._workspace.id, segment_id=segment_id
        )
        return SegmentOutcome(segment=segment) if segment else SegmentOutcome(errors=[_NOT_FOUND])


_NAME_TAKEN = UserError("SEGMENT_NAME_TAKEN", "Another segment has this name.", ("name",))
_NOT_FOUND = UserError("SEGMENT_NOT_FOUND", "No segment has this id.", ("id",))

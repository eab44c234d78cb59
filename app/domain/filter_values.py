"""The conditions a filter places on one value: text, true/false, numbers, dates, and typed
attribute or metadata values, each compiled to MongoDB query parts.

Every operand is checked and placed as a value, never as an operator, and every key that becomes
a field path is checked first (`key_field`), so nothing a caller sends reaches the database as
query language. Anything refused raises InvalidInput with a code and the path into the filter.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from app.domain.errors import InvalidInput
from app.domain.names import key_problem
from app.domain.timestamps import parse_instant, to_utc_ms

Query = dict[str, Any]

_INT_OPS = {"eq": "$eq", "ne": "$ne", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
# IntFilter / FloatFilter operators, as Python comparisons
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def refuse(code: str, message: str, *path: str) -> InvalidInput:
    return InvalidInput.one(code, message, *path)


def fields_of(value: Any, allowed: set[str], path: tuple[str, ...]) -> Mapping[str, Any]:
    """An input object's fields that are set, refusing any it does not allow."""
    if not isinstance(value, Mapping):
        raise refuse("INVALID_FILTER", "Expected an object.", *path)
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise refuse("INVALID_FILTER", f"Unknown field {unknown[0]!r}.", *path)
    return {k: v for k, v in value.items() if v is not None}


def string_conditions(
    field: str, value: Any, path: tuple[str, ...], *, lower: bool = False
) -> list[Query]:
    ops = fields_of(value, {"eq", "ne", "in", "contains", "startsWith", "exists"}, path)

    def text(item: object, op: str) -> str:
        if not isinstance(item, str):
            raise refuse("INVALID_FILTER", f"{op} takes text.", *path, op)
        if "\0" in item and op in ("contains", "startsWith"):
            # MongoDB refuses a regular expression holding NUL ("embedded null byte").
            raise refuse("INVALID_FILTER", f"{op} takes text without NUL characters.", *path, op)
        return item.strip().lower() if lower else item

    parts: list[Query] = []
    for op, operand in ops.items():
        if op == "eq":
            parts.append({field: text(operand, op)})
        elif op == "ne":
            parts.append({field: {"$ne": text(operand, op)}})
        elif op == "in":
            if not isinstance(operand, list):
                raise refuse("INVALID_FILTER", "in takes a list of text.", *path, op)
            parts.append({field: {"$in": [text(item, op) for item in operand]}})
        elif op == "contains":
            parts.append({field: {"$regex": re.escape(text(operand, op)), "$options": "i"}})
        elif op == "startsWith":
            parts.append({field: {"$regex": "^" + re.escape(text(operand, op)), "$options": "i"}})
        else:
            parts.append({field: {"$exists": boolean(operand, path, op)}})
    return parts


def boolean(value: Any, path: tuple[str, ...], op: str) -> bool:
    if not isinstance(value, bool):
        raise refuse("INVALID_FILTER", f"{op} is true or false.", *path, op)
    return value


def int_conditions(value: Any, path: tuple[str, ...], *, floats: bool = False) -> dict[str, Any]:
    ops = fields_of(value, set(_INT_OPS), path)
    if not ops:
        raise refuse("INVALID_FILTER", "Give at least one of eq, ne, gt, gte, lt, lte.", *path)
    conditions = {}
    for op, operand in ops.items():
        kinds = (int, float) if floats else (int,)
        if isinstance(operand, bool) or not isinstance(operand, kinds):
            raise refuse("INVALID_FILTER", f"{op} takes a number.", *path, op)
        conditions[_INT_OPS[op]] = operand
    return conditions


def satisfied_by(conditions: Mapping[str, Any], number: float) -> bool:
    """Whether `number` meets compiled comparisons ({"$gt": 3, ...})."""
    return all(COMPARISONS[op[1:]](number, operand) for op, operand in conditions.items())


def _day_start(value: datetime) -> datetime:
    return value.replace(hour=0, minute=0, second=0, microsecond=0)


def date_conditions(field: str, value: Any, path: tuple[str, ...], *, now: datetime) -> list[Query]:
    allowed = {"before", "after", "on", "moreThanDaysAgo", "lessThanDaysAgo", "exactlyDaysAgo"}
    ops = fields_of(value, allowed | {"exists"}, path)
    if not ops:
        raise refuse("INVALID_FILTER", "Give at least one date condition.", *path)
    parts: list[Query] = []
    for op, operand in ops.items():
        if op == "exists":
            parts.append({field: {"$exists": boolean(operand, path, op)}})
        elif op in ("before", "after"):
            instant = parse_instant(operand) if isinstance(operand, str) else None
            if instant is None:
                raise refuse("INVALID_FILTER", f"{op} is an ISO-8601 date-time.", *path, op)
            parts.append({field: {"$lt" if op == "before" else "$gt": instant}})
        elif op == "on":
            day = _calendar_day(operand, path)
            parts.append({field: {"$gte": day, "$lt": day + timedelta(days=1)}})
        else:
            if (
                isinstance(operand, bool)
                or not isinstance(operand, int)
                or not 0 <= operand <= 36500
            ):
                raise refuse(
                    "INVALID_FILTER", f"{op} is a whole number of days, 0 to 36500.", *path, op
                )
            if op == "moreThanDaysAgo":
                parts.append({field: {"$lt": to_utc_ms(now - timedelta(days=operand))}})
            elif op == "lessThanDaysAgo":
                parts.append({field: {"$gt": to_utc_ms(now - timedelta(days=operand))}})
            else:
                day = _day_start(now) - timedelta(days=operand)
                parts.append({field: {"$gte": day, "$lt": day + timedelta(days=1)}})
    return parts


def _calendar_day(value: Any, path: tuple[str, ...]) -> datetime:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = parse_instant(value)
        if day is not None:
            return day
    raise refuse("INVALID_FILTER", "on is a UTC calendar day such as 2026-11-28.", *path, "on")


def key_field(
    prefix: str, ops: Mapping[str, Any], name: str, code: str, path: tuple[str, ...]
) -> str:
    """`prefix.<key>` for a checked attribute name or metadata key: never an operator or path."""
    key = ops.get(name)
    problem = key_problem(key) if isinstance(key, str) else f"{name} is text."
    if problem:
        raise refuse(code, problem, *path, name)
    return f"{prefix}.{key}"


def typed_conditions(
    field: str, ops: Mapping[str, Any], path: tuple[str, ...], *, money: bool
) -> list[Query]:
    """The string, number and boolean conditions on one typed value."""
    parts: list[Query] = []
    if "string" in ops:
        parts.append({field: {"$type": "string"}})
        parts += string_conditions(field, ops["string"], (*path, "string"))
    if "number" in ops:
        number = int_conditions(ops["number"], (*path, "number"), floats=True)
        # A money value compares by its amount (minor units).
        parts.append(
            {"$or": [{field: number}, {f"{field}.amount": number}]} if money else {field: number}
        )
    if "boolean" in ops:
        parts.append({field: boolean(ops["boolean"], path, "boolean")})
    return parts


def metadata_conditions(value: Any, path: tuple[str, ...]) -> list[dict[str, Any]]:
    """Conditions on an event's metadata as a query over raw events (InvalidInput if bad)."""
    if not isinstance(value, list):
        raise refuse("INVALID_FILTER", "metadata is a list of conditions.", *path)
    conditions = []
    for i, item in enumerate(value):
        here = (*path, str(i))
        ops = fields_of(item, {"key", "string", "number", "boolean"}, here)
        field = key_field("metadata", ops, "key", "INVALID_METADATA_KEY", here)
        parts = typed_conditions(field, ops, here, money=True)
        if not parts:
            parts.append({field: {"$exists": True}})
        conditions.extend(parts)
    return conditions

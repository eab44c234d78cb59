"""What the store can hold: the one check every write path runs before it writes anything.

BSON strings are UTF-8, so text with a lone surrogate (`"\\ud800"`, which JSON can carry) cannot
be encoded; a real server refuses it mid-write and the embedded store half-writes. Keys are C
strings (no NUL). Numbers must be finite (JSON cannot carry NaN back) and fit in 64 bits.
Anything refused here never reaches the store, so an input's writes land together or not at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from app.domain.errors import InvalidInput, UserError

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 32  # far below MongoDB's 100 levels; our inputs are flat or small filter trees


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    if text.isascii():  # a flag of the string: no encoding needed
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "Text must be valid Unicode: a lone surrogate (\\ud800 to \\udfff) cannot be stored."
    return None


def printable(text: str) -> str:
    """`text` safe to show in an answer: lone surrogates written as `\\udXXX` escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def check_text(text: str, *, code: str, path: tuple[str, ...]) -> str:
    """`text` when it can be stored; InvalidInput(code) at `path` otherwise."""
    problem = text_problem(text)
    if problem is not None:
        raise InvalidInput.one(code, problem, *path)
    return text


def storable_problems(value: object, *, path: tuple[str, ...] = ()) -> list[UserError]:
    """Every part of `value` the store cannot hold, located by its path (empty: all fine).

    Codes: INVALID_TEXT (text or key that is not valid Unicode, NUL in a key), INVALID_VALUE
    (a number that is not finite or does not fit in 64 bits, a value of no storable type),
    VALUE_TOO_DEEP (nesting past MAX_DEPTH).
    """
    if _plainly_storable(value, depth=0):
        return []
    problems: list[UserError] = []
    _walk(value, path, problems, depth=0)
    return problems


def check_storable(value: object, *, path: tuple[str, ...] = ()) -> None:
    """Raise InvalidInput with every storable_problems of `value`."""
    problems = storable_problems(value, path=path)
    if problems:
        raise InvalidInput(problems)


def _plainly_storable(value: object, *, depth: int) -> bool:
    """True when `_walk` would find nothing, told without building paths: the plain types of a
    JSON input only; anything else (and any doubt) is left to `_walk`."""
    if type(value) is str:
        return text_problem(value) is None
    if value is None or type(value) is bool or type(value) is datetime:
        return True
    if type(value) is int:
        return INT64_MIN <= value <= INT64_MAX
    if type(value) is float:
        return math.isfinite(value)
    if depth >= MAX_DEPTH:
        return False
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str or "\x00" in key or text_problem(key) is not None:
                return False
            if not _plainly_storable(item, depth=depth + 1):
                return False
        return True
    if type(value) is list or type(value) is tuple:
        return all(_plainly_storable(item, depth=depth + 1) for item in value)
    return False


def _walk(value: object, path: tuple[str, ...], problems: list[UserError], *, depth: int) -> None:
    def refuse(code: str, message: str, at: tuple[str, ...] = path) -> None:
        problems.append(UserError(code, message, tuple(printable(p) for p in at) or None))

    if value is None or isinstance(value, bool | datetime):
        return
    if isinstance(value, str):
        if (problem := text_problem(value)) is not None:
            refuse("INVALID_TEXT", problem)
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            refuse("INVALID_VALUE", "A whole number fits in 64 bits.")
    elif isinstance(value, float):
        if not math.isfinite(value):
            refuse("INVALID_VALUE", "A number is finite.")
    elif depth >= MAX_DEPTH and isinstance(value, Mapping | list | tuple):
        refuse("VALUE_TOO_DEEP", f"Values nest at most {MAX_DEPTH} levels.")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            at = (*path, str(key))
            if not isinstance(key, str):
                refuse("INVALID_VALUE", "Keys are text.", at)
            elif (problem := text_problem(key)) is not None:
                refuse("INVALID_TEXT", problem, at)
            elif "\x00" in key:
                refuse("INVALID_TEXT", "A key may not contain NUL.", at)
            else:
                _walk(item, at, problems, depth=depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk(item, (*path, str(index)), problems, depth=depth + 1)
    else:
        refuse("INVALID_VALUE", f"A value of type {type(value).__name__} cannot be stored.")

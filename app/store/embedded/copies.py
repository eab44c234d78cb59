"""Copies of stored documents without `copy.deepcopy`'s generic machinery, and none of filters.

mongomock copies a document before every update (to roll it back) and every document it
returns, through `copy.deepcopy` and `copy.copy`, which reach dates and ObjectIds through
`__reduce_ex__`: about half of an update's time for a contact. Stored documents are trees of
dicts and lists over values that never change in place (str, numbers, dates, ObjectIds,
bytes), which need no copy at all; everything else still goes to the `copy` module.

mongomock-motor rebuilds every filter and sort before mongomock sees it, to turn beanie's
string class into `str`; without beanie installed that rebuild is a plain copy, left out.
"""

from __future__ import annotations

import copy as _copy
from collections import OrderedDict
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import mongomock.collection
from bson import ObjectId
from mongomock_motor import patches

# BSON values a walk over a document hands on as they are (dates, also immutable, are each
# walk's own concern: kept, made aware, or made naive).
SCALARS = frozenset({str, int, float, bool, type(None), ObjectId, bytes})
# BSON values two of which, of one of these types, are equal in BSON exactly when Python says
# so (and ordered alike): what `strict.bson_equal` compares at once and `rules` sets natively.
SAME_AS_PYTHON = frozenset({str, int, float, bool, type(None), ObjectId, datetime})
_IMMUTABLE = SCALARS | {datetime}


def deepcopy(value: Any, memo: Any = None) -> Any:
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is dict:
        return {key: deepcopy(item) for key, item in value.items()}
    if kind is list:
        return [deepcopy(item) for item in value]
    if kind is OrderedDict:  # what mongomock builds an upserted document as
        return OrderedDict((key, deepcopy(item)) for key, item in value.items())
    return _copy.deepcopy(value, memo)


def shallow_copy(value: Any) -> Any:
    return value if type(value) in _IMMUTABLE else _copy.copy(value)


def _as_is(value: Any) -> Any:
    return value


def install() -> None:
    """mongomock's collection module copies through these (its only use of `copy`)."""
    if patches.ExpressionField is None:  # no beanie: nothing to normalise
        setattr(patches, "_normalize_strings", _as_is)  # noqa: B010
    fast = SimpleNamespace(deepcopy=deepcopy, copy=shallow_copy)
    setattr(mongomock.collection, "copy", fast)  # noqa: B010

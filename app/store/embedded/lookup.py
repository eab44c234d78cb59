"""Aggregation stages the embedded store runs as MongoDB does, where mongomock does not.

- `$lookup` with `localField`/`foreignField` and a `pipeline`: MongoDB (5.0 and later) runs the
  pipeline per input document over the foreign documents whose `foreignField` equals the
  input's `localField`, served by an index that starts with that equality (a correlated
  sub-query). mongomock raises NotImplementedError for any lookup with a pipeline; this handler
  runs one aggregation per input document (its leading `$match` selects through the embedded
  store's field indexes).
- `$count` of no documents: MongoDB returns no document, mongomock `{field: 0}`.
"""

from __future__ import annotations

from typing import Any

from mongomock import aggregate

_original_lookup = aggregate._handle_lookup_stage


def _lookup(in_collection: list[dict[str, Any]], database: Any, options: dict[str, Any]) -> Any:
    pipeline = options.get("pipeline")
    if pipeline is None:
        return _original_lookup(in_collection, database, options)
    if "let" in options or not {"localField", "foreignField"} <= options.keys():
        raise NotImplementedError("Only $lookup with localField, foreignField and a pipeline.")
    foreign = database.get_collection(options["from"])
    local, field, name = options["localField"], options["foreignField"], options["as"]
    for document in in_collection:
        value = document.get(local)
        first, rest = (pipeline[0], pipeline[1:]) if pipeline else ({}, [])
        if list(first) == ["$match"] and field not in first["$match"]:
            stages = [{"$match": {field: value, **first["$match"]}}, *rest]
        else:
            stages = [{"$match": {field: value}}, *pipeline]
        document[name] = list(foreign.aggregate(stages))
    return in_collection


_original_count = aggregate._handle_count_stage


def _count(in_collection: list[dict[str, Any]], database: Any, options: Any) -> Any:
    counted = _original_count(in_collection, database, options)
    return counted if in_collection else []


def install() -> None:
    aggregate._PIPELINE_HANDLERS["$lookup"] = _lookup
    aggregate._PIPELINE_HANDLERS["$count"] = _count

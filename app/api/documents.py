"""Parsed and validated documents, kept by the digest of their text within a byte budget.

Strawberry's ParserCache and ValidationCache key on the query text and count entries only: 60
distinct whitespace-padded 5 MB queries held 300 MB. Here the key is a SHA-256 digest and every
entry is charged what it holds (the text, which the parsed document keeps for error locations,
and ~500 bytes a token for the syntax tree and its tokens); the least recently used entries go
when the budget is spent, and a document charged more than a share of it is not kept at all.
An execution plan kept with an entry adds its estimated size (app.api.plans.FIELD_BYTES a
planned field, ~30% of a trackEvent document's charge) to the entry's charge.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode

from app.api.measure import Measure

if TYPE_CHECKING:
    from app.api.plans import Plan

TOKEN_BYTES = 500  # measured: a dense document's tree and tokens, per token


@dataclass
class Entry:
    document: DocumentNode
    charge: int
    key: bytes = b""  # its key in the cache, once kept
    errors: list[GraphQLError] | None = None  # validation's verdict, once run
    # by operation name, kept when it did not read variables
    measures: dict[str | None, Measure] = field(default_factory=dict)
    # what a publishable key may not read, by operation name (app.api.scopes)
    forbidden: dict[str | None, list[str]] = field(default_factory=dict)
    # the lean path's execution plan by operation name; None: declined (app.api.plans)
    plans: dict[str | None, Plan | None] = field(default_factory=dict)


class DocumentCache:
    def __init__(self, *, budget_bytes: int = 32 * 1024 * 1024, share: int = 64) -> None:
        self.budget_bytes = budget_bytes
        self.largest_entry = budget_bytes // share
        self.size_bytes = 0  # what the kept entries are charged, in all
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, text: str) -> Entry | None:
        if len(text) > self.largest_entry:
            return None
        key = _digest(text)
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def add(self, text: str, document: DocumentNode) -> Entry:
        """The entry for a freshly parsed document: kept if its charge fits."""
        entry = Entry(document, charge=0)
        if len(text) > self.largest_entry:
            return entry
        entry.charge = charge(text, document)
        if entry.charge > self.largest_entry:
            return entry
        key = entry.key = _digest(text)
        old = self._entries.pop(key, None)
        if old is not None:
            self.size_bytes -= old.charge
        self._entries[key] = entry
        self.size_bytes += entry.charge
        self._within_budget()
        return entry

    def keep_plan(self, entry: Entry, name: str | None, plan: Plan | None) -> None:
        """Keeps the operation's plan (or None: declined) with the entry, charged to it."""
        entry.plans[name] = plan
        if plan is None:
            return
        entry.charge += plan.size_bytes
        if self._entries.get(entry.key) is entry:
            self.size_bytes += plan.size_bytes
            self._within_budget()

    def _within_budget(self) -> None:
        while self.size_bytes > self.budget_bytes:
            _, dropped = self._entries.popitem(last=False)
            self.size_bytes -= dropped.charge


def charge(text: str, document: DocumentNode) -> int:
    """What keeping the document costs: its text and its tokens (the tree is smaller)."""
    tokens = 0
    token = document.loc.start_token if document.loc else None
    while token is not None:
        tokens += 1
        token = token.next
    return len(text.encode("utf-8", "surrogatepass")) + TOKEN_BYTES * tokens


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def chosen_operation(document: DocumentNode, name: object) -> OperationDefinitionNode | None:
    """The operation that runs, as Strawberry picks it: the one named, or the document's first."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            name is None or (definition.name is not None and definition.name.value == name)
        ):
            return definition
    return None


def operation_names(entry: Entry) -> set[str]:
    return {
        d.name.value
        for d in entry.document.definitions
        if isinstance(d, OperationDefinitionNode) and d.name
    }

"""The one list of what a publishable key may read, applied to documents directly."""

from __future__ import annotations

import threading

from graphql import GraphQLSchema, parse

from app.api.schema import build_schema
from app.api.scopes import forbidden_reads

SCHEMA: GraphQLSchema = build_schema()._schema


def refused(document: str, operation_name: str | None = None) -> list[str]:
    return forbidden_reads(SCHEMA, parse(document), operation_name)


def test_what_a_page_needs_is_allowed() -> None:
    assert (
        refused(
            'mutation { trackEvent(input: {name: "a", contact: {anonymousId: "v"}}) '
            "{ __typename event { id name occurredAt receivedAt } contact { id } duplicate "
            "userErrors { field message code } } }"
        )
        == []
    )
    assert (
        refused('subscription { messages(contact: {anonymousId: "v"}) { id body status } }') == []
    )


def test_personal_fields_are_found_through_aliases_and_fragments() -> None:
    document = """
    mutation Page {
      t: trackEvent(input: {name: "a", contact: {anonymousId: "v"}}) { ...P ... { summary { count } } }
    }
    fragment P on TrackEventPayload { c: contact { ... on Contact { email } ...C } event { metadataJson } }
    fragment C on Contact { customAttributes }
    """
    assert refused(document) == [
        "Contact.customAttributes",
        "Contact.email",
        "Event.metadataJson",
        "TrackEventPayload.summary",
    ]


def test_only_the_chosen_operation_counts() -> None:
    document = """
    query Admin { contacts { totalCount } }
    mutation Page { upsertContact(input: {ref: {anonymousId: "v"}}) { userErrors { code } } }
    """
    assert refused(document, "Page") == []
    assert refused(document, "Admin") == ["Query.contacts"]


def test_a_fragment_chain_is_read_once_per_fragment() -> None:
    # F0 spreads F1 twice, F1 spreads F2 twice, ...: 2**60 paths, 60 fragments read.
    chain = "\n".join(
        f"fragment F{i} on ContactPayload {{ ...F{i + 1} ...F{i + 1} }}" for i in range(60)
    )
    document = (
        'mutation { upsertContact(input: {ref: {anonymousId: "v"}}) { ...F0 } }\n'
        f"{chain}\nfragment F60 on ContactPayload {{ contact {{ name }} }}"
    )
    # Run in a daemon thread so that a regression fails the test instead of hanging it.
    found: list[list[str]] = []
    walk = threading.Thread(target=lambda: found.append(refused(document)), daemon=True)
    walk.start()
    walk.join(60)
    assert found == [["Contact.name"]], "the walk did not finish: it is no longer linear"

"""The plan builder: which documents get an execution plan, and how each field resolves;
the runner's answer for a resolver that breaks the rule; the plan charged to the cache."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from inspect import isawaitable
from typing import Annotated, Any

import pytest
import strawberry
from graphql import ExecutionResult, execute, parse
from strawberry.execution import optimized_is_awaitable
from strawberry.types.field import StrawberryField

from app.api import plans as plans_module
from app.api.documents import DocumentCache, charge
from app.api.planned import execute_plan
from app.api.plans import MIRRORED, Field, Kind, NonNull, Object, Plan, build_plan, mirrored
from app.api.schema import TallySchema, build_schema

SCHEMA = build_schema()
# Plans are built with the Strawberry and graphql-core releases they mirror only: with others,
# the tests that need a plan skip (graphql-core's execute answers, correct and slower)
requires_plans = pytest.mark.skipif(
    not mirrored(),
    reason=(
        f"execution plans mirror strawberry-graphql {MIRRORED['strawberry-graphql']}.x and "
        f"graphql-core {MIRRORED['graphql-core']}.x; installed are strawberry-graphql "
        f"{version('strawberry-graphql')} and graphql-core {version('graphql-core')}"
    ),
)
TRACK = """mutation Track($input: TrackEventInput!) {
  t: trackEvent(input: $input) {
    __typename duplicate summary { count }
    event { id } contact { eventSummaries(names: ["a"]) { name } }
  }
}"""


def plan(document: str, name: str | None = None, schema: TallySchema = SCHEMA) -> Plan | None:
    return build_plan(schema, parse(document), name)


def fields(of: Field) -> dict[str, Field]:
    completion = of.completion
    while isinstance(completion, NonNull):
        completion = completion.of
    assert isinstance(completion, Object)
    return {f.key: f for f in completion.fields}


@requires_plans
def test_a_track_event_is_planned_field_by_field() -> None:
    planned = plan(TRACK)
    assert planned is not None
    assert planned.serially
    [root] = planned.fields
    assert (root.key, root.kind, root.has_arguments) == ("t", Kind.CALL, True)
    payload = fields(root)
    assert list(payload) == ["__typename", "duplicate", "summary", "event", "contact"]
    assert payload["__typename"].kind is Kind.TYPENAME
    assert payload["__typename"].name == "TrackEventPayload"
    assert payload["duplicate"].kind is Kind.ATTRIBUTE  # a dataclass attribute: getattr
    assert payload["duplicate"].call is getattr
    assert payload["duplicate"].name == "duplicate"
    assert fields(payload["summary"])["count"].kind is Kind.ATTRIBUTE
    event_id = fields(payload["event"])["id"]
    assert event_id.kind is Kind.METHOD
    assert event_id.with_self
    # a resolver with arguments: converted as Strawberry's wrapper does
    assert fields(payload["contact"])["eventSummaries"].kind is Kind.CALL


@requires_plans
def test_queries_of_one_root_field_are_planned() -> None:
    assert plan("{ workspace { id identitySecret } }") is not None  # info: Strawberry's
    assert plan("query Q($r: ContactRef!) { contact(ref: $r) { id } }") is not None
    assert plan("{ __typename }") is not None


@requires_plans
@pytest.mark.parametrize(
    "document",
    [
        "{ workspace { id } eventTypes { name } }",  # concurrent root fields
        'subscription { messages(contact: {anonymousId: "a"}) { id } }',
        "{ workspace { ...W } } fragment W on Workspace { id }",
        "{ workspace { ... on Workspace { id } } }",
        "{ workspace { ... { id } } }",
        "{ workspace { id @include(if: true) } }",
        "{ workspace { id @skip(if: false) } }",
        "query @disableErrorPropagation { workspace { id } }",
        "{ workspace { id id } }",  # one response name twice: graphql-core merges
        "{ workspace { x: id x: name } }",
        "{ __schema { queryType { name } } }",
        '{ __type(name: "Contact") { name } }',
        '{ contact(ref: {userId: "u"}) { activity { edges { cursor } } } }',  # async below
        "{ contacts { totalCount } }",
        """mutation { trackEvent(input: {name: "a", contact: {userId: "u"}}) {
             event { metadata { value { ... on StringValue { string } } } } } }""",  # a union
        "{ workspace { id } } { apiKeys { id } }",  # several operations, no name
    ],
)
def test_documents_outside_the_subset_are_declined(document: str) -> None:
    assert plan(document) is None


@requires_plans
def test_operation_names_are_resolved_as_graphql_core_does() -> None:
    two = "query A { workspace { id } } mutation B { rotateWebhookSecret { userErrors { code } } }"
    a, b = plan(two, "A"), plan(two, "B")
    assert a is not None
    assert a.operation.name is not None
    assert a.operation.name.value == "A"
    assert b is not None
    assert b.serially
    assert plan(two, "C") is None
    assert plan(two) is None  # graphql-core: "Must provide operation name …"


def test_schema_exception_handlers_decline_every_document() -> None:
    schema = build_schema()
    schema.exception_handlers = (object(),)  # type: ignore[assignment]
    assert plan(TRACK, schema=schema) is None


@requires_plans
def test_a_fault_while_planning_leaves_the_operation_to_graphql_core(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def moved(*args: object, **kwargs: object) -> None:
        raise AttributeError("'StrawberryResolver' object has no attribute 'info_parameter'")

    monkeypatch.setattr("app.api.plans.planned_call", moved)
    assert plan(TRACK) is None
    [record] = caplog.records
    assert record.getMessage() == "No execution plan for the operation None"
    assert record.exc_info is not None


class Doubled(StrawberryField):
    """strawberry_django's pattern: a field class with its own get_result."""

    def get_result(self, source: Any, info: Any, args: Any, kwargs: Any) -> Any:
        value: Any = super().get_result(source, info, args, kwargs)
        return 2 * value


async def _two() -> int:
    return 2


@strawberry.type
class Item:
    n: int
    doubled: int = Doubled(default=21)  # type: ignore[assignment]

    @strawberry.field
    def later(self) -> int:  # a plain def handing on an awaitable (the DataLoader idiom)
        return _two()  # type: ignore[return-value]


@strawberry.type
class SmallQuery:
    @strawberry.field
    async def item(self) -> Item:
        return Item(n=1)

    @strawberry.field
    async def echo(self, info_: Annotated[int, strawberry.argument(name="info")]) -> int:
        return info_

    @strawberry.field
    async def echo_n(self, n: int) -> int:
        return n


SMALL = strawberry.Schema(query=SmallQuery)


async def answers(text: str) -> tuple[ExecutionResult, ExecutionResult | None]:
    """graphql-core's answer, and the plan's (None: declined)."""
    document = parse(text)
    options: dict[str, Any] = {
        "is_awaitable": optimized_is_awaitable,
        "executor_class": SMALL.execution_context_class,
    }
    core = execute(SMALL._schema, document, **options)
    core = await core if isawaitable(core) else core
    assert isinstance(core, ExecutionResult)
    planned = build_plan(SMALL, document, None)
    if planned is None:
        return core, None
    mine = execute_plan(
        planned, schema=SMALL._schema, context=None, variables=None, extensions=None, **options
    )
    mine = await mine if isawaitable(mine) else mine
    assert isinstance(mine, ExecutionResult)
    return core, mine


@requires_plans
async def test_a_field_class_of_its_own_is_declined() -> None:
    core, planned = await answers("{ item { n doubled } }")
    assert planned is None  # its get_result is not the attribute read a plan would do
    assert core.data == {"item": {"n": 1, "doubled": 42}}
    core, planned = await answers("{ item { n } }")
    assert planned is not None
    assert planned.formatted == core.formatted


@requires_plans
async def test_an_argument_named_as_a_resolver_parameter_is_declined() -> None:
    core, planned = await answers("{ echo(info: 3) }")
    assert planned is None  # graphql-core's executor answers Strawberry's TypeError
    assert core.errors is not None
    assert "multiple values for argument 'info'" in core.errors[0].message
    core, planned = await answers("{ echoN(n: 3) }")
    assert planned is not None
    assert planned.formatted == core.formatted == {"data": {"echoN": 3}}


@requires_plans
async def test_a_plain_def_below_the_root_returning_an_awaitable_is_an_explicit_error() -> None:
    core, planned = await answers("{ item { n later } }")
    assert core.data == {"item": {"n": 1, "later": 2}}  # graphql-core awaits it
    assert planned is not None  # the builder cannot see what a plain def returns
    assert planned.data is None  # Int! in an Item!: the error reaches the root
    assert planned.errors is not None
    [error] = planned.errors
    assert error.path == ["item", "later"]
    assert error.message == (
        "Item.later gave an awaitable or async iterable: resolvers below the root fields "
        "must return values (docs/design.md, execution plans)."
    )


@requires_plans
def test_a_kept_plan_is_charged_to_the_document_cache() -> None:
    cache = DocumentCache(budget_bytes=8 * 1024 * 1024)
    document = parse(TRACK)
    entry = cache.add(TRACK, document)
    assert cache.size_bytes == entry.charge == charge(TRACK, document)
    planned = build_plan(SCHEMA, document, None)
    assert planned is not None
    cache.keep_plan(entry, None, planned)
    assert entry.plans == {None: planned}
    assert planned.variables is not None  # ten planned fields and the variables' coercion
    assert planned.size_bytes == 10 * plans_module.FIELD_BYTES + planned.variables.size_bytes
    assert cache.size_bytes == entry.charge == charge(TRACK, document) + planned.size_bytes
    cache.keep_plan(entry, "Other", None)  # a declined operation costs nothing
    assert cache.size_bytes == entry.charge == charge(TRACK, document) + planned.size_bytes


@pytest.fixture
def versions(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The installed versions as `mirrored` reads them, to be changed by the test."""
    installed = {"strawberry-graphql": "0.341.2", "graphql-core": "3.3.2"}

    def installed_version(name: str) -> str:
        if installed[name] == "unknown":
            raise PackageNotFoundError(name)
        return installed[name]

    monkeypatch.setattr(plans_module, "version", installed_version)
    mirrored.cache_clear()
    yield installed
    mirrored.cache_clear()


@pytest.mark.parametrize(
    ("strawberry_version", "graphql_core_version", "planned"),
    [
        pytest.param("0.341.2", "3.3.2", True, marks=requires_plans),
        pytest.param("0.341.0", "3.3.9", True, marks=requires_plans),
        ("0.342.0", "3.3.2", False),
        ("0.341.2", "3.4.0", False),
        ("0.341.2", "3.3.3a1", False),
        ("1.0.0", "4.0.0", False),
        ("unknown", "3.3.2", False),  # not installed as a distribution
    ],
)
def test_plans_are_built_only_with_the_mirrored_versions(
    versions: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    strawberry_version: str,
    graphql_core_version: str,
    planned: bool,
) -> None:
    versions.update(
        {"strawberry-graphql": strawberry_version, "graphql-core": graphql_core_version}
    )
    for _ in range(3):
        assert (plan(TRACK) is not None) is planned
    if planned:
        assert caplog.records == []
    else:
        [record] = caplog.records  # once, not per document
        assert record.levelname == "WARNING"
        assert record.getMessage() == (
            f"No execution plans: they mirror strawberry-graphql {MIRRORED['strawberry-graphql']}.x"
            f" and graphql-core {MIRRORED['graphql-core']}.x, "
            f"installed are strawberry-graphql {strawberry_version} and graphql-core "
            f"{graphql_core_version}; graphql-core's execute answers every operation"
        )

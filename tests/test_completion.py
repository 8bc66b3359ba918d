"""Compiled completion (schema.execution.completion) answers exactly as graphql-core's own.

The same documents run over the same values on two schemas that differ only in their executor:
imql's (which completes plain selections with the compiled closures) and Strawberry's plain one
(graphql-core's completion throughout). Values of every shape the compiled path must decline are
among them: nulls where the type is non-null, values of the wrong type, failed coercions, raising
attributes, awaitables, exceptions as values, iterables that are not lists, objects that are not
of the type. Data and errors (messages, paths, locations) must be equal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Annotated, Any

import pytest
import strawberry
from graphql import FieldNode, OperationDefinitionNode, parse

from schema.execution.completion import COMPLETIONS, compile_completion
from schema.execution.executor import SharedEventExecutor


@strawberry.enum
class Color(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leafy:
    text: str
    maybe: str | None
    number: int
    ratio: float
    flag: bool
    color: Color
    ident: strawberry.ID
    tags: list[str]
    maybe_tags: list[str | None] | None


SEEN: list[tuple[str, list[str | int]]] = []  # what Tracked.is_type_of was asked, with which info


@strawberry.type
class Tracked:
    label: str

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        SEEN.append((info.field_name, info.path.as_list()))
        return isinstance(obj, cls)


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Child(Named):  # an interface: Strawberry gives it an is_type_of
    leafy: Leafy
    maybe_leafy: Leafy | None
    tracked: list[Tracked] | None = None


@strawberry.type
class Parent:
    children: list[Child]
    child: Child | None

    @strawberry.field
    def computed(self) -> str:
        return "computed"


@strawberry.type
class Cat:
    name: str
    lives: int


@strawberry.type
class Dog:
    name: str
    good: bool


Pet = Annotated[Cat | Dog, strawberry.union("Pet")]

CURRENT: dict[str, Any] = {}


@strawberry.type
class Query:
    @strawberry.field
    def pets(self) -> list[Pet | None]:
        return CURRENT["pets"]  # type: ignore[no-any-return]

    @strawberry.field
    def parent(self) -> Parent | None:
        return CURRENT["parent"]  # type: ignore[no-any-return]

    @strawberry.field
    async def later(self) -> Parent:
        await asyncio.sleep(0)
        return CURRENT["parent"]  # type: ignore[no-any-return]


COMPILED = strawberry.Schema(query=Query, execution_context_class=SharedEventExecutor)
GRAPHQL_CORE = strawberry.Schema(query=Query)

LEAVES = "text maybe number ratio flag color ident tags maybeTags"
DOCUMENTS = {  # name: (document, whether `parent`'s completion compiles)
    "plain": (
        f"{{ parent {{ children {{ name leafy {{ {LEAVES} }} maybeLeafy {{ text }} tracked {{ label }} __typename }} "
        "child { name } } }",
        True,
    ),
    "aliases": ("{ parent { a: children { n: name l: leafy { t: text } } b: child { name } } }", True),
    "async root": (f"{{ later {{ children {{ name leafy {{ {LEAVES} }} }} }} }}", True),
    "fragment": ("{ parent { children { ...F } } } fragment F on Child { name leafy { text } }", False),
    "directive": ("{ parent { children { name @include(if: true) } } }", False),
    "resolver": ("{ parent { computed children { name } } }", False),
    "merged": ("{ parent { children { name } children { leafy { text } } } }", False),
}


def leafy(**changes: Any) -> Leafy:
    fields: dict[str, Any] = {
        "text": "t",
        "maybe": None,
        "number": 7,
        "ratio": 0.5,
        "flag": True,
        "color": Color.BLUE,
        "ident": "id-1",
        "tags": ["a", "b"],
        "maybe_tags": ["x", None],
    }
    fields.update(changes)
    return Leafy(**fields)


def parent(children: Any = None, **leaf_changes: Any) -> Parent:
    if children is None:
        children = [
            Child(name=f"c{n}", leafy=leafy(**leaf_changes), maybe_leafy=None, tracked=[Tracked(label=f"t{n}")])
            for n in range(2)
        ]
    return Parent(children=children, child=Child(name="only", leafy=leafy(), maybe_leafy=leafy()))


class Raising:
    """A source whose attribute raises (Leafy has no is_type_of, so graphql-core reads it)."""

    @property
    def text(self) -> str:
        raise ValueError("the attribute broke")


class Impostor:
    """Every attribute of a Child, yet not one: Child's is_type_of refuses it."""

    def __init__(self) -> None:
        self.name = "impostor"
        self.leafy = leafy()
        self.maybe_leafy = None

    def __repr__(self) -> str:
        return "<Impostor>"


async def _value(text: str) -> str:
    return text


def _generator() -> Iterator[str]:
    yield from ("g1", "g2")


VALUES: dict[str, Callable[[], Parent | None]] = {
    "good": parent,
    "no parent": lambda: None,
    "text numbers are coerced": lambda: parent(text=5, ident=12),
    "null in a non-null leaf": lambda: parent(text=None),
    "an int that is not one": lambda: parent(number="x"),
    "an int past 32 bits": lambda: parent(number=2**40),
    "a boolean that is not one": lambda: parent(flag="yes"),
    "not a color": lambda: parent(color="green"),
    "a builtin as text": lambda: parent(text=["not", "text"]),
    "a tuple list": lambda: parent(tags=("t1", "t2")),
    "a generator list": lambda: parent(tags=_generator()),
    "null in a non-null list": lambda: parent(tags=None),
    "null item in a non-null list": lambda: parent(tags=["a", None]),
    "not a list": lambda: parent(tags="abc"),
    "an exception as a value": lambda: parent(text=ValueError("a value that is an error")),
    "a raising attribute": lambda: parent(children=[Child(name="c", leafy=Raising(), maybe_leafy=None)]),  # type: ignore[arg-type]
    "an awaitable attribute": lambda: parent(children=[Child(name=_value("awaited"), leafy=leafy(), maybe_leafy=None)]),  # type: ignore[arg-type]
    "a null child": lambda: parent(children=[None]),
    "not a child": lambda: parent(children=[leafy()]),
    "an impostor child": lambda: parent(children=[Impostor()]),
    "no children": lambda: parent(children=[]),
}


def _answer(result: Any) -> tuple[Any, list[Any]]:
    return result.data, [error.formatted for error in result.errors or []]


@pytest.mark.parametrize("document", list(DOCUMENTS))
@pytest.mark.parametrize("value", list(VALUES))
async def test_compiled_completion_answers_as_graphql_core_does(document: str, value: str) -> None:
    query, _ = DOCUMENTS[document]
    answers = []
    for schema in (COMPILED, GRAPHQL_CORE):
        CURRENT["parent"] = VALUES[value]()
        SEEN.clear()
        answers.append((_answer(await schema.execute(query)), list(SEEN)))
    (compiled, compiled_seen), (graphql_core, graphql_core_seen) = answers
    assert compiled == graphql_core
    assert compiled_seen == graphql_core_seen  # a nested is_type_of sees the same resolve info
    if value == "good":
        assert not compiled[1]
        if document == "plain":
            assert compiled_seen == [("tracked", ["parent", "children", n, "tracked"]) for n in range(2)]


UNION_DOCUMENTS = {  # name: (document, whether `pets`' completion compiles)
    "members": ("{ pets { __typename ... on Cat { name lives } ... on Dog { n: name good } } }", True),
    "on the union": ("{ pets { ... on Pet { __typename } ... on Cat { name } } }", True),
    "nested": ("{ pets { ... { ... on Dog { good } } } }", True),
    "merged in one member": ("{ pets { __typename ... on Cat { __typename name } } }", True),  # Cat's: graphql-core's
    "spread": ("{ pets { ...C } } fragment C on Cat { name }", False),
    "directive": ("{ pets { ... on Cat @include(if: true) { name } } }", False),
}
UNION_VALUES: dict[str, Callable[[], list[Any]]] = {
    "good": lambda: [Cat(name="tom", lives=9), Dog(name="rex", good=True), None],
    "no pets": lambda: [],
    "not a member": lambda: [leafy()],
    "null in a member's non-null field": lambda: [Cat(name=None, lives=9)],  # type: ignore[arg-type]
    "an int that is not one": lambda: [Cat(name="tom", lives="many")],  # type: ignore[arg-type]
    "an exception as a value": lambda: [ValueError("a pet that is an error")],
}


@pytest.mark.parametrize("document", list(UNION_DOCUMENTS))
@pytest.mark.parametrize("value", list(UNION_VALUES))
async def test_a_unions_compiled_completion_answers_as_graphql_core_does(document: str, value: str) -> None:
    query, _ = UNION_DOCUMENTS[document]
    answers = []
    for schema in (COMPILED, GRAPHQL_CORE):
        CURRENT["pets"] = UNION_VALUES[value]()
        answers.append(_answer(await schema.execute(query)))
    assert answers[0] == answers[1]
    if value == "good":
        assert not answers[0][1]


@pytest.mark.parametrize("document", list(UNION_DOCUMENTS))
def test_unions_with_inline_fragments_compile(document: str) -> None:
    query, compiles = UNION_DOCUMENTS[document]
    field = _root_field(query)
    root = COMPILED._schema.query_type
    assert root is not None
    assert (compile_completion(root.fields["pets"].type, field) is not None) is compiles


async def test_a_unions_members_are_completed_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """graphql-core's abstract-value completion (resolving the type, collecting the fragments'
    fields) runs only for the values the compiled path declines."""
    walked: list[str] = []
    original = SharedEventExecutor.complete_abstract_value

    def counted(self: Any, return_type: Any, *args: Any) -> Any:
        walked.append(return_type.name)
        return original(self, return_type, *args)

    monkeypatch.setattr(SharedEventExecutor, "complete_abstract_value", counted)
    CURRENT["pets"] = UNION_VALUES["good"]()
    result = await COMPILED.execute(UNION_DOCUMENTS["members"][0])
    assert not result.errors
    assert walked == []
    CURRENT["pets"] = UNION_VALUES["not a member"]()
    await COMPILED.execute(UNION_DOCUMENTS["members"][0])
    assert walked == ["Pet"]


def _root_field(query: str) -> FieldNode:
    operation = parse(query).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    field = operation.selection_set.selections[0]
    assert isinstance(field, FieldNode)
    return field


@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_plain_selections_compile_and_the_rest_are_left_to_graphql_core(document: str) -> None:
    query, compiles = DOCUMENTS[document]
    field = _root_field(query)
    root = COMPILED._schema.query_type
    assert root is not None
    assert (compile_completion(root.fields[field.name.value].type, field) is not None) is compiles


async def test_the_compiled_completion_is_what_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not graphql-core's completion under another name: its object walk never runs for a plain
    selection of good values, and does for values the compiled path declines."""
    walked: list[str] = []
    original = SharedEventExecutor.complete_object_value

    def counted(self: Any, return_type: Any, *args: Any) -> Any:
        walked.append(return_type.name)
        return original(self, return_type, *args)

    monkeypatch.setattr(SharedEventExecutor, "complete_object_value", counted)
    CURRENT["parent"] = parent()
    result = await COMPILED.execute(DOCUMENTS["plain"][0])
    assert not result.errors
    assert walked == []
    CURRENT["parent"] = parent(text=None)
    await COMPILED.execute(DOCUMENTS["plain"][0])
    assert "Leafy" in walked


def test_compiled_completions_are_kept_per_type_and_node_within_a_bound() -> None:
    field = _root_field(DOCUMENTS["plain"][0])
    root = COMPILED._schema.query_type
    assert root is not None
    return_type = root.fields["parent"].type

    class Details:
        node = field
        defer_usage = None
        fragment_variable_values = None

    first = COMPLETIONS.get(return_type, Details())  # type: ignore[arg-type]
    assert first is not None
    assert COMPLETIONS.get(return_type, Details()) is first  # type: ignore[arg-type]
    assert COMPLETIONS.get(return_type, Details()) is not None  # type: ignore[arg-type]

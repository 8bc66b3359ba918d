"""GraphQL documents built from the schema itself: a root field called with variables typed as the
schema types them, selecting every field of the result (to a depth), so a test can call any API
by name and see everything it answers."""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLType,
    GraphQLUnionType,
    get_named_type,
)

from schema.build import build_schema


@cache
def graphql_schema() -> GraphQLSchema:
    schema: GraphQLSchema = build_schema()._schema
    return schema


def root_fields() -> Iterator[tuple[str, str, GraphQLField]]:
    """("query" / "mutation", name, field) of every root query and mutation field."""
    schema = graphql_schema()
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            yield kind, name, field


def argument_paths(field: GraphQLField) -> Iterator[tuple[str, ...]]:
    """Every argument of a field, and every field of its input objects, as a path of names."""

    def walk(prefix: tuple[str, ...], of: GraphQLType, seen: frozenset[str]) -> Iterator[tuple[str, ...]]:
        named = get_named_type(of)
        if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            for name, inner in named.fields.items():
                yield (*prefix, name)
                yield from walk((*prefix, name), inner.type, seen | {named.name})

    for name, arg in field.args.items():
        yield (name,)
        yield from walk((name,), arg.type, frozenset())


@cache
def selection(of: GraphQLType, depth: int = 4) -> str:
    """A selection set with every field of `of` (object fields to `depth` levels), or "" for a leaf."""
    named = get_named_type(of)
    if isinstance(named, GraphQLUnionType):
        parts = [f"... on {t.name} {selection(t, depth)}" for t in named.types]
        return "{ __typename " + " ".join(parts) + " }"
    if not isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        return ""
    parts = []
    for name, field in named.fields.items():
        if any(isinstance(a.type, GraphQLNonNull) for a in field.args.values()):
            continue  # needs arguments
        inner = get_named_type(field.type)
        if isinstance(inner, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
            if depth > 0:
                parts.append(f"{name} {selection(inner, depth - 1)}")
        else:
            parts.append(name)
    return "{ " + " ".join(parts or ["__typename"]) + " }"


def _type_text(of: GraphQLType) -> str:
    if isinstance(of, GraphQLNonNull):
        return f"{_type_text(of.of_type)}!"
    if isinstance(of, GraphQLList):
        return f"[{_type_text(of.of_type)}]"
    return str(get_named_type(of).name)


def document(field_name: str, args: dict[str, Any]) -> str:
    """A document calling one root field with `args` as variables, selecting its whole result."""
    return _document(field_name, tuple(args))


@cache
def _document(field_name: str, args: tuple[str, ...]) -> str:
    kinds = {name: kind for kind, name, _ in root_fields()}
    if field_name not in kinds:
        raise KeyError(field_name)
    kind, field = kinds[field_name], _fields()[field_name]
    unknown = set(args) - set(field.args)
    assert not unknown, f"{field_name} takes no {sorted(unknown)}"
    declared = ", ".join(f"${a}: {_type_text(field.args[a].type)}" for a in args)
    passed = ", ".join(f"{a}: ${a}" for a in args)
    head = f"{kind}({declared})" if args else kind
    call = f"{field_name}({passed})" if args else field_name
    return f"{head} {{ {call} {selection(field.type)} }}"


@cache
def _fields() -> dict[str, GraphQLField]:
    return {name: field for _, name, field in root_fields()}


def combined_query(
    calls: dict[str, tuple[str, dict[str, Any]]], selections: dict[str, str] | None = None, depth: int = 4
) -> tuple[str, dict[str, Any]]:
    """One query document for several root query fields, each under its alias: {alias: (field, args)},
    selecting everything unless `selections` names the alias. Returns the document and its variables."""
    fields = _fields()
    declared, parts, variables = [], [], {}
    for alias, (field_name, args) in calls.items():
        field = fields[field_name]
        passed = []
        for arg, value in args.items():
            variable = f"{alias}_{arg}"
            declared.append(f"${variable}: {_type_text(field.args[arg].type)}")
            passed.append(f"{arg}: ${variable}")
            variables[variable] = value
        call = f"{field_name}({', '.join(passed)})" if passed else field_name
        parts.append(f"{alias}: {call} {(selections or {}).get(alias) or selection(field.type, depth)}")
    head = f"query({', '.join(declared)})" if declared else "query"
    return f"{head} {{ {' '.join(parts)} }}", variables

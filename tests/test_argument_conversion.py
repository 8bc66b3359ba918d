"""schema.execution.arguments: every argument of every field of the schema converts exactly as
Strawberry's own convert_arguments converts it, and scalars and enums skip its per-value checks."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    coerce_input_value,
)
from strawberry.schema import schema_converter
from strawberry.types.unset import UNSET

from schema.build import build_schema
from schema.execution import arguments as conversion

SCHEMA = build_schema()
SAMPLES: dict[str, Any] = {
    "String": "text",
    "ID": "id-1",
    "Int": 7,
    "Float": 1.5,
    "Boolean": True,
    "Long": "12",
    "Upload": object(),
}


def json_sample(type_: GraphQLInputType, depth: int = 0) -> Any:
    """A JSON value of `type_` as a client sends it (every input field given, to a depth)."""
    if isinstance(type_, GraphQLNonNull):
        return json_sample(type_.of_type, depth)
    if isinstance(type_, GraphQLList):
        return [json_sample(type_.of_type, depth), json_sample(type_.of_type, depth)]
    if isinstance(type_, GraphQLEnumType):
        return list(type_.values)[-1]
    if isinstance(type_, GraphQLScalarType):
        return SAMPLES[type_.name]
    assert isinstance(type_, GraphQLInputObjectType)
    if depth > 3:
        return None
    return {
        name: json_sample(field.type, depth + 1)
        for name, field in type_.fields.items()
        if depth < 3 or isinstance(field.type, GraphQLNonNull)
    }


def fields() -> list[tuple[str, GraphQLField]]:
    schema = SCHEMA._schema
    roots = [schema.query_type, schema.mutation_type, schema.subscription_type]
    found = []
    for root in roots:
        assert root is not None
        for name, field in root.fields.items():
            if field.args and "strawberry-definition" in field.extensions:
                found.append((f"{root.name}.{name}", field))
    return found


FIELDS = fields()


def both(field: GraphQLField, value: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    definition = field.extensions["strawberry-definition"]
    registry = SCHEMA.schema_converter.scalar_registry
    ours = conversion.convert_arguments(value, definition.arguments, registry, SCHEMA.config)
    theirs = conversion.strawberry_convert_arguments(value, definition.arguments, registry, SCHEMA.config)
    return ours, theirs


def same(ours: Any, theirs: Any) -> None:
    assert type(ours) is type(theirs)
    assert repr(ours) == repr(theirs)
    if isinstance(ours, dict):
        assert list(ours) == list(theirs)
        for key in ours:
            same(ours[key], theirs[key])
    elif isinstance(ours, list):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            same(a, b)
        assert ours is not theirs


@pytest.mark.parametrize(("name", "field"), FIELDS, ids=[n for n, _ in FIELDS])
def test_every_argument_converts_as_strawberry_converts_it(name: str, field: GraphQLField) -> None:
    given = {arg_name: coerce_input_value(json_sample(arg.type), arg.type) for arg_name, arg in field.args.items()}
    ours, theirs = both(field, given)
    same(ours, theirs)
    for arg_name, arg in field.args.items():  # each null (where allowed) and each absent
        if not isinstance(arg.type, GraphQLNonNull):
            same(*both(field, {**given, arg_name: None}))
        same(*both(field, {k: v for k, v in given.items() if k != arg_name}))
    same(*both(field, dict.fromkeys(given, UNSET)))


def test_a_list_is_copied_not_shared() -> None:
    field = SCHEMA._schema.query_type.fields["getUsersInfo"]  # type: ignore[union-attr]
    shared = ["a", "b"]
    converted = conversion.convert_arguments(
        {"userIDList": shared},
        field.extensions["strawberry-definition"].arguments,
        SCHEMA.schema_converter.scalar_registry,
        SCHEMA.config,
    )
    assert converted == {"userIDList": ["a", "b"]}
    assert converted["userIDList"] is not shared


def test_scalars_and_enums_are_taken_as_they_are() -> None:
    field = SCHEMA._schema.mutation_type.fields["sendTextMessage"]  # type: ignore[union-attr]
    definition = field.extensions["strawberry-definition"]
    registry = SCHEMA.schema_converter.scalar_registry
    kinds = {a.python_name: conversion.conversion_of(a.type, registry) for a in definition.arguments}
    # an input object: Strawberry's own, but a null as it is
    assert kinds.pop("offlinePushInfo") == conversion.STRAWBERRY_UNLESS_NONE
    assert set(kinds.values()) == {conversion.AS_IS}, kinds


def test_a_null_input_object_is_not_handed_to_strawberry(monkeypatch: pytest.MonkeyPatch) -> None:
    """sendTextMessage's offlinePushInfo is null in nearly every send: Strawberry's
    convert_argument (a dozen checks to answer None) is called only for a value."""
    field = SCHEMA._schema.mutation_type.fields["sendTextMessage"]  # type: ignore[union-attr]
    definition = field.extensions["strawberry-definition"]
    registry = SCHEMA.schema_converter.scalar_registry
    calls: list[Any] = []

    def counted(**kwargs: Any) -> Any:
        calls.append(kwargs["value"])
        return "converted"

    monkeypatch.setattr(conversion, "_convert_argument", counted)
    given = {"text": "hi", "offlinePushInfo": None}
    converted = conversion.convert_arguments(given, definition.arguments, registry, SCHEMA.config)
    assert converted == {"text": "hi", "offlinePushInfo": None}
    assert calls == []
    push = {"title": "t"}
    converted = conversion.convert_arguments(
        {**given, "offlinePushInfo": push}, definition.arguments, registry, SCHEMA.config
    )
    assert converted["offlinePushInfo"] == "converted"
    assert calls == [push]


def test_installed_where_strawberry_resolvers_call_it() -> None:
    assert getattr(schema_converter, "convert_arguments") is conversion.convert_arguments  # noqa: B009 (not exported: mypy)

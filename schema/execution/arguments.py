"""Strawberry's conversion of a field's arguments, worked out once per field.

Before every resolver call Strawberry converts the arguments graphql-core coerced into Python
values (`convert_arguments`): for each declared argument a name lookup, then `convert_argument`,
which imports three names and runs a dozen isinstance checks to find out, for a scalar or an
enum, that the value stays as it is. sendTextMessage has 14 arguments, and graphql-core hands
over every one with a default: py-spy put the conversion at ~3.4% of a one-request send's server
CPU (bench c2c-cost load). What an argument's conversion does is a fact of its type, so it is
worked out once per field's argument list here:
- a scalar or an enum (optional or not, GlobalID aside): the value as it is;
- a list of those: a copy of the list (Strawberry copies it: graphql-core hands every request
  the same default list), None and UNSET as they are;
- anything else (input objects, Maybe, lazy types, GlobalID): Strawberry's convert_argument,
  called exactly as Strawberry calls it; except a None of a type with no Maybe in it, which it
  answers None as soon as it has looked through the type's optional wrappers (so here at once:
  sendTextMessage's offlinePushInfo, an input object, is None in nearly every send).

`install()` puts `convert_arguments` where Strawberry's resolvers call it
(strawberry.schema.schema_converter's global of that name; schema.build calls it);
tests/test_argument_conversion.py converts values of every argument of the schema both ways and
compares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strawberry.relay.types import GlobalID
from strawberry.schema import schema_converter
from strawberry.types import arguments as strawberry_arguments
from strawberry.types.base import StrawberryList, StrawberryMaybe, StrawberryOptional
from strawberry.types.enum import has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET

# what an argument's conversion does
AS_IS = 0
LIST_COPY = 1
STRAWBERRY = 2  # Strawberry's convert_argument, whatever the value (a Maybe)
STRAWBERRY_UNLESS_NONE = 3  # None as it is, anything else Strawberry's convert_argument

_strawberry_convert_arguments = strawberry_arguments.convert_arguments
_convert_argument = strawberry_arguments.convert_argument
_is_leaf_type = strawberry_arguments._is_leaf_type
_is_optional_leaf_type = strawberry_arguments._is_optional_leaf_type

# (GraphQL name, Python name, what its conversion does, its Strawberry type)
Step = tuple[str, str, int, Any]
# id(argument list) → (the list, the registry, the config, its steps): the objects are held, so
# their ids cannot be reused while the entry lives; a schema's fields are a fixed set
_plans: dict[int, tuple[Any, Any, Any, tuple[Step, ...]]] = {}


def conversion_of(type_: Any, scalar_registry: Mapping[object, Any]) -> int:
    """What Strawberry's convert_argument does with a value of `type_` (AS_IS, LIST_COPY,
    STRAWBERRY_UNLESS_NONE, or STRAWBERRY: a Maybe), decided by the same checks in the same order."""
    if isinstance(type_, StrawberryMaybe):
        return STRAWBERRY
    while isinstance(type_, StrawberryOptional):
        if isinstance(type_, StrawberryMaybe):
            return STRAWBERRY
        type_ = type_.of_type
    # no Maybe from here on: convert_argument answers a None with None (its check right after
    # the optional wrappers), whatever the type below them
    if isinstance(type_, StrawberryList):
        item = type_.of_type
        skip = (GlobalID,)
        if _is_leaf_type(item, scalar_registry, skip_classes=skip) or _is_optional_leaf_type(
            item, scalar_registry, skip_classes=skip
        ):
            return LIST_COPY
        return STRAWBERRY_UNLESS_NONE
    if _is_leaf_type(type_, scalar_registry):
        return STRAWBERRY_UNLESS_NONE if type_ is GlobalID else AS_IS
    if isinstance(type_, LazyType):
        return STRAWBERRY_UNLESS_NONE
    if has_enum_definition(type_):
        return AS_IS  # converted as its enum definition, a leaf: the value as it is
    return STRAWBERRY_UNLESS_NONE


def _plan(arguments: list[Any], scalar_registry: Mapping[object, Any], config: Any) -> tuple[Step, ...]:
    kept = _plans.get(id(arguments))
    if kept is not None and kept[0] is arguments and kept[1] is scalar_registry and kept[2] is config:
        return kept[3]
    steps = []
    for argument in arguments:
        assert argument.python_name
        name = config.name_converter.from_argument(argument)
        type_ = argument.type
        steps.append((name, argument.python_name, conversion_of(type_, scalar_registry), type_))
    plan = tuple(steps)
    _plans[id(arguments)] = (arguments, scalar_registry, config, plan)
    return plan


def convert_arguments(
    value: dict[str, Any],
    arguments: list[Any],
    scalar_registry: Mapping[object, Any],
    config: Any,
    info: Any = None,
) -> dict[str, Any]:
    """Strawberry's convert_arguments (same arguments, same result), by the field's plan."""
    if not arguments:
        return {}
    kwargs: dict[str, Any] = {}
    for name, python_name, conversion, type_ in _plan(arguments, scalar_registry, config):
        if name not in value:
            continue
        current = value[name]
        if conversion == AS_IS:
            kwargs[python_name] = current
        elif conversion == LIST_COPY:
            kwargs[python_name] = current if current is None or current is UNSET else list(current)
        elif current is None and conversion == STRAWBERRY_UNLESS_NONE:
            kwargs[python_name] = None
        else:
            kwargs[python_name] = _convert_argument(
                value=current,
                type_=type_,
                config=config,
                scalar_registry=scalar_registry,
                info=info,
                path=(name,),
            )
    return kwargs


def install() -> None:
    """Strawberry's resolvers convert arguments with `convert_arguments` from here on."""
    setattr(schema_converter, "convert_arguments", convert_arguments)  # noqa: B010 (not exported: mypy)


def strawberry_convert_arguments(
    value: dict[str, Any],
    arguments: list[Any],
    scalar_registry: Mapping[object, Any],
    config: Any,
    info: Any = None,
) -> dict[str, Any]:
    """Strawberry's own, for comparison (tests)."""
    return _strawberry_convert_arguments(value, arguments, scalar_registry=scalar_registry, config=config, info=info)

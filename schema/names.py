"""Strawberry's name converter, remembering argument names.

Strawberry converts every declared argument's Python name to its GraphQL name on every call of a
field (`convert_arguments`), so a mutation with a dozen optional arguments, like sendMessage, camel
cases a dozen names per request. An argument's name never changes once the schema is built.
"""

from __future__ import annotations

from typing import Any

from strawberry.schema.name_converter import NameConverter


class RememberingNameConverter(NameConverter):
    def __init__(self, auto_camel_case: bool = True) -> None:
        super().__init__(auto_camel_case)
        # id(argument) → (argument, name): the argument is held, so its id cannot be reused
        self._argument_names: dict[int, tuple[Any, str]] = {}

    def from_argument(self, argument: Any) -> str:
        kept = self._argument_names.get(id(argument))
        if kept is not None and kept[0] is argument:
            return kept[1]
        name = super().from_argument(argument)
        self._argument_names[id(argument)] = (argument, name)
        return name

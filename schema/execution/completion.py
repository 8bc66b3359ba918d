"""Value completion compiled once per (type, field of a document), for selections that only read
attributes.

graphql-core completes a resolved value field by field, for every object of every request: a path,
a resolve-info tuple and a call through Strawberry's resolver wrapper per field, then a walk down
the field's type (non-null, list, object, leaf) with a type check at each step: ~3 µs per field.
What a selection does is a fact of the document and the schema, so this module works it out once
per (return type, field node) and keeps it as a chain of closures. bench query-throughput's query
(the login user and 3 profiles of 4 fields) executed in ~143 µs instead of ~194 (in process, Redis
aside, medians of 5 runs), getUsersInfo alone with 8 fields per profile in ~97 instead of ~189.

A field's completion is compiled when its whole sub-selection is plain: fields only (no fragments
and no directives anywhere in it, nor on the field), each without arguments, each either
`__typename` or a Strawberry field without a resolver or field extensions (an attribute read,
which Strawberry's converter marks `_get_basic_result`), down to leaves, through lists and
non-null wrappers, over object types, and over unions with inline fragments on their members (or
on the union itself), resolved by the union's resolve_type: every listener event is a union, and
graphql-core's completion of it (the runtime type, its checks, the fragments' fields collected
again) was ~3% of a C2C message's server CPU (py-spy, bench c2c-cost load). Interfaces and fragment
spreads are left to graphql-core.

The compiled completion produces what graphql-core's would, and only when graphql-core's would
succeed: at the first sign of anything else (a null where the type is non-null, an exception,
an awaitable, a list that is not a list or tuple, a failed coercion, an is_type_of that does not
answer True, a runtime type that is not a member's name) it returns BAIL, having done nothing but
read attributes and call is_type_of and resolve_type (side-effect free for Strawberry's types),
and the caller completes the same value graphql-core's way from the start, which then reports
exactly what it always did. tests/test_completion.py runs documents and values of every shape
through both and compares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLUnionType,
    InlineFragmentNode,
    SelectionNode,
    get_named_type,
)
from graphql.execution.collect_fields import FieldDetails
from graphql.pyutils import Path, Undefined
from graphql.type.scalars import serialize_id, serialize_string

# Strawberry's converter names the resolver of a field that only reads its attribute so, and marks
# it `_is_default` (strawberry/schema/schema_converter.py, GraphQLCoreConverter.from_resolver)
BASIC_RESOLVER_NAME = "_get_basic_result"
DEFINITION = "strawberry-definition"  # GraphQLCoreConverter.DEFINITION_BACKREF
COMPILED_KEPT = 4096  # (type, field node) pairs: every document in the plan caches, many times over


class _Bail:
    __slots__ = ()

    def __repr__(self) -> str:
        return "BAIL"


BAIL: Any = _Bail()  # "complete this value graphql-core's way"

# (value, executor, info of the field being completed, path of the value) -> completed value or BAIL
Completer = Callable[[Any, Any, Any, Path], Any]


def _coerce_fast(leaf: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    coerce = leaf.coerce_output_value
    if coerce is serialize_string or coerce is serialize_id:

        def text(value: Any) -> Any:
            # what serialize_string and serialize_id answer for a str, without the call
            return value if type(value) is str else coerce(value)

        return text
    return coerce


def _leaf(leaf: GraphQLScalarType | GraphQLEnumType) -> Completer:
    coerce = _coerce_fast(leaf)

    def complete_leaf(value: Any, executor: Any, info: Any, path: Path) -> Any:
        if value is None:
            return None
        if value is Undefined or isinstance(value, Exception) or executor.is_awaitable(value):
            return BAIL
        try:
            coerced = coerce(value)
        except Exception:
            return BAIL
        if coerced is None or coerced is Undefined:
            return BAIL
        return coerced

    return complete_leaf


def _non_null(inner: Completer) -> Completer:
    def complete_non_null(value: Any, executor: Any, info: Any, path: Path) -> Any:
        if value is None:
            return BAIL
        completed = inner(value, executor, info, path)
        return BAIL if completed is None else completed

    return complete_non_null


def _list(item: Completer) -> Completer:
    def complete_list(value: Any, executor: Any, info: Any, path: Path) -> Any:
        if value is None:
            return None
        kind = type(value)
        if kind is not list and kind is not tuple:
            return BAIL  # generators, sets, async iterables...: graphql-core's way
        completed: list[Any] = []
        append = completed.append
        for index, element in enumerate(value):
            done = item(element, executor, info, path.add_key(index, None))
            if done is BAIL:
                return BAIL
            append(done)
        return completed

    return complete_list


class _Field:
    """One field of a compiled object selection."""

    __slots__ = ("complete", "constant", "field_def", "key", "name", "needs_info", "node", "object", "read")

    def __init__(self, key: str, node: FieldNode) -> None:
        self.key = key
        self.node = node
        self.name = node.name.value
        self.constant: Any = None  # __typename's value
        self.read: Callable[[Any], Any] | None = None
        self.field_def: GraphQLField | None = None
        self.complete: Completer | None = None
        # of an object type (or a list of one): its value's path goes on, and its is_type_of, if
        # any, gets this field's own resolve info as with graphql-core (made only then)
        self.object = False
        self.needs_info = False


def _object(object_type: GraphQLObjectType, node: FieldNode) -> Completer | None:
    selection_set = node.selection_set
    if selection_set is None:
        return None
    return _selection(object_type, selection_set.selections)


def _selection(object_type: GraphQLObjectType, selections: Sequence[SelectionNode]) -> Completer | None:
    """The completion of an object of `object_type` with `selections` (fields only)."""
    fields: list[_Field] = []
    for selection in selections:
        if not isinstance(selection, FieldNode) or selection.directives or selection.arguments:
            return None
        key = selection.alias.value if selection.alias else selection.name.value
        if any(field.key == key for field in fields):
            return None  # fields merged under one response key: graphql-core collects them
        field = _Field(key, selection)
        if field.name == "__typename":
            field.constant = object_type.name
        else:
            field_def = object_type.fields.get(field.name)
            if field_def is None or not _reads_attribute(field_def):
                return None
            sub = compile_completion(field_def.type, selection)
            if sub is None:
                return None
            strawberry_field = field_def.extensions[DEFINITION]
            field.read = _reader(strawberry_field.default_resolver, strawberry_field.python_name)
            field.field_def = field_def
            field.complete = sub
            named = get_named_type(field_def.type)
            field.object = isinstance(named, GraphQLObjectType)
            field.needs_info = field.object and named.is_type_of is not None
        fields.append(field)
    is_type_of = object_type.is_type_of
    type_name = object_type.name

    def complete_object(value: Any, executor: Any, info: Any, path: Path) -> Any:
        if value is None:
            return None
        if isinstance(value, Exception) or executor.is_awaitable(value):
            return BAIL
        if is_type_of is not None and is_type_of(value, info) is not True:
            return BAIL
        completed: dict[str, Any] = {}
        for field in fields:
            read = field.read
            if read is None:
                completed[field.key] = field.constant
                continue
            try:
                raw = read(value)
            except Exception:
                return BAIL
            complete = field.complete
            assert complete is not None
            if field.object:
                field_path = Path(path, field.key, type_name)
                if field.needs_info:
                    assert field.field_def is not None
                    field_info = executor.build_resolve_info(field.field_def, [field.node], object_type, field_path)
                    done = complete(raw, executor, field_info, field_path)
                else:
                    done = complete(raw, executor, info, field_path)
            else:  # a leaf reads neither
                done = complete(raw, executor, info, path)
            if done is BAIL:
                return BAIL
            completed[field.key] = done
        return completed

    return complete_object


def _union(union_type: GraphQLUnionType, node: FieldNode) -> Completer | None:
    """A union's value: its runtime type resolved as graphql-core resolves it (the union's
    resolve_type; Strawberry's reads the value's class and is_type_of, side-effect free), then
    the selection that applies to that type completed as an object's: the fields beside the
    fragments, and those of each inline fragment on that type or on the union itself."""
    resolve_type = union_type.resolve_type
    selection_set = node.selection_set
    if resolve_type is None or selection_set is None:
        return None  # graphql-core's default type resolver: its way
    per_type: dict[str, Completer] = {}
    for member in union_type.types:
        selections = _applying(member, union_type, selection_set.selections)
        if selections is None:
            return None  # a fragment this module does not resolve (a spread, on an interface)
        completer = _selection(member, selections)
        if completer is not None:
            per_type[member.name] = completer

    def complete_union(value: Any, executor: Any, info: Any, path: Path) -> Any:
        if value is None:
            return None
        if isinstance(value, Exception) or executor.is_awaitable(value):
            return BAIL
        try:
            runtime = resolve_type(value, info, union_type)
        except Exception:
            return BAIL
        if type(runtime) is not str:
            return BAIL  # awaitable, None, not a name: graphql-core's way (and its errors)
        completer = per_type.get(runtime)
        if completer is None:
            return BAIL  # not a member, or a member whose selection is graphql-core's to do
        return completer(value, executor, info, path)

    return complete_union


def _applying(
    member: GraphQLObjectType, union_type: GraphQLUnionType, selections: Sequence[SelectionNode]
) -> list[SelectionNode] | None:
    """The selections that apply to a value of `member`, inline fragments flattened in order (as
    graphql-core collects them: a fragment on `member` or on the union applies, one on another
    member does not); None for anything else (fragment spreads, directives, other conditions)."""
    applying: list[SelectionNode] = []
    for selection in selections:
        if selection.directives:
            return None
        if isinstance(selection, FieldNode):
            applying.append(selection)
            continue
        if not isinstance(selection, InlineFragmentNode):
            return None
        condition = selection.type_condition
        name = condition.name.value if condition is not None else None
        if name is None or name in (member.name, union_type.name):
            inner = _applying(member, union_type, selection.selection_set.selections)
            if inner is None:
                return None
            applying.extend(inner)
        elif not any(name == other.name for other in union_type.types):
            return None  # an interface some members implement: graphql-core's way
    return applying


def _reader(default_resolver: Callable[[Any, str], Any], name: str) -> Callable[[Any], Any]:
    if default_resolver is getattr:

        def read_attribute(source: Any) -> Any:
            return getattr(source, name)

        return read_attribute

    def read_with_resolver(source: Any) -> Any:
        return default_resolver(source, name)

    return read_with_resolver


def _reads_attribute(field_def: GraphQLField) -> bool:
    """Whether graphql-core would call Strawberry's resolver of a field without one: the attribute."""
    resolve = field_def.resolve
    if resolve is None or getattr(resolve, "_is_default", False) is not True:
        return False
    if getattr(resolve, "__name__", "") != BASIC_RESOLVER_NAME:
        return False
    strawberry_field = (field_def.extensions or {}).get(DEFINITION)
    return strawberry_field is not None and bool(getattr(strawberry_field, "is_basic_field", False))


def compile_completion(return_type: GraphQLOutputType, node: FieldNode) -> Completer | None:
    """The compiled completion of `node`'s value as `return_type`, or None when any part of it is
    for graphql-core to do."""
    if node.directives:
        return None
    if isinstance(return_type, GraphQLNonNull):
        inner = compile_completion(return_type.of_type, node)
        return None if inner is None else _non_null(inner)
    if isinstance(return_type, GraphQLList):
        item = compile_completion(return_type.of_type, node)
        return None if item is None else _list(item)
    if isinstance(return_type, GraphQLScalarType | GraphQLEnumType):
        return _leaf(return_type)
    if isinstance(return_type, GraphQLObjectType):
        return _object(return_type, node)
    if isinstance(return_type, GraphQLUnionType):
        return _union(return_type, node)
    return None  # interfaces: graphql-core resolves the runtime type


class CompiledCompletions:
    """(return type, field node) -> its compiled completion, or None; the node is kept with it so
    that its id cannot be reused while the entry lives."""

    def __init__(self, size: int = COMPILED_KEPT) -> None:
        self._size = size
        self._kept: dict[tuple[GraphQLOutputType, int], tuple[FieldNode, Completer | None]] = {}

    def get(self, return_type: GraphQLOutputType, details: FieldDetails) -> Completer | None:
        if details.defer_usage is not None or details.fragment_variable_values is not None:
            return None
        node = details.node
        key = (return_type, id(node))
        found = self._kept.get(key)
        if found is not None and found[0] is node:
            return found[1]
        completer = compile_completion(return_type, node)
        if len(self._kept) >= self._size:
            self._kept.clear()
        self._kept[key] = (node, completer)
        return completer


COMPLETIONS = CompiledCompletions()

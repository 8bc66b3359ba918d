"""One GraphQL execution per group event and subscription document, however many subscribers.

A group's events are stored once and are the same for every member (viewer-neutral messages), so
10,000 members subscribed with the same document would otherwise run the same execution 10,000
times. Each listener event from a group stream carries a share key (its stream entry); the
executor below keeps the result of the first execution per (share key, document, variables) and
hands the others a copy with their own `cursor`, the one per-subscriber field of such an event.

Sharing is skipped whenever it could be wrong: events from a user's own stream or derived for one
user carry no key, results with errors are not kept, and documents whose cursor fields cannot be
found plainly (fragment spreads in the event's selection) execute per subscriber as before.

Two caches of a group event's rendering remain: this one (a result per document) serves the
subscriptions Strawberry runs, which are the documents schema.execution.listeners does not plan,
and that module's templates serve the rest. Keeping one (REVIEW change 2 item 5) was not done:
it needs the group-fanout bench before and after, not yet run.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Sequence
from inspect import isawaitable
from typing import Any

import orjson
from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
)
from graphql.execution.collect_fields import DeferUsage, FieldDetails, FieldDetailsList, GroupedFieldSet
from graphql.pyutils import Path, Undefined
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from schema.execution.completion import BAIL, COMPLETIONS
from schema.execution.share import SHARE_ATTRIBUTE
from schema.media_urls import personalize_data

CURSOR_ATTRIBUTE = "cursor"
RESULTS_KEPT = 256  # recent (event, document) results: a burst of group events, not history


class ResultShape:
    """Where the cursor sits in a subscription's result: data[listener][key] for each key."""

    __slots__ = ("cursor_keys", "listener_key")

    def __init__(self, listener_key: str, cursor_keys: tuple[str, ...]) -> None:
        self.listener_key = listener_key
        self.cursor_keys = cursor_keys


def result_shape(operation: OperationDefinitionNode) -> ResultShape | None:
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    listener = selections[0]
    if listener.selection_set is None:
        return None
    keys: list[str] = []
    pending = list(listener.selection_set.selections)
    while pending:
        node = pending.pop()
        if isinstance(node, FieldNode):
            if node.name.value == CURSOR_ATTRIBUTE:
                keys.append(node.alias.value if node.alias else node.name.value)
        elif isinstance(node, InlineFragmentNode):
            pending.extend(node.selection_set.selections)
        else:
            return None  # a fragment spread: not worth resolving here
    listener_key = listener.alias.value if listener.alias else listener.name.value
    return ResultShape(listener_key, tuple(dict.fromkeys(keys)))


ShareKey = tuple[str, str, str, bytes]  # (share key, document text, operation name, variables)


class RootField:
    """An operation's one root field, as graphql-core's operation execution collects it: a field
    (not an introspection field), without directives, aliased or not, of the root type."""

    __slots__ = ("field_details", "key", "root_type")

    def __init__(self, root_type: GraphQLObjectType, key: str, node: FieldNode) -> None:
        self.root_type = root_type
        self.key = key
        self.field_details: FieldDetailsList = [FieldDetails(node, None)]


def root_field_of(schema: GraphQLSchema, operation: OperationDefinitionNode) -> RootField | None:
    """The RootField of a query or mutation whose selection is one plain field, else None.

    Such an operation's execution is that field's (Executor.execute_operation: its fields
    collected, executed serially or not, the result built around them); with one field, directives
    (@skip / @include, @defer) and fragments aside, collecting and ordering them do nothing."""
    selections = operation.selection_set.selections
    if len(selections) != 1:
        return None
    node = selections[0]
    if not isinstance(node, FieldNode) or node.directives or node.name.value.startswith("__"):
        return None
    root_type = schema.get_root_type(operation.operation)
    if root_type is None or node.name.value not in root_type.fields:
        return None
    if schema.get_directive("defer") or schema.get_directive("stream"):
        return None  # graphql-core's execute refuses such a schema: let it say so
    return RootField(root_type, node.alias.value if node.alias else node.name.value, node)


class SharedResults:
    """What the executors of one schema share (IMSchema owns it, schema.build): recent results of
    group events, executions under way, and each operation's ResultShape. Shapes keep their
    operation alive, so an id() in that key cannot be reused while the entry lives."""

    __slots__ = ("executions", "results", "running", "shapes")

    def __init__(self) -> None:
        self.results: OrderedDict[ShareKey, dict[str, Any]] = OrderedDict()
        self.shapes: dict[int, tuple[OperationDefinitionNode, ResultShape | None]] = {}
        self.running: dict[ShareKey, asyncio.Future[dict[str, Any] | None]] = {}
        self.executions = 0  # full executions of shareable events (for tests and profiling)


def shared_results_of(schema: Any) -> SharedResults | None:
    """The SharedResults of the Strawberry schema behind a graphql-core schema (Strawberry links
    them as `GraphQLSchema._strawberry_schema`), or None: then nothing is shared."""
    found = getattr(getattr(schema, "_strawberry_schema", None), "shared_results", None)
    return found if isinstance(found, SharedResults) else None


class SharedEventExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, sharing per-event results of group events between subscribers
    (in the schema's SharedResults)."""

    # a shared event's media URLs are placeholders in the kept data (schema.media_urls): filled in
    # per subscriber here, unless the caller does it on the rendered bytes (EventRenderer)
    sign_for_reader = True
    # the operation's one root field, set by the planned paths (HTTP, listeners) that found one:
    # executed without graphql-core's operation scaffolding (_root_field_result)
    root_field: RootField | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The operation's root fields as first collected, shared with every per-event copy
        # (build_per_event_executor copies shallowly). graphql-core memoizes sub-field collection
        # per executor on the identity of each field list, in a dict the copies share, and
        # collects the root fields afresh for each execution: so every event of a long-lived
        # subscription added new entries to that dict and never hit it (bench send-to-receive:
        # 40,000 entries, ~380,000 objects, after 5,000 events). Executing every event on the same
        # root lists keeps it one entry per field and makes it hit.
        self._root_fields: list[GroupedFieldSet] = []

    def execute_collected_root_fields(
        self,
        root_type: GraphQLObjectType,
        root_value: Any,
        grouped_field_set: GroupedFieldSet,
        serially: bool,
        new_defer_usages: Sequence[DeferUsage],
    ) -> Any:
        # the same operation, fragments and variables collect the same fields every time
        if self._root_fields:
            grouped_field_set = self._root_fields[0]
        else:
            self._root_fields.append(grouped_field_set)
        return super().execute_collected_root_fields(
            root_type, root_value, grouped_field_set, serially, new_defer_usages
        )

    def complete_value(
        self,
        return_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo[Any],
        path: Path,
        result: Any,
        position_context: Any,
    ) -> Any:
        # a plain selection's completion compiled once (schema.execution.completion); graphql-core's
        # own for anything else, and for any value the compiled one declines
        completer = self.compiled_completion(return_type, field_details_list)
        if completer is not None:
            completed = completer(result, self, info, path)
            if completed is not BAIL:
                return completed
        return super().complete_value(return_type, field_details_list, info, path, result, position_context)

    def compiled_completion(self, return_type: GraphQLOutputType, field_details_list: FieldDetailsList) -> Any:
        """The compiled completion of a field's value (schema.execution.completion), or None when
        graphql-core's is to complete it: several field nodes, or a middleware. Strawberry passes a
        middleware manager whatever its extensions: one with no middleware wraps no resolver."""
        middleware = self.middleware_manager
        if len(field_details_list) != 1 or (middleware is not None and middleware.middlewares):
            return None
        return COMPLETIONS.get(return_type, field_details_list[0])

    def execute_operation(self, serially: bool | None = None) -> Any:
        result = self._execute_operation(serially)
        if isawaitable(result):
            return self._released_after(result)
        self._release()
        return self._personal(result)

    def _operation(self, serially: bool | None) -> Any:
        """The operation's result: its one root field's when it has one (`root_field`), else
        graphql-core's execute_operation."""
        root = self.root_field
        if root is None:
            return super().execute_operation(serially)
        return self._root_field_result(root)

    def _root_field_result(self, root: RootField) -> Any:
        """What execute_operation answers for an operation of one root field (`root_field_of`),
        without its scaffolding: no field collection, no reduction over one field, no incremental
        delivery to look for. The field itself is graphql-core's execute_field (its resolve info,
        arguments, resolver, completion and field errors as always); around it, what
        execute_operation does with its result: a GraphQLError that reaches the root (a non-null
        field's) nulls `data` and is collected; the response is build_response's. Executors are
        built here without an abort signal or hooks, which execute_operation would also heed."""
        path = Path(None, root.key, root.root_type.name)
        try:
            result = self.execute_field(root.root_type, self.root_value, root.field_details, path, None)
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        if self.is_awaitable(result):
            return self._root_field_later(root.key, result)
        return self.build_response({} if result is Undefined else {root.key: result})

    async def _root_field_later(self, key: str, pending: Awaitable[Any]) -> Any:
        try:
            data: dict[str, Any] | None = {key: await pending}
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            data = None
        return self.build_response(data)

    def _release(self) -> None:
        """Break the executor's one reference cycle once its operation is done.

        graphql-core's executor keeps helpers bound to itself (async_helpers), so every executor,
        and with it the request's context, session and variables, was cyclic garbage that only the
        cyclic collector could free: ~40 objects per request, and full collections of what piled
        up stalled the process for 40-150 ms (bench send-to-receive's p99 at 450-500 msg/s).
        Resolvers reach the helpers only while the operation runs, so dropping them afterwards
        lets reference counting free the whole request at once.
        """
        self.__dict__.pop("async_helpers", None)

    async def _released_after(self, pending: Awaitable[Any]) -> Any:
        try:
            return self._personal(await pending)
        finally:
            self._release()

    def _execute_operation(self, serially: bool | None) -> Any:
        share = getattr(self.root_value, SHARE_ATTRIBUTE, "") if self.root_value is not None else ""
        if not share:
            return self._operation(serially)
        shared = shared_results_of(self.schema)
        if shared is None:
            return self._operation(serially)
        operation = self.operation
        shape = self._shape_of(operation, shared)
        if shape is None:
            return self._operation(serially)
        if operation.loc is None:
            return self._operation(serially)
        # by the document's text: subscribers' documents are parsed separately, equal texts alike
        coerced = getattr(self.variable_values, "coerced", None) or {}
        variables = orjson.dumps(coerced, option=orjson.OPT_SORT_KEYS, default=repr)
        name = operation.name.value if operation.name else ""
        key = (share, operation.loc.source.body, name, variables)
        kept = shared.results.get(key)
        if kept is not None:
            return ExecutionResult(data=self._with_my_cursor(kept, shape))
        running = shared.running.get(key)
        if running is not None:  # another subscriber is executing it right now: wait for that
            return self._after(running, shape, serially)
        shared.executions += 1
        result = self._operation(serially)
        if isawaitable(result):
            done: asyncio.Future[dict[str, Any] | None] = asyncio.get_running_loop().create_future()
            shared.running[key] = done
            return self._keep_later(result, key, done, shared)
        self._keep(result, key, shared)
        return result

    async def _after(
        self, running: asyncio.Future[dict[str, Any] | None], shape: ResultShape, serially: bool | None
    ) -> Any:
        data = await asyncio.shield(running)
        if data is None:  # it failed for that subscriber: execute for this one on its own
            result = self._operation(serially)
            return await result if isawaitable(result) else result
        return ExecutionResult(data=self._with_my_cursor(data, shape))

    async def _keep_later(
        self,
        pending: Awaitable[Any],
        key: ShareKey,
        done: asyncio.Future[dict[str, Any] | None],
        shared: SharedResults,
    ) -> Any:
        try:
            result = await pending
            self._keep(result, key, shared)
            return result
        finally:
            shared.running.pop(key, None)
            if not done.done():
                done.set_result(shared.results.get(key))

    def _keep(self, result: Any, key: ShareKey, shared: SharedResults) -> None:
        if isinstance(result, ExecutionResult) and not result.errors and result.data is not None:
            shared.results[key] = result.data
            if len(shared.results) > RESULTS_KEPT:
                shared.results.popitem(last=False)

    def _personal(self, result: Any) -> Any:
        """A shared event's own execution, with media URLs signed for this subscriber's reader
        (the kept data holds placeholders for them: schema.media_urls)."""
        if not self.sign_for_reader or not isinstance(result, ExecutionResult) or result.data is None:
            return result
        if self.root_value is None or not getattr(self.root_value, SHARE_ATTRIBUTE, ""):
            return result  # rendered for this reader alone: its URLs are signed already
        return ExecutionResult(
            data=personalize_data(result.data, self.context_value), errors=result.errors, extensions=result.extensions
        )

    def _with_my_cursor(self, data: dict[str, Any], shape: ResultShape) -> dict[str, Any]:
        event = data.get(shape.listener_key)
        if not isinstance(event, dict):
            return data
        mine = dict(event)
        cursor = getattr(self.root_value, CURSOR_ATTRIBUTE, None)
        for name in shape.cursor_keys:
            if name in mine:
                mine[name] = cursor
        return {**data, shape.listener_key: mine}

    @staticmethod
    def _shape_of(operation: OperationDefinitionNode, shared: SharedResults) -> ResultShape | None:
        shapes = shared.shapes
        kept = shapes.get(id(operation))
        if kept is not None and kept[0] is operation:
            return kept[1]
        shape = result_shape(operation)
        if len(shapes) > RESULTS_KEPT:
            shapes.clear()
        shapes[id(operation)] = (operation, shape)
        return shape

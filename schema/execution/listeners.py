"""Listener subscriptions rendered without Strawberry's per-subscription stream machinery.

Through Strawberry, every subscription is a task driving a chain of async generators (its
stream and extension hooks, graphql-core's response map, the resolver, the session's listener),
all suspended while the subscription is idle, and each event wakes the whole chain. Measured
(bench/, subscriptions-idle and group-fanout) that chain was most of an idle subscription's memory
and most of a delivery's time. A listener subscription's work is simple enough to do directly:

- `ListenerPlans` works out once per document text whether it is one plain listener field
  (`subscription { advancedMsgListener(since: ...) { ... } }`, optionally named, with variables);
  anything else (errors, several fields, directives on the field) goes through Strawberry as before.
- `ListenerRun` is one subscription's part: its plan, context, variables and `since`.
- `EventRenderer` turns a delivery into the JSON of a `next` message's payload with graphql-core
  on the same schema and executor class, formatting errors as the IMErrors extension does. A
  group stream's own event is the same for every member, so its payload is rendered once per
  (event, document, variables) and kept as a template with a hole where the cursor goes: each
  further subscriber costs one join of bytes (cf. schema.execution.executor for the Strawberry path).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeGuard, cast

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLField,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    Visitor,
    visit,
)
from graphql.execution.values import get_argument_values, get_variable_values
from graphql.pyutils import Path
from strawberry import Schema
from strawberry.execution.is_awaitable import optimized_is_awaitable

from gateway.events.delivery import Delivery
from schema.context import IMContext
from schema.execution.completion import BAIL
from schema.execution.executor import ResultShape, RootField, SharedEventExecutor, result_shape, root_field_of
from schema.execution.http import PlanCache, formatted_errors
from schema.execution.share import SHARE_ATTRIBUTE
from schema.limits import CACHE_SIZE
from schema.listeners.common import EventTypes
from schema.listeners.fields import LISTENER_FIELDS
from schema.media_urls import for_anyone, personalize

_is_awaitable = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)
TEMPLATES_KEPT = 256  # recent (event, document) payloads: a burst of group events, not history
# Marks where the cursor goes in a kept payload. Random per process, so no event's content (a
# message text, say) can contain it; a template is also checked to hold exactly one per field.
_HOLE = f"imql-cursor-{secrets.token_hex(16)}"
_HOLE_JSON = orjson.dumps(_HOLE)


@dataclass(frozen=True, slots=True)
class ListenerPlan:
    text: str
    document: DocumentNode
    operation: OperationDefinitionNode
    operation_name: str | None
    listener: str  # the field's name, which is also the listener's
    types: EventTypes
    field_node: FieldNode
    field_def: GraphQLField
    shape: ResultShape | None  # where the cursors sit; None: render per subscriber
    # the variable that only gives the field its `since` (no part of what is rendered): left out of
    # the key under which events are rendered once, so resuming subscribers, each with a cursor of
    # its own, share the renders and executors of the others (a restart's reconnections)
    since_variable: str | None = None
    # the listener field as the operation's one root field: each event executes it without
    # graphql-core's operation scaffolding (schema.execution.executor); None: graphql-core's way
    root: RootField | None = None
    # the root field's resolver hands back the event it is given, as Strawberry's per-event
    # resolver of a subscription field does: an event is completed directly (EventRenderer._direct)
    returns_event: bool = False


class ListenerPlans(PlanCache[ListenerPlan]):
    """A subscription of exactly one listener field → its ListenerPlan."""

    def _make(self, query: str, operation_name: str | None) -> ListenerPlan | None:
        found = self._operation(query, operation_name, (OperationType.SUBSCRIPTION,))
        if found is None:
            return None
        document, operation = found
        selections = operation.selection_set.selections
        if len(selections) != 1 or not isinstance(selections[0], FieldNode):
            return None
        node = selections[0]
        types = LISTENER_FIELDS.get(node.name.value)
        subscription_type = self._schema._schema.subscription_type
        if types is None or node.directives or subscription_type is None:
            return None
        return ListenerPlan(
            text=query,
            document=document,
            operation=operation,
            operation_name=operation.name.value if operation.name else None,
            listener=node.name.value,
            types=types,
            field_node=node,
            field_def=subscription_type.fields[node.name.value],
            shape=result_shape(operation),
            since_variable=_since_only_variable(document, operation, node),
            root=root_field_of(self._schema._schema, operation),
            returns_event=_returns_its_event(subscription_type.fields[node.name.value]),
        )


class _Probe:
    __slots__ = ()


def _returns_its_event(field: GraphQLField) -> bool:
    """Whether the field's resolver answers the event it is given and nothing else (Strawberry's
    `lambda event, *_, **__: event` for a subscription field's events), tried once on a probe: an
    argument-free call with no resolve info, which any other resolver would fail or answer
    differently. graphql-core's default resolver (no `resolve`) reads an attribute: not this."""
    resolve = field.resolve
    if resolve is None:
        return False
    probe = _Probe()
    try:
        return resolve(probe, None) is probe
    except Exception:
        return False


def _since_only_variable(document: DocumentNode, operation: OperationDefinitionNode, node: FieldNode) -> str | None:
    """The variable the listener field's `since` is given, if it is used nowhere else."""
    name = next(
        (
            arg.value.name.value
            for arg in node.arguments or ()
            if arg.name.value == "since" and isinstance(arg.value, VariableNode)
        ),
        None,
    )
    if name is None:
        return None
    uses = 0

    class _Uses(Visitor):
        def enter_variable(self, variable: VariableNode, *_: Any) -> None:
            nonlocal uses
            uses += variable.name.value == name

    for part in (operation.selection_set, *(d for d in document.definitions if d is not operation)):
        visit(part, _Uses())
    return name if uses == 1 else None


class ListenerRun:
    """One subscription's rendering state; `start` returns GraphQL errors for bad variables."""

    __slots__ = ("context", "plan", "since", "variables", "variables_key")

    def __init__(self, plan: ListenerPlan, context: IMContext, variables: dict[str, Any] | None, since: str | None):
        self.plan = plan
        self.context = context
        self.variables = variables
        self.since = since
        rendered = variables or {}
        if plan.since_variable is not None and plan.since_variable in rendered:
            rendered = {k: v for k, v in rendered.items() if k != plan.since_variable}
        # decoded: orjson hands back its whole working buffer (~4 KB), too much to keep per subscription
        self.variables_key = orjson.dumps(rendered, option=orjson.OPT_SORT_KEYS).decode()

    @classmethod
    def start(
        cls, schema: Schema, plan: ListenerPlan, variables: dict[str, Any] | None, context: IMContext
    ) -> ListenerRun | list[GraphQLError]:
        coerced = get_variable_values(schema._schema, plan.operation.variable_definitions or (), variables or {})
        if isinstance(coerced, list):
            return coerced
        try:
            arguments = get_argument_values(plan.field_def, plan.field_node, coerced)
        except GraphQLError as error:
            return [error]
        since = arguments.get("since")
        return cls(plan, context, variables, since if isinstance(since, str) else None)


def _template_key(run: ListenerRun, delivery: Delivery) -> tuple[str, str, str | None, str]:
    """What a group event's kept payload depends on: the event, the document and its variables."""
    plan = run.plan
    return (delivery.shared, plan.text, plan.operation_name, run.variables_key)


class EventRenderer:
    """Deliveries → `next` payloads (JSON bytes), group events rendered once per document."""

    def __init__(self, schema: Schema) -> None:
        self._schema = schema
        self.renders = 0  # full renders (executions) by this renderer, for tests and profiling
        self._templates: OrderedDict[tuple[str, str, str | None, str], list[bytes]] = OrderedDict()
        # One executor per (document, variables) for every subscription that runs it: each event
        # executes on a copy with the subscriber's own context. Built per subscription, each new
        # subscriber's first event paid for graphql-core's per-executor caches (field collection)
        # again, and each idle subscription held an executor.
        self._executors: OrderedDict[tuple[str, str | None, str], Any] = OrderedDict()

    def payload_now(self, run: ListenerRun, delivery: Delivery) -> bytes | None:
        """The payload if it is a group event already rendered for this document and variables
        (its kept template, the cursor filled in), else None: `payload` renders it."""
        plan = run.plan
        if not delivery.shared or plan.shape is None:
            return None
        parts = self._templates.get(_template_key(run, delivery))
        if parts is None:
            return None
        # media URLs are the one other per-subscriber part (signed per reader: schema.media_urls)
        return personalize(orjson.dumps(delivery.cursor).join(parts), run.context)

    def alike(self, run: ListenerRun, delivery: Delivery) -> bool:
        """Whether `payload_now` gives every subscriber running this document with these variables
        the same bytes for `delivery`, whatever its cursor and reader: its kept template has no
        hole for a cursor (the document renders none) and no media URL to sign for each reader."""
        plan = run.plan
        if not delivery.shared or plan.shape is None:
            return False
        parts = self._templates.get(_template_key(run, delivery))
        return parts is not None and len(parts) == 1 and for_anyone(parts[0])

    async def payload(self, run: ListenerRun, delivery: Delivery) -> bytes:
        kept = self.payload_now(run, delivery)
        if kept is not None:
            return kept
        plan = run.plan
        key = None
        if delivery.shared and plan.shape is not None:
            key = _template_key(run, delivery)
        root = plan.types.to_graphql(delivery)
        if delivery.shared:
            setattr(root, SHARE_ATTRIBUTE, delivery.shared)
        self.renders += 1
        result = await self._execute(run, root)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = formatted_errors(result.errors, run.context)
        elif key is not None and plan.shape is not None:
            self._keep(key, answer, plan.shape)
        rendered = orjson.dumps(answer)
        return personalize(rendered, run.context) if delivery.shared else rendered

    async def _execute(self, run: ListenerRun, root: object) -> ExecutionResult:
        plan = run.plan
        key = (plan.text, plan.operation_name, run.variables_key)
        executor = self._executors.get(key)
        if executor is None:
            built = SharedEventExecutor.build(
                self._schema._schema,
                plan.document,
                raw_variable_values=run.variables,
                operation_name=plan.operation_name,
                is_awaitable=_is_awaitable,
            )
            if isinstance(built, list):
                return ExecutionResult(data=None, errors=built)
            if isinstance(built, SharedEventExecutor):
                built.root_field = plan.root  # copied to each event's executor
            executor = self._executors[key] = built
            if len(self._executors) > CACHE_SIZE:
                self._executors.popitem(last=False)
        else:
            self._executors.move_to_end(key)
        per_event = executor.build_per_event_executor(root)
        per_event.context_value = run.context
        # payload() signs media URLs on the bytes, after keeping the template
        per_event.sign_for_reader = False  # type: ignore[union-attr]
        data = _direct(plan, per_event, root)
        if data is not BAIL:
            return ExecutionResult(data=data)
        result = per_event.execute_operation(False)
        if _is_awaitable(result):
            result = await result
        return cast(ExecutionResult, result)

    def _keep(self, key: tuple[str, str, str | None, str], answer: dict[str, Any], shape: ResultShape) -> None:
        data = answer.get("data")
        if not isinstance(data, dict):
            return
        event = data.get(shape.listener_key)
        if not isinstance(event, dict):
            return
        holes = {name: _HOLE for name in shape.cursor_keys if name in event}
        parts = orjson.dumps({"data": {**data, shape.listener_key: {**event, **holes}}}).split(_HOLE_JSON)
        if len(parts) != len(holes) + 1:
            return  # not where we expected it: render for each subscriber instead
        self._templates[key] = parts
        if len(self._templates) > TEMPLATES_KEPT:
            self._templates.popitem(last=False)


def _direct(plan: ListenerPlan, executor: Any, root: object) -> Any:
    """An event's data completed without executing the operation: what graphql-core's execution
    of the one root field gives when its resolver returns the event (`returns_event`) and the
    compiled completion (schema.execution.completion) takes the event. graphql-core's way of
    executing it (the per-event executor's copy, the operation's scaffolding, the field's
    arguments coerced again for a resolver that ignores them, the response built around it) was
    ~4 % of a C2C message's server CPU (cProfile, bench c2c-cost load). BAIL, having changed
    nothing, for anything else: a group event shared by subscribers (executed as before, for the
    results they share), a middleware, or a value the completion declines."""
    root_field = plan.root
    shared: Any = getattr(root, SHARE_ATTRIBUTE, "")
    if root_field is None or not plan.returns_event or shared:
        return BAIL
    details = root_field.field_details
    field_def = plan.field_def
    completer = executor.compiled_completion(field_def.type, details)
    if completer is None:
        return BAIL
    path = Path(None, root_field.key, root_field.root_type.name)
    info = executor.build_resolve_info(field_def, [details[0].node], root_field.root_type, path)
    completed = completer(root, executor, info, path)
    if completed is BAIL:
        return BAIL
    return {root_field.key: completed}


def error_payload(errors: list[GraphQLError], context: IMContext) -> bytes:
    """A failed subscription's last `next` payload, as Strawberry sends one (data null)."""
    return orjson.dumps({"data": None, "errors": formatted_errors(errors, context)})


def as_graphql_error(exc: Exception) -> GraphQLError:
    return exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)

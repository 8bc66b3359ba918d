"""Queries and mutations over HTTP without Strawberry's per-request machinery.

Profiling a small authenticated query showed Strawberry's view and extension runner costing ~30%
of the request on top of graphql-core's own execution: a context manager per extension hook, an
execution context, result processing, response building. A document's parse, its validation and
its operation are facts of its text, so this module works them out once per distinct text (LRU)
and then executes with graphql-core directly, on the same schema, with the same execution context
class Strawberry uses, and formats errors and records metrics as the extensions do.

Only documents that parse, validate and name one query or mutation take this path. Anything else
(syntax or validation errors, subscriptions over HTTP, ambiguous operations) returns None from
`plan`, and the caller hands the request to Strawberry, which reports it exactly as before.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeGuard, TypeVar, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLFormattedError,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
)
from graphql.utilities import get_operation_ast
from strawberry import Schema
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension, ValidationCache
from strawberry.schema.schema import validate_document

from schema.caching import SafeParserCache
from schema.context import IMContext
from schema.errors import IMErrors, format_error
from schema.execution.executor import RootField, SharedEventExecutor, root_field_of
from schema.limits import ALIASES_RULE, CACHE_SIZE, DEPTH_RULE, MAX_TOKENS
from schema.observability import OperationMetrics

RULES = (*specified_rules, DEPTH_RULE, ALIASES_RULE)
P = TypeVar("P")
# Strawberry's faster awaitable check, typed as graphql-core wants it
_is_awaitable = cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable)


@dataclass(frozen=True, slots=True)
class Plan:
    document: DocumentNode
    kind: str  # "query" | "mutation"
    operation_name: str | None
    # the operation's one root field (schema.execution.executor.root_field_of): executed without
    # graphql-core's operation scaffolding; None: graphql-core's `execute`
    root: RootField | None = None


class PlanCache(ABC, Generic[P]):
    """Document text (+ operation name) → what `_make` works out for it, or None for "let
    Strawberry handle it"; the most recently used CACHE_SIZE texts are kept."""

    def __init__(self, schema: Schema, size: int = CACHE_SIZE) -> None:
        self._schema = schema
        self._size = size
        self._plans: OrderedDict[tuple[str, str | None], P | None] = OrderedDict()

    @abstractmethod
    def _make(self, query: str, operation_name: str | None) -> P | None: ...

    def plan(self, query: str, operation_name: str | None) -> P | None:
        key = (query, operation_name)
        try:
            found = self._plans[key]
        except KeyError:
            found = self._make(query, operation_name)
            self._plans[key] = found
            if len(self._plans) > self._size:
                self._plans.popitem(last=False)
            return found
        self._plans.move_to_end(key)
        return found

    def _operation(
        self, query: str, operation_name: str | None, kinds: tuple[OperationType, ...]
    ) -> tuple[DocumentNode, OperationDefinitionNode] | None:
        """The checked document and its chosen operation, if that is one of `kinds`."""
        document = checked_document(self._schema, query)
        if document is None:
            return None
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation not in kinds:
            return None
        return document, operation


class QueryPlans(PlanCache[Plan]):
    """A query or mutation that parses and validates → its Plan."""

    def __init__(self, schema: Schema, size: int = CACHE_SIZE) -> None:
        check_mirrored_extensions(schema)
        super().__init__(schema, size)

    def _make(self, query: str, operation_name: str | None) -> Plan | None:
        found = self._operation(query, operation_name, (OperationType.QUERY, OperationType.MUTATION))
        if found is None:
            return None
        document, operation = found
        name = operation.name.value if operation.name else None
        root = root_field_of(self._schema._schema, operation)
        return Plan(document=document, kind=operation.operation.value, operation_name=name, root=root)


# What this path does in place of the schema's extensions, in the schema's order: IMErrors →
# formatted_errors, OperationMetrics → execute_plan's counts, MaxTokensLimiter and
# AddValidationRules → checked_document (MAX_TOKENS, RULES), SafeParserCache and ValidationCache →
# the plan cache. An extension added to schema.build would never run for the HTTP queries this
# path takes, so QueryPlans refuses a schema whose list differs.
MIRRORED_EXTENSIONS = (
    IMErrors,
    OperationMetrics,
    MaxTokensLimiter,
    SafeParserCache,
    AddValidationRules,
    ValidationCache,
)


def check_mirrored_extensions(schema: Schema) -> None:
    made = [e if isinstance(e, SchemaExtension) else e() for e in schema.extensions]
    kinds = tuple(type(e) for e in made)
    if kinds != MIRRORED_EXTENSIONS:
        raise RuntimeError(
            f"schema.execution.http mirrors the extensions {[k.__name__ for k in MIRRORED_EXTENSIONS]}, "
            f"but the schema has {[k.__name__ for k in kinds]}: make the fast path do what the new "
            "extension does (and add it to MIRRORED_EXTENSIONS), or let Strawberry's path take every request"
        )
    for extension in made:
        if isinstance(extension, MaxTokensLimiter) and extension.max_token_count != MAX_TOKENS:
            raise RuntimeError(f"schema.execution.http parses with max_tokens={MAX_TOKENS}; the schema's differs")
        if isinstance(extension, AddValidationRules) and tuple(extension.validation_rules) != (
            DEPTH_RULE,
            ALIASES_RULE,
        ):
            raise RuntimeError("schema.execution.http validates with RULES, the schema's added rules differ")


def checked_document(schema: Schema, query: str) -> DocumentNode | None:
    """The parsed document if it parses within the limits and passes every validation rule
    Strawberry would apply; None otherwise (the caller lets Strawberry report why)."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None
    if validate_document(schema._schema, document, RULES):
        return None
    return document


def formatted_errors(errors: list[GraphQLError], context: IMContext) -> list[GraphQLFormattedError]:
    """Errors in imql's shape (schema.errors), counted by code as the IMErrors extension does."""
    formatted = [format_error(e, context.request_id) for e in errors]
    metrics = context.gateway.metrics
    for error in formatted:
        metrics.errors.labels(str((error.extensions or {}).get("code"))).inc()
    return [e.formatted for e in formatted]


async def execute_plan(
    schema: Schema, plan: Plan, variables: dict[str, Any] | None, context: IMContext
) -> dict[str, Any]:
    """Run a planned operation; the answer as Strawberry's view would give it (data, errors)."""
    started = time.perf_counter()
    result: Any
    root = plan.root
    if root is not None and schema.execution_context_class is SharedEventExecutor:
        # what `execute` does (the same executor, built the same way), then the one root field
        executor = SharedEventExecutor.build(
            schema._schema,
            plan.document,
            context_value=context,
            raw_variable_values=variables,
            operation_name=plan.operation_name,
            is_awaitable=_is_awaitable,
        )
        if isinstance(executor, list):
            result = ExecutionResult(None, errors=executor)
        else:
            assert isinstance(executor, SharedEventExecutor)
            executor.root_field = root
            result = executor.execute_operation()
    else:
        result = execute(
            schema._schema,
            plan.document,
            context_value=context,
            variable_values=variables,
            operation_name=plan.operation_name,
            is_awaitable=_is_awaitable,
            executor_class=schema.execution_context_class,
        )
    if optimized_is_awaitable(result):
        result = await result
    assert isinstance(result, ExecutionResult)
    answer: dict[str, Any] = {"data": result.data}
    metrics = context.gateway.metrics
    if result.errors:
        answer["errors"] = formatted_errors(result.errors, context)
    requests, latency = metrics.operation_figures(plan.operation_name, plan.kind)
    requests.inc()
    latency.observe(time.perf_counter() - started)
    return answer

"""Limits that keep one document from costing the server more than a real frontend ever needs:
the schema's extensions (schema.build) and imql's own execution paths (schema.execution) apply the same."""

from __future__ import annotations

from graphql import GraphQLError, ValidationContext, ValidationRule
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import max_aliases

# Limits that keep one document from costing the server more than a real frontend ever needs.
MAX_DEPTH = 12  # the deepest real query (conversation → lastMessage → sender → ...) is ~8
# Introspection documents get their own, higher cap: the standard introspection query (GraphiQL's,
# codegen's: TypeRef nests ofType 9 deep) is 14 deep, while `__schema { types { fields { type {
# fields ...` could otherwise nest without end.
MAX_INTROSPECTION_DEPTH = 15
MAX_TOKENS = 4_000  # a large codegen'd query is ~1,500 tokens
MAX_ALIASES = 30  # batching 30 lookups in one document is plenty; more is an amplification attack
CACHE_SIZE = 1_000  # distinct documents whose validation result is kept (LRU)
# The limit rules are made once: the validation cache is keyed by (document, rule classes), and
# Strawberry's QueryDepthLimiter / MaxAliasesLimiter make new rule classes per request, so with them
# every request missed the cache and paid a full validation (~65% of a small query's time).


class DepthLimit(ValidationRule):
    """Refuses operations nested deeper than MAX_DEPTH (MAX_INTROSPECTION_DEPTH below `__schema` /
    `__type`). Strawberry's QueryDepthLimiter skips introspection fields altogether, so an
    introspection document could nest without bound; this counts every field."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        document = context.document
        self._fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                name = definition.name.value if definition.name else "anonymous"
                if not self._within(definition.selection_set, 0, MAX_DEPTH, frozenset()):
                    limit = MAX_INTROSPECTION_DEPTH if _introspects(definition) else MAX_DEPTH
                    context.report_error(
                        GraphQLError(f"'{name}' exceeds maximum operation depth of {limit}", [definition])
                    )

    def _within(self, selections: SelectionSetNode | None, depth: int, limit: int, seen: frozenset[str]) -> bool:
        """Whether every path below fits the limit (a field with a selection set is one level)."""
        if selections is None:
            return True
        for node in selections.selections:
            if isinstance(node, FieldNode):
                if node.selection_set is None:
                    continue
                inner = MAX_INTROSPECTION_DEPTH if node.name.value.startswith("__") else limit
                if depth + 1 > inner or not self._within(node.selection_set, depth + 1, inner, seen):
                    return False
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self._fragments.get(name)
                # an unknown or cyclic spread is another rule's error
                if (
                    fragment is not None
                    and name not in seen
                    and not self._within(fragment.selection_set, depth, limit, seen | {name})
                ):
                    return False
            elif not self._within(getattr(node, "selection_set", None), depth, limit, seen):
                return False
        return True


def _introspects(node: Node) -> bool:
    selections = getattr(node, "selection_set", None)
    return selections is not None and any(
        isinstance(s, FieldNode) and s.name.value.startswith("__") for s in selections.selections
    )


DEPTH_RULE = DepthLimit
ALIASES_RULE = max_aliases.create_validator(MAX_ALIASES)

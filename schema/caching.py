"""A bounded parse cache that leaves syntax errors to Strawberry's own error path.

Strawberry's ParserCache raises syntax errors from inside its hook, which skips the operation's
other extensions (so such errors would miss our error formatting). This one caches documents that
parse and, on a syntax error, leaves the document unset so the regular parse reports it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

PARSE_CACHE_SIZE = 1_000  # distinct documents kept parsed (LRU); real apps send a few hundred


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def _parse(query: str, options: tuple[tuple[str, Any], ...]) -> DocumentNode:
    return parse(query, **dict(options))


class SafeParserCache(SchemaExtension):
    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.query and context.graphql_document is None:
            # on a syntax error Strawberry parses again and reports it through the normal path
            with contextlib.suppress(GraphQLError):
                context.graphql_document = _parse(context.query, tuple(sorted(context.parse_options.items())))
        yield

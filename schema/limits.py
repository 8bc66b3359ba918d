"""Limits that keep one document from costing the server more than a real frontend ever needs:
the schema's extensions (schema.build) and imql's own execution paths (schema.execution) apply the same."""

from __future__ import annotations

from strawberry.extensions import max_aliases, query_depth_limiter

# Limits that keep one document from costing the server more than a real frontend ever needs.
MAX_DEPTH = 12  # the deepest real query (conversation → lastMessage → sender → ...) is ~8
MAX_TOKENS = 4_000  # a large codegen'd query is ~1,500 tokens
MAX_ALIASES = 30  # batching 30 lookups in one document is plenty; more is an amplification attack
CACHE_SIZE = 1_000  # distinct documents whose validation result is kept (LRU)
# The limit rules are made once: the validation cache is keyed by (document, rule classes), and
# Strawberry's QueryDepthLimiter / MaxAliasesLimiter make new rule classes per request, so with them
# every request missed the cache and paid a full validation (~65% of a small query's time).
DEPTH_RULE = query_depth_limiter.create_validator(MAX_DEPTH, should_ignore=None)
ALIASES_RULE = max_aliases.create_validator(MAX_ALIASES)

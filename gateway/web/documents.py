"""Which document a GraphQL request runs: its `query`, an automatic persisted query, or (in
trusted-documents mode) only a listed document. Also the refusal of subscriptions over plain HTTP.

Automatic persisted queries (Apollo's APQ protocol, `extensions.persistedQuery = {version: 1,
sha256Hash}`, over POST and GET):
- hash without `query`: the document registered under that hash, from Redis (shared by every
  replica); unknown → a GraphQL error with the message `PersistedQueryNotFound` (HTTP 200), which
  Apollo's persisted-queries link and urql's persistedExchange read as "send the full query";
- hash with `query`: the hash is checked (SHA-256 of the query text, lowercase hex; a mismatch is
  refused 400) and the document registered for PERSISTED_QUERY_TTL_SECONDS, refreshed by each hit;
  documents over MAX_PERSISTED_QUERY_BYTES run but are not kept.
`extensions.code` stays the integer IM code of CONTRACT §7 (6017), so Apollo's string code cannot
sit there: it is in `extensions.reason` (`PERSISTED_QUERY_NOT_FOUND`), and the message is Apollo's
exact `PersistedQueryNotFound`, which is what Apollo Client's link and urql match on.

Trusted-documents mode (IMQL_TRUSTED_DOCUMENTS, see gateway.config.load_trusted_documents): only
listed documents run. A request names one by its ID (`extensions.persistedQuery.sha256Hash`, or
`documentId` as graphql-codegen's client preset sends it, `sha256:` prefix allowed) or sends its
exact text; anything else is refused with 6017. Nothing is registered in this mode.

Requests without `extensions.persistedQuery` or `documentId` do no lookup at all, outside the
trusted-documents mode: the fast path (gateway.web.view) pays one dictionary lookup.

WebSocket subscriptions (gateway.web.ws_protocols) go through `resolve` too: in trusted-documents
mode only listed subscriptions start, and a `subscribe` / `start` payload may name its document by
hash or documentId as an HTTP request does; a refusal is that operation's `error` message.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson
from graphql import GraphQLError, OperationType, parse
from graphql.utilities import get_operation_ast
from starlette.responses import Response

from gateway.errors import Code
from gateway.keys import Keys
from schema.errors import error_extensions
from schema.limits import MAX_TOKENS

# Apollo Server keeps APQs in an in-memory LRU; here they outlive restarts and are shared by
# replicas. A week covers a front-end release cycle; a document used meanwhile is kept longer.
PERSISTED_QUERY_TTL_SECONDS = 7 * 24 * 3600
# The largest document kept: imql's biggest operations are a few KB; a bigger one still runs.
MAX_PERSISTED_QUERY_BYTES = 64 * 1024
NOT_FOUND = "PersistedQueryNotFound"
NOT_FOUND_REASON = "PERSISTED_QUERY_NOT_FOUND"
SUBSCRIPTION_OVER_HTTP = (
    "subscriptions are not served over plain HTTP: subscribe over a WebSocket to /graphql "
    "(graphql-transport-ws, or the legacy graphql-ws) or with Server-Sent Events (POST /graphql with "
    "Accept: text/event-stream)"
)
_SHA256 = re.compile(r"[0-9a-f]{64}")


class Refused(Exception):
    """A request answered before execution; `response` is the whole answer."""

    def __init__(self, status: int, desc: str, *, message: str | None = None, **extra: object) -> None:
        super().__init__(desc)
        extensions = {**error_extensions(int(Code.ERR_INVALID_PARAMETERS), desc), **extra}
        self.error: dict[str, object] = {"message": message or desc, "extensions": extensions}
        body = {"data": None, "errors": [self.error]}
        self.response = Response(orjson.dumps(body), status_code=status, media_type="application/json")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Documents:
    def __init__(self, trusted: tuple[tuple[str, str], ...] | None) -> None:
        self.trusted: dict[str, str] | None = None if trusted is None else dict(trusted)
        self._trusted_texts = frozenset(body for _, body in trusted or ())
        self._redis: Any = None
        self._keys: Keys | None = None

    def attach(self, redis: Any, keys: Keys) -> None:
        """The store APQs live in (the gateway's, once its lifespan has started)."""
        self._redis, self._keys = redis, keys

    def concerns(self, data: Mapping[str, Any]) -> bool:
        """Whether `resolve` has anything to do for this request body / parameters."""
        if self.trusted is not None or "documentId" in data:
            return True
        extensions = data.get("extensions")
        return isinstance(extensions, dict) and "persistedQuery" in extensions

    async def resolve(self, query: object, extensions: object, document_id: object = None) -> Any:
        """The document text to run (or the `query` as given, for Strawberry to judge); raises
        Refused."""
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if persisted is not None:
            return await self._persisted(query, persisted)
        if document_id is not None:
            return self._by_id(document_id, query)
        if self.trusted is not None and isinstance(query, str) and query not in self._trusted_texts:
            raise Refused(
                200,
                "this gateway runs only the documents listed in IMQL_TRUSTED_DOCUMENTS, and this one is not; "
                "send a listed document, or its ID as extensions.persistedQuery.sha256Hash or documentId",
            )
        return query

    async def _persisted(self, query: object, persisted: object) -> Any:
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise Refused(400, "extensions.persistedQuery: only version 1 ({version: 1, sha256Hash}) is supported")
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
            raise Refused(400, "extensions.persistedQuery.sha256Hash must be a SHA-256 in hex (64 digits)")
        digest = digest.lower()
        if self.trusted is not None:
            if isinstance(query, str):
                return self._trusted_text(query)
            return self._by_id(digest, query)
        if isinstance(query, str):
            if sha256_hex(query) != digest:
                raise Refused(400, "provided sha does not match query (extensions.persistedQuery.sha256Hash)")
            if len(query) <= MAX_PERSISTED_QUERY_BYTES and self._keys is not None:
                await self._redis.set(self._keys.persisted_query(digest), query, ex=PERSISTED_QUERY_TTL_SECONDS)
            return query
        if query is not None:
            raise Refused(400, "the GraphQL operation's `query` must be a string or null, if provided.")
        found = None
        if self._keys is not None:
            found = await self._redis.getex(self._keys.persisted_query(digest), ex=PERSISTED_QUERY_TTL_SECONDS)
        if found is None:
            desc = f"no persisted query with sha256Hash {digest}: send the query with its hash to register it"
            raise Refused(200, desc, message=NOT_FOUND, reason=NOT_FOUND_REASON)
        return found

    def _trusted_text(self, query: str) -> str:
        if query not in self._trusted_texts:
            raise Refused(200, "this document is not listed in IMQL_TRUSTED_DOCUMENTS; only listed documents run here")
        return query

    def _by_id(self, document_id: object, query: object) -> str:
        if self.trusted is None:
            raise Refused(400, "documentId names a trusted document, and this gateway has no IMQL_TRUSTED_DOCUMENTS")
        if isinstance(query, str):
            return self._trusted_text(query)
        if not isinstance(document_id, str):
            raise Refused(400, "documentId must be a string")
        found = self.trusted.get(document_id)
        if found is None and document_id.startswith("sha256:"):
            found = self.trusted.get(document_id.removeprefix("sha256:"))
        if found is None:
            raise Refused(200, f"no document {document_id!r} in IMQL_TRUSTED_DOCUMENTS; only listed documents run here")
        return found


def refuse_subscription(query: object, operation_name: object) -> None:
    """Raise Refused (6017 naming the transports) for a subscription sent as plain HTTP."""
    name = operation_name if isinstance(operation_name, str) else None
    if isinstance(query, str) and "subscription" in query and _is_subscription(query, name):
        raise Refused(400, SUBSCRIPTION_OVER_HTTP)


@lru_cache(maxsize=256)
def _is_subscription(query: str, operation_name: str | None) -> bool:
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return False  # Strawberry reports the syntax error
    operation = get_operation_ast(document, operation_name)
    return operation is not None and operation.operation == OperationType.SUBSCRIPTION

"""The one place where failures become GraphQL errors (CONTRACT §7).

- IMError → its code and desc.
- GraphQL's own errors (syntax, validation, limits, bad variables) → 6017, message kept.
- Anything else → masked as 7012 with no internals; logged here with the request id that the
  error's `extensions.requestId` repeats.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.errors import Code, IMError

log = logging.getLogger("imql.errors")


def format_error(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if isinstance(original, IMError):
        code, desc, message = original.code, original.desc, original.desc
    elif original is None or isinstance(original, GraphQLError):
        code, desc, message = int(Code.ERR_INVALID_PARAMETERS), error.message, error.message
    else:
        log.error("request %s failed unexpectedly", request_id, exc_info=original)
        code = int(Code.ERR_SDK_INTERNAL_ERROR)
        desc = message = f"internal error; quote request id {request_id} when reporting it"
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions={"code": code, "desc": desc, "requestId": request_id},
    )


def _request_id(context: object) -> str:
    return str(getattr(context, "request_id", "-"))


class IMErrors(SchemaExtension):
    def _process(self, result: object) -> None:
        errors = getattr(result, "errors", None)
        if not errors:
            return
        request_id = _request_id(self.execution_context.context)
        formatted = [format_error(e, request_id) for e in errors]
        setattr(result, "errors", formatted)  # noqa: B010  (result types vary; all carry .errors)
        metrics = getattr(getattr(self.execution_context.context, "gateway", None), "metrics", None)
        if metrics is not None:
            for error in formatted:
                metrics.errors.labels(str((error.extensions or {}).get("code"))).inc()

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        if not self._streamed:
            self._process(self.execution_context.result)

    def on_stream_result(self, result: object) -> Iterator[None]:
        self._streamed = True
        self._process(result)
        yield None

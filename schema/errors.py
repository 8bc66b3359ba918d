"""The one place where failures become GraphQL errors (CONTRACT §7).

- IMError → its code and desc.
- GraphQL's own errors (syntax, validation, limits, bad variables) → 6017, message kept.
- Anything else → masked as 7012 with no internals; logged here with the request id that the
  error's `extensions.requestId` repeats.

Besides the integer `code`, `extensions.codeName` carries the code's symbolic name as the SDK's
error header (V2TIMErrorCode.h / TIMErrorCode) spells it (`ERR_SDK_NOT_LOGGED_IN`), so a client's
error link can switch on a name: `error_extensions` builds every error's extensions, here and for
the transport-level refusals of gateway.web. A code without a name in CODE_NAMES (a code a Tencent
backend passes through that imql does not know) gets no `codeName` rather than a made-up one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from gateway.errors import Code, IMError

log = logging.getLogger("imql.errors")


# code → the SDK's name for it. Where imql's own name (gateway.errors.Code) differs from the SDK's
# (the server codes, `ERR_SVR_...`), the SDK's wins: that is the name a ported app already uses.
CODE_NAMES: dict[int, str] = {
    **{int(c): c.name for c in Code},
    # Login (UserSig): the server's account codes
    70001: "ERR_SVR_ACCOUNT_USERSIG_EXPIRED",
    70003: "ERR_SVR_ACCOUNT_USERSIG_CHECK_FAILED",
    70013: "ERR_SVR_ACCOUNT_USERSIG_MISMATCH_ID",
    70014: "ERR_SVR_ACCOUNT_USERSIG_MISMATCH_SDKAPPID",
    70050: "ERR_SVR_ACCOUNT_FREQ_LIMIT",
    7003: "ERR_SDK_COMM_INVALID_IDENTIFIER",
    40601: "ERR_SVR_PROFILE_SIZE_LIMIT",
    # Messages
    8001: "ERR_SDK_MSG_BODY_SIZE_LIMIT",
    8006: "ERR_SDK_MSG_MODIFY_CONFLICT",
    20003: "ERR_SVR_MSG_INVALID_ID",
    20007: "ERR_SVR_MSG_IN_PEER_BLACKLIST",
    20009: "ERR_SVR_MSG_BOTH_NOT_FRIEND",
    20012: "ERR_SVR_MSG_SHUTUP_DENY",
    20016: "ERR_SVR_MSG_REVOKE_TIME_LIMIT",
    # Groups
    8501: "ERR_SDK_GROUP_INVALID_ID",
    8502: "ERR_SDK_GROUP_INVALID_NAME",
    8503: "ERR_SDK_GROUP_INVALID_INTRODUCTION",
    8504: "ERR_SDK_GROUP_INVALID_NOTIFICATION",
    8505: "ERR_SDK_GROUP_INVALID_FACE_URL",
    8506: "ERR_SDK_GROUP_INVALID_NAME_CARD",
    8507: "ERR_SDK_GROUP_MEMBER_COUNT_LIMIT",
    10004: "ERR_SVR_GROUP_INVALID_PARAMETERS",
    10007: "ERR_SVR_GROUP_PERMISSION_DENY",
    10009: "ERR_SVR_GROUP_SUPER_NOT_ALLOW_QUIT",
    10010: "ERR_SVR_GROUP_NOT_FOUND",
    10013: "ERR_SVR_GROUP_ALLREADY_MEMBER",  # sic, as the SDK spells it
    10014: "ERR_SVR_GROUP_FULL_MEMBER_COUNT",
    10015: "ERR_SVR_GROUP_INVALID_GROUPID",
    10017: "ERR_SVR_GROUP_SHUTUP_DENY",
    10019: "ERR_SVR_GROUP_ACCOUNT_NOT_FOUND",
    10021: "ERR_SVR_GROUP_GROUPID_IN_USED",
    10024: "ERR_SVR_GROUP_REQ_ALLREADY_BEEN_PROCESSED",
    10037: "ERR_SVR_GROUP_COUNT_LIMIT",
    # Friendship
    30001: "ERR_SVR_FRIENDSHIP_INVALID_PARAMETERS",
    30010: "ERR_SVR_FRIENDSHIP_COUNT_LIMIT",
    30515: "ERR_SVR_FRIENDSHIP_IN_SELF_BLACKLIST",
    30516: "ERR_SVR_FRIENDSHIP_ALLOW_TYPE_DENY_ANY",
    30525: "ERR_SVR_FRIENDSHIP_IN_PEER_BLACKLIST",
    30539: "ERR_SVR_FRIENDSHIP_ALLOW_TYPE_NEED_CONFIRM",
    30614: "ERR_SVR_FRIENDSHIP_PENDENCY_NOT_FOUND",
    31704: "ERR_SVR_FRIENDSHIP_DEL_NONFRIEND",
}


def code_name(code: int) -> str | None:
    """The SDK's symbolic name of an IM error code, or None for a code imql has no name for."""
    return CODE_NAMES.get(code)


def error_extensions(code: int, desc: str, request_id: str | None = None) -> dict[str, object]:
    """Every imql error's extensions: `code`, `codeName` (when the code has one), `desc`, and the
    `requestId` where the error came from a request the gateway logged under one."""
    extensions: dict[str, object] = {"code": code}
    name = CODE_NAMES.get(code)
    if name is not None:
        extensions["codeName"] = name
    extensions["desc"] = desc
    if request_id is not None:
        extensions["requestId"] = request_id
    return extensions


# Strawberry's refusals of a request (not a fault): an operationName the document does not
# define, an operation type the transport does not take (a mutation by GET, a query over the
# legacy graphql-ws protocol), no query at all. Plain HTTP answers them 400 before executing; over
# WebSocket and SSE they reach the error formatter, which must not mask them as internal errors.
_CLIENT_MISTAKES = (CannotGetOperationTypeError, InvalidOperationTypeError, MissingQueryError)


def _mistake(original: Exception) -> str:
    if isinstance(original, CannotGetOperationTypeError):
        return original.as_http_error_reason()
    if isinstance(original, InvalidOperationTypeError):
        return f"{original.operation_type.value} operations are not allowed over this transport"
    return str(original)


def format_error(error: GraphQLError, request_id: str) -> GraphQLError:
    original = error.original_error
    while isinstance(original, GraphQLError) and original.original_error is not None:
        original = original.original_error
    if isinstance(original, IMError):
        code, desc, message = original.code, original.desc, original.desc
    elif original is None or isinstance(original, GraphQLError):
        code, desc, message = int(Code.ERR_INVALID_PARAMETERS), error.message, error.message
    elif isinstance(original, _CLIENT_MISTAKES):
        code, desc, message = int(Code.ERR_INVALID_PARAMETERS), _mistake(original), _mistake(original)
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
        extensions=error_extensions(code, desc, request_id),
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

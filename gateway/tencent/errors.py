"""Tencent REST v4 error codes -> the V2TIM codes imql returns (../shared/api/ERRORS.md), per
MAPPING.md section 9.

Most REST codes are codes a V2TIM app already knows, so they pass through unchanged; the table
below lists the ones that change. Tencent's own code and ErrorInfo always stay in the error's
`desc` ("tencent 60007 (openim/sendmsg): ..."), so an operator can look them up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gateway.errors import Code, IMError

log = logging.getLogger("imql.tencent")

# REST frequency limits: retried with back-off (idempotent calls), then 7008.
FREQUENCY_CODES = frozenset({60007, 60011, 60018, 60019})
# Tencent's own server-side timeout (3 s): like an HTTP 5xx, worth a retry for an idempotent call.
SERVER_TIMEOUT = 60008
RETRYABLE_CODES = FREQUENCY_CODES | {SERVER_TIMEOUT}
# The admin's sig, the app or its edition: nothing a user can fix; masked as 7012 and logged as an alarm.
ADMIN_OR_APP_CODES = frozenset({60004, 60005, 70001, 70003, 60010, 60006, 60016, 60020, 60021})
# Sig codes after which the cached admin sig is dropped and minted again on the next call.
SIG_CODES = frozenset({60004, 60005, 70001, 70003})
# Requests imql built wrong (malformed JSON or MsgBody): an adapter bug, logged.
ADAPTER_BUG_CODES = frozenset({90001, 90002, 90010})
# The request line or body could not be parsed, or Tencent failed inside: nothing the caller did.
INTERNAL_CODES = frozenset({60002, 60003, SERVER_TIMEOUT, 70500})
TOO_LARGE_CODES = frozenset({93000, 80002})
ACCOUNT_MISSING_CODES = frozenset({20003, 90012, 70107, 30003, 40003})
# Services whose "account missing" is a message's receiver (20003); elsewhere it is 70107.
MESSAGE_SERVICES = frozenset({"openim", "group_open_http_svc"})
MESSAGE_COMMANDS = frozenset(
    {
        "sendmsg",
        "batchsendmsg",
        "send_group_msg",
        "send_group_system_notification",
        "import_msg",
        "import_group_msg",
    }
)
URL_INVALID = 60009  # no such service/command here (region, edition): "not supported"
TOPICS_NOT_ENABLED = 11000
GROUP_ATTR_FREQUENCY = 10049
GROUP_ATTR_FREQUENCY_SDK = 8511
ACCOUNT_NOT_FOUND = 70107

# Codes that pass through unchanged, as documented (MAPPING.md section 9); unlisted codes pass
# through as well (a V2TIM app knows most of Tencent's codes), this set only documents the table.
PASS_THROUGH = frozenset(
    {80001, 20006, 10016, 20022, 20023, 90054}
    | set(range(10030, 10034))
    | {10041, 10007, 10010, 10013, 10014, 10015, 10017, 10021, 10023, 10025, 10037}
    | {10045, 10046, 10047, 10048, 10050}
    | {10062}
    | set(range(23001, 23005))
    | {30539, 30515, 30516, 30525, 30010, 30014, 30540, 32216}
    | set(range(50001, 50006))
    | set(range(51006, 51014))
    | {110002, 110003}
    | {40001, 40601, 40605, 40610}
)


class TencentError(IMError):
    """An IMError from a Tencent call: `tencent_code` is Tencent's ErrorCode when Tencent answered
    one (None for timeouts, network faults and imql's own rate limiter); `cause` labels metrics."""

    def __init__(self, code: int, desc: str, *, endpoint: str, cause: str, tencent_code: int | None = None) -> None:
        super().__init__(code, desc)
        self.endpoint = endpoint
        self.cause = cause
        self.tencent_code = tencent_code


# Tencent's "internal server error, try again": Tencent failing inside, whatever the request
INTERNAL_SERVER_ERROR = 70500
OUTAGE_CAUSES = frozenset({"timeout", "network", "rate_limited"})  # TencentError.cause without a code


def is_tencent_outage(exc: BaseException) -> bool:
    """Whether `exc` says Tencent's REST could not serve the call now, whatever the call: unreachable
    or silent, answering 5xx or 429, failing inside (70500, its 3 s timeout) or asking for calls to
    slow down (its frequency limits, imql's own limiter): the same call may succeed later, so a
    queued job failing so is no fault of the job (gateway.background.is_transient)."""
    if not isinstance(exc, TencentError):
        return False
    # gateway.tencent.client: `cause` is "timeout" / "network" / "http_<status>" / "rate_limited"
    # when Tencent gave no code, else the code itself
    if exc.tencent_code is not None:
        return exc.tencent_code in RETRYABLE_CODES or exc.tencent_code == INTERNAL_SERVER_ERROR
    if exc.cause in OUTAGE_CAUSES:
        return True
    status = exc.cause.removeprefix("http_")
    return status != exc.cause and status.isdigit() and (int(status) >= 500 or int(status) == 429)


@dataclass(frozen=True)
class Mapped:
    code: int
    why: str  # which row of the table applied (for logs and tests)


def map_code(tencent_code: int, endpoint: str) -> Mapped:
    """The V2TIM code imql answers for Tencent's `tencent_code` on `endpoint` ("service/command")."""
    service, _, command = endpoint.partition("/")
    c = tencent_code
    if c in FREQUENCY_CODES:
        return Mapped(Code.ERR_SDK_COMM_API_CALL_FREQUENCY_LIMIT, "frequency")
    if c in ADMIN_OR_APP_CODES:
        return Mapped(Code.ERR_SDK_INTERNAL_ERROR, "admin or app")
    if c in ADAPTER_BUG_CODES:
        return Mapped(Code.ERR_INVALID_PARAMETERS, "adapter bug")
    if c in INTERNAL_CODES:
        return Mapped(Code.ERR_SDK_INTERNAL_ERROR, "internal")
    if c in TOO_LARGE_CODES:
        return Mapped(Code.ERR_MSG_BODY_TOO_LARGE, "too large")
    if c in ACCOUNT_MISSING_CODES:
        if service in MESSAGE_SERVICES and command in MESSAGE_COMMANDS:
            return Mapped(Code.ERR_RECEIVER_NOT_FOUND, "account missing (message)")
        return Mapped(ACCOUNT_NOT_FOUND, "account missing")
    if c in (URL_INVALID, TOPICS_NOT_ENABLED):
        return Mapped(Code.ERR_SDK_INTERFACE_NOT_SUPPORT, "not supported")
    if c == GROUP_ATTR_FREQUENCY:
        return Mapped(GROUP_ATTR_FREQUENCY_SDK, "group attribute frequency")
    return Mapped(c, "pass through")


def tencent_error(tencent_code: int, info: str, endpoint: str) -> TencentError:
    """The IMError for a failed call: the mapped code, Tencent's code and ErrorInfo kept in desc."""
    mapped = map_code(tencent_code, endpoint)
    desc = f"tencent {tencent_code} ({endpoint}): {info or 'no ErrorInfo'}"
    if mapped.why == "admin or app":
        # an operator alarm: every call fails until the console or the configuration is fixed
        log.error(
            "Tencent refused the gateway's admin call %s with %s (%s): check IMQL_SDKAPPID, IMQL_SECRET_KEY, "
            "IMQL_TENCENT_ADMIN, the app's edition and its IP allowlist",
            endpoint,
            tencent_code,
            info,
        )
    elif mapped.why == "adapter bug":
        log.error("Tencent could not parse imql's request to %s: %s %s (an imql bug)", endpoint, tencent_code, info)
    return TencentError(mapped.code, desc, endpoint=endpoint, cause=str(tencent_code), tencent_code=tencent_code)
